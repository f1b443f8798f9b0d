"""The grpo_ext options inside verl's real trainer on the CPU (demo model, 32 sums with solution
prefixes from data_prep --prefix-file, batch 16: an epoch is two steps), all switched on together:
three steps (and, marked slow, the same run extended to four with --resume).

Each assertion is one thing a hook must carry through verl: the sampler's clip ranges reach the
actor's loss, the shaped rewards reach verl's advantage step, prefix tokens reach the loss (and
only its SFT term), and the curriculum crosses an epoch and keeps its state through a resume.
"""

import json

import pytest

from conftest import run_launcher

pytestmark = pytest.mark.e2e

ANSWER_OPEN = "<answer>"  # the demo answers <answer>N</answer> (demo/task.py)


@pytest.fixture(scope="module")
def data(tmp_path_factory, demo_model):
    from data_prep.cli import main

    folder = tmp_path_factory.mktemp("data")
    rows = [{"question": f"{a}+{b}", "answer": str(a + b)} for a, b in zip(range(2, 34), range(9, 41))]
    (folder / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "prefixes.json").write_text(json.dumps({r["question"]: ANSWER_OPEN + r["answer"][0] for r in rows}))
    assert main(["convert", str(folder / "in.jsonl"), "--prompt-key", "question", "--answer-key", "answer",
                 "--out", str(folder / "prepared"), "--val-size", "0", "--prefix-file",
                 str(folder / "prefixes.json")]) == 0
    return folder


OPTIONS = ["--dynamic_clip", "0.1,0.3", "--difficulty_scale", "0.5", "--length_norm", "2", "--similarity_weight",
           "0.5", "--curriculum", "easy_first", "--prefix_dropout", "0.3", "--prefix_sft", "0.1"]


@pytest.fixture(scope="module")
def common(data, demo_model, tmp_path_factory):
    return tmp_path_factory.mktemp("run"), [
        "--model", demo_model, "--data", str(data / "prepared" / "train.parquet"), "--preset", "demo",
        "--batch_size", "16", "--rollout_n", "4", "--test_freq", "-1", "trainer.val_before_train=false", *OPTIONS]


@pytest.fixture(scope="module")
def first(common):
    out, args = common
    return run_launcher(out, "opts", [*args, "--total_steps", "3", "--save_freq", "3"])


@pytest.fixture(scope="module")
def resumed(common, first):
    out, args = common
    return run_launcher(out, "opts", [*args, "--total_steps", "4", "--save_freq", "4", "--resume"])


def test_clip_ranges_written_by_the_sampler_reach_the_actor_loss(first):
    for step in first["steps"]:
        assert 0.1 <= step["grpo_ext/clip_eps/mean"] <= 0.3
        assert step["actor/dynamic_clip_eps_mean"] == pytest.approx(step["grpo_ext/clip_eps/mean"], abs=1e-4)


def test_shaped_rewards_are_what_verl_trains_on(first):
    for step in first["steps"]:
        assert step["critic/score/mean"] == pytest.approx(step["grpo_ext/shaped_score/mean"], abs=1e-4)
        assert step["critic/score/mean"] != pytest.approx(step["grpo_ext/raw_score/mean"], abs=1e-3)


def test_prefix_tokens_enter_only_the_sft_term(first):
    for step in first["steps"]:
        assert step["actor/prefix_tokens"] > 0 and step["actor/prefix_sft_loss"] > 0
        # the rollout's and the trainer's log-probs agree on the generated tokens, prefix masked out
        # (old log-probs are the rollout's on the CPU: PPO's mean log-ratio is the gap)
        assert abs(step["actor/ppo_kl"]) < 1e-3


def test_curriculum_crosses_an_epoch(first):
    assert [s["grpo_ext/curriculum_epoch"] for s in first["steps"]] == [0, 0, 1]
    assert first["steps"][-1]["grpo_ext/curriculum_prompts_rated"] == 32


@pytest.mark.slow  # a second trainer start (~2 min); the state's round trip is also tested without one
def test_curriculum_survives_resume(first, resumed):
    # step 4 continues the second epoch with the 32 accuracies saved in verl's dataloader state
    assert resumed["step_numbers"] == [4]
    assert resumed["steps"][0]["grpo_ext/curriculum_epoch"] == 1
    assert resumed["steps"][0]["grpo_ext/curriculum_prompts_rated"] == 32
