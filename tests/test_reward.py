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
]


@pytest.mark.parametrize("source,response,truth,expected", CASES)
def test_rule(source, response, truth, expected):
    assert compute_score(source, response, truth)["score"] == expected


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
