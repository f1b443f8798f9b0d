"""The `dynamic_clip` policy loss (verl's @register_policy_loss): verl's own clipped PPO objective
(`compute_policy_loss_vanilla`, dual clip included) with each sample's clip epsilon in place of the
config's one.

The epsilon is a field of the sample (batch_step.CLIP_FIELD, from its group's success rate). verl
hands a policy loss only the log-prob and advantage tensors, so the engine (engine.py) keeps the
micro-batch being scored in `CURRENT` for the loss to read it; rows are in the same order.
"""

from dataclasses import dataclass

import torch
from verl.trainer.ppo.core_algos import compute_policy_loss_vanilla, register_policy_loss

from .batch_step import CLIP_FIELD

NAME = "dynamic_clip"


@dataclass
class Current:
    micro_batch: object | None = None


CURRENT = Current()


class PerSampleClip:
    """The actor config, with clip_ratio / clip_ratio_low / clip_ratio_high as a (batch, 1) tensor."""

    def __init__(self, config, eps: torch.Tensor):
        self._config, self._eps = config, eps

    def __getattr__(self, name):
        if name in ("clip_ratio", "clip_ratio_low", "clip_ratio_high"):
            return self._eps
        return getattr(self._config, name)

    def get(self, key, default=None):
        return self._eps if key in ("clip_ratio", "clip_ratio_low", "clip_ratio_high") else self._config.get(key, default)


def sample_eps(rows: int, device) -> torch.Tensor:
    batch = CURRENT.micro_batch
    if batch is None or CLIP_FIELD not in batch.keys():
        raise RuntimeError(f"policy loss {NAME!r}: the micro-batch carries no {CLIP_FIELD!r}; it needs the "
                           "grpo_ext sampler step (grpo_ext.dynamic_clip.enable=true) and an engine that exposes "
                           "the micro-batch (VERL_ENGINE_VENDOR=grpo_ext, or adagrpo)")
    eps = batch[CLIP_FIELD].to(device=device, dtype=torch.float32).reshape(-1, 1)
    if eps.shape[0] != rows:
        raise RuntimeError(f"policy loss {NAME!r}: {eps.shape[0]} clip ranges for {rows} rows")
    return eps


@register_policy_loss(NAME)
def compute_policy_loss_dynamic_clip(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode="token-mean",
                                     config=None, rollout_is_weights=None):
    eps = sample_eps(log_prob.shape[0], log_prob.device)
    loss, metrics = compute_policy_loss_vanilla(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode,
                                                PerSampleClip(config, eps), rollout_is_weights)
    metrics["actor/dynamic_clip_eps_mean"] = eps.mean().item()
    return loss, metrics
