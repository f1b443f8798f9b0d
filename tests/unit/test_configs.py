"""Every preset composes with verl's own config (Hydra compose; no Ray, no model)."""

import pytest

from core.config import CONFIG_DIR, compose
from core.errors import UsageError

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


def test_dapo_preset_values_and_its_overlong_penalty_reaches_verl():
    cfg = compose(["preset=[grpo,dapo]"])
    actor = cfg.actor_rollout_ref.actor
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.loss_agg_mode) == (0.2, 0.28, "token-mean")
    assert actor.use_kl_loss is False
    assert cfg.algorithm.filter_groups.enable is True and cfg.algorithm.filter_groups.metric == "acc"
    assert cfg.trainer.v1.sampler.custom_sampler.path is None  # verl's own buffer: it implements the filter
    # verl 0.9.1: only the dapo reward manager reads the overlong settings
    assert cfg.reward.reward_manager.name == "dapo"
    assert cfg.reward.reward_kwargs.overlong_buffer_cfg.enable is True
    assert cfg.reward.reward_kwargs.max_resp_len == cfg.data.max_response_length


def test_dapo_filter_groups_runs_in_verls_replay_buffer():
    """verl builds its replay buffer from the config (PPOTrainer._build_replay_buffer); with the dapo
    preset it is verl's own buffer with the acc filter, not our quick-poll one that would bypass it."""
    from types import SimpleNamespace

    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    def buffer_for(presets):
        stand_in = SimpleNamespace(config=compose([f"preset=[{presets}]"]), trainer_mode="sync",
                                   _add_prompts_to_generate=lambda *a, **k: None)
        stand_in._resolve_filter_groups_metric = lambda: PPOTrainer._resolve_filter_groups_metric(stand_in)
        return PPOTrainer._build_replay_buffer(stand_in)

    dapo = buffer_for("grpo,dapo")
    assert type(dapo) is ReplayBuffer and dapo.filter_groups_metric == "acc"
    alone = buffer_for("grpo,smollm2,dynamic_sampling")  # verl's dynamic sampling without DAPO's loss settings
    assert type(alone) is ReplayBuffer and alone.filter_groups_metric == "acc"
    assert compose(["preset=[grpo,dynamic_sampling]"]).actor_rollout_ref.actor.loss_agg_mode == "token-mean"
    assert buffer_for("grpo").filter_groups_metric is None


def test_dapo_overlong_buffer_fits_short_responses():
    from conftest import plan_for

    plan = plan_for("--preset", "dapo")  # the demo's 12-token responses: verl asserts len <= max_resp_len
    assert plan.cfg.reward.reward_kwargs.overlong_buffer_cfg.len == 3
    from launcher.hardware import fit_overlong_buffer

    long = compose(["preset=[grpo,dapo]", "data.max_response_length=2048"])  # a budget the ramp fits: kept
    assert long.reward.reward_kwargs.overlong_buffer_cfg.len == 512 and fit_overlong_buffer(long, set()) == []


def test_lowmem_and_task_presets_set_their_values():
    low = compose(["preset=[grpo,lowmem]"]).actor_rollout_ref
    assert low.actor.fsdp_config.param_offload and low.actor.fsdp_config.optimizer_offload
    assert low.ref.fsdp_config.param_offload and low.model.enable_gradient_checkpointing
    assert low.rollout.gpu_memory_utilization == 0.4
    lengths = {p: (compose([f"preset=[grpo,{p}]"]).data.max_prompt_length,
                   compose([f"preset=[grpo,{p}]"]).data.max_response_length) for p in ("gsm8k", "math", "code", "qa")}
    assert lengths == {"gsm8k": (512, 1024), "math": (1024, 2048), "code": (1024, 2048), "qa": (512, 256)}
    lora = compose(["preset=[grpo,lora]"]).actor_rollout_ref
    assert (lora.model.lora_rank, lora.model.lora_alpha, lora.model.target_modules, lora.actor.optim.lr) == \
        (16, 32, "all-linear", 1e-4)


def test_every_key_our_configs_set_exists_in_verls_schema():
    """Merged yaml files may add keys silently; a typo there would be ignored by verl. Every key of
    ours must be one verl's config has, or one verl reads from its typed configs (listed)."""
    import yaml
    from omegaconf import OmegaConf

    verl = OmegaConf.load(__import__("verl").__path__[0] + "/trainer/config/_generated_ppo_trainer.yaml")
    # keys verl's dataclasses read that its generated yaml does not list, and our own sections
    known_extra = {"actor_rollout_ref.rollout.enable_sleep_mode",  # RolloutConfig field
                   "actor_rollout_ref.rollout.agent.agent_loop_manager_class",  # AgentLoopConfig field
                   "adagrpo", "grpo_ext", "trainer.v1.sampler.sampler_kwargs", "ray_kwargs.ray_init", "reward.reward_kwargs",
                   "actor_rollout_ref.model.override_config",
                   # FSDPEngineConfig.mixed_precision: a dict field (None in the yaml)
                   "actor_rollout_ref.actor.fsdp_config.mixed_precision",
                   "actor_rollout_ref.ref.fsdp_config.mixed_precision",
                   # what verl's get_custom_reward_fn binds to the user's function (reward.py)
                   "reward.custom_reward_function.reward_kwargs",
                   # vLLM's own engine arguments, passed through (vLLMHttpServer: **engine_kwargs)
                   "actor_rollout_ref.rollout.engine_kwargs.vllm"}

    def has(node, key):
        for part in key.split("."):
            if not hasattr(node, "keys") or part not in node.keys():
                return False
            node = node._get_node(part) if hasattr(node, "_get_node") else node[part]
        return True

    def leaves(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                yield from leaves(value, path + ".")
            else:
                yield path

    files = [CONFIG_DIR / "grpo_trainer.yaml", *sorted((CONFIG_DIR / "preset").glob("*.yaml"))]
    unknown = []
    for path in files:
        data = {k: v for k, v in (yaml.safe_load(path.read_text()) or {}).items() if k not in ("defaults", "hydra")}
        for key in leaves(data):
            if any(key == k or key.startswith(k + ".") for k in known_extra):
                continue
            if not has(verl, key):
                unknown.append(f"{path.name}: {key}")
    assert unknown == []
