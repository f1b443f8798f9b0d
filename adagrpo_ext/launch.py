"""adaGRPO at launch: its options and the pieces that only work together (its sampler, estimator,
agent-loop manager and engine, all set by preset adagrpo), checked before Ray starts; and the
think-aware logits processor's settings. The preset wires it; the one key added here is verl's
dataloader fetch size when a group may be replaced (adagrpo.exhausted=replace): one prompt at a time,
as verl sets it for its own dynamic sampling."""

from core.config import ray_env_vars
from core.errors import UsageError
from core.extensions import Wired, set_keys

from .settings import THINK_DEFAULTS, SettingsError, from_mapping

SAMPLER = "pkg://adagrpo_ext.sampler:AdaptiveReplayBuffer"


def wire(cfg, user_keys: set[str]) -> Wired:
    """The launcher's one call (core/extensions.py): the fetch size replacements need (the preset sets
    every hook); its check, and its verl plugin when the run selects its engine."""
    overrides = []
    if _replaces(cfg):
        fetch = cfg.data.get("gen_batch_size")
        if fetch not in (None, 1):
            raise UsageError(f"data.gen_batch_size={fetch} with adagrpo.exhausted=replace: a replaced group's prompt "
                             f"is fetched alone; leave data.gen_batch_size out (or 1)")
        overrides = set_keys(cfg, [("data.gen_batch_size", 1)])
    return Wired(overrides, check, plugins)


def _sampler(cfg) -> str:
    custom = cfg.trainer.v1.sampler.custom_sampler
    return f"{custom.get('path')}:{custom.get('name')}"


def _replaces(cfg) -> bool:
    block = cfg.get("adagrpo") or {}
    return bool(block.get("enable")) and block.get("exhausted") == "replace" and _sampler(cfg) == SAMPLER


def plugins(cfg) -> dict[str, str]:
    if ray_env_vars(cfg).get("VERL_ENGINE_VENDOR") == "adagrpo":
        return {"adagrpo_ext.verl_plugin": "adaGRPO's per-sample-temperature engine"}
    return {}


def check(cfg, train_files: list[str]) -> list[str]:
    _check_adagrpo(cfg)
    return _check_think_logits(cfg)


def _check_temperature_engine(cfg) -> None:
    """Resampled tokens must be scored at their own temperature, by adaGRPO's FSDP engine; verl's
    stock engine would silently use the scalar one. Everything that selects it, checked here (that
    its verl plugin is installed: the launcher's check_verl_plugins)."""
    strategy = cfg.actor_rollout_ref.actor.strategy
    if strategy not in ("fsdp", "fsdp2"):
        raise UsageError(f"actor_rollout_ref.actor.strategy={strategy}: adaGRPO's per-sample-temperature engine "
                         f"is an FSDP engine; use fsdp or fsdp2")
    env = ray_env_vars(cfg)
    if env.get("VERL_ENGINE_VENDOR") != "adagrpo":
        raise UsageError("ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR must be adagrpo (preset "
                         "adagrpo sets it): verl's stock engine would score resampled tokens at the wrong temperature")


def _check_adagrpo(cfg) -> None:
    """adaGRPO options are read inside the trainer; check them here, and the pieces that only work
    together (its sampler, estimator and engine; verl's sync trainer; no DAPO group filter)."""
    sampler = _sampler(cfg)
    estimator = cfg.algorithm.adv_estimator
    if not cfg.get("adagrpo") or sampler != SAMPLER:
        if (cfg.get("adagrpo") and cfg.adagrpo.enable) or estimator == "adagrpo":
            raise UsageError("adaGRPO needs its sampler, estimator and engine together: --preset adagrpo, and "
                             "not followed by a preset that replaces the sampler (dapo does: give adagrpo last, "
                             f"and see below); now sampler={sampler}, adv_estimator={estimator}")
        return
    if cfg.algorithm.get("filter_groups", {}).get("enable"):
        raise UsageError("--preset dapo with adagrpo: DAPO's dynamic sampling (algorithm.filter_groups) drops the "
                         "groups adaGRPO re-asks, and adaGRPO's sampler would ignore it; add "
                         "algorithm.filter_groups.enable=false to keep DAPO's loss settings with adaGRPO")
    if estimator != "adagrpo":
        raise UsageError(f"algorithm.adv_estimator={estimator} with adaGRPO's sampler: its resampled groups need "
                         f"the adagrpo estimator (pooled statistics); leave adv_estimator to --preset adagrpo")
    mode = cfg.trainer.v1.get("trainer_mode", "sync")
    if mode != "sync":
        raise UsageError(f"trainer.v1.trainer_mode={mode}: adaGRPO re-asks prompts within a step and runs with "
                         f"verl's sync trainer only")
    sync_step = (cfg.trainer.v1.get("sync") or {}).get("parameter_sync_step", 1)
    if sync_step != 1:
        raise UsageError(f"trainer.v1.sync.parameter_sync_step={sync_step}: adaGRPO settles a whole batch before "
                         f"it trains; use 1")
    _check_temperature_engine(cfg)
    if float(cfg.actor_rollout_ref.rollout.top_p) < 1:
        raise UsageError(f"actor_rollout_ref.rollout.top_p={cfg.actor_rollout_ref.rollout.top_p} with adaGRPO: the "
                         f"trainer's log-probs cannot follow nucleus truncation (vLLM's do), so the PPO ratio "
                         f"would be off; use 1.0")
    try:
        settings = from_mapping(cfg.adagrpo)
    except SettingsError as err:
        raise UsageError(str(err)) from None
    n = int(cfg.actor_rollout_ref.rollout.n)
    if settings.min_correct > n:
        raise UsageError(f"adagrpo.min_correct={settings.min_correct} can never be met with --rollout_n {n}: "
                         f"use a value from 1 to {n}")


def _check_think_logits(cfg) -> list[str]:
    """The think-aware processor and the scales it reads only make sense together, and only
    adaGRPO's engine scores each token at the scale it was sampled with."""
    vllm_kwargs = (cfg.actor_rollout_ref.rollout.get("engine_kwargs") or {}).get("vllm") or {}
    processor = "think_logits" in str(vllm_kwargs.get("logits_processors") or "")
    env = ray_env_vars(cfg)
    scaled = any(float(env.get(k, THINK_DEFAULTS[k])) != 1.0 for k in ("ADAGRPO_THINK_SCALE", "ADAGRPO_ANSWER_SCALE"))
    if scaled and not processor:
        raise UsageError("ADAGRPO_THINK_SCALE/ADAGRPO_ANSWER_SCALE are set but the rollout has no think-aware "
                         "processor: add actor_rollout_ref.rollout.engine_kwargs.vllm.logits_processors="
                         "[adagrpo_ext.think_logits:ThinkAwareTemperature], or drop the scales")
    if processor and scaled and env.get("VERL_ENGINE_VENDOR") != "adagrpo":
        return ["the think-aware processor scales tokens verl's stock engine scores at one temperature: the "
                "old log-probs will not match the rollout's; --preset adagrpo scores each token at its own scale"]
    return []
