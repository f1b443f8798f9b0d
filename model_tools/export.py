"""`./export.sh RUN|CHECKPOINT --out DIR`: a checkpoint as a Hugging Face folder (config,
safetensors, tokenizer, generation config, model card) through verl's model merger. A LoRA run gives
full weights with its adapter merged in (plain transformers loads them, no peft), or with
--adapter_only the PEFT adapter folder, pointing at the base model."""

import argparse
import shutil
import sys
from pathlib import Path

from core.errors import UsageError


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export.sh", description="A checkpoint as a Hugging Face folder (config, safetensors, tokenizer, "
                                   "generation config, model card), through verl's model merger.")
    p.add_argument("model", metavar="RUN|CHECKPOINT", help="a run folder (latest checkpoint) or a checkpoint folder")
    p.add_argument("--out", help="default: RUN/export/step_N")
    p.add_argument("--step", type=int, help="a run's checkpoint of this step (default: the latest)")
    lora = p.add_mutually_exclusive_group()
    lora.add_argument("--merge_lora", "--merge-lora", action="store_true",
                      help="LoRA run: full weights with the adapter merged in (the default)")
    lora.add_argument("--adapter_only", "--adapter-only", action="store_true",
                      help="LoRA run: the PEFT adapter folder only, for serving adapters")
    p.add_argument("--push", metavar="REPO", help="also upload the folder to this Hugging Face Hub repository")
    p.add_argument("--private", action="store_true", help="with --push: a private repository")
    return p.parse_args(argv)


def export(args) -> Path:
    from . import merge as M
    from .model_card import card
    from .source import resolve

    source = resolve(args.model, args.step)
    if not source.is_checkpoint:
        raise UsageError(f"{args.model}: already a Hugging Face model; export takes a run folder or a checkpoint")
    default_root = source.run_dir or source.actor_dir.parent
    out = Path(args.out).expanduser() if args.out else default_root / "export" / f"step_{source.step}"
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: not empty (remove it or give another folder)")
    merged = M.merged_folder(source)
    lora = M.is_lora(merged)
    if args.adapter_only and not lora:
        raise UsageError(f"--adapter_only: {args.model} is not a LoRA run (no adapter in its checkpoint)")
    if args.merge_lora and not lora:
        raise UsageError(f"--merge_lora: {args.model} is not a LoRA run (its weights are full already)")
    if lora and args.adapter_only:
        kind = "adapter"
        M.write_adapter(merged, out, M.base_model_of(source))
    elif lora:
        kind = "merged-lora"
        M.write_merged_lora(merged, out)
        if (merged / "generation_config.json").exists():
            shutil.copy2(merged / "generation_config.json", out)
    else:
        kind = "full"
        M.copy_full(merged, out)
    (out / "README.md").write_text(card(source.run_dir, source.step, kind))
    if args.push:
        from huggingface_hub import HfApi

        api = HfApi()
        api.create_repo(args.push, private=args.private, exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=args.push, repo_type="model")
        print(f"pushed to https://huggingface.co/{args.push}")
    return out


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        out = export(args)
    except UsageError as err:
        print(f"export.sh: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # the hub: authentication, network
        if not args.push:
            raise
        print(f"export.sh: error: --push {args.push}: {type(err).__name__}: {str(err).splitlines()[0]} "
              f"(the folder is written: {args.out or 'see above'})", file=sys.stderr)
        return 1
    print(f"exported: {out}")
    print(f"  evaluate: ./eval.sh {out} --data FILE    chat: ./chat.sh {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
