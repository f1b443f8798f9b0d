"""For `./train.sh --data my.jsonl`: convert once into outputs/data/, reuse while the file is unchanged."""

import hashlib
import json
from argparse import Namespace
from pathlib import Path

from .cli import run_conversion
from .convert import Columns
from .readers import DataError, read_rows, validation_split


CACHE_VERSION = 3  # raised when the rows written change (2: extra columns and the prompt format kept; 3: a folder's own validation split)


def convert_cached(path: Path, out_root: Path, val_size: float = 0.1,
                   columns: Columns | None = None) -> tuple[Path, Path | None]:
    """Returns (train.parquet, val.parquet or None). `val_size` 0 converts the file whole.
    The cache key holds the file's content digest and every setting, so an edited file or other
    columns are converted again, never silently reused."""
    columns = columns or Columns()
    # a folder (datasets' save_to_disk, or split files) with its own validation split: that split, whole
    val_split = validation_split(str(path)) if path.is_dir() and val_size else None
    settings = json.dumps([val_size, vars(columns), CACHE_VERSION, val_split], sort_keys=True)
    digest = hashlib.sha256(_content(path) + settings.encode()).hexdigest()[:12]
    out = out_root / f"{path.stem}-{digest}"
    train, val = out / "train.parquet", out / "val.parquet"
    if not train.exists():
        args = Namespace(out=out, val_size=val_size, seed=0, limit=None, system_prompt=None, instruction=None,
                         fewshot=None, tokenizer=None, max_prompt_tokens=None, drop_long=False)
        try:
            run_conversion(read_rows(str(path)), args, columns,
                           read_rows(str(path), split=val_split) if val_split else None)
        except DataError as err:
            raise DataError(f"{path}: {err}") from None
    return train, (val if val.exists() else None)


def _content(path: Path) -> bytes:
    """A file's bytes; a folder's files, each named, in order (an edited or added file changes it)."""
    if not path.is_dir():
        return path.read_bytes()
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    return digest.digest()
