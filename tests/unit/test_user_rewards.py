"""--reward_func files: verl's signature and TRL's, several combined with weights, and every scorer
bounded in wall time when verl's reward loop calls it from a worker thread."""

import threading
import time

import pytest

from reward import bounded, compute_score
from reward.user_file import RewardFileError, check, load_any
from reward.user_functions import compute_score as user_compute_score

TRL_LABEL = '''
def reward_label(completions, **kwargs):
    """seed 002's shape: conversational completions, the label from the dataset's columns"""
    truth = kwargs["answer"]
    return [1.0 if c[0]["content"].strip() == f"<answer>{t}</answer>" else 0.0 for c, t in zip(completions, truth)]
'''
TRL_FORMAT = '''
def format_reward(completions, prompts=None, completion_ids=None, **kwargs):
    if kwargs.get("data_source", [None])[0] == "skip":
        return [None]  # TRL's "no score"
    return [0.5 if "<answer>" in c[0]["content"] else 0.0 for c in completions]
'''


@pytest.fixture
def files(tmp_path):
    (tmp_path / "label.py").write_text(TRL_LABEL)
    (tmp_path / "fmt.py").write_text(TRL_FORMAT)
    (tmp_path / "verl_style.py").write_text("def compute_score(data_source, solution_str, ground_truth, "
                                            "extra_info=None):\n    return {'score': 2.0, 'acc': 1.0}\n")
    (tmp_path / "hang.py").write_text("def compute_score(d, s, g, extra_info=None):\n    while True:\n        pass\n")
    return tmp_path


def test_trl_function_is_detected_and_called_as_trl_calls_it(files):
    fn = load_any(f"{files / 'label.py'}:reward_label")
    assert fn("math", "<answer>4</answer>", "4", extra_info={"index": 3}) == 1.0
    assert fn("math", "<answer>5</answer>", "4") == 0.0
    assert check(f"{files / 'label.py'}:reward_label", {"data_source": "math", "solution_str": "<answer>4</answer>",
                                                         "ground_truth": "4", "prompt": [{"role": "user",
                                                                                          "content": "2+2"}]}) == 1.0


def test_several_functions_combine_with_weights_and_none_is_left_out(files):
    specs = [f"{files / 'label.py'}:reward_label", f"{files / 'fmt.py'}:format_reward"]
    out = user_compute_score("math", "<answer>4</answer>", "4", {}, user_reward_functions=specs,
                             user_reward_weights=[1.0, 0.2])
    assert out["score"] == pytest.approx(1.0 + 0.2 * 0.5)
    assert out["reward_label"] == 1.0 and out["format_reward"] == 0.5 and out["reward_timeout"] == 0.0
    skipped = user_compute_score("skip", "<answer>4</answer>", "4", {}, user_reward_functions=specs,
                                 user_reward_weights=[1.0, 0.2])
    assert skipped["score"] == pytest.approx(1.0)  # None: no contribution
    assert skipped["format_reward"] is None  # and no 0.0 in its mean


def test_a_function_s_no_score_is_left_out_of_its_means_in_training_and_validation():
    """TRL leaves a None out of the function's mean: the trained batch's reward/<name>/mean here, and
    verl's validation metrics (which skip None: this fails if verl stops doing so)."""
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    from trainer_hooks.replay_buffer import reward_field_means

    fields = [{"reward_extra_info": {"fmt": v, "acc": 1.0}} for v in (0.5, None, 1.0)]
    assert reward_field_means(fields) == {"reward/fmt/mean": 0.75, "reward/acc/mean": 1.0}
    val = process_validation_metrics(["math"] * 3, ["a", "b", "c"], {"fmt": [0.5, None, 1.0], "acc": [1.0] * 3})
    assert val["math"]["fmt"]["mean@1"] == pytest.approx(0.75)


def test_a_verl_style_function_keeps_its_own_result(files):
    out = user_compute_score("x", "s", "g", {}, user_reward_functions=[f"{files / 'verl_style.py'}"])
    assert out == {"score": 2.0, "acc": 1.0, "reward_timeout": 0.0}


def test_neither_signature_is_one_line(files):
    (files / "bad.py").write_text("def compute_score(x):\n    return 1\n")
    with pytest.raises(RewardFileError, match="or be a TRL reward function"):
        load_any(str(files / "bad.py"))


