"""reward/: one line per case, each with what it checks."""

import json
import time

import pytest

from reward import compute_score
from reward.dispatch import UnknownDataSource

CODE_OK = "```python\nprint(int(input()) * 2)\n```"
CASES = [
    # (data_source, response, ground truth, expected score)   # rule
    ("math_reasoning", "<answer>42</answer>", "42", 1.0),  # answer tag
    ("math_reasoning", "<answer>41</answer> and 42", "42", 0.0),  # tag wins over later numbers
    ("math_reasoning", "so \\boxed{42}.", "42", 1.0),  # last boxed
    ("math_reasoning", "\\boxed{1} then \\boxed{42}", "42", 1.0),  # the last boxed
    ("gsm8k", "steps...\n#### 1,234", "1234", 1.0),  # #### and thousands separator
    ("gsm8k", "The answer is 18.", "18", 1.0),  # "answer is N"
    ("gsm8k", "I think 3 then 5", "5", 1.0),  # last number
    ("gsm8k", "<answer>$18.00</answer>", "18", 1.0),  # currency and trailing zeros
    ("gsm8k", "<answer>3.0</answer>", "3", 1.0),  # 3.0 == 3
    ("gsm8k", "<answer>50%</answer>", "50", 1.0),  # percent sign
    ("gsm8k", "<answer>  7 </answer>", " 7 ", 1.0),  # whitespace
    ("gsm8k", "<answer>-3</answer>", "3", 0.0),  # sign matters
    ("gsm8k", "no numbers at all", "3", 0.0),  # nothing to extract
    ("math", "\\boxed{\\frac{1}{2}}", "0.5", 1.0),  # fraction = decimal
    ("math", "\\boxed{1/2}", "\\frac{1}{2}", 1.0),  # slash form
    ("math", "\\boxed{2\\sqrt2}", "\\sqrt8", 1.0),  # radicals
    ("math", "\\boxed{(x+1)^2}", "x^2+2x+1", 1.0),  # expanded polynomial
    ("math", "\\boxed{\\{2,1\\}}", "\\{1,2\\}", 1.0),  # set order
    ("math", "\\boxed{\\frac{2}{4}}", "\\frac12", 1.0),  # unreduced fraction
    ("math", "<answer>3</answer>", "\\boxed{3}", 1.0),  # answer tag; boxed ground truth
    ("math", "\\boxed{\\frac{1}{3}}", "0.5", 0.0),  # different value
    ("math", "\\boxed{x", "x", 0.0),  # unbalanced brace: no answer
    ("code", CODE_OK, json.dumps({"inputs": ["2", "5"], "outputs": ["4", "10"]}), 1.0),  # stdin/stdout cases
    ("code_generation", CODE_OK, json.dumps({"inputs": ["2"], "outputs": ["5"]}), 0.0),  # wrong output
    ("code", "```python\ndef f(x):\n    return x + 1\n```", json.dumps({"test": "assert f(1) == 2"}), 1.0),  # asserts
    ("code", "```python\ndef f(x):\n    return x\n```", json.dumps({"test": "assert f(1) == 2"}), 0.0),  # failing assert
    ("code", "no code here", json.dumps({"inputs": ["1"], "outputs": ["1"]}), 0.0),  # no block
    ("qa", "<answer>The Eiffel Tower!</answer>", "eiffel tower", 1.0),  # SQuAD normalisation
    ("trivia", "Paris", json.dumps(["City of Light", "Paris"]), 1.0),  # alias list (as data_prep stores it)
    ("qa", "London", "Paris", 0.0),  # wrong
    ("classification", "<answer>Positive</answer>", "positive", 1.0),  # case
    ("classification", "non-negative", "negative", 0.0),  # whole label only
    # DAPO-Math / Minerva: the final "Answer:" line, normalised like a boxed answer
    ("math", "Let me think.\n...\nAnswer: 34", "34", 1.0),  # the DAPO form
    ("math", "Answer: 1,000", "1000", 1.0),  # thousands separator
    ("math", "Answer: x = 5", "5", 1.0),  # variable = value
    ("math", "Answer: 90^\\circ", "90", 1.0),  # degrees
    ("math", "Answer: \\$18", "18", 1.0),  # escaped dollar
    ("math", "Answer: 18 \\text{ dollars}", "18", 1.0),  # units in text
    ("math", "Answer: $\\frac{1}{2}$", "0.5", 1.0),  # inline math delimiters
    ("math", "Answer: 35", "34", 0.0),  # wrong stays wrong
    ("math", "\\boxed{18 \\text{ dollars}}", "18", 1.0),  # the same normalisation inside a box
    ("math", "Answer: x=5, y=3", "3", 0.0),  # a system is not its last value
    # exact numbers: representation differences only
    ("gsm8k", "#### 1000001", "1000000", 0.0),  # off by one in a large number
    ("gsm8k", "#### 1234567890123456789", "1234567890123456788", 0.0),  # 19 digits, last one differs
    ("gsm8k", "#### 1234567890123456789", "1234567890123456789", 1.0),  # 19 digits equal
    ("gsm8k", "#### 0.1", "0.10000001", 0.0),  # no tolerance
    ("gsm8k", "#### 1,000,000", "1000000.00", 1.0),  # separators and trailing zeros are representation
    # unmarked math answers (default "short": a response that is only a short expression)
    ("math", "\\frac{1}{2}", "0.5", 1.0),  # the whole response is the answer
    ("math", "$x^2+2x+1$", "(x+1)^2", 1.0),  # inline math
    ("math", "5 or 6", "5", 0.0),  # words: not a bare answer
    ("math", "5, 6", "5", 0.0),  # two values are not one
    ("math", "First 3, then after long reasoning the result is 5", "5", 0.0),  # reasoning is never read
    ("math", "7", "5", 0.0),  # a wrong bare answer
    # when the truth is a number, the sum still to do is not an answer: the question copied back (a
    # policy found the first and the last form within a dozen steps; math-verify evaluates them); a
    # worked equation ending in the value still counts, and so does a closed form a grader accepts
    ("math", "\\boxed{54 + 23}", "77", 0.0),
    ("math", "90 - 13 = \\boxed{90 - 13}", "77", 0.0),
    ("math", "\\boxed{6 \\times 7}", "42", 0.0),
    ("math", "\\boxed{84 \\div 2}", "42", 0.0),
    ("math", "\\boxed{1/2 + 1/3}", "0.8333333", 0.0),
    ("math", "14 (+93)", "107", 0.0),  # the second form a policy found
    # closed forms with a numeric truth (verl's own reward tests, and by hand)
    ("math", "\\boxed{3\\pi}", "9.42477796", 1.0),
    ("math", "\\boxed{2\\pi}", "6.28318531", 1.0),
    ("math", "\\boxed{3\\pi+1}", "10.42477796", 1.0),
    ("math", "\\boxed{\\sqrt{2}}", "1.41421356", 1.0),
    ("math", "\\boxed{2^{10}}", "1024", 1.0),
    ("math", "\\boxed{10^3}", "1000", 1.0),
    ("math", "\\boxed{2^3}", "8", 1.0),  # a power is a closed form, not a sum left undone
    ("math", "\\boxed{\\frac{3}{4}}", "0.75", 1.0),
    ("math", "54 + 23 = 77", "77", 1.0),
    ("math", "54 + 23 = 77, so \\boxed{77}", "77", 1.0),
    ("math", "\\boxed{-5}", "-5", 1.0),  # a sign is not arithmetic
    ("math", "\\boxed{x^2+1}", "x^2+1", 1.0),  # an expression is the answer when the truth is one
]


