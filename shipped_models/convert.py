"""A GGUF file -> a Hugging Face folder (safetensors, tokenizer, generation config), once.

transformers reads GGUF with the `gguf` package and dequantizes it to a plain model. Its tokenizer
conversion keeps the chat template but takes the GGUF's eos (`<|im_start|>` for SmolLM2) and sets no
pad token, while the model ends its replies with `<|im_end|>`: anything stopping on the tokenizer's
eos would generate to the length limit. The folder gets the model's own eos and a pad token.
"""

import contextlib
import io
import json
import os
import shutil
import time
from pathlib import Path

VERSION = 2  # bump to rebuild cached folders after a change here


def _stamp(model, source: Path) -> dict:
    stat = source.stat()
    return {"version": VERSION, "hub_id": model.hub_id, "source": str(source), "bytes": stat.st_size,
            "mtime": int(stat.st_mtime), "eos": model.eos, "pad": model.pad}


def convert(model, source: Path, out: Path) -> dict:
    """Writes the folder at `out` (replaced whole); returns what the stamp records of it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    t0 = time.time()
    with contextlib.redirect_stderr(io.StringIO()):  # transformers' GGUF loader draws its own bar
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        lm = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    eos_id = tokenizer.convert_tokens_to_ids(model.eos)
    if eos_id is None or eos_id == tokenizer.unk_token_id:
        raise RuntimeError(f"{source}: its vocabulary has no {model.eos!r}")
    tokenizer.eos_token = model.eos
    tokenizer.pad_token = model.pad
    tokenizer.clean_up_tokenization_spaces = False  # as the hub's tokenizer: cleanup corrupts BPE text
    generation = lm.generation_config if lm.generation_config is not None else GenerationConfig()
    generation.eos_token_id = eos_id
    generation.pad_token_id = tokenizer.pad_token_id
    generation.bos_token_id = tokenizer.bos_token_id
    lm.config.eos_token_id, lm.config.pad_token_id = eos_id, tokenizer.pad_token_id
    lm.generation_config = generation
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    lm.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    params = sum(p.numel() for p in lm.parameters())
    return {"parameters": params, "layers": lm.config.num_hidden_layers, "seconds": round(time.time() - t0, 1),
            "eos_id": eos_id, "pad_id": tokenizer.pad_token_id}


def convert_cached(model, source: Path, log=print) -> Path:
    out = model.folder
    stamp_path = out / "SHIPPED.json"
    stamp = _stamp(model, source)
    if stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text()).get("stamp") == stamp:
                return out
        except ValueError:
            pass  # a half-written stamp: convert again
    log(f"converting {source.name} ({source.stat().st_size / 1e6:.0f} MB) to a Hugging Face folder in {out} "
        f"(once; about a minute)...")
    out.parent.mkdir(parents=True, exist_ok=True)
    report = convert(model, source, out)
    stamp_path.write_text(json.dumps({"stamp": stamp, "report": report}, indent=1))
    log(f"{model.hub_id}: {report['parameters'] / 1e6:.1f}M parameters, {report['layers']} layers, "
        f"converted in {report['seconds']} s")
    return out
