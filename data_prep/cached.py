"""For `./train.sh --data my.jsonl`: convert once into outputs/data/, reuse while the file is unchanged."""

import hashlib
import json
from argparse import Namespace
from pathlib import Path

from .cli import run_conversion
from .convert import Columns
from .readers import DataError, read_rows


CACHE_VERSION = 2  # raised when the rows written change (2: extra columns and the prompt format kept)


def convert_cached(path: Path, out_root: Path, val_size: float = 0.1,
                   columns: Columns | None = None) -> tuple[Path, Path | None]:
    """Returns (train.parquet, val.parquet or None). `val_size` 0 converts the file whole.
    The cache key holds the file's content digest and every setting, so an edited file or other
    columns are converted again, never silently reused."""
    columns = columns or Columns()
    settings = json.dumps([val_size, vars(columns), CACHE_VERSION], sort_keys=True)
    digest = hashlib.sha256(path.read_bytes() + settings.encode()).hexdigest()[:12]
    out = out_root / f"{path.stem}-{digest}"
    train, val = out / "train.parquet", out / "val.parquet"
    if not train.exists():
        args = Namespace(out=out, val_size=val_size, seed=0, limit=None, system_prompt=None, instruction=None,
                         fewshot=None, tokenizer=None, max_prompt_tokens=None, drop_long=False)
        try:
            run_conversion(read_rows(str(path)), args, columns)
        except DataError as err:
            raise DataError(f"{path}: {err}") from None
    return train, (val if val.exists() else None)
