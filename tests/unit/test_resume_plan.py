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


def test_resume_auto_continues_when_there_is_a_checkpoint_and_starts_afresh_when_not(run):
    fresh = run("--total_steps", "8", "--resume=auto")
    assert fresh.finished is None and any("no checkpoint in" in n and "starting at step 1" in n for n in fresh.notes)
    _checkpoint(fresh.run_dir, 4)
    again = run("--total_steps", "8", "--resume=auto")
    assert again.cfg.trainer.resume_mode == "auto"
    assert any(n.startswith("resume: from step 4, continuing at step 5") for n in again.notes), again.notes
    _checkpoint(fresh.run_dir, 8)
    assert "already reached its last step (8 of 8)" in run("--total_steps", "8", "--resume=auto").finished


def test_resume_takes_auto_and_nothing_else(monkeypatch):
    from launcher.flags import parse

    assert parse(["--resume=auto"], environ={}).values["resume"] == "auto"
    assert parse([], environ={"RESUME": "auto"}).values["resume"] == "auto"
    assert parse([], environ={"RESUME": "1"}).values["resume"] is True
    with pytest.raises(UsageError, match="--resume takes no value but auto"):
        parse(["--resume=yes"], environ={})


def test_a_slurm_job_saves_a_cheap_checkpoint_every_step_and_says_what_a_kill_loses(run, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("GRPO_SLURM_SCRIPT", "1")
    plan = run("--total_steps", "8")
    assert int(plan.cfg.trainer.save_freq) == 1  # the demo model's checkpoint is a few MB
    [note] = [n for n in plan.notes if n.startswith("SLURM job 77")]
    assert "loses at most the step in progress" in note and "scancel --batch --signal=USR1 77" in note
    chosen = run("--total_steps", "8", "--save_freq", "4")  # the user's interval stands, and its cost is said
    assert int(chosen.cfg.trainer.save_freq) == 4
    assert any("loses up to 3 finished step(s) and the one in progress" in n for n in chosen.notes)
    monkeypatch.delenv("SLURM_JOB_ID")
    assert int(run("--total_steps", "8").cfg.trainer.save_freq) != 1  # outside SLURM: the preset's


def test_a_large_model_keeps_its_save_interval_in_a_slurm_job(monkeypatch, tmp_path):
    from launcher import batch_job

    smollm2 = {"vocab_size": 49152, "hidden_size": 576, "num_hidden_layers": 30, "intermediate_size": 1536,
               "num_attention_heads": 9, "num_key_value_heads": 3, "tie_word_embeddings": True}
    assert batch_job.parameters(smollm2) == 134_479_872  # SmolLM2-135M-Instruct's count
    monkeypatch.setattr(batch_job, "model_config", lambda cfg: smollm2)
    monkeypatch.setenv("SLURM_JOB_ID", "78")
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"trainer": {"save_freq": 20}})
    assert batch_job.fit_saves(cfg, user_set=False) == []  # 1.5 GB a checkpoint: not every step
    assert "up to 19 finished step(s)" in batch_job.note(cfg)[0] and "1,539 MB each" in batch_job.note(cfg)[0]
