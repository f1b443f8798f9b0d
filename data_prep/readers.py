"""Read rows from JSON arrays, JSONL, CSV, parquet, a `datasets` directory, or a hub dataset id.

Every row comes with the place it came from (file and 1-based line/row), for error messages.
"""

import json
from collections.abc import Iterator
from pathlib import Path


class DataError(Exception):
    """Bad input: the message names the file and row."""


def _not_utf8(path: Path, data: bytes, err: UnicodeDecodeError, line_offset: int = 0) -> DataError:
    """The line and column of the first byte that is not UTF-8, as a user can find it in an editor."""
    line_start = data.rfind(b"\n", 0, err.start) + 1
    lineno = line_offset + data.count(b"\n", 0, err.start) + 1
    return DataError(f"{path}:{lineno}: not UTF-8 text (byte 0x{data[err.start]:02x} at column "
                     f"{err.start - line_start + 1}); save the file as UTF-8, e.g. "
                     f"iconv -f latin1 -t utf-8 {path.name} > fixed{path.suffix}")


def _utf8_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_utf8(path, data, err) from None


def _json_rows(path: Path) -> Iterator[tuple[str, dict]]:
    try:
        data = json.loads(_utf8_text(path))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None
    if isinstance(data, dict):
        data = data.get("data", data.get("rows", [data]))
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON array of objects")
    for i, row in enumerate(data, 1):
        yield f"{path}: item {i}", row


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _not_utf8(path, raw, err, lineno - 1) from None
            if not line.strip():
                continue
            try:
                yield f"{path}:{lineno}", json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{lineno}: invalid JSON ({err.msg})") from None


def _table_rows(path: Path, frame) -> Iterator[tuple[str, dict]]:
    # CSV line numbers count the header as line 1.
    first = 2 if path.suffix == ".csv" else 1
    label = "line" if path.suffix == ".csv" else "row"
    for i, row in enumerate(frame.to_dict(orient="records")):
        yield f"{path}: {label} {i + first}", row


SUFFIXES = (".parquet", ".jsonl", ".ndjson", ".json", ".csv")


def split_files(folder: Path, split: str) -> list[Path]:
    """A split's files in a folder: `test.jsonl`, or the hub's layout `main/test-00000-of-00001.parquet`."""
    found = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES
             and (p.stem == split or p.stem.startswith(f"{split}-"))]
    if not found:
        names = sorted({p.stem.split("-")[0] for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES})
        raise DataError(f"{folder}: no {split!r} file (looked for {split}.parquet/.jsonl/.json/.csv and "
                        f"{split}-*.parquet); it has: {', '.join(names) or 'no data files'}")
    return found


VALIDATION_SPLITS = ("validation", "test", "val", "valid", "dev")  # in the order they are preferred


def is_saved_dataset(path: Path) -> bool:
    """A `datasets` save_to_disk folder (a DatasetDict's or a Dataset's)."""
    return path.is_dir() and any((path / n).exists() for n in ("dataset_dict.json", "dataset_info.json"))


def local_splits(source: str) -> list[str]:
    """The splits a local folder holds: a save_to_disk DatasetDict's, or a folder of split files
    (train.jsonl, test-00000-of-00001.parquet); [] for a file, a single Dataset or a hub id."""
    import json

    path = Path(source).expanduser()
    if not path.is_dir():
        return []
    if (path / "dataset_dict.json").is_file():
        try:
            return list(json.loads((path / "dataset_dict.json").read_text()).get("splits") or [])
        except (OSError, ValueError):
            return []
    if is_saved_dataset(path):
        return []
    return sorted({p.stem.split("-")[0] for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES})


def validation_split(source: str, train_split: str = "train") -> str | None:
    """The split of a local folder that is its validation set, when it has one besides training."""
    splits = local_splits(source)
    return next((s for s in VALIDATION_SPLITS if s in splits and s != train_split), None)


def read_rows(source: str, split: str = "train", config: str | None = None) -> Iterator[tuple[str, dict]]:
    path = Path(source).expanduser()
    if path.is_dir() and not is_saved_dataset(path):
        for file in split_files(path, split):  # a folder of split files, e.g. train.jsonl + test.jsonl
            yield from read_rows(str(file))
        return
    if path.is_dir():
        import datasets

        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataError(f"{path}: no split {split!r}; it has {', '.join(loaded)}")
            loaded = loaded[split]
        for i, row in enumerate(loaded):
            yield f"{path}: row {i + 1}", row
        return
    if path.exists():
        suffix = path.suffix.lower()
        if suffix == ".json":
            yield from _json_rows(path)
        elif suffix in (".jsonl", ".ndjson"):
            yield from _jsonl_rows(path)
        elif suffix in (".csv", ".parquet"):
            import pandas as pd

            if suffix == ".csv":
                import io

                text = _utf8_text(path)
                frame = pd.read_csv(io.StringIO(text.removeprefix("\ufeff")), dtype=str, keep_default_na=False)
            else:
                frame = pd.read_parquet(path)
            yield from _table_rows(path, frame)
        else:
            raise DataError(f"{path}: unsupported file type {suffix!r} (use .json, .jsonl, .csv or .parquet)")
        return
    if "/" in source and not source.startswith((".", "/", "~")):
        yield from _hub_rows(source, split, config)
        return
    raise DataError(f"{source}: no such file or directory")


def _hub_rows(dataset_id: str, split: str, config: str | None) -> Iterator[tuple[str, dict]]:
    import datasets

    try:
        loaded = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as err:  # the hub's errors are many; the user needs the id and the reason
        raise DataError(f"{dataset_id}: could not load from the hub ({type(err).__name__}: {err})") from None
    for i, row in enumerate(loaded):
        yield f"{dataset_id}[{split}]: row {i + 1}", row
