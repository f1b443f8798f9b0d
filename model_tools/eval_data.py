"""The problems to evaluate on: verl's parquet schema (as train.sh reads it), a data_prep folder
(its val.parquet), or JSON/JSONL/CSV converted as train.sh converts it."""

from pathlib import Path

from core.errors import UsageError

SCHEMA = "verl's schema: prompt (chat messages), data_source, reward_model.ground_truth"


def data_file(given: str, output_root: Path) -> Path:
    path = Path(given).expanduser()
    if path.is_dir():
        for name in ("val.parquet", "test.parquet"):
            if (path / name).is_file():
                return path / name
        raise UsageError(f"--data {given}: a folder without val.parquet or test.parquet")
    if not path.is_file():
        raise UsageError(f"--data {given}: no such file")
    if path.suffix == ".parquet":
        return path
    from data_prep.cached import convert_cached
    from data_prep.readers import DataError

    try:
        return convert_cached(path, output_root / "data", 0)[0]
    except DataError as err:
        raise UsageError(f"--data {' '.join(str(err).split())}") from None


def load_problems(path: Path, prompt_key: str = "prompt", limit: int | None = None) -> list[dict]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a file that is not parquet
        raise UsageError(f"--data {path}: not a readable parquet file ({type(err).__name__})") from None
    missing = [c for c in (prompt_key, "data_source", "reward_model") if c not in frame.columns]
    if missing:
        raise UsageError(f"--data {path}: no column {', '.join(missing)} ({SCHEMA})")
    if limit:
        frame = frame.head(limit)
    problems = []
    for i, row in enumerate(frame.to_dict("records")):
        messages, reward_model = row[prompt_key], row["reward_model"]
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        if not isinstance(reward_model, dict) or "ground_truth" not in reward_model:
            raise UsageError(f"--data {path}: row {i}: reward_model has no ground_truth ({SCHEMA})")
        problems.append({"index": i, "messages": [dict(m) for m in messages], "data_source": row["data_source"],
                         "ground_truth": reward_model["ground_truth"], "extra_info": dict(row.get("extra_info") or {})})
    if not problems:
        raise UsageError(f"--data {path}: no rows")
    return problems
