"""A newcomer's first hour, through the launcher's plan (what `--dry-run` prints): no training data
or validation file is silently cut, no plan points at a file that does not exist, a full run keeps
checkpoints, and mistakes get one line that names the fix."""

import stat

import pyarrow.parquet as pq
import pytest

from conftest import plan_for, write_jsonl
from core.errors import UsageError


def _rows(paths: str) -> list[int]:
    return [pq.ParquetFile(p).metadata.num_rows for p in paths.split(",")]


def test_val_file_given_is_used_whole_and_train_is_not_split(tmp_path, demo_model):
    train = write_jsonl(tmp_path / "train.jsonl", 300)
    val = write_jsonl(tmp_path / "val.jsonl", 200, start=1000)
    cfg = plan_for("--model", demo_model, "--data", str(train), "--val_files", str(val), out=tmp_path / "o").cfg
    assert _rows(cfg.data.train_files) == [300] and _rows(cfg.data.val_files) == [200]


def test_train_file_alone_gives_a_tenth_to_validation_and_says_so(tmp_path, demo_model):
    train = write_jsonl(tmp_path / "train.jsonl", 300)
    plan = plan_for("--model", demo_model, "--data", str(train), out=tmp_path / "o")
    assert _rows(plan.cfg.data.train_files) == [270] and _rows(plan.cfg.data.val_files) == [30]
    assert any("10% of train.jsonl held out (30 rows" in note for note in plan.notes)


def _parquet(tmp_path, name="train.parquet", n=40):
    import subprocess
    import sys

    src = write_jsonl(tmp_path / f"{name}.jsonl", n)
    out = tmp_path / "prepared"
    subprocess.run([sys.executable, "-m", "data_prep", "convert", str(src), "--out", str(out)], check=True,
                   capture_output=True)
    return out


def test_parquet_without_validation_finds_val_beside_it_or_runs_without(tmp_path, demo_model):
    folder = _parquet(tmp_path)
    plan = plan_for("--model", demo_model, "--data", str(folder / "train.parquet"), out=tmp_path / "o")
    assert plan.cfg.data.val_files == str(folder / "val.parquet")
    (folder / "val.parquet").unlink()
    plan = plan_for("--model", demo_model, "--data", str(folder / "train.parquet"), out=tmp_path / "o")
    cfg = plan.cfg
    assert cfg.data.val_files == str(folder / "train.parquet")  # verl needs a file; never evaluated
    assert cfg.trainer.test_freq == -1 and cfg.trainer.val_before_train is False and cfg.data.val_max_samples == 1
    assert any(note.startswith("validation: none") for note in plan.notes)


@pytest.mark.parametrize("args", [[], ["--preset", "gsm8k"], ["--val_files", "VAL"], ["--data", "DIR"]])
def test_no_plan_points_at_a_missing_file(tmp_path, demo_model, args):
    from pathlib import Path

    folder = _parquet(tmp_path)
    args = [str(folder / "val.parquet") if a == "VAL" else str(folder) if a == "DIR" else a for a in args]
    data = [] if "--data" in args else ["--data", str(folder / "train.parquet")]
    cfg = plan_for("--model", demo_model, *data, *args, out=tmp_path / "o").cfg
    for key in ("train_files", "val_files"):
        assert all(Path(p).is_file() for p in str(cfg.data[key]).split(",")), (key, cfg.data[key])
    assert "rlhf/gsm8k" not in str(cfg.data.val_files)


