"""--resume finds the run it continues (settings that only say how long to train do not move the
run folder), says so when there is nothing to continue, and batch sizes follow --batch_size."""

import pytest

from conftest import plan_for, write_jsonl
from launcher.flags import UsageError


def _checkpoint(run_dir, step):
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").write_text(str(step))


@pytest.fixture
def run(tmp_path, demo_model):
    data = str(write_jsonl(tmp_path / "t.jsonl", 60))
    return lambda *argv: plan_for("--model", demo_model, "--data", data, *argv, out=tmp_path / "o")


def test_extending_a_finished_run_resumes_in_the_same_folder(run):
    first = run("--total_steps", "4", "--save_freq", "2")
    _checkpoint(first.run_dir, 4)
    extended = run("--total_steps", "8", "--resume")
    assert extended.run_dir == first.run_dir and extended.finished is None
    assert extended.cfg.trainer.resume_mode == "auto"


def test_resuming_a_finished_run_says_so_before_starting(run):
    first = run("--total_steps", "4")
    _checkpoint(first.run_dir, 4)
    again = run("--total_steps", "4", "--resume")
    assert again.finished and "already reached its last step (4 of 4)" in again.finished
    assert "larger --total_steps" in again.finished


def test_resume_without_a_checkpoint_names_the_runs_that_have_one(run):
    other = run("--rollout_n", "8")
    _checkpoint(other.run_dir, 6)
    with pytest.raises(UsageError) as err:
        run("--resume")
    message = str(err.value)
    assert "--resume: no checkpoint in" in message and f"{other.run_dir.name} (step 6)" in message
    assert "\n" not in message


def test_mini_batch_follows_a_small_batch_size_unless_set(run):
    plan = run("--batch_size", "16")
    assert plan.cfg.actor_rollout_ref.actor.ppo_mini_batch_size == 16
    assert run("--batch_size", "48").cfg.actor_rollout_ref.actor.ppo_mini_batch_size == 48
    with pytest.raises(UsageError, match=r"--batch_size 100: the training data has 54 rows.*--batch_size 54"):
        run("--batch_size", "100")  # more than the data: 0 steps, refused with the largest batch that fits
    with pytest.raises(UsageError, match=r"actor_rollout_ref.actor.ppo_mini_batch_size=32 exceeds --batch_size 16"):
        run("--batch_size", "16", "actor_rollout_ref.actor.ppo_mini_batch_size=32")
