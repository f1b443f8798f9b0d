"""Training data given as JSON/JSONL/CSV is converted once (data_prep) and cached under outputs/data/."""

from pathlib import Path

from .flags import UsageError


def resolve_data(values: dict, output_root: Path) -> dict:
    """Parquet passes through; other files are converted. A converted --data with no --val_files
    also supplies the validation split (10% of its rows)."""
    from data_prep.cached import convert_cached
    from data_prep.readers import DataError

    out = dict(values)
    for name in ("data", "val_files"):
        paths = [p for p in str(values.get(name) or "").split(",") if p]
        converted = []
        for path in paths:
            if path.endswith(".parquet"):
                converted.append(path)
                continue
            try:
                train, val = convert_cached(Path(path).expanduser(), output_root / "data")
            except DataError as err:
                raise UsageError(str(err).replace("\n", " ")) from None
            converted.append(str(train if name == "data" else (val or train)))
            if name == "data" and val and not values.get("val_files"):
                out["val_files"] = str(val)
        if converted:
            out[name] = ",".join(converted)
    return out
