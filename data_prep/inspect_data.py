"""`python -m data_prep inspect FILE`: what the trainer will see."""

import json
from pathlib import Path

import numpy as np
import pandas as pd


def inspect(path: Path, tokenizer_path: str | None = None) -> str:
    frame = pd.read_parquet(path)
    lines = [f"{path}: {len(frame)} rows", "data_source:"]
    for source, count in frame["data_source"].value_counts().items():
        lines.append(f"  {source:<20} {count}")
    prompts = [list(p) for p in frame["prompt"]]
    if tokenizer_path:
        from .convert import load_tokenizer, prompt_tokens

        tok = load_tokenizer(tokenizer_path)
        lengths, unit = [prompt_tokens(tok, p) for p in prompts], "tokens"
    else:
        lengths, unit = [sum(len(m["content"]) for m in p) for p in prompts], "characters"
    pct = np.percentile(lengths, [50, 90, 99, 100]).astype(int)
    lines.append(f"prompt length ({unit}): p50 {pct[0]}  p90 {pct[1]}  p99 {pct[2]}  max {pct[3]}")
    for i in range(min(2, len(frame))):
        row = frame.iloc[i].to_dict()
        example = {"prompt": [dict(m) for m in row["prompt"]], "ground_truth": row["reward_model"]["ground_truth"],
                   "data_source": row["data_source"], "extra_info": dict(row["extra_info"])}
        lines.append(f"example {i + 1}: " + json.dumps(example, ensure_ascii=False, default=str))
    return "\n".join(lines)
