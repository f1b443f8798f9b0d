"""The real-model demo's task (--preset smollm2): a + b or a - b with a, b from 10 to 99 (a >= b for a
difference), answer in \\boxed{}, scored by our math scorer (data_source "math"). Training and
validation problems are disjoint; neither repeats a problem, and heldout.parquet holds problems that
neither uses (for eval.sh). Written once to outputs/smollm2/."""

import json
import random
from pathlib import Path

DATA_SOURCE = "math"
INSTRUCTION = "Put the final answer in \\boxed{}."
SETTINGS = {"low": 10, "high": 99, "train_size": 2000, "val_size": 128, "heldout_size": 500, "seed": 0, "version": 2}


def problems(settings: dict = SETTINGS) -> list[tuple[int, str, int]]:
    """Every (a, op, b), shuffled with the settings' seed."""
    span = range(settings["low"], settings["high"] + 1)
    every = [(a, op, b) for a in span for b in span for op in "+-" if op == "+" or a >= b]
    random.Random(settings["seed"]).shuffle(every)
    return every


def answer(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b


def to_row(a: int, op: str, b: int, split: str, index: int) -> dict:
    return {
        "data_source": DATA_SOURCE,
        "prompt": [{"role": "user", "content": f"What is {a} {op} {b}? {INSTRUCTION}"}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": str(answer(a, op, b))},
        "extra_info": {"split": split, "index": index},
    }


def build(out: Path, settings: dict = SETTINGS, log=print) -> dict[str, str]:
    """train.parquet and val.parquet in `out`, unless a stamp says they are there with these settings."""
    stamp = out / "BUILD.json"
    files = {"data": str(out / "train.parquet"), "val_files": str(out / "val.parquet")}
    if stamp.is_file() and json.loads(stamp.read_text()).get("settings") == settings:
        return files
    import pandas as pd

    every = problems(settings)
    val = every[:settings["val_size"]]
    train = every[settings["val_size"]:settings["val_size"] + settings["train_size"]]
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([to_row(*p, "train", i) for i, p in enumerate(train)]).to_parquet(files["data"])
    pd.DataFrame([to_row(*p, "test", i) for i, p in enumerate(val)]).to_parquet(files["val_files"])
    write_heldout(out / "heldout.parquet", settings["heldout_size"], settings)
    stamp.write_text(json.dumps({"settings": settings}, indent=1))
    log(f"task ready in {out}: {len(train)} training, {len(val)} validation and {settings['heldout_size']} "
        f"held-out problems (disjoint; eval.sh RUN --data {out / 'heldout.parquet'})")
    return files


def write_heldout(path: Path, size: int, settings: dict = SETTINGS) -> Path:
    """More problems of the same family that neither training nor validation uses (for eval.sh)."""
    import pandas as pd

    start = settings["val_size"] + settings["train_size"]
    rows = [to_row(*p, "heldout", i) for i, p in enumerate(problems(settings)[start:start + size])]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="held-out problems of the smollm2 demo's task, for eval.sh")
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=SETTINGS["heldout_size"])
    args = parser.parse_args()
    print(write_heldout(args.out, args.size))
