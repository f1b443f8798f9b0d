"""train.sh's command line as a user meets it: exit codes and one-line errors (no Ray started).
Most cases check the plan in-process (what `--dry-run` runs); a few run `python -m launcher`
itself for the exit status and the one line on stderr."""

import subprocess
import sys

import pytest

from conftest import REPO, plan_for
from core.errors import UsageError


def launch(*argv, env=None):
    return subprocess.run([sys.executable, "-m", "launcher", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)


def one_line(message: str) -> bool:
    return "\n" not in message.strip()


def test_help_exits_zero():
    out = launch("--help")
    assert out.returncode == 0 and "--rollout_n" in out.stdout


def test_unknown_flag_is_one_line_and_exit_2():
    out = launch("--rollout", "8")
    assert out.returncode == 2
    assert one_line(out.stderr) and "unknown flag '--rollout'" in out.stderr


def test_bad_json_row_is_one_line_and_exit_2(tmp_path, demo_model):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"prompt": "1+1", "ground_truth": "2"}\n{"prompt": "2+2"}\n')
    out = launch("--dry-run", "--model", demo_model, "--data", str(data), "--output_dir", str(tmp_path / "o"))
    assert out.returncode == 2 and "bad.jsonl:2: missing 'ground_truth'" in out.stderr and one_line(out.stderr)


def test_dry_run_prints_plan_config_and_command():
    out = launch("--dry-run", "--rollout_n", "3", "--preset", "drgrpo")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("plan: ")
    assert "loss_agg_mode: seq-mean-token-sum-norm" in out.stdout
    assert "verl.trainer.main_ppo" in out.stdout and "actor_rollout_ref.rollout.n=3" in out.stdout


@pytest.mark.parametrize("argv,message", [
    (["--model", "Qwen/Qwen2.5-0.5B", "--data", "missing.parquet"], "--data missing.parquet: no such file"),
    (["actor_rollout_ref.rollout.nn=3"], "config: actor_rollout_ref.rollout.nn: no such key"),
    (["--batch_size", "16", "actor_rollout_ref.actor.ppo_mini_batch_size=32"],
     "actor_rollout_ref.actor.ppo_mini_batch_size=32 exceeds --batch_size 16"),
    (["--preset", "adagrpo", "adagrpo.all_correct=drop"], "adagrpo.all_correct='drop'"),
    (["adagrpo.enable=true"], "--preset adagrpo"),
    (["--nnodes", "2", "actor_rollout_ref.actor.use_dynamic_bsz=false",
      "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=80"], "must divide each GPU's 40 responses per mini-batch"),
])
def test_mistakes_are_one_line(argv, message):
    with pytest.raises(UsageError) as err:
        plan_for(*argv)
    assert message in str(err.value) and one_line(str(err.value))


def test_json_data_is_converted_and_split_for_validation(tmp_path, demo_model):
    import json

    data = tmp_path / "my.json"
    data.write_text(json.dumps([{"prompt": f"{i}+1", "ground_truth": str(i + 1)} for i in range(30)]))
    cfg = plan_for("--model", demo_model, "--data", str(data), out=tmp_path / "o").cfg
    assert "/o/data/my-" in cfg.data.train_files and cfg.data.train_files.endswith("train.parquet")
    assert cfg.data.val_files.endswith("val.parquet")


# (file body, the one-line error)  -- user reward files are tried on a sample row at start-up
REWARD_FILES = [
    ("def compute_score(data_source, solution_str, ground_truth, extra_info=None):\n    return 1.0\n", None),
    ("def reward(completions, **kwargs):\n    return [1.0 for _ in completions]\n", None),  # TRL's form
    ("def other(a, b, c, extra_info=None):\n    return 1.0\n", "no function 'compute_score' (it defines: other)"),
    ("import nonexistent_module_xyz\n", "import failed: ModuleNotFoundError"),
    ("def compute_score(x):\n    return 1\n", "must accept (data_source, solution_str, ground_truth"),
    ("def compute_score(d, s, g, extra_info=None):\n    raise KeyError('k')\n", "raised on a sample row"),
    ("def compute_score(d, s, g, extra_info=None):\n    return 'high'\n", "expected a number"),
    ("def reward(completions, **kwargs):\n    return 1.0\n", "a TRL reward function returns a list"),
]


