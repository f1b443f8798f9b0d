"""adaGRPO in verl's real trainer on the CPU demo: every group is forced through two resample
rounds (success_threshold above any reward), so the trained samples were all drawn at the
round-2 temperature (1.5) and the log-prob check below covers resampled groups only."""

import pytest

from conftest import run_launcher

pytestmark = pytest.mark.e2e
BATCH, N = 16, 5  # preset demo


@pytest.fixture(scope="module")
def forced(tmp_path_factory):
    out = tmp_path_factory.mktemp("ada")
    return run_launcher(out, "ada", ["--preset", "adagrpo", "--total_steps", "2", "--test_freq", "-1",
                                     "--save_freq", "2", "trainer.val_before_train=false",
                                     "adagrpo.success_threshold=2.0", "adagrpo.max_extra_samples_per_step=1000"])


def test_every_group_resampled_twice(forced):
    for data in forced["steps"]:
        assert data["adagrpo/active"] == 1.0
        assert data["adagrpo/hard_groups"] == BATCH
        assert data["adagrpo/resample_rounds"] == 2 * BATCH
        assert data["adagrpo/extra_samples"] == BATCH * (N + 2 * N)  # rounds of n and 2n
        assert data["adagrpo/rescued_groups"] == 0
        assert data["adagrpo/extra_tokens"] > 0
        # pooled: the first draw (n) + round 1 (n) + round 2 (2n), of which n are trained
        assert data["adagrpo/effective_n"] == 4 * N


def test_old_log_probs_match_rollout_at_the_resample_temperature(forced):
    # Without the per-sample temperature engine this is ~0.1 (log-probs at 1.0 vs samples at 1.5).
    for data in forced["steps"]:
        assert data["training/rollout_probs_diff_mean"] < 0.02


def test_trains_and_saves_its_state(forced):
    assert forced["steps"][-1]["actor/pg_loss"] == forced["steps"][-1]["actor/pg_loss"]  # not NaN
    state = forced["run_dir"] / "checkpoints" / "adagrpo_state" / "global_step_2.json"
    assert state.is_file()
    assert (forced["run_dir"] / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
