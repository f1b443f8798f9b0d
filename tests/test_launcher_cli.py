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
    assert out.returncode == 2 and "ppo_mini_batch_size 32 exceeds --batch_size 16" in out.stderr


def test_dry_run_prints_config_and_command():
    out = launch("--dry-run", "--rollout_n", "3", "--preset", "drgrpo")
    assert out.returncode == 0, out.stderr
    assert "loss_agg_mode: seq-mean-token-sum-norm" in out.stdout
    assert "verl.trainer.main_ppo" in out.stdout and "actor_rollout_ref.rollout.n=3" in out.stdout
