"""Why is my reward always 0 (or 1)?

    ./reward.sh check data.parquet --responses responses.jsonl [--reward_func my.py[:fn]]
    ./reward.sh check data.parquet --response "<answer>42</answer>" --rows 5
    ./reward.sh check my.jsonl --answer_key solution --response "<answer>42</answer>"

Prints, per row: data_source, what was extracted, the ground truth and the score; then a histogram.
Scores exactly as training does: the same bound, the same checks of what a function returns, several
--reward_func combined by --reward_weights. Exit status 1 when a row could not be scored.
responses.jsonl: one {"response": "..."} (--response-key for another key) or a bare JSON string per
line, in row order.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from reward.spec import RewardSpec, parse_weights, weights_mismatch
from reward.trl_adapter import COMPLETION_IDS_KEY, PROMPT_KEY

REPO = Path(__file__).resolve().parents[1]


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


def _columns(args):
    """The same column options as train.sh and data_prep convert, for files that are converted."""
    from data_prep.convert import Columns

    default = Columns()
    return Columns(args.prompt_key or default.prompt, args.answer_key or default.answer, default.source,
                   args.data_source or default.default_source)


def _rows(path: Path, limit: int, columns=None) -> tuple[list[dict], int]:
    """Rows of a parquet file or a data_prep folder, or of a JSON/JSONL/CSV file or a saved dataset
    folder converted as `train.sh --data` converts it."""
    if not path.exists():
        raise CheckError(f"{path}: no such file")
    if path.is_dir() and (path / "train.parquet").is_file():
        path = path / "train.parquet"
    elif path.is_dir() or path.suffix != ".parquet":
        from data_prep.cached import convert_cached
        from data_prep.readers import DataError

        try:
            path = convert_cached(path, REPO / "outputs" / "data", val_size=0, columns=columns)[0]
        except DataError as err:
            raise CheckError(" ".join(line.strip() for line in str(err).splitlines())) from None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # not parquet, truncated
        raise CheckError(f"{path}: not a readable parquet file ({type(err).__name__}: {err})") from None
    missing = [c for c in ("data_source", "reward_model") if c not in table.column_names]
    if missing:
        raise CheckError(f"{path}: no {' or '.join(map(repr, missing))} column (it has "
                         f"{', '.join(table.column_names)}); verl's rows need data_source, prompt and "
                         f"reward_model.ground_truth: convert the file with ./data_prep.sh convert")
    return (table.slice(0, limit) if limit else table).to_pylist(), table.num_rows


def _scorer(args, kwargs: dict):
    """The built-in scorer, or the --reward_func files exactly as training calls them: several
    combined by --reward_weights, each bounded (reward/bounded.py)."""
    timeout = {"reward_timeout": args.reward_timeout} if args.reward_timeout else {}
    if not args.reward_func:
        from reward import compute_score

        return lambda *a, **kw: compute_score(*a, **kw, **kwargs, **timeout)
    from reward.user_file import RewardFileError, load
    from reward.user_functions import compute_score as user_compute_score

    for spec in args.reward_func:
        try:
            load(spec)
        except RewardFileError as err:
            raise CheckError(str(err)) from None
    try:
        weights = parse_weights(args.reward_weights) if args.reward_weights else None
    except ValueError as err:
        raise CheckError(f"--reward_weights: invalid value {args.reward_weights!r} ({err})") from None
    if why := weights_mismatch(weights, args.reward_func):
        raise CheckError(why)
    specs = [str(RewardSpec.parse(s).resolved()) for s in args.reward_func]
    return lambda *a, **kw: user_compute_score(*a, user_reward_functions=specs, user_reward_weights=weights,
                                               **kw, **kwargs, **timeout)


def _parts(result, args) -> str:
    """Each function's own value when several are combined; `none`: it gave no score (left out)."""
    from reward.user_functions import part_label

    specs = args.reward_func or []
    if len(specs) < 2 or not isinstance(result, dict):
        return ""
    values = [(label, result.get(label)) for label in (part_label(spec, specs) for spec in specs)]
    return "  (" + ", ".join(f"{label} {'none' if v is None else round(float(v), 4)}" for label, v in values) + ")"


def check(args) -> int:
    rows, total = _rows(args.data, args.rows, _columns(args))
    kwargs = _kwargs(args.reward_kwargs)
    responses = _responses(args.responses, args.response_key) if args.responses else [args.response] * len(rows)
    score_fn = _scorer(args, kwargs)
    shown = min(len(rows), len(responses))
    print(f"checking {shown} of {total} rows of {args.data}" + (" (--rows N for more, --rows 0 for all)"
                                                                  if args.rows and shown < total else ""))
    scores, errors, timeouts = Counter(), 0, 0
    for i, (row, response) in enumerate(zip(rows, responses)):
        truth = row["reward_model"]["ground_truth"]
        extra = {**(row.get("extra_info") or {}), "index": (row.get("extra_info") or {}).get("index", i)}
        if args.reward_func:  # what training's reward manager adds for TRL functions (ids: one per byte here)
            extra.update({PROMPT_KEY: row.get("prompt"), COMPLETION_IDS_KEY: list(response.encode())})
        try:
            result = score_fn(row["data_source"], response, truth, extra_info=extra)
        except Exception as err:  # show the failing row instead of stopping at it
            errors += 1
            print(f"row {i}: {row['data_source']}: ERROR {type(err).__name__}: {err}")
            continue
        score = result["score"] if isinstance(result, dict) else result
        pred = result.get("pred", "") if isinstance(result, dict) else ""
        late = isinstance(result, dict) and result.get("reward_timeout")
        timeouts += bool(late)
        scores[round(float(score), 3)] += 1
        print(f"row {i}: {row['data_source']}: extracted {pred!r:<20} truth {str(truth)[:40]!r:<20} score {score}"
              + _parts(result, args) + ("  (TIMED OUT: scored 0)" if late else ""))
    count = sum(scores.values()) or 1
    print("scores:")
    for value, n in sorted(scores.items()):
        print(f"  {value:>6}: {n:>5}  {'#' * round(40 * n / count)}")
    if timeouts:
        print(f"{timeouts} of {shown} rows ran past the reward bound and scored 0 (--reward-timeout to change it)")
    if errors:
        print(f"reward: error: {errors} of {shown} rows could not be scored (see ERROR above); training would stop "
              f"at the first", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="reward.sh", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="score responses against a parquet file's ground truths")
    p.add_argument("data", type=Path)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--responses", type=Path, help="JSONL, one response per row")
    group.add_argument("--response", help="the same response for every row")
    p.add_argument("--response-key", default="response", help="key of the response in each JSONL object")
    # the column options of train.sh (underscores) and data_prep (hyphens), both spellings
    p.add_argument("--prompt_key", "--prompt-key", dest="prompt_key", help="column of the question (JSON/JSONL/CSV)")
    p.add_argument("--answer_key", "--answer-key", dest="answer_key", help="column of the reference answer")
    p.add_argument("--data_source", "--data-source", dest="data_source", help="data_source for rows without one")
    p.add_argument("--rows", type=int, default=20, help="check the first N rows (default 20; 0: all)")
    p.add_argument("--reward_func", action="append", help="score with your file instead of the built-in rewards "
                                                          "(path.py[:name], verl's or TRL's signature); repeatable")
    p.add_argument("--reward_weights", help="comma-separated weights of several --reward_func, in order")
    p.add_argument("--reward-timeout", type=float, help="seconds of CPU one scoring may take (default 10)")
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
