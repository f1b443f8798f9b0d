"""python -m data_prep convert INPUT --out DIR | gsm8k | math | dapo_math | inspect FILE"""

import argparse
import json
import sys
import time
from pathlib import Path

from .convert import (Columns, Report, build_rows, check_prompt_lengths, index_rows, load_tokenizer, prompt_tokens,
                      split_rows, write_parquet_atomic)
from . import prefixes
from .public import DATASETS, public_records
from .readers import DataError, read_rows, validation_split
from .schema import PromptStyle


# Public datasets verl's preprocess scripts split as train -> train.parquet, test -> test.parquet.
VAL_SPLITS = {"gsm8k": "test", "math": "test"}


def _val_size(text: str) -> float:
    value = float(text)
    if value < 0 or (value >= 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError("a fraction below 1 or a whole number of rows")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output directory (train.parquet, val.parquet)")
    p.add_argument("--val-size", type=_val_size, default=0.1, help="fraction (<1) or row count; 0: no val file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="use only the first N input rows")
    p.add_argument("--system-prompt", help="system message for every prompt")
    p.add_argument("--instruction", help="text appended to every question (e.g. answer-format instruction)")
    p.add_argument("--fewshot", type=Path, help="JSON file: [[question, answer], ...] as chat turns before the question")
    p.add_argument("--tokenizer", help="tokenizer (path or hub id) for --max-prompt-tokens")
    p.add_argument("--max-prompt-tokens", type=int, help="reject prompts longer than this (needs --tokenizer)")
    p.add_argument("--drop-long", action="store_true", help="drop over-long prompts instead of failing")
    p.add_argument("--prefix-file", type=Path,
                   help="solution openings for training rows, by question (JSON {question: prefix} or JSON/JSONL "
                        "objects with question/prompt and prefix): train.sh --prefix_dropout P continues them")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="data_prep", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="a JSON/JSONL/CSV/parquet file, datasets dir or hub id")
    conv.add_argument("input")
    conv.add_argument("--prompt-key", default="prompt")
    conv.add_argument("--answer-key", default="ground_truth")
    conv.add_argument("--source-key", default="data_source")
    conv.add_argument("--data-source", default="math_reasoning", help="for rows without a data_source")
    conv.add_argument("--split", default="train", help="split to read from a folder, datasets dir or hub id")
    conv.add_argument("--val-split", help="validation = this split, whole (e.g. test); default: --val-size of --split")
    _common(conv)
    for name, (hub_id, _, _, _) in DATASETS.items():
        p = sub.add_parser(name, help=f"{hub_id} (or a local copy with --input)")
        p.add_argument("--input", help=f"local file or folder (e.g. with train/test files) instead of {hub_id}")
        p.add_argument("--split", default="train")
        p.add_argument("--val-split",
                       help=f"validation = this split, whole (default: {VAL_SPLITS.get(name) or 'none'}; 'none': "
                            f"--val-size of --split, as verl's preprocess scripts do with the test split)")
        _common(p)
    ins = sub.add_parser("inspect", help="row count, sources, prompt lengths and examples of a parquet file")
    ins.add_argument("file", type=Path)
    ins.add_argument("--tokenizer")
    return top


def _style(args) -> PromptStyle:
    fewshot = []
    if args.fewshot:
        try:
            pairs = json.loads(args.fewshot.read_text())
            for question, answer in pairs:
                fewshot += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        except (OSError, ValueError, TypeError) as err:
            raise DataError(f"{args.fewshot}: expected a JSON list of [question, answer] pairs ({err})") from None
    return PromptStyle(system=args.system_prompt, suffix=args.instruction, fewshot=fewshot)


def _val_split(args, notes: list[str]) -> str | None:
    """The split that becomes the validation file, if any. A single file has no splits: the
    public datasets' default (test) then falls back to --val-size, an explicit --val-split fails."""
    given = args.val_split
    split = given or VAL_SPLITS.get(args.command)
    if split is None and args.command == "convert" and (found := validation_split(args.input, args.split)):
        notes.append(f"validation: the {found!r} split of {args.input}, whole (--val-split none: --val-size of "
                      f"{args.split!r} instead)")
        return found  # a DatasetDict (or a folder of split files) brings its own: use it, as TRL would
    if split in (None, "none"):
        return None
    source = args.input
    if source and Path(source).expanduser().is_file():
        if given:
            raise DataError(f"--val-split {given}: {source} is one file with no splits (give a folder with "
                            f"train/{given} files, or --val-size)")
        notes.append(f"{source} is one file: validation is {args.val_size:g} of its rows (--val-size), "
                     f"not the {split} split")
        return None
    return split


def run_conversion(records, args, columns: Columns, val_records=None) -> tuple[Report, dict[Path, list[dict]]]:
    """`val_records` (another split) become the validation file whole; else --val-size of the rows."""
    if args.limit:
        records = (r for i, r in enumerate(records) if i < args.limit)
    report = Report()
    prefix_file = getattr(args, "prefix_file", None)  # the launcher converts --data without one
    prefix_map = prefixes.load(prefix_file, getattr(args, "prompt_key", None)) if prefix_file else None
    rows = build_rows(records, columns, _style(args), report, prefix_map)
    if prefix_map is not None:
        if not report.prefixed:
            raise DataError(f"--prefix-file {prefix_file}: none of its {len(prefix_map)} questions matches a "
                            f"row's question (matched as written in the input, before --instruction); nothing written")
        report.warnings.append(f"{report.prefixed} of {len(rows)} row(s) have a prefix ({len(prefix_map)} in "
                               f"{prefix_file}); validation rows keep none")
    val_rows = build_rows(val_records, columns, _style(args), Report()) if val_records is not None else None
    if args.max_prompt_tokens:
        if not args.tokenizer:
            raise DataError("--max-prompt-tokens needs --tokenizer")
        tok = load_tokenizer(args.tokenizer)
        if args.drop_long:
            kept = [r for r in rows if prompt_tokens(tok, r["prompt"]) <= args.max_prompt_tokens]
            if len(kept) < len(rows):
                report.warnings.append(f"dropped {len(rows) - len(kept)} prompt(s) over {args.max_prompt_tokens} tokens")
            rows = kept
        else:
            check_prompt_lengths(rows, tok, args.max_prompt_tokens)
    train, val = index_rows(rows, val_rows) if val_rows is not None else split_rows(rows, args.val_size, args.seed)
    for row in val:  # validation measures the model alone
        row["extra_info"].pop("prefix", None)
    files = {args.out / "train.parquet": train}
    if val:
        files[args.out / "val.parquet"] = val
    write_parquet_atomic(files)
    return report, files


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.command == "inspect":
            from .inspect_data import inspect

            if not args.file.is_file():
                raise DataError(f"{args.file}: no such file")
            print(inspect(args.file, args.tokenizer))
            return 0
        val_split = _val_split(args, report_notes := [])
        if args.command == "convert":
            read = lambda split: read_rows(args.input, split=split)  # noqa: E731
            columns = Columns(args.prompt_key, args.answer_key, args.source_key, args.data_source)
        else:
            read = lambda split: public_records(args.command, args.input, split)  # noqa: E731
            columns = Columns()
        report, files = run_conversion(read(args.split), args, columns, read(val_split) if val_split else None)
    except DataError as err:
        print(f"data_prep: error: {err}", file=sys.stderr)
        return 2
    for warning in report_notes + report.warnings:
        print(f"data_prep: warning: {warning}", file=sys.stderr)
    written = ", ".join(f"{path} ({len(rows)} rows)" for path, rows in files.items())
    print(f"wrote {written} in {time.perf_counter() - started:.1f} s")
    return 0
