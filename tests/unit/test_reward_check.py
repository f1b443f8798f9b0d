"""`./reward.sh check` scores as training does (TRL functions, several with weights, the bound, the
checks of what a function returns), and a user's function that returns garbage or raises is one
line naming the function and the sample, in training as in the check: never a score of 0 or NaN
passed on silently."""

import json
import subprocess
import sys

import pytest

from conftest import REPO
from reward import bounded
from reward.user_functions import RewardFunctionError, compute_score

BAD = {
    "nan": "return float('nan')",
    "none": "return None",
    "text": "return 'abc'",
    "raises": "raise KeyError('answer')",
}
TRL_LEN = '''
def length_reward(completions, **kwargs):
    """TRL's docs, standard format (string prompts, so string completions)"""
    return [float(len(completion)) for completion in completions]
'''
TRL_WRONG_LENGTH = "def two(completions, **kwargs):\n    return [1.0, 2.0]\n"
TRL_SOMETIMES = '''
def odd_only(completions, ground_truth, **kwargs):
    """TRL's multi-task shape: no score (None) where the function does not apply"""
    return [1.0 if int(t) % 2 else None for t in ground_truth]
'''


@pytest.fixture
def files(tmp_path):
    for name, body in BAD.items():
        (tmp_path / f"{name}.py").write_text(f"def compute_score(d, s, g, extra_info=None):\n    {body}\n")
    (tmp_path / "sleeper.py").write_text("import time\ndef compute_score(d, s, g, extra_info=None):\n"
                                         "    time.sleep(30)\n    return 1.0\n")
    (tmp_path / "trl_len.py").write_text(TRL_LEN)
    (tmp_path / "trl_two.py").write_text(TRL_WRONG_LENGTH)
    (tmp_path / "trl_sometimes.py").write_text(TRL_SOMETIMES)
    rows = [{"prompt": f"What is {i} + 1?", "ground_truth": str(i + 1)} for i in range(3)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


@pytest.mark.parametrize("name,says", [("nan", "returned nan (float)"), ("none", "returned None (NoneType)"),
                                       ("text", "returned 'abc' (str)"), ("raises", "raised KeyError: 'answer'")])
def test_garbage_from_a_function_in_training_names_it_and_the_sample(files, name, says):
    with pytest.raises(RewardFunctionError) as err:
        compute_score("math", "so it is 4", "4", {"index": 7}, user_reward_functions=[str(files / f"{name}.py")])
    message = str(err.value)
    assert f"{name}.py" in message and says in message and "row 7" in message and "'so it is 4'" in message
    assert "\n" not in message


def test_a_trl_list_of_the_wrong_length_is_named(files):
    with pytest.raises(RewardFunctionError, match=r"trl_two.py:two returned \[1.0, 2.0\]; a TRL reward function"):
        compute_score("math", "x", "4", {}, user_reward_functions=[f"{files / 'trl_two.py'}:two"])


def _check(files, *args):
    return subprocess.run([sys.executable, "-m", "model_tools.reward_check", "check", str(files / "data.jsonl"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=180)


def test_check_runs_trl_functions_and_weights_on_a_jsonl_file(files):
    out = _check(files, "--response", "It is 2.", "--reward_func", f"{files / 'trl_len.py'}:length_reward")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("checking 3 of 3 rows") and out.stdout.count("score 8.0") == 3  # len("It is 2.")
    # a dataset column beyond prompt and answer reaches the function, as TRL passes it
    both = _check(files, "--response", "It is 2.", "--reward_func", f"{files / 'trl_len.py'}:length_reward",
                  "--reward_func", str(files / "text.py").replace("text", "raises"), "--reward_weights", "1,0.5")
    assert both.returncode == 1 and both.stdout.count("raised KeyError") == 3  # the second function counts too


def test_a_function_with_no_score_is_left_out_of_the_sum_and_shown_as_none(files):
    out = _check(files, "--response", "It is 2.", "--reward_func", f"{files / 'trl_len.py'}:length_reward",
                 "--reward_func", f"{files / 'trl_sometimes.py'}:odd_only", "--reward_weights", "1,10")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("row ")]
    # ground truths 1, 2, 3: the even one has no score from odd_only
    assert "score 18.0  (length_reward 8.0, odd_only 1.0)" in lines[0]
    assert "score 8.0  (length_reward 8.0, odd_only none)" in lines[1]


def test_check_names_each_bad_row_and_fails(files):
    out = _check(files, "--response", "2", "--reward_func", str(files / "nan.py"))
    assert out.returncode == 1 and out.stdout.count("ERROR RewardFunctionError") == 3
    assert "row 0: " in out.stdout and "returned nan (float) on row 0" in out.stdout
    assert "3 of 3 rows could not be scored" in out.stderr and "Traceback" not in out.stderr


def test_check_bounds_a_sleeping_function(files):
    out = _check(files, "--response", "2", "--rows", "1", "--reward_func", str(files / "sleeper.py"),
                 "--reward-timeout", "1")
    assert out.returncode == 0 and "TIMED OUT: scored 0" in out.stdout
    assert "1 of 1 rows ran past the reward bound" in out.stdout


def teardown_module():
    bounded.shutdown()


TRL_TASKS = '''
def task_reward(completions, task, **kwargs):
    """TRL's multi-task example: a dataset column picks the rule"""
    return [1.0 if t == "sum" and c.strip().isdigit() else 0.0 for c, t in zip(completions, task)]
'''
TRL_IDS_ONLY = '''
def short_reward(completion_ids, **kwargs):
    """TRL's docs: reward_func(completion_ids, **kwargs)"""
    return [1.0 if len(ids) <= 4 else 0.0 for ids in completion_ids]
'''


def test_trl_functions_get_columns_strings_and_ids_as_trl_passes_them(files):
    rows = [{"prompt": "What is 1 + 1?", "ground_truth": "2", "task": "sum"},
            {"prompt": [{"role": "user", "content": "Say hi"}], "ground_truth": "hi", "task": "greet"}]
    (files / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (files / "tasks.py").write_text(TRL_TASKS)
    (files / "ids.py").write_text(TRL_IDS_ONLY)
    out = subprocess.run([sys.executable, "-m", "model_tools.reward_check", "check", str(files / "tasks.jsonl"), "--response", "2",
                          "--reward_func", f"{files / 'tasks.py'}:task_reward", "--reward_func",
                          f"{files / 'ids.py'}:short_reward", "--reward_weights", "1,0.5"], cwd=REPO,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("row ")]
    # row 0: a string prompt, so a string completion, task "sum": 1 + 0.5; row 1: messages, so a message
    # list (not a digit string), task "greet": 0 + 0.5
    assert lines[0].endswith("score 1.5  (task_reward 1.0, short_reward 1.0)"), out.stdout
    assert lines[1].endswith("score 0.5  (task_reward 0.0, short_reward 1.0)"), out.stdout
