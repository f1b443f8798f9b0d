"""The GPU smoke test's inputs, made locally (no hub): a model with Qwen2.5-0.5B's architecture and
random weights, the demo's byte-level tokenizer, and the demo task's rows.

    python -m demo.smoke_model --out outputs/smoke

Random weights are made peaky (a larger init range) so sampled tokens have probabilities far from
uniform: a stale rollout after an update then shows in rollout_probs_diff and its correlation.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from .task import split_problems, to_rows
from .tiny_model import build_tokenizer, save_model

# Qwen/Qwen2.5-0.5B's config.json (the vocabulary is the demo tokenizer's, padded as Qwen pads it).
QWEN25_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                  num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                  tie_word_embeddings=True, hidden_act="silu")


def build(out: Path) -> Path:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model_dir = out / "model"
    if (model_dir / "config.json").exists():
        return out
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=(len(tokenizer) + 127) // 128 * 128, initializer_range=0.1,
                         bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, dtype="bfloat16", **QWEN25_05B)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    save_model(model, tokenizer, model_dir)
    train, val = split_problems(max_operand=40, val_size=64)
    pd.DataFrame(to_rows(train, "train")).to_parquet(out / "train.parquet")
    pd.DataFrame(to_rows(val, "test")).to_parquet(out / "val.parquet")
    params = sum(p.numel() for p in model.parameters())
    print(f"smoke model: {params / 1e6:.0f}M parameters (Qwen2.5-0.5B architecture, random weights) in {model_dir}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/smoke"))
    build(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
