"""Benchmark: convert N rows of JSONL to verl parquet with data_prep (prints rows/s).

    .venv/bin/python bench/data_prep_convert.py [--rows 100000]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_prep.cli import main  # noqa: E402


def run(rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "data.jsonl"
        with open(src, "w") as f:
            for i in range(rows):
                f.write(json.dumps({"prompt": f"What is {i} + {i * 7 % 1000}?", "ground_truth": str(i + i * 7 % 1000),
                                    "data_source": "math_reasoning"}) + "\n")
        started = time.perf_counter()
        assert main(["convert", str(src), "--out", str(Path(tmp) / "out"), "--val-size", "0.05",
                     "--instruction", "Put the final answer in <answer></answer>."]) == 0
        return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    n = parser.parse_args().rows
    seconds = run(n)
    print(f"data_prep convert: {n} JSONL rows in {seconds:.2f} s ({n / seconds:,.0f} rows/s)")
