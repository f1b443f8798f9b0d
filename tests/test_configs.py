"""Every preset composes with verl's own config (Hydra compose; no Ray, no model)."""

import pytest

from launcher.config import CONFIG_DIR, compose
from launcher.flags import UsageError

PRESETS = sorted(p.stem for p in (CONFIG_DIR / "preset").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes(preset):
    cfg = compose([f"preset=[grpo,{preset}]"])
    assert cfg.algorithm.adv_estimator == ("adagrpo" if preset == "adagrpo" else "grpo")


def test_presets_set_what_they_promise():
    dr = compose(["preset=[grpo,drgrpo]"])
    assert dr.actor_rollout_ref.actor.loss_agg_mode == "seq-mean-token-sum-norm"
    assert dr.algorithm.norm_adv_by_std_in_grpo is False and dr.actor_rollout_ref.actor.use_kl_loss is False
    assert [compose([f"preset=[grpo,{p}]"]).actor_rollout_ref.rollout.n for p in ("quick", "standard", "quality")] \
        == [3, 5, 8]
    cpu = compose(["preset=[grpo,cpu]", "trainer.n_gpus_per_node=2"])
    assert cpu.actor_rollout_ref.actor.strategy == "fsdp2" and cpu.ray_kwargs.ray_init.num_gpus == 2
    assert compose(["preset=[grpo,lora]"]).actor_rollout_ref.model.lora_rank == 16


def test_base_config_is_verl_grpo_with_our_defaults():
    cfg = compose([])
    assert cfg.actor_rollout_ref.rollout.n == 5 and cfg.actor_rollout_ref.actor.use_kl_loss is True
    assert cfg.reward.custom_reward_function.path == "pkg://reward"


def test_unknown_key_is_an_error():
    with pytest.raises(UsageError, match="config:"):
        compose(["trainer.total_epoch=3"])