def _from_worker_thread(fn, *args, **kwargs):
    """verl's reward loop calls compute_score through run_in_executor: a worker thread."""
    box = {}

    def target():
        started = time.monotonic()
        box["result"] = fn(*args, **kwargs)
        box["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the scorer hung the calling thread"
    return box["result"], box["seconds"]


@pytest.mark.parametrize("response", ["\\boxed{9^{9^{9^{9}}}}", "Answer: 9^{9^{9^{9}}}"])
def test_pathological_math_returns_zero_within_seconds_from_a_thread(response):
    # a symbolic truth: math-verify must parse the tower (for a numeric one it is refused at once)
    result, seconds = _from_worker_thread(compute_score, "math", response, "x + 3", reward_timeout=3)
    assert result["score"] == 0.0 and result["reward_timeout"] == 1.0 and seconds < 15
    # the pool replaced the stuck worker: the next scoring is normal
    ok, _ = _from_worker_thread(compute_score, "math", "\\boxed{3}", "3", reward_timeout=10)
    assert ok["score"] == 1.0 and ok["reward_timeout"] == 0.0


def test_a_hanging_user_function_is_bounded_too(files):
    result, seconds = _from_worker_thread(user_compute_score, "x", "s", "g", {},
                                          user_reward_functions=[str(files / "hang.py")], reward_timeout=2)
    assert result["score"] == 0.0 and result["reward_timeout"] == 1.0 and seconds < 10


def test_main_thread_stays_responsive_while_a_worker_scores():
    """The hang happens in a pool process, so it cannot hold this process's GIL."""
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.05)

    t = threading.Thread(target=ticker, daemon=True)
    t.start()
    _from_worker_thread(compute_score, "math", "\\boxed{9^{9^{9^{9}}}}", "x + 3", reward_timeout=2)
    stop.set()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert gaps and max(gaps) < 1.0


def teardown_module():
    bounded.shutdown()


def test_the_start_up_probe_tries_functions_keyed_on_completion_ids(tmp_path):
    # TRL's get_soft_overlong_punishment shape: only completion_ids, as its docs call it
    (tmp_path / "overlong.py").write_text(
        "def soft_overlong(completion_ids, **kwargs):\n"
        "    return [0.0 if len(ids) <= 20 else -1.0 for ids in completion_ids]\n")
    spec = f"{tmp_path / 'overlong.py'}:soft_overlong"
    sample = {"data_source": "math", "ground_truth": "4", "prompt": [{"role": "user", "content": "2+2"}]}
    assert check(spec, {**sample, "solution_str": "<answer>4</answer>"}) == 0.0
    assert check(spec, {**sample, "solution_str": "x" * 40}) == -1.0


def test_async_functions_are_awaited_and_trainer_state_is_refused_in_one_line(tmp_path):
    (tmp_path / "async_trl.py").write_text(
        "import asyncio\nasync def judge(completions, **kwargs):\n    await asyncio.sleep(0)\n"
        "    return [1.0 if '4' in c[0]['content'] else 0.0 for c in completions]\n")
    (tmp_path / "async_verl.py").write_text(
        "async def compute_score(data_source, solution_str, ground_truth, extra_info=None):\n    return 0.25\n")
    out = user_compute_score("math", "it is 4", "4", {}, user_reward_functions=[f"{tmp_path / 'async_trl.py'}:judge",
                                                                              str(tmp_path / "async_verl.py")])
    assert out["score"] == 1.25
    assert check(str(tmp_path / "async_verl.py"), {"data_source": "m", "solution_str": "x", "ground_truth": "4"}) == 0.25
    (tmp_path / "stateful.py").write_text(
        "def reward(completions, trainer_state, **kwargs):\n    return [float(trainer_state.global_step)]\n")
    with pytest.raises(RewardFileError, match=r"reward needs trainer_state, which TRL's trainer passes but verl's "
                                              r"reward workers cannot"):
        load_any(f"{tmp_path / 'stateful.py'}:reward")


def test_zero_signal_groups_are_those_that_scored_alike():
    from trainer_hooks.replay_buffer import zero_signal_fraction

    keys = [f"{uid}_0_{i}" for uid in ("a", "b", "c") for i in range(2)]
    rewards = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]  # a: all right, b: mixed, c: all wrong
    assert zero_signal_fraction(dict(zip(keys, rewards))) == pytest.approx(2 / 3)
