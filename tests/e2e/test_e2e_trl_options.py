"""TRL's GRPO options in verl's real trainer on the CPU demo; all at once: --loss_type cispo (verl's
cispo policy loss), --scale_rewards batch (our grpo_batch_std estimator, registered in the trainer
by grpo_ext's plugin), --vllm_importance_sampling_correction (verl's truncated importance weights
against vLLM's log-probs, the old log-probs recomputed by the trainer, as TRL does), and the token
masks --mask_truncated_completions and --top_entropy_quantile (the grpo_ext engine, on the update's
response mask). A loss or an estimator verl cannot find stops its run, so finishing is the first check."""

import pytest

from conftest import run_launcher

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def trl_options(tmp_path_factory):
    return run_launcher(tmp_path_factory.mktemp("trl_opts"), "trl_opts",
                        ["--loss_type", "cispo", "--scale_rewards", "batch", "--vllm_importance_sampling_correction",
                         "true", "--vllm_importance_sampling_clip_max", "2.0", "--mask_truncated_completions", "true",
                         "--top_entropy_quantile", "0.2", "--max_response_length", "5", "--total_steps", "2",
                         "--test_freq", "-1", "--save_freq", "-1", "trainer.val_before_train=false"])


def test_the_run_trains_with_the_options(trl_options):
    assert len(trl_options["steps"]) == 2
    for step in trl_options["steps"]:
        assert step["actor/pg_loss"] == step["actor/pg_loss"]  # not NaN
        assert step["actor/pg_clipfrac_lower"] == 0.0  # cispo clips the weight, never the lower side


def test_importance_weights_against_the_rollout_are_computed_and_bounded(trl_options):
    for step in trl_options["steps"]:
        # the trainer recomputed the old log-probs (no bypass), so the rollout/trainer gap is measured
        assert step["training/rollout_probs_diff_mean"] < 0.02
        # verl's truncated importance weights were computed (its rollout_is metrics), within the bound given
        assert 0 < step["rollout_corr/rollout_is_mean"] and step["rollout_corr/rollout_is_max"] <= 2.0 + 1e-6


def test_token_masks_reach_the_update(trl_options):
    for step in trl_options["steps"]:
        # TRL's 80/20 mask: about a fifth of the response tokens train (ties at the threshold stay in)
        assert 0.15 <= step["actor/top_entropy_kept_frac"] <= 0.5
        # responses cut at --max_response_length 5 (the demo's answers take about 5 tokens) left the loss:
        # those of the batch's longest length when that is the limit (verl's clip_ratio counts them; the
        # demo's batch is one mini-batch), unless every one was cut (the loss would divide by zero)
        if step["response_length/max"] == 5 and step["response_length/clip_ratio"] < 1:
            assert step["actor/truncated_masked_frac"] == pytest.approx(step["response_length/clip_ratio"])
    assert any(step["actor/truncated_masked_frac"] > 0 for step in trl_options["steps"])


@pytest.fixture(scope="module", params=[pytest.param(("sapo", ["--loss_type", "sapo"]), id="sapo"),
                                        pytest.param(("gspo", ["--importance_sampling_level", "sequence"]), id="gspo",
                                                     marks=pytest.mark.slow)])
def one_loss(request, tmp_path_factory):
    """TRL's two other losses, each its own run (each is a verl policy loss: one per run); GSPO's is slow
    (a minute; verl's validator takes its config in tests/unit/test_users_files_round_two.py)."""
    mode, flags = request.param
    return mode, run_launcher(tmp_path_factory.mktemp(f"trl_{mode}"), f"trl_{mode}",
                              [*flags, "--total_steps", "1", "--test_freq", "-1", "--save_freq", "-1",
                               "trainer.val_before_train=false"])


def test_sapo_and_gspo_train_through_verls_losses(one_loss):
    import yaml

    mode, run = one_loss
    config = yaml.safe_load((run["run_dir"] / "config.yaml").read_text())
    assert config["actor_rollout_ref"]["actor"]["policy_loss"]["loss_mode"] == mode
    [step] = run["steps"]
    assert step["actor/pg_loss"] == step["actor/pg_loss"] and step["actor/grad_norm"] == step["actor/grad_norm"]
    if mode == "sapo":
        # SAPO's soft gate never clips: verl's sapo loss reports no clipped token (its seq-mean-token-mean too)
        assert step["actor/pg_clipfrac"] == 0.0 and config["actor_rollout_ref"]["actor"]["loss_agg_mode"] == "seq-mean-token-mean"
