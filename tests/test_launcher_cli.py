"""train.sh's command line as a user meets it: exit codes and one-line errors (no Ray started)."""

import subprocess
import sys

from conftest import REPO


def launch(*argv, env=None):
    return subprocess.run([sys.executable, "-m", "launcher", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)


def test_help_exits_zero():
    out = launch("--help")
    assert out.returncode == 0 and "--rollout_n" in out.stdout


def test_unknown_flag_is_one_line_and_exit_2():
    out = launch("--rollout", "8")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "unknown flag '--rollout'" in out.stderr


def test_missing_data_file():
    out = launch("--model", "Qwen/Qwen2.5-0.5B", "--data", "missing.parquet")
    assert out.returncode == 2 and "--data missing.parquet: no such file" in out.stderr


def test_typo_in_hydra_key_fails_at_composition():
    out = launch("--dry-run", "actor_rollout_ref.rollout.nn=3")
    assert out.returncode == 2 and "config:" in out.stderr and "nn" in out.stderr


def test_divisibility_error_names_the_number():
    out = launch("--dry-run", "--batch_size", "16", "actor_rollout_ref.actor.ppo_mini_batch_size=32")
    assert out.returncode == 2 and "actor_rollout_ref.actor.ppo_mini_batch_size=32 exceeds --batch_size 16" in out.stderr


def test_dry_run_prints_config_and_command():
    out = launch("--dry-run", "--rollout_n", "3", "--preset", "drgrpo")
    assert out.returncode == 0, out.stderr
    assert "loss_agg_mode: seq-mean-token-sum-norm" in out.stdout
    assert "verl.trainer.main_ppo" in out.stdout and "actor_rollout_ref.rollout.n=3" in out.stdout


def test_json_data_is_converted_and_split_for_validation(tmp_path):
    import json

    data = tmp_path / "my.json"
    data.write_text(json.dumps([{"prompt": f"{i}+1", "ground_truth": str(i + 1)} for i in range(30)]))
    model = REPO / "outputs" / "demo" / "model"
    out = launch("--dry-run", "--model", str(model), "--data", str(data), "--output_dir", str(tmp_path / "o"))
    assert out.returncode == 0, out.stderr
    assert "/o/data/my-" in out.stdout and "train.parquet" in out.stdout and "val.parquet" in out.stdout


def test_bad_json_row_is_one_line(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"prompt": "1+1", "ground_truth": "2"}\n{"prompt": "2+2"}\n')
    out = launch("--dry-run", "--model", str(REPO / "outputs" / "demo" / "model"), "--data", str(data))
    assert out.returncode == 2 and "bad.jsonl:2: missing 'ground_truth'" in out.stderr
    assert out.stderr.strip().count("\n") == 0


# (file body, the one-line error)  -- user reward files are tried on a sample row at start-up
REWARD_FILES = [
    ("def compute_score(data_source, solution_str, ground_truth, extra_info=None):\n    return 1.0\n", None),
    ("def other(a, b, c, extra_info=None):\n    return 1.0\n", "no function 'compute_score' (it defines: other)"),
    ("import nonexistent_module_xyz\n", "import failed: ModuleNotFoundError"),
    ("def compute_score(x):\n    return 1\n", "must accept (data_source, solution_str, ground_truth"),
    ("def compute_score(d, s, g, extra_info=None):\n    raise KeyError('k')\n", "raised on a sample row"),
    ("def compute_score(d, s, g, extra_info=None):\n    return 'high'\n", "expected a number"),
]


def test_reward_file_errors_are_one_line_at_startup(tmp_path):
    import pytest as _pytest  # noqa: F401

    for i, (body, message) in enumerate(REWARD_FILES):
        path = tmp_path / f"r{i}.py"
        path.write_text(body)
        out = launch("--dry-run", "--reward_func", str(path))
        if message is None:
            assert out.returncode == 0, out.stderr
        else:
            assert out.returncode == 2 and message in out.stderr, (body, out.stderr)
            assert out.stderr.strip().count("\n") == 0


def test_micro_batches_are_fitted_to_each_gpus_share():
    out = launch("--dry-run", "--nnodes", "2")  # demo: 16 prompts x 5 = 40 responses per worker
    assert out.returncode == 0, out.stderr
    assert "ppo_micro_batch_size_per_gpu: 40" in out.stdout
    out = launch("--dry-run", "--nnodes", "2", "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=80")
    assert out.returncode == 2 and "must divide each GPU's 40 responses per mini-batch" in out.stderr


def test_fit_micro_batch_arithmetic():
    from launcher.hardware import largest_divisor_at_most

    assert [largest_divisor_at_most(40, c) for c in (80, 40, 16, 7, 1)] == [40, 40, 10, 5, 1]


def test_bad_adagrpo_option_is_one_line_before_ray():
    out = launch("--dry-run", "--preset", "adagrpo", "adagrpo.all_correct=drop")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and "adagrpo.all_correct='drop'" in out.stderr
    out = launch("--dry-run", "adagrpo.enable=true")
    assert out.returncode == 2 and "--preset adagrpo" in out.stderr


def test_adagrpo_preset_composes_with_drgrpo():
    out = launch("--dry-run", "--preset", "drgrpo,adagrpo")
    assert out.returncode == 0, out.stderr
    assert "adv_estimator: adagrpo" in out.stdout and "loss_agg_mode: seq-mean-token-sum-norm" in out.stdout
    assert "VERL_ENGINE_VENDOR: adagrpo" in out.stdout


def test_lora_on_the_cpu_stack_is_refused_in_one_line():
    out = launch("--dry-run", "--lora_rank", "8")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "LoRA needs a GPU" in out.stderr
