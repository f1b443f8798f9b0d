"""Two policy losses (verl's @register_policy_loss), both verl's own clipped PPO objective
(`compute_policy_loss_vanilla`, dual clip included) plus what the grpo_ext options need:

- `dynamic_clip`: each sample's clip epsilon (field batch_step.CLIP_FIELD, from its group's success
  rate) in place of the config's one. verl hands a policy loss only the log-prob and advantage
  tensors, so the engine (engine.py) keeps the micro-batch being scored in `CURRENT` for the loss
  to read the field; rows are in the same order;
- `prefix_sft`: the config's clip, plus an SFT term on the prefix tokens of prefix-guided samples.

Either adds the prefix-SFT term when GRPO_EXT_PREFIX_SFT_COEF (the job's runtime env, set by the
launcher from grpo_ext.prefix.sft_coef) is above 0: coef x the negative log-likelihood of the
prefix tokens, aggregated as the policy loss is. Prefix tokens are the response tokens masked out
before the first generated one (prefix_agent_loop.py puts them there).
"""

import os
from dataclasses import dataclass

import torch
from verl.trainer.ppo.core_algos import agg_loss, compute_policy_loss_vanilla, register_policy_loss

from .batch_step import CLIP_FIELD

NAME = "dynamic_clip"
PREFIX_SFT = "prefix_sft"
SFT_COEF_ENV = "GRPO_EXT_PREFIX_SFT_COEF"


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


def prefix_mask(response_mask: torch.Tensor) -> torch.Tensor:
    """The masked-out tokens before a row's first generated token (none in a row with no generated token)."""
    mask = response_mask.bool()
    return (mask.int().cumsum(dim=-1) == 0) & mask.any(dim=-1, keepdim=True)


def with_prefix_sft(loss, metrics, log_prob, response_mask, loss_agg_mode, config):
    coef = float(os.environ.get(SFT_COEF_ENV, "0") or 0)
    if coef <= 0:
        return loss, metrics
    prefix = prefix_mask(response_mask)
    sft = agg_loss(loss_mat=-log_prob, loss_mask=prefix, loss_agg_mode=loss_agg_mode,
                   **(getattr(config, "global_batch_info", None) or {}))
    metrics["actor/prefix_sft_loss"] = sft.detach().item()
    metrics["actor/prefix_tokens"] = prefix.sum().item()
    return loss + coef * sft, metrics


@register_policy_loss(NAME)
def compute_policy_loss_dynamic_clip(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode="token-mean",
                                     config=None, rollout_is_weights=None):
    eps = sample_eps(log_prob.shape[0], log_prob.device)
    loss, metrics = compute_policy_loss_vanilla(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode,
                                                PerSampleClip(config, eps), rollout_is_weights)
    metrics["actor/dynamic_clip_eps_mean"] = eps.mean().item()
    return with_prefix_sft(loss, metrics, log_prob, response_mask, loss_agg_mode, config)


@register_policy_loss(PREFIX_SFT)
def compute_policy_loss_prefix_sft(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode="token-mean",
                                   config=None, rollout_is_weights=None):
    loss, metrics = compute_policy_loss_vanilla(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode,
                                                config, rollout_is_weights)
    return with_prefix_sft(loss, metrics, log_prob, response_mask, loss_agg_mode, config)
