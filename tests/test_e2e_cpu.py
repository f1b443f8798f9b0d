"""verl's real GRPO trainer, end to end on the CPU: the built-in demo model, three steps.

Runs `python -m launcher` exactly as train.sh does (vLLM-CPU rollout, FSDP2 actor, reference
model, KL loss) under a hard timeout; the launcher kills the whole process tree on failure.
"""

import psutil
import pytest

from conftest import run_launcher

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def three_steps(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run_launcher(out, "e2e", ["--total_steps", "3", "--test_freq", "-1", "--save_freq", "3",
                                     "trainer.val_before_train=false"])


def test_three_real_steps_ran(three_steps):
    assert len(three_steps["steps"]) == 3
    assert "step    3/3" in three_steps["stdout"]


def test_weight_sync_reaches_vllm(three_steps):
    # The rollout engine's log-probs match the trainer's: vLLM runs the trainer's weights.
    for data in three_steps["steps"]:
        assert data["training/rollout_probs_diff_mean"] < 0.02


def test_policy_moves_away_from_reference(three_steps):
    assert three_steps["steps"][-1]["actor/kl_loss"] > 0


def test_checkpoint_and_config_written(three_steps):
    run_dir = three_steps["run_dir"]
    assert (run_dir / "config.yaml").is_file() and (run_dir / "curves.png").stat().st_size > 1000
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "3"


def test_no_process_left_behind(three_steps):
    leftovers = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
                 if any("ray::" in part or "raylet" in part or "gcs_server" in part for part in p.info["cmdline"] or [])]
    assert leftovers == []
