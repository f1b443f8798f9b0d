"""--resume finds the run it continues (settings that only say how long to train do not move the
run folder), says so when there is nothing to continue, and batch sizes follow --batch_size."""

import pytest

from conftest import plan_for, write_jsonl
from core.errors import UsageError


def _torch_file(path):
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"w": torch.zeros(4)}, path)


def _checkpoint(run_dir, step):
    """The files verl's FSDP checkpoint of one rank holds, small."""
    folder = run_dir / "checkpoints" / f"global_step_{step}"
    for kind in ("model", "optim", "extra_state"):
        _torch_file(folder / "actor" / f"{kind}_world_size_1_rank_0.pt")
    _torch_file(folder / "data.pt")
    (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").write_text(str(step))
    return folder


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


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_complete_one(run):
    first = run("--total_steps", "8", "--save_freq", "2")
    _checkpoint(first.run_dir, 2)
    newest = _checkpoint(first.run_dir, 4)
    shard = newest / "actor" / "model_world_size_1_rank_0.pt"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # half a shard: the disk filled, or a kill
    resumed = run("--total_steps", "8", "--save_freq", "2", "--resume")
    assert resumed.cfg.trainer.resume_mode == "resume_path"
    assert resumed.cfg.trainer.resume_from_path == str(first.run_dir / "checkpoints" / "global_step_2")
    assert any("newest checkpoint global_step_4 is incomplete (actor/model_world_size_1_rank_0.pt is truncated"
               in note and "resuming from global_step_2" in note for note in resumed.notes)


def test_an_incomplete_only_checkpoint_is_one_line(run):
    first = run("--total_steps", "8", "--save_freq", "2")
    (_checkpoint(first.run_dir, 2) / "data.pt").unlink()
    with pytest.raises(UsageError, match=r"global_step_2 is incomplete \(data.pt is missing\) and no earlier "):
        run("--total_steps", "8", "--save_freq", "2", "--resume")


def test_a_parquet_file_of_0_rows_is_refused_in_one_line(tmp_path, demo_model):
    import pandas as pd

    empty = tmp_path / "train.parquet"
    pd.DataFrame({"data_source": pd.Series([], dtype=str), "prompt": pd.Series([], dtype=object)}).to_parquet(empty)
    with pytest.raises(UsageError, match=r"--data .*train.parquet: the file has 0 rows; nothing to train on"):
        plan_for("--model", demo_model, "--data", str(empty), out=tmp_path / "o")