def test_data_folder_is_a_data_prep_output_or_one_line(tmp_path, demo_model):
    folder = _parquet(tmp_path)
    cfg = plan_for("--model", demo_model, "--data", str(folder), out=tmp_path / "o").cfg
    assert cfg.data.train_files == str(folder / "train.parquet") and cfg.data.val_files == str(folder / "val.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="a folder must hold train.parquet"):
        plan_for("--model", demo_model, "--data", str(tmp_path / "empty"))


def test_converted_files_are_readable_by_others(tmp_path, demo_model):
    cfg = plan_for("--model", demo_model, "--data", str(write_jsonl(tmp_path / "t.jsonl", 30)), out=tmp_path / "o").cfg
    for path in (cfg.data.train_files, cfg.data.val_files):
        assert stat.S_IMODE(__import__("os").stat(path).st_mode) & 0o044 == 0o044


def test_column_options_pass_through_and_a_problem_is_said_once(tmp_path, demo_model):
    import json

    data = tmp_path / "qa.json"
    data.write_text(json.dumps([{"question": f"{i}+2", "answer": str(i + 2)} for i in range(300)]))
    with pytest.raises(UsageError) as err:
        plan_for("--model", demo_model, "--data", str(data), out=tmp_path / "o")
    message = str(err.value)
    assert "\n" not in message and message.count("missing 'prompt' and 'ground_truth'") == 1
    assert "300 invalid row(s)" in message and "and 297 more" in message
    cfg = plan_for("--model", demo_model, "--data", str(data), "--prompt_key", "question", "--answer-key", "answer",
                   out=tmp_path / "o").cfg
    assert sum(_rows(cfg.data.train_files) + _rows(cfg.data.val_files)) == 300


def test_full_run_saves_checkpoints_by_default(tmp_path, demo_model):
    plan = plan_for("--model", demo_model, "--data", str(write_jsonl(tmp_path / "t.jsonl", 30)), out=tmp_path / "o")
    assert plan.cfg.trainer.save_freq == 20 and plan.cfg.trainer.max_actor_ckpt_to_keep == 2


def test_reward_file_that_scores_the_reference_low_is_warned_about(tmp_path, demo_model):
    reward = tmp_path / "zero.py"
    reward.write_text("def compute_score(data_source, solution_str, ground_truth, extra_info=None):\n    return 0.0\n")
    plan = plan_for("--model", demo_model, "--data", str(write_jsonl(tmp_path / "t.jsonl", 30)),
                    "--reward_func", str(reward), out=tmp_path / "o")
    assert len(plan.warnings) == 1 and "reference answer of row 1" in plan.warnings[0]
    assert "reward-zero" in plan.run_dir.name  # runs with another reward file get another folder


def test_run_folder_ignores_run_length_and_save_settings(tmp_path, demo_model):
    data = str(write_jsonl(tmp_path / "t.jsonl", 30))
    a = plan_for("--model", demo_model, "--data", data, "--total_steps", "4", "--save_freq", "2", out=tmp_path / "o")
    b = plan_for("--model", demo_model, "--data", data, "--total_steps", "8", "--epochs", "3", "--test_freq", "5",
                 out=tmp_path / "o")
    c = plan_for("--model", demo_model, "--data", data, "--rollout_n", "8", out=tmp_path / "o")
    assert a.run_dir == b.run_dir != c.run_dir


def test_dry_run_starts_with_the_plan(tmp_path, demo_model):
    from launcher.describe import plan_lines

    plan = plan_for("--model", demo_model, "--data", str(write_jsonl(tmp_path / "t.jsonl", 300)), "--batch_size", "9",
                    "--n_gpus", "3", out=tmp_path / "o")
    text = "\n".join(plan_lines(plan))
    assert text.startswith("plan: CPU, 3 worker(s)")
    assert "450 steps (270 rows // 9 prompts x 15 epochs)" in text and "45 responses per step, 15 per GPU" in text
    assert "actor.ppo_mini_batch_size 64 -> 9" in text
    budget = int(plan.cfg.actor_rollout_ref.actor.ppo_max_token_len_per_gpu)  # from this machine's memory
    assert f"dynamic batches: {budget:,} tokens per GPU for updates, {2 * budget:,} for log-probs" in text
    assert "compute: fp32 matmuls" in text and "old log-probs: the rollout's" in text
    assert f"run folder: {plan.run_dir}" in text


@pytest.mark.parametrize("override,message", [
    ("adagrpo.max_round=3", "adagrpo.max_round: no such key; did you mean adagrpo.max_rounds?"),
    ("adagrpo.min_correct=9", "adagrpo.min_correct=9 can never be met with --rollout_n 5"),
    ("actor_rollout_ref.rollout.nn=3", "did you mean actor_rollout_ref.rollout.n"),
])
def test_config_mistakes_name_the_valid_keys(override, message):
    with pytest.raises(UsageError, match=message.replace("?", r"\?").replace(".", r"\.")):
        plan_for("--preset", "adagrpo", override)


def test_edited_data_is_converted_again(tmp_path, demo_model):
    """The conversion cache is keyed on the file's content, not its name: an edit is never silently reused."""
    data = write_jsonl(tmp_path / "t.jsonl", 30)
    first = plan_for("--model", demo_model, "--data", str(data), out=tmp_path / "o").cfg.data.train_files
    write_jsonl(data, 40)
    second = plan_for("--model", demo_model, "--data", str(data), out=tmp_path / "o").cfg.data.train_files
    assert first != second and _rows(second) == [36]


def test_reward_check_reports_rows_keys_and_kwargs(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    folder = _parquet(tmp_path, n=40)
    responses = tmp_path / "r.jsonl"
    responses.write_text('{"completion": "<answer>2</answer>"}\n')

    def check(*args):
        return subprocess.run([sys.executable, "-m", "model_tools.reward_check", "check", str(folder / "val.parquet"), *args],
                              cwd=REPO, capture_output=True, text=True, timeout=120)

    out = check("--responses", str(responses))
    assert out.returncode == 2 and "r.jsonl:1: no 'response' key (it has 'completion')" in out.stderr
    out = check("--responses", str(responses), "--response-key", "completion")
    assert out.returncode == 0 and out.stdout.startswith("checking 1 of 4 rows")
    out = check("--response", "<answer>99</answer>", "--rows", "2", "--reward-kwargs",
                '{"reward_weights": {"accuracy": 1.0, "format_strict": 0.5}}')
    assert "checking 2 of 4 rows" in out.stdout and "(--rows N for more, --rows 0 for all)" in out.stdout
    assert "score 0.5" in out.stdout  # wrong answer, strict format: 0.5 x 1
