"""Why is my reward always 0 (or 1)?

    ./reward.sh check data.parquet --responses responses.jsonl [--reward_func my.py[:fn]]
    ./reward.sh check data.parquet --response "<answer>42</answer>" --rows 5

Prints, per row: data_source, what was extracted, the ground truth and the score; then a histogram.
responses.jsonl: one {"response": "..."} (--response-key for another key) or a bare JSON string per
line, in row order.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


class CheckError(Exception):
    """One line naming the file, line or option at fault."""


def _responses(path: Path, key: str) -> list[str]:
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise CheckError(f"{path}:{lineno}: invalid JSON ({err.msg})") from None
        if isinstance(item, dict):
            if key not in item:
                raise CheckError(f"{path}:{lineno}: no {key!r} key (it has {', '.join(map(repr, item)) or 'nothing'}); "
                                 f"choose it with --response-key")
            item = item[key]
        out.append(str(item))
    return out


def _kwargs(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckError(f"--reward-kwargs: invalid JSON ({err.msg}); e.g. "
                         f"'{{\"reward_weights\": {{\"accuracy\": 1.0, \"format_strict\": 0.1}}}}'") from None
    if not isinstance(value, dict):
        raise CheckError("--reward-kwargs: expected a JSON object of keyword arguments")
    return value


def check(args) -> int:
    import pyarrow.parquet as pq

    if not args.data.is_file():
        raise CheckError(f"{args.data}: no such file")
    table = pq.read_table(args.data)
    total = table.num_rows
    rows = table.slice(0, args.rows).to_pylist() if args.rows else table.to_pylist()
    kwargs = _kwargs(args.reward_kwargs)
    responses = _responses(args.responses, args.response_key) if args.responses else [args.response] * len(rows)
    if args.reward_func:
        from .user_file import RewardFileError, load

        try:
            score_fn = load(args.reward_func)
        except RewardFileError as err:
            raise CheckError(str(err)) from None
    else:
        from . import compute_score as score_fn
    shown = min(len(rows), len(responses))
    print(f"checking {shown} of {total} rows of {args.data}" + (" (--rows N for more, --rows 0 for all)"
                                                                  if args.rows and shown < total else ""))
    scores = Counter()
    for i, (row, response) in enumerate(zip(rows, responses)):
        truth = row["reward_model"]["ground_truth"]
        try:
            result = score_fn(row["data_source"], response, truth, extra_info=row.get("extra_info"), **kwargs)
        except Exception as err:  # show the failing row instead of stopping at it
            print(f"row {i}: {row['data_source']}: ERROR {type(err).__name__}: {err}")
            continue
        score = result["score"] if isinstance(result, dict) else result
        pred = result.get("pred", "") if isinstance(result, dict) else ""
        scores[round(float(score), 3)] += 1
        print(f"row {i}: {row['data_source']}: extracted {pred!r:<20} truth {str(truth)[:40]!r:<20} score {score}")
    count = sum(scores.values()) or 1
    print("scores:")
    for value, n in sorted(scores.items()):
        print(f"  {value:>6}: {n:>5}  {'#' * round(40 * n / count)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="reward", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="score responses against a parquet file's ground truths")
    p.add_argument("data", type=Path)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--responses", type=Path, help="JSONL, one response per row")
    group.add_argument("--response", help="the same response for every row")
    p.add_argument("--response-key", default="response", help="key of the response in each JSONL object")
    p.add_argument("--rows", type=int, default=20, help="check the first N rows (default 20; 0: all)")
    p.add_argument("--reward_func", help="score with your file instead of the built-in rewards")
    p.add_argument("--reward-kwargs", help="JSON keyword arguments for the scorer, as "
                                           "reward.custom_reward_function.reward_kwargs (e.g. reward_weights)")
    args = parser.parse_args(argv)
    try:
        return check(args)
    except CheckError as err:
        print(f"reward: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
