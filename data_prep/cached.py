"""For `./train.sh --data my.jsonl`: convert once into outputs/data/, reuse while the file is unchanged."""

import hashlib
from argparse import Namespace
from pathlib import Path

from .cli import run_conversion
from .convert import Columns
from .readers import DataError, read_rows


def convert_cached(path: Path, out_root: Path) -> tuple[Path, Path | None]:
    """Returns (train.parquet, val.parquet or None); 10% of the rows become validation."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    out = out_root / f"{path.stem}-{digest}"
    train, val = out / "train.parquet", out / "val.parquet"
    if not train.exists():
        args = Namespace(out=out, val_size=0.1, seed=0, limit=None, system_prompt=None, instruction=None,
                         fewshot=None, tokenizer=None, max_prompt_tokens=None, drop_long=False)
        try:
            run_conversion(read_rows(str(path)), args, Columns())
        except DataError as err:
            raise DataError(f"--data {path}: {err}") from None
    return train, (val if val.exists() else None)