@pytest.mark.parametrize("source,response,truth,expected", CASES)
def test_rule(source, response, truth, expected):
    assert compute_score(source, response, truth)["score"] == expected


@pytest.mark.parametrize("mode,response,expected", [
    ("off", "\\frac{1}{2}", 0.0),  # nothing marked, nothing read
    ("short", "We get\n\\frac{1}{2}", 0.0),  # two lines: not a bare answer
    ("last_line", "We get\n\\frac{1}{2}", 1.0),  # opted in: the last line
])
def test_unmarked_math_modes(mode, response, expected):
    assert compute_score("math", response, "0.5", math_unmarked=mode)["score"] == expected


def test_code_partial_credit_by_option():
    truth = json.dumps({"inputs": [str(i) for i in range(11)], "outputs": [str(2 * i) for i in range(10)] + ["0"]})
    whole = compute_score("code", CODE_OK, truth)
    partial = compute_score("code", CODE_OK, truth, code_partial_credit=True)
    assert whole["score"] == 0.0 and partial["score"] == pytest.approx(10 / 11) and partial["acc"] == 0.0


@pytest.mark.parametrize("source", [None, "", "  ", 7])
def test_missing_data_source_is_the_same_actionable_error(source):
    with pytest.raises(UnknownDataSource, match="set data_source in the data, or pass --reward_func"):
        compute_score(source, "<answer>1</answer>", "1")


