"""Training data given as JSON/JSONL/CSV is converted once (data_prep) and cached under outputs/."""

from pathlib import Path

from .flags import UsageError

PARQUET = (".parquet",)


def convert_if_needed(paths: str, output_root: Path) -> str:
    converted = []
    for path in str(paths).split(","):
        if path.endswith(PARQUET):
            converted.append(path)
            continue
        try:
            from data_prep.cached import convert_cached
        except ImportError:
            raise UsageError(f"{path}: only parquet is supported here; convert it with python -m data_prep convert")
        converted.append(str(convert_cached(Path(path), output_root / "data")))
    return ",".join(converted)
