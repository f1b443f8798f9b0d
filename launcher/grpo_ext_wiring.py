"""The verl hooks each grpo_ext option needs, set from the composed config so a flag
(--dynamic_clip, --difficulty_scale) and a raw `grpo_ext.<option>.enable=true` wire the same way.

- dynamic clipping: policy loss `dynamic_clip` and an engine that lets it read per-sample fields
  (VERL_ENGINE_VENDOR=grpo_ext; adaGRPO's engine does it too, so its vendor stays);
- difficulty scaling: advantage estimator `grpo_difficulty` in place of verl's `grpo`.
Length normalisation and similarity weights need nothing beyond the sampler, which is ours by default.
"""

from omegaconf import OmegaConf, open_dict

from .flags import UsageError

LOSS_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"
ENGINE_KEY = "ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR"
SAMPLERS = ("pkg://trainer_hooks.replay_buffer:QuickPollReplayBuffer", "pkg://adagrpo_ext.sampler:AdaptiveReplayBuffer")


def settings(cfg):
    from grpo_ext.settings import SettingsError, from_mapping

    try:
        return from_mapping(cfg.get("grpo_ext"))
    except SettingsError as err:
        raise UsageError(str(err)) from None


def wire(cfg, user_keys: set[str]) -> list[str]:
    """Set the hooks on `cfg`; returns the overrides that make verl's own composition agree."""
    s = settings(cfg)
    out = []
    if s.dynamic_clip:
        mode = OmegaConf.select(cfg, LOSS_KEY)
        if LOSS_KEY in user_keys and mode != "dynamic_clip":
            raise UsageError(f"--dynamic_clip replaces the policy loss, but {LOSS_KEY}={mode} is set too; drop one")
        out.append(f"{LOSS_KEY}=dynamic_clip")
        vendor = OmegaConf.select(cfg, ENGINE_KEY)
        if vendor is None:
            out.append(f"++{ENGINE_KEY}=grpo_ext")
        elif vendor not in ("grpo_ext", "adagrpo"):
            raise UsageError(f"--dynamic_clip needs an engine that exposes per-sample fields, but {ENGINE_KEY}="
                             f"{vendor}; valid: grpo_ext (set by --dynamic_clip) or adagrpo")
    if s.difficulty_scale:
        estimator = str(cfg.algorithm.adv_estimator)
        if estimator == "adagrpo":
            raise UsageError("--difficulty_scale with --preset adagrpo: both set the advantage estimator "
                             "(grpo_difficulty wraps verl's grpo, adagrpo pools rounds); use one of them")
        if estimator not in ("grpo", "grpo_difficulty"):
            raise UsageError(f"--difficulty_scale scales verl's grpo advantages, but algorithm.adv_estimator="
                             f"{estimator}; drop one of them")
        out.append("algorithm.adv_estimator=grpo_difficulty")
    with open_dict(cfg):
        for override in out:
            key, _, value = override.lstrip("+").partition("=")
            OmegaConf.update(cfg, key, value, merge=False)
    return out


def check(cfg) -> None:
    """Refuse hooks set without their option, and options without the sampler that runs them."""
    s = settings(cfg)
    if OmegaConf.select(cfg, LOSS_KEY) == "dynamic_clip" and not s.dynamic_clip:
        raise UsageError(f"{LOSS_KEY}=dynamic_clip reads clip ranges the sampler writes only with "
                         "--dynamic_clip LOW,HIGH (grpo_ext.dynamic_clip.enable=true)")
    if str(cfg.algorithm.adv_estimator) == "grpo_difficulty" and not s.difficulty_scale:
        raise UsageError("algorithm.adv_estimator=grpo_difficulty reads success rates the sampler publishes only "
                         "with --difficulty_scale A (grpo_ext.difficulty_scale.enable=true)")
    sampler = cfg.trainer.v1.sampler.get("custom_sampler") or {}
    where = f"{sampler.get('path')}:{sampler.get('name')}"
    if s.any and where not in SAMPLERS:
        raise UsageError(f"the grpo_ext options run in the step's sampler, but trainer.v1.sampler.custom_sampler is "
                         f"{where}; valid: {', '.join(SAMPLERS)}")
