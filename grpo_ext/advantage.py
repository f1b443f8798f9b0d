"""Two advantage estimators (verl's @register_adv_est):

- `grpo_difficulty`: verl's own GRPO advantage, then each group's advantages times a weight from
  its success rate (shaping.difficulty_weights), optionally renormalised across the batch's groups.
  The success rates come from the sampler (grpo_ext.batch_step.STEP, same process), which read them
  from the reward's `acc` field before any reward shaping; the rows must be this batch's rows.
- `grpo_batch_std`: TRL's scale_rewards="batch" (PPO Lite): each reward minus its group's mean,
  divided by the standard deviation of the whole batch's rewards, not the group's.
"""

import numpy as np
import torch
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, register_adv_est

from . import shaping
from .batch_step import STEP

NAME = "grpo_difficulty"


def scale(advantages: torch.Tensor, response_mask: torch.Tensor, rates: list[float], alpha: float,
          normalize: bool) -> torch.Tensor:
    """advantages: (batch, response), one value per row on its response tokens (outcome GRPO)."""
    weights = torch.tensor(shaping.difficulty_weights(rates, alpha), dtype=advantages.dtype).unsqueeze(-1)
    out = advantages * weights * response_mask
    if normalize:
        per_row = (out.sum(dim=-1) / response_mask.sum(dim=-1).clamp(min=1)).tolist()
        divisor = shaping.batch_rms(per_row)
        out = out / (divisor + shaping.EPS) if divisor else out
    return out


@register_adv_est(NAME)
def compute_difficulty_scaled_advantage(token_level_rewards: torch.Tensor, response_mask: torch.Tensor,
                                        index: np.ndarray, config=None, **_):
    norm_by_std = True if config is None else bool(config.get("norm_adv_by_std_in_grpo", True))
    advantages, _returns = compute_grpo_outcome_advantage(token_level_rewards, response_mask, index,
                                                          norm_adv_by_std_in_grpo=norm_by_std, config=config)
    if STEP.settings is None or list(index) != STEP.uids:
        raise RuntimeError("grpo_ext.difficulty_scale: the batch's rows are not the ones the sampler rated; the "
                           "estimator needs trainer.v1.sampler.custom_sampler = trainer_hooks.replay_buffer:"
                           "QuickPollReplayBuffer (or adaGRPO's sampler) with grpo_ext in its sampler_kwargs")
    s = STEP.settings
    with torch.no_grad():
        advantages = scale(advantages, response_mask, STEP.rates, s.difficulty_alpha, s.difficulty_normalize)
    return advantages, advantages


BATCH_STD = "grpo_batch_std"


@register_adv_est(BATCH_STD)
def compute_grpo_batch_std_advantage(token_level_rewards: torch.Tensor, response_mask: torch.Tensor,
                                     index: np.ndarray, epsilon: float = 1e-6, config=None, **_):
    """As TRL computes it (GRPOTrainer, scale_rewards="batch"): the batch's std of the rewards
    themselves, with the same small constant verl's GRPO adds."""
    scores = token_level_rewards.sum(dim=-1)
    with torch.no_grad():
        groups: dict = {}
        for i, uid in enumerate(index):
            groups.setdefault(uid, []).append(i)
        means = torch.empty_like(scores)
        for rows in groups.values():
            means[rows] = scores[rows].mean()
        std = scores.std() if scores.numel() > 1 else torch.zeros((), dtype=scores.dtype)
        advantages = ((scores - means) / (std + epsilon)).unsqueeze(-1) * response_mask
    return advantages, advantages
