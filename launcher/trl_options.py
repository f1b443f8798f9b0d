"""TRL's GRPOConfig options as verl settings: each maps a TRL name and value onto verl's keys (its
losses, estimators and rollout correction) or onto ours where verl has none (grpo_ext). The flag
table (flags.py) calls these; docs/rewards.md says what each does."""

# TRL's GRPOConfig.loss_type -> verl's actor.loss_agg_mode, as TRL aggregates each (grpo and sapo:
# per sequence, then over sequences; dapo and cispo: over the batch's tokens)
TRL_LOSS_TYPES = {"grpo": "seq-mean-token-mean", "bnpo": "token-mean", "dapo": "token-mean",
                  "dr_grpo": "seq-mean-token-sum-norm", "cispo": "token-mean", "sapo": "seq-mean-token-mean"}
# ... and those that are also a policy loss of their own (verl's @register_policy_loss, same names)
TRL_POLICY_LOSSES = ("cispo", "sapo")
POLICY_LOSS_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"


def _loss_type(value: str) -> list[str]:
    out = [f"actor_rollout_ref.actor.loss_agg_mode={TRL_LOSS_TYPES[value]}"]
    return out + ([f"{POLICY_LOSS_KEY}={value}"] if value in TRL_POLICY_LOSSES else [])


def _importance_sampling_level(value: str) -> list[str]:
    """TRL's "sequence" (GSPO: one ratio per sequence, its tokens' mean log-ratio) is verl's gspo loss."""
    return [f"{POLICY_LOSS_KEY}=gspo"] if value == "sequence" else []


def _scale_rewards(text: str) -> str:
    lowered = text.strip().lower()
    named = {"true": "group", "false": "none"}.get(lowered, lowered)
    if named not in ("group", "none", "batch"):
        raise ValueError("expected group, batch or none")
    return named


BATCH_STD_ESTIMATOR = "grpo_batch_std"  # grpo_ext/advantage.py


def _scale_rewards_overrides(value: str) -> list[str]:
    """TRL's scale_rewards: group divides by the group's std, none does not (verl's
    norm_adv_by_std_in_grpo); batch divides by the std of the whole batch's rewards: an estimator of
    ours, registered in verl's by grpo_ext's plugin."""
    if value == "batch":
        return [f"algorithm.adv_estimator={BATCH_STD_ESTIMATOR}",
                "+ray_kwargs.ray_init.runtime_env.env_vars.GRPO_EXT_ADVANTAGE='1'"]
    return [f"algorithm.norm_adv_by_std_in_grpo={'true' if value == 'group' else 'false'}"]


# TRL's vllm_importance_sampling_mode -> verl's rollout correction level (truncated IS weights)
TRL_IS_MODES = {"token_truncate": "token", "sequence_truncate": "sequence"}


def _is_mode(text: str) -> str:
    if text in ("token_mask", "sequence_mask"):
        raise ValueError(f"{text}: verl 0.9.1 masks by its own divergence measures instead (algorithm."
                         f"rollout_correction.rollout_rs, e.g. seq_mean_k1); TRL's truncating modes are token_truncate "
                         f"and sequence_truncate")
    if text not in TRL_IS_MODES:
        raise ValueError("expected token_truncate or sequence_truncate")
    return text


def _vllm_is_correction(value: bool) -> list[str]:
    """TRL's correction of the rollout/trainer mismatch: importance weights vLLM's log-probs -> the
    trainer's old ones, truncated (verl's decoupled rollout correction: the trainer recomputes the
    old log-probs, as TRL does, so CPU runs leave bypass mode for it)."""
    if not value:
        return ["algorithm.rollout_correction.rollout_is=null"]
    return ["algorithm.rollout_correction.rollout_is=token", "algorithm.rollout_correction.bypass_mode=false",
            "actor_rollout_ref.rollout.calculate_log_probs=true"]
