"""Rows in -> validated verl rows -> train/val parquet, written atomically (all or nothing)."""

import json
import os
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reward.sources import BUILTIN_SOURCES

from .prefixes import question_of

from .readers import DataError
from .schema import PromptStyle, is_known_source, make_row

MAX_ERRORS_SHOWN = 10


@dataclass
class Columns:
    prompt: str = "prompt"
    answer: str = "ground_truth"
    source: str = "data_source"
    default_source: str = "math_reasoning"


@dataclass
class Report:
    rows: int = 0
    duplicates: int = 0
    unknown_sources: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    prefixed: int = 0  # rows given a --prefix-file prefix


def _error_summary(errors: list[tuple[str, str]]) -> str:
    """The same problem on many rows is said once, with a count and the first rows that have it."""
    by_message: dict[str, list[str]] = {}
    for where, message in errors:
        by_message.setdefault(message, []).append(where)
    lines = []
    for message, wheres in list(by_message.items())[:MAX_ERRORS_SHOWN]:
        shown = ", ".join(wheres[:3]) + (f" and {len(wheres) - 3} more" if len(wheres) > 3 else "")
        lines.append(f"{shown}: {message}")
    more = len(by_message) - MAX_ERRORS_SHOWN
    return "\n".join(f"  {line}" for line in lines) + (f"\n  ... and {more} other problems" if more > 0 else "")


RESERVED_EXTRA = {"source_row", "prefix", "index", "split", "prompt_format"}


def _extra_columns(record: dict, columns: Columns) -> dict:
    """The row's other columns (TRL's multi-task example reads `task`), kept in extra_info so reward
    functions get them as TRL passes them: plain values only (text, numbers, booleans)."""
    used = {columns.prompt, columns.answer, columns.source}
    return {k: v for k, v in record.items() if k not in used and k not in RESERVED_EXTRA
            and (v is None or isinstance(v, (str, int, float, bool)))}


def _one_type_per_column(rows: list[dict]) -> None:
    """Parquet keeps one type per column: an extra column whose rows disagree (3 here, "3" there) is text."""
    types: dict[str, set] = {}
    for row in rows:
        for key, value in row["extra_info"].items():
            if value is not None:
                types.setdefault(key, set()).add(type(value))
    mixed = {key for key, kinds in types.items() if len(kinds) > 1}
    for row in rows:
        for key in mixed & set(row["extra_info"]):
            if row["extra_info"][key] is not None:
                row["extra_info"][key] = str(row["extra_info"][key])


def build_rows(records, columns: Columns, style: PromptStyle, report: Report,
               prefixes: dict[str, str] | None = None) -> list[dict]:
    """Validate every record; collect all errors before failing, so one run shows them. `prefixes`
    (question -> solution opening, data_prep/prefixes.py) go into the matching rows' extra_info."""
    rows, errors, seen = [], [], set()
    for where, record in records:
        if not isinstance(record, dict):
            errors.append((where, f"expected an object with {columns.prompt!r} and {columns.answer!r}"))
            continue
        missing = [k for k in (columns.prompt, columns.answer) if k not in record]
        if missing:
            have = ", ".join(map(repr, list(record)[:8])) or "nothing"
            errors.append((where, f"missing {' and '.join(map(repr, missing))} (the row has {have}; "
                                  f"choose columns with --prompt-key/--answer-key)"))
            continue
        source = str(record.get(columns.source) or columns.default_source)
        try:
            question = question_of(record[columns.prompt]) if prefixes else None
            extra = _extra_columns(record, columns)
            if question in (prefixes or {}):
                extra["prefix"] = prefixes[question]
            if isinstance(record[columns.prompt], str):
                extra["prompt_format"] = "standard"  # TRL hands such rows' functions plain strings
            row = make_row(record[columns.prompt], record[columns.answer], source, style, where, extra)
        except DataError as err:
            errors.append((where, str(err).removeprefix(f"{where}: ")))
            continue
        key = json.dumps([row["prompt"], row["reward_model"]["ground_truth"], source], sort_keys=True)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        if not is_known_source(source):
            report.unknown_sources[source] += 1
        rows.append(row)
    if prefixes:
        report.prefixed = sum("prefix" in r["extra_info"] for r in rows)
    _one_type_per_column(rows)
    if errors:
        raise DataError(f"{len(errors)} invalid row(s); nothing written:\n{_error_summary(errors)}")
    if not rows:
        raise DataError("no rows to write")
    report.rows = len(rows)
    if report.duplicates:
        report.warnings.append(f"dropped {report.duplicates} duplicate row(s)")
    for source, count in report.unknown_sources.items():
        report.warnings.append(f"{count} row(s) have data_source {source!r}, which the built-in reward does not "
                               f"know ({', '.join(BUILTIN_SOURCES)}); use --reward_func for it")
    return rows


def prompt_tokens(tokenizer, messages) -> int:
    """Tokens of the prompt as the trainer renders it (chat template + generation prompt)."""
    text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise DataError(f"--tokenizer {path}: cannot load ({err})") from None


def check_prompt_lengths(rows: list[dict], tokenizer, max_tokens: int) -> None:
    too_long = []
    for row in rows:
        n = prompt_tokens(tokenizer, row["prompt"])
        if n > max_tokens:
            too_long.append(f"{row['extra_info']['source_row']} ({n} tokens)")
    if too_long:
        listed = "; ".join(too_long[:MAX_ERRORS_SHOWN]) + (" ..." if len(too_long) > MAX_ERRORS_SHOWN else "")
        raise DataError(f"{len(too_long)} prompt(s) longer than --max-prompt-tokens {max_tokens}: {listed} "
                        f"(raise the limit, shorten them, or pass --drop-long)")


def split_rows(rows: list[dict], val_size: float, seed: int) -> tuple[list[dict], list[dict]]:
    """`val_size` below 1 is a fraction, from 1 a row count. Fixed seed: the same split every time."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = int(round(val_size * len(rows))) if val_size < 1 else int(val_size)
    if n_val >= len(rows):
        raise DataError(f"--val-size {val_size} leaves no training rows (there are {len(rows)})")
    val_ids = set(order[:n_val])
    train = [rows[i] for i in range(len(rows)) if i not in val_ids]
    val = [rows[i] for i in range(len(rows)) if i in val_ids]
    return index_rows(train, val)


def index_rows(train: list[dict], val: list[dict]) -> tuple[list[dict], list[dict]]:
    """One index space over the whole output: ids stay unique and stable across the two files."""
    for index, (split, row) in enumerate([("train", r) for r in train] + [("test", r) for r in val]):
        row["extra_info"] = {**row["extra_info"], "split": split, "index": index}
    return train, val


def write_parquet_atomic(files: dict[Path, list[dict]]) -> None:
    """Write every file to a temporary name first and rename only when all succeeded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staged = []
    try:
        for path, rows in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            os.close(fd)
            staged.append((tmp, path))
            pq.write_table(pa.Table.from_pylist(rows), tmp)
        umask = os.umask(0)
        os.umask(umask)
        for tmp, path in staged:
            os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would: others on a shared file system can read
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
