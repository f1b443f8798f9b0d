"""data_prep on small files of every supported shape, written here: schema, truths, splits, errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO
from data_prep.cli import main
from data_prep.extract import gsm8k_answer, last_boxed

ROWS = [{"prompt": "请解答：15 + 27 = ?", "ground_truth": "42", "data_source": "math_reasoning"},
        {"prompt": "2+2", "ground_truth": 4, "data_source": "gsm8k"},
        {"prompt": "Capital of France?", "ground_truth": ["Paris", "paris"], "data_source": "qa"},
        {"prompt": "7*6", "ground_truth": "42"}]


def write(tmp_path, fmt, rows=ROWS):
    path = tmp_path / f"data.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False))
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    elif fmt == "csv":
        pd.DataFrame([{**r, "ground_truth": str(r["ground_truth"])} for r in rows if r.get("data_source") != "qa"]
                     ).to_csv(path, index=False)
    elif fmt == "parquet":
        pd.DataFrame([{**r, "ground_truth": str(r["ground_truth"])} for r in rows]).to_parquet(path)
    return path


def convert(*argv):
    return main(["convert", *map(str, argv)])


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_every_format_converts_to_verl_schema(tmp_path, fmt):
    src = write(tmp_path, fmt)
    assert convert(src, "--out", tmp_path / "out", "--val-size", "1") == 0
    train = pd.read_parquet(tmp_path / "out" / "train.parquet")
    val = pd.read_parquet(tmp_path / "out" / "val.parquet")
    assert list(train.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert len(val) == 1 and {r["split"] for r in train["extra_info"]} == {"train"}
    row = pd.concat([train, val]).iloc[0]
    assert row["prompt"][0]["role"] == "user" and row["reward_model"]["style"] == "rule"


def test_ground_truths_and_unique_index(tmp_path):
    convert(write(tmp_path, "json"), "--out", tmp_path / "o", "--val-size", "2")
    rows = pd.concat([pd.read_parquet(tmp_path / "o" / f) for f in ("train.parquet", "val.parquet")])
    truths = {r["prompt"][0]["content"]: r["reward_model"]["ground_truth"] for _, r in rows.iterrows()}
    assert truths["2+2"] == "4"  # a JSON number becomes its string
    assert json.loads(truths["Capital of France?"]) == ["Paris", "paris"]  # qa aliases kept
    assert sorted(r["index"] for r in rows["extra_info"]) == [0, 1, 2, 3]  # unique across both files
    assert set(rows["data_source"]) == {"math_reasoning", "gsm8k", "qa"}  # missing source -> default


def test_split_is_reproducible(tmp_path):
    rows = [{"prompt": f"q{i}", "ground_truth": str(i)} for i in range(50)]
    for out in ("a", "b"):
        convert(write(tmp_path, "jsonl", rows), "--out", tmp_path / out, "--val-size", "0.2")
    a, b = (pd.read_parquet(tmp_path / o / "val.parquet") for o in ("a", "b"))
    assert len(a) == 10 and list(a["reward_model"]) == list(b["reward_model"])


def test_prompt_building_flags(tmp_path):
    shots = tmp_path / "shots.json"
    shots.write_text(json.dumps([["1+1", "<answer>2</answer>"]]))
    convert(write(tmp_path, "json"), "--out", tmp_path / "o", "--val-size", "0", "--system-prompt", "Be brief.",
            "--instruction", "Put the final answer in <answer></answer>.", "--fewshot", shots)
    prompt = list(pd.read_parquet(tmp_path / "o" / "train.parquet")["prompt"][0])
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[-1]["content"].endswith("\nPut the final answer in <answer></answer>.")
    assert not (tmp_path / "o" / "val.parquet").exists()


def test_custom_column_names_and_limit(tmp_path):
    src = write(tmp_path, "jsonl", [{"question": f"q{i}", "answer": "1"} for i in range(10)])
    convert(src, "--out", tmp_path / "o", "--prompt-key", "question", "--answer-key", "answer", "--limit", "4",
            "--val-size", "0")
    assert len(pd.read_parquet(tmp_path / "o" / "train.parquet")) == 4


# (rows, the error text)  -- each names the file and the row
BAD = [
    ([{"ground_truth": "1"}], "data.jsonl:1: missing 'prompt'"),
    ([{"prompt": "a", "ground_truth": "1"}, {"prompt": "b"}], "data.jsonl:2: missing 'ground_truth'"),
    ([{"prompt": "  ", "ground_truth": "1"}], "data.jsonl:1: empty prompt"),
    ([{"prompt": "a", "ground_truth": {"x": 1}}], "data.jsonl:1: ground_truth must be a string"),
    ([{"prompt": "a", "ground_truth": None}], "data.jsonl:1: ground_truth must be a string, got NoneType"),
    ([{"prompt": "a", "ground_truth": ["x"], "data_source": "math"}], "ground_truth must be a string (or, for qa"),
    (["just a string"], "data.jsonl:1: expected an object"),
]


@pytest.mark.parametrize("rows,message", BAD)
def test_validation_errors_name_file_and_row_and_write_nothing(tmp_path, capsys, rows, message):
    assert convert(write(tmp_path, "jsonl", rows), "--out", tmp_path / "o") == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_invalid_json_line_is_named(tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"prompt": "a", "ground_truth": "1"}\n{"prompt": \n')
    assert convert(src, "--out", tmp_path / "o") == 2
    assert "bad.jsonl:2: invalid JSON" in capsys.readouterr().err


def test_duplicates_and_unknown_sources_are_reported(tmp_path, capsys):
    rows = [{"prompt": "a", "ground_truth": "1"}] * 3 + [{"prompt": "b", "ground_truth": "2", "data_source": "poetry"}]
    assert convert(write(tmp_path, "jsonl", rows), "--out", tmp_path / "o", "--val-size", "0") == 0
    err = capsys.readouterr().err
    assert "dropped 2 duplicate row(s)" in err
    assert "data_source 'poetry'" in err and "math_reasoning" in err


def test_long_prompts_are_reported_with_rows(tmp_path, capsys):
    from demo.tiny_model import build_tokenizer

    build_tokenizer().save_pretrained(tmp_path / "tok")
    rows = [{"prompt": "short", "ground_truth": "1"}, {"prompt": "x" * 200, "ground_truth": "2"}]
    src = write(tmp_path, "jsonl", rows)
    assert convert(src, "--out", tmp_path / "o", "--tokenizer", tmp_path / "tok", "--max-prompt-tokens", "50") == 2
    assert "1 prompt(s) longer than --max-prompt-tokens 50: " in capsys.readouterr().err
    assert convert(src, "--out", tmp_path / "o", "--tokenizer", tmp_path / "tok", "--max-prompt-tokens", "50",
                   "--drop-long", "--val-size", "0") == 0
    assert len(pd.read_parquet(tmp_path / "o" / "train.parquet")) == 1


@pytest.mark.parametrize("solution,expected", [
    ("She has 3 + 4 = 7.\n#### 7", "7"),
    ("Total 1,234 dollars\n#### 1,234", "1234"),
    ("no marker", None),
])
def test_gsm8k_answer(solution, expected):
    assert gsm8k_answer(solution) == expected


@pytest.mark.parametrize("text,expected", [
    ("so \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
    ("\\boxed{1} then \\boxed{2}", "2"),  # the last one
    ("\\boxed{unclosed", None),
    ("\\boxed 5.", "5"),
    ("\\fbox{x}", "x"),
])
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_public_dataset_shapes_from_local_files(tmp_path):
    gsm = tmp_path / "gsm.jsonl"
    gsm.write_text("\n".join(json.dumps({"question": f"q{i}", "answer": f"work\n#### {i}"}) for i in range(5)))
    assert main(["gsm8k", "--input", str(gsm), "--out", str(tmp_path / "g"), "--val-size", "1"]) == 0
    g = pd.read_parquet(tmp_path / "g" / "train.parquet")
    assert set(g["data_source"]) == {"gsm8k"} and {r["ground_truth"] for r in g["reward_model"]} <= set("01234")

    math = tmp_path / "math.jsonl"
    math.write_text(json.dumps({"problem": "half?", "solution": "It is $\\boxed{\\frac12}$", "level": "1"}))
    assert main(["math", "--input", str(math), "--out", str(tmp_path / "m"), "--val-size", "0"]) == 0
    assert pd.read_parquet(tmp_path / "m" / "train.parquet")["reward_model"][0]["ground_truth"] == "\\frac12"

    dapo = tmp_path / "dapo.jsonl"
    row = {"prompt": [{"role": "user", "content": "Find x."}], "reward_model": {"ground_truth": "3", "style": "rule"},
           "data_source": "math_dapo"}
    dapo.write_text("\n".join(json.dumps(row) for _ in range(3)))  # DAPO-Math-17k repeats rows
    assert main(["dapo_math", "--input", str(dapo), "--out", str(tmp_path / "d"), "--val-size", "0"]) == 0
    assert len(pd.read_parquet(tmp_path / "d" / "train.parquet")) == 1


def test_datasets_directory_input(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"prompt": "a", "ground_truth": "1"}, {"prompt": "b", "ground_truth": "2"}]) \
        .save_to_disk(str(tmp_path / "ds"))
    assert convert(tmp_path / "ds", "--out", tmp_path / "o", "--val-size", "0") == 0


def test_inspect_prints_what_the_trainer_sees(tmp_path):
    convert(write(tmp_path, "json"), "--out", tmp_path / "o", "--val-size", "0")
    out = subprocess.run([sys.executable, "-m", "data_prep", "inspect", str(tmp_path / "o" / "train.parquet")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "4 rows" in out.stdout and "prompt length (characters): p50" in out.stdout and "example 2:" in out.stdout


def test_train_sh_data_json_is_converted_once(tmp_path):
    from data_prep.cached import convert_cached

    src = write(tmp_path, "json", [{"prompt": f"q{i}", "ground_truth": str(i)} for i in range(20)])
    train, val = convert_cached(src, tmp_path / "cache")
    assert len(pd.read_parquet(train)) == 18 and len(pd.read_parquet(val)) == 2
    mtime = train.stat().st_mtime
    assert convert_cached(src, tmp_path / "cache")[0].stat().st_mtime == mtime  # reused


# ---- --prefix-file ----------------------------------------------------------------------------------
def test_prefix_file_goes_to_training_rows_only(tmp_path):
    import json

    import pandas as pd

    from data_prep.cli import main

    rows = [{"q": f"{a}+{a}", "a": str(2 * a)} for a in range(10)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "pre.jsonl").write_text("".join(json.dumps({"question": r["q"], "prefix": r["a"][0]}) + "\n"
                                                for r in rows))
    assert main(["convert", str(tmp_path / "in.jsonl"), "--prompt-key", "q", "--answer-key", "a", "--out",
                 str(tmp_path / "out"), "--val-size", "3", "--prefix-file", str(tmp_path / "pre.jsonl")]) == 0
    train, val = (pd.read_parquet(tmp_path / "out" / f"{s}.parquet") for s in ("train", "val"))
    assert [e["prefix"] for e in train.extra_info] == [gt["ground_truth"][0] for gt in train.reward_model]
    assert all(e.get("prefix") is None for e in val.extra_info)


def test_prefix_file_matching_nothing_is_one_line(tmp_path, capsys):
    from data_prep.cli import main

    (tmp_path / "in.jsonl").write_text('{"q": "1+1", "a": "2"}\n')
    (tmp_path / "pre.json").write_text('{"2+2": "4"}')
    assert main(["convert", str(tmp_path / "in.jsonl"), "--prompt-key", "q", "--answer-key", "a", "--out",
                 str(tmp_path / "out"), "--prefix-file", str(tmp_path / "pre.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "none of its 1 questions matches" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bytes_that_are_not_utf8_name_the_line_and_column(tmp_path):
    from data_prep.readers import DataError, read_rows

    jsonl = tmp_path / "latin1.jsonl"
    jsonl.write_bytes(b'{"prompt": "hi", "ground_truth": "1"}\n{"prompt": "caf\xe9", "ground_truth": "2"}\n')
    with pytest.raises(DataError, match=r"latin1.jsonl:2: not UTF-8 text \(byte 0xe9 at column 16\); save the file"):
        list(read_rows(str(jsonl)))
    csv = tmp_path / "latin1.csv"
    csv.write_bytes(b"prompt,ground_truth\nhi,1\ncaf\xe9,2\n")
    with pytest.raises(DataError, match=r"latin1.csv:3: not UTF-8 text \(byte 0xe9 at column 4\)"):
        list(read_rows(str(csv)))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfprompt,ground_truth\nhi,1\n")
    assert [row for _, row in read_rows(str(bom))] == [{"prompt": "hi", "ground_truth": "1"}]
