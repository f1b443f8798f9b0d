"""FSDP checkpoint -> Hugging Face folder, through verl's own model merger
(`python -m verl.model_merger merge --backend fsdp`), and LoRA adapters merged with PEFT."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from core.errors import UsageError

from .source import Source

ADAPTER_DIR = "lora_adapter"  # where verl's merger writes a LoRA run's adapter


def run_merger(actor_dir: Path, target: Path) -> None:
    """verl's merger in a child process: it loads every shard into host memory and we want that
    memory back, and its output is noise unless it fails."""
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
           "--local_dir", str(actor_dir), "--target_dir", str(tmp)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise UsageError(f"verl's model merger failed on {actor_dir}: {lines[-1] if lines else done.returncode}")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def merged_folder(source: Source) -> Path:
    """The checkpoint's Hugging Face folder, merged once and kept beside it."""
    target = source.merged_dir
    stamp = target / ".merged_from"
    model_file = next(source.actor_dir.glob("model_world_size_*_rank_0.pt"), None)
    if model_file is None:
        raise UsageError(f"{source.actor_dir}: no model shards (model_world_size_*_rank_*.pt); not a complete "
                         f"checkpoint")
    key = f"{model_file.name} {model_file.stat().st_mtime_ns}"
    if not (stamp.is_file() and stamp.read_text() == key):
        print(f"merging the checkpoint of step {source.step} with verl's model merger -> {target}", file=sys.stderr)
        run_merger(source.actor_dir, target)
        stamp.write_text(key)
    return target


def is_lora(folder: Path) -> bool:
    return (folder / ADAPTER_DIR / "adapter_config.json").is_file()


def base_model_of(source: Source) -> str | None:
    """The model the run started from (its config), for adapters and the model card."""
    from .run_info import run_config, run_value

    return run_value(run_config(source.run_dir), "actor_rollout_ref", "model", "path")


def write_adapter(merged: Path, out: Path, base_model: str | None) -> None:
    """A PEFT adapter folder: verl's adapter files, pointing at the base model."""
    out.mkdir(parents=True, exist_ok=True)
    for item in (merged / ADAPTER_DIR).iterdir():
        shutil.copy2(item, out / item.name)
    cfg_path = out / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = base_model
    cfg_path.write_text(json.dumps(cfg, indent=2))


def write_merged_lora(merged: Path, out: Path) -> None:
    """Base weights (what verl's merger saves for a LoRA run) + adapter -> full weights: merged in
    float32, saved in the dtype the base weights were saved in (a bf16 merge of float32 weights
    would change the run's greedy answers)."""
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    saved = getattr(AutoConfig.from_pretrained(merged), "dtype", None) or torch.float32
    base = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, merged / ADAPTER_DIR).merge_and_unload()
    model.to(getattr(torch, saved) if isinstance(saved, str) else saved).save_pretrained(out)
    AutoTokenizer.from_pretrained(merged).save_pretrained(out)


def copy_full(merged: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for item in merged.iterdir():
        if item.is_file() and not item.name.startswith("."):
            shutil.copy2(item, out / item.name)


def loadable_folder(source: Source) -> str:
    """What vLLM and transformers load for MODEL: the folder or hub id itself, or the checkpoint
    merged (and, for a LoRA run, its adapter folded into the weights)."""
    if not source.is_checkpoint:
        return source.hf_path
    merged = merged_folder(source)
    if not is_lora(merged):
        return str(merged)
    full = merged.with_name("hf_merged_lora")
    if not (full / "config.json").is_file() or full.stat().st_mtime < merged.stat().st_mtime:
        shutil.rmtree(full, ignore_errors=True)
        write_merged_lora(merged, full)
    return str(full)
