"""Why is my reward always 0 (or 1)?

    python -m reward check data.parquet --responses responses.jsonl [--reward_func my.py[:fn]]
    python -m reward check data.parquet --response "<answer>42</answer>" --rows 5

Prints, per row: data_source, what was extracted, the ground truth and the score; then a histogram.
responses.jsonl: one {"response": "..."} (or a bare JSON string) per line, in row order.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reward", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="score responses against a parquet file's ground truths")
    check.add_argument("data", type=Path)
    group = check.add_mutually_exclusive_group(required=True)
    group.add_argument("--responses", type=Path, help="JSONL, one response per row")
    group.add_argument("--response", help="the same response for every row")
    check.add_argument("--rows", type=int, default=20)
    check.add_argument("--reward_func", help="score with your file instead of the built-in rewards")
    args = parser.parse_args(argv)

    import pyarrow.parquet as pq

    if not args.data.is_file():
        print(f"reward: error: {args.data}: no such file", file=sys.stderr)
        return 2
    rows = pq.read_table(args.data).slice(0, args.rows).to_pylist()
    if args.responses:
        lines = [json.loads(line) for line in args.responses.read_text().splitlines() if line.strip()]
        responses = [r["response"] if isinstance(r, dict) else str(r) for r in lines]
    else:
        responses = [args.response] * len(rows)
    if args.reward_func:
        from .user_file import RewardFileError, load

        try:
            score_fn = load(args.reward_func)
        except RewardFileError as err:
            print(f"reward: error: {err}", file=sys.stderr)
            return 2
    else:
        from . import compute_score as score_fn
    scores = Counter()
    for i, (row, response) in enumerate(zip(rows, responses)):
        truth = row["reward_model"]["ground_truth"]
        try:
            result = score_fn(row["data_source"], response, truth, extra_info=row.get("extra_info"))
        except Exception as err:  # show the failing row instead of stopping at it
            print(f"row {i}: {row['data_source']}: ERROR {type(err).__name__}: {err}")
            continue
        score = result["score"] if isinstance(result, dict) else result
        pred = result.get("pred", "") if isinstance(result, dict) else ""
        scores[round(float(score), 3)] += 1
        print(f"row {i}: {row['data_source']}: extracted {pred!r:<20} truth {str(truth)[:40]!r:<20} score {score}")
    total = sum(scores.values()) or 1
    print("scores:")
    for value, count in sorted(scores.items()):
        print(f"  {value:>6}: {count:>5}  {'#' * round(40 * count / total)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
