"""Benchmark: scorings per second for math (numeric, symbolic) and code (sandboxed) on this machine.

One caller, as one thread of verl's reward loop: every scoring goes through the bounded process
pool (reward/bounded.py); `--unbounded` measures the scorers alone (reward_timeout=0).

    .venv/bin/python bench/reward_throughput.py
"""

import argparse
import functools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reward import compute_score  # noqa: E402


def rate(label: str, calls: list[tuple], seconds_budget: float = 5.0) -> None:
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds_budget:
        compute_score(*calls[n % len(calls)])
        n += 1
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {n / elapsed:>10,.1f} scorings/s  ({n} in {elapsed:.1f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent on each scorer (code: twice)")
    parser.add_argument("--unbounded", action="store_true", help="score in this process, with no time limit")
    args = parser.parse_args()
    seconds = args.seconds
    if args.unbounded:
        compute_score = functools.partial(compute_score, reward_timeout=-1)
    else:
        from reward import bounded

        bounded.warm()  # worker start-up (imports) outside the measurement
    rate("math_reasoning (numeric)", [("math_reasoning", f"Work...\n<answer>{i}</answer>", str(i)) for i in range(100)], seconds)
    rate("math (math-verify, symbolic)", [("math", "so \\boxed{\\frac{2}{4}}", "0.5"),
                                         ("math", "\\boxed{(x+1)^2}", "x^2+2x+1")], seconds)
    code = "```python\nprint(int(input()) * 2)\n```"
    rate("code (sandbox, 2 test cases)", [("code", code, json.dumps({"inputs": ["2", "3"], "outputs": ["4", "6"]}))],
         seconds_budget=2 * seconds)
