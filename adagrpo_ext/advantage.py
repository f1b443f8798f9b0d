"""The `adagrpo` advantage estimator (verl's @register_adv_est): GRPO whose group mean and std
pool every sample drawn for the prompt this step, the trained group and the resampled-away rounds.

The sampler (same process as the trainer) publishes the statistics of what it drew but did not
keep, keyed by uid, on the bridge (adagrpo_ext.bridge) before the batch reaches the advantage
step. A uid without prior statistics gets exactly verl's GRPO advantage. `adagrpo.max_advantage`
caps |advantage|: pooled over mostly-failed rounds, one success in 20 gets ~4.2.
"""

from collections import defaultdict

import numpy as np
import torch
from verl.trainer.ppo.core_algos import register_adv_est

from .bridge import BRIDGE
from .group_stats import GroupStats

NAME = "adagrpo"
EPSILON = 1e-6  # verl's GRPO epsilon


def publish_priors(priors: dict[str, GroupStats], max_advantage: float | None = None) -> None:
    """Set the statistics of the samples drawn but not trained on, for the batch about to train."""
    BRIDGE.publish(priors, max_advantage)


def pooled_advantages(scores: torch.Tensor, index, priors: dict, norm_by_std: bool,
                      epsilon: float = EPSILON, max_advantage: float | None = None) -> torch.Tensor:
    """One advantage per sample: (score - pooled mean) / (pooled std + eps), or without the std."""
    rows = defaultdict(list)
    for i, uid in enumerate(index):
        rows[uid].append(i)
    adv = torch.zeros_like(scores)
    for uid, idx in rows.items():
        group = scores[idx]
        prior = priors.get(uid)
        if prior is None or prior.count == 0:
            # verl's GRPO exactly: a lone sample has mean 0, std 1
            mean, std = (group.mean(), group.std()) if len(idx) > 1 else (torch.tensor(0.0), torch.tensor(1.0))
        else:
            pooled = prior.merge(GroupStats.of(group.tolist()))
            mean, std = torch.tensor(pooled.mean), torch.tensor(pooled.std)
        adv[idx] = (group - mean) / (std + epsilon) if norm_by_std else group - mean
    return adv if max_advantage is None else adv.clamp(-max_advantage, max_advantage)


@register_adv_est(NAME)
def compute_adagrpo_outcome_advantage(token_level_rewards: torch.Tensor, response_mask: torch.Tensor,
                                      index: np.ndarray, config=None, **_):
    norm_by_std = True if config is None else bool(config.get("norm_adv_by_std_in_grpo", True))
    scores = token_level_rewards.sum(dim=-1)
    with torch.no_grad():
        adv = pooled_advantages(scores, index, BRIDGE.priors, norm_by_std, max_advantage=BRIDGE.max_advantage)
        adv = adv.unsqueeze(-1) * response_mask
    return adv, adv