@pytest.mark.parametrize("body,message", REWARD_FILES)
def test_reward_file_errors_are_one_line_at_startup(tmp_path, body, message):
    path = tmp_path / "r.py"
    path.write_text(body)
    spec = f"{path}:reward" if "def reward(" in body else str(path)
    if message is None:
        plan_for("--reward_func", spec)
        return
    with pytest.raises(UsageError) as err:
        plan_for("--reward_func", spec)
    assert message in str(err.value) and one_line(str(err.value))


def test_micro_batches_are_fitted_to_each_gpus_share():
    # demo: 16 prompts x 5 = 80 responses, 40 per worker; fixed micro-batches (CPU runs pack to a token budget)
    cfg = plan_for("--nnodes", "2", "actor_rollout_ref.actor.use_dynamic_bsz=false").cfg
    assert cfg.actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu == 40


def test_fit_micro_batch_arithmetic():
    from launcher.hardware import largest_divisor_at_most

    assert [largest_divisor_at_most(40, c) for c in (80, 40, 16, 7, 1)] == [40, 40, 10, 5, 1]


def test_adagrpo_preset_composes_with_drgrpo():
    cfg = plan_for("--preset", "drgrpo,adagrpo").cfg
    assert cfg.algorithm.adv_estimator == "adagrpo"
    assert cfg.actor_rollout_ref.actor.loss_agg_mode == "seq-mean-token-sum-norm"
    assert cfg.ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR == "adagrpo"


def test_a_real_run_refuses_lengths_and_batches_that_cannot_work_before_anything_starts(tmp_path, demo_model):
    """Not --dry-run: train.sh itself, in its first seconds, with no Ray started. The demo model has
    256 positions; 40 rows cannot fill a batch of 64."""
    import json

    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": f"{i}+1", "ground_truth": str(i + 1)}) for i in range(40)))
    common = ["--model", demo_model, "--data", str(data), "--output_dir", str(tmp_path / "o")]
    long = launch(*common, "--max_prompt_length", "200", "--max_response_length", "200")
    assert long.returncode == 2 and one_line(long.stderr), long.stderr
    assert "= 400 tokens, more than the model's 256 positions" in long.stderr
    batch = launch(*common, "--batch_size", "64")
    assert batch.returncode == 2 and one_line(batch.stderr) and "use --batch_size 36 or less" in batch.stderr  # 1 CPU worker
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("train.log"))


def test_a_verl_plugin_missing_from_the_environment_is_one_line_not_a_silent_skip(tmp_path, monkeypatch):
    """verl skips a plugin whose entry point is not installed; the plan names it instead."""
    import pytest

    from conftest import plan_for
    from core.errors import UsageError
    from launcher import preflight

    installed = preflight.installed_verl_plugins()
    assert {"trainer_hooks.verl_plugin", "verl_cpu.verl_plugin", "adagrpo_ext.verl_plugin",
            "grpo_ext.verl_plugin"} <= installed
    monkeypatch.setattr(preflight, "installed_verl_plugins", lambda: installed - {"trainer_hooks.verl_plugin"})
    with pytest.raises(UsageError, match=r"verl plugin trainer_hooks.verl_plugin \(saving the step on SIGTERM\) is "
                                         r"not installed in this environment"):
        plan_for(out=tmp_path)
    monkeypatch.setattr(preflight, "installed_verl_plugins", lambda: installed - {"adagrpo_ext.verl_plugin"})
    assert plan_for(out=tmp_path).warnings is not None  # a plain run does not need adaGRPO's
    with pytest.raises(UsageError, match=r"adagrpo_ext.verl_plugin \(adaGRPO's per-sample-temperature engine\)"):
        plan_for("--preset", "adagrpo", out=tmp_path)