def test_dapo_rows_score_as_their_correctness_says(tmp_path):
    """DAPO-Math-shaped rows through `data_prep dapo_math`, then responses in its "Answer:" form."""
    import subprocess
    import sys

    import pandas as pd

    from conftest import REPO

    instruction = ("Solve the following math problem step by step. The last line of your response should be of "
                   "the form Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n")
    problems = [("What is 17 + 17?", "34"), ("How many cents in ten dollars?", "1000"), ("Right angle?", "90")]
    rows = [{"data_source": "math_dapo", "prompt": [{"role": "user", "content": instruction + q + "\n\nRemember to "
             "put your answer on its own line after \"Answer:\"."}], "ability": "MATH",
             "reward_model": {"ground_truth": a, "style": "rule-lighteval/MATH_v2"}, "extra_info": {"index": str(i)}}
            for i, (q, a) in enumerate(problems)]
    pd.DataFrame(rows).to_parquet(tmp_path / "dapo.parquet")
    subprocess.run([sys.executable, "-m", "data_prep", "dapo_math", "--input", str(tmp_path / "dapo.parquet"),
                    "--out", str(tmp_path / "out"), "--val-size", "0"], cwd=REPO, check=True, capture_output=True)
    converted = pd.read_parquet(tmp_path / "out" / "train.parquet")
    right = {"34": "17+17 = 34.\nAnswer: 34", "1000": "Ten dollars.\nAnswer: 1,000",
             "90": "A right angle.\nAnswer: 90^\\circ"}
    for _, row in converted.iterrows():
        truth = row["reward_model"]["ground_truth"]
        assert compute_score(row["data_source"], right[truth], truth)["score"] == 1.0, truth
        assert compute_score(row["data_source"], "So.\nAnswer: 33", truth)["score"] == 0.0


def test_extra_fields_for_logging():
    result = compute_score("code", CODE_OK, json.dumps({"inputs": ["1", "2"], "outputs": ["2", "5"]}))
    assert result["score"] == 0.0 and result["pass_fraction"] == 0.5
    assert compute_score("qa", "Eiffel", "Eiffel Tower")["f1"] == pytest.approx(2 / 3)
    assert compute_score("gsm8k", "#### 7", "7")["pred"] == "7"


@pytest.mark.parametrize("response,strict,lenient", [
    ("<answer>4</answer>", 1.0, 1.0),  # the whole response is the tag
    ("<think>2+2</think> <answer>4</answer>", 1.0, 1.0),  # think then answer
    ("So: <answer>4</answer>", 0.0, 1.0),  # text before: only lenient
    ("<answer>4", 0.0, 0.0),  # unclosed
])
def test_format_rewards(response, strict, lenient):
    from reward.format_score import format_lenient, format_strict

    assert (format_strict(response)["score"], format_lenient(response)["score"]) == (strict, lenient)


def test_weighted_combination_from_config():
    weights = {"accuracy": 1.0, "format_strict": 0.2}
    assert compute_score("gsm8k", "<answer>4</answer>", "4", reward_weights=weights)["score"] == pytest.approx(1.2)
    assert compute_score("gsm8k", "it is 4", "4", reward_weights=weights)["score"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown component"):
        compute_score("gsm8k", "4", "4", reward_weights={"lenght": 1})


def test_unknown_source_falls_back_to_verl_then_lists_ours():
    assert compute_score("openai/gsm8k", "#### 4", "4")["score"] == 1.0  # verl's default_compute_score knows it
    with pytest.raises(UnknownDataSource, match="ours are math_reasoning, gsm8k, math"):
        compute_score("poetry", "x", "y")


@pytest.mark.parametrize("source,response", [
    ("math_reasoning", "1 " * 100_000),  # 200k characters of numbers
    ("math", "\\boxed{" * 50_000),  # unbalanced braces, 350k characters
    ("math", "\\boxed{" + "x+" * 100_000 + "1}"),  # a huge boxed answer
    ("qa", "word " * 40_000),
    ("gsm8k", "#### " + "9" * 200_000),
])
def test_pathological_outputs_score_fast(source, response):
    started = time.perf_counter()
    compute_score(source, response, "1")
    assert time.perf_counter() - started < 1.0
