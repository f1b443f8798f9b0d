"""TRL's two token masks, applied to what verl's loss reads (the update's `response_mask`), so the
policy term, the KL term and the loss's normalisation all see them, as in TRL's GRPOTrainer:

- mask_truncated_completions: a response that reached max_response_length tokens (verl's own
  definition of clipped, `response_length/clip_ratio`) leaves the loss, and its tokens leave the
  token count the loss is divided by (TRL masks the completion before counting `num_items_in_batch`);
- top_entropy_quantile Q < 1: in each micro-batch only the tokens whose entropy is in the top Q
  share train (Beyond the 80/20 Rule); the count the loss is divided by stays that of the response
  tokens, as TRL's does.

verl gives a policy loss no hook for either, so the engine (engine.py) calls these on the update's
data: GRPO_EXT_MASK_TRUNCATED (the run's max_response_length) and GRPO_EXT_TOP_ENTROPY_QUANTILE carry
the settings of grpo_ext.token_masks (grpo_ext.yaml) to the workers; launch.py sets them.
"""

import os

import torch

TRUNCATED_ENV = "GRPO_EXT_MASK_TRUNCATED"
QUANTILE_ENV = "GRPO_EXT_TOP_ENTROPY_QUANTILE"


def response_limit() -> int | None:
    value = os.environ.get(TRUNCATED_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def entropy_quantile() -> float | None:
    try:
        value = float(os.environ.get(QUANTILE_ENV, "") or 1.0)
    except ValueError:
        return None
    return value if value < 1.0 else None


def _lengths(nested: torch.Tensor) -> torch.Tensor:
    return nested.offsets().diff()


def _rebuild(nested: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The same rows with new values; the lengths' bounds given, as padding to a batch reads them."""
    lengths = _lengths(nested)
    return torch.nested.nested_tensor_from_jagged(values.to(nested.values().dtype), nested.offsets(),
                                                  min_seqlen=int(lengths.min()), max_seqlen=int(lengths.max()))


def keep_untruncated(mask: torch.Tensor, limit: int) -> tuple[torch.Tensor, int]:
    """The nested response mask with every response of `limit` tokens zeroed (counted by the mask:
    verl may hand rows padded to the limit); and how many were. A mini-batch whose every response
    was cut is left whole (its loss would divide by zero tokens)."""
    lengths = _lengths(mask)
    rows = torch.repeat_interleave(torch.arange(len(lengths), device=lengths.device), lengths)
    tokens = torch.zeros(len(lengths), dtype=torch.float64, device=lengths.device)
    tokens.index_add_(0, rows, mask.values().to(torch.float64))
    cut = tokens >= limit
    if cut.all() or not cut.any():
        return mask, 0
    return _rebuild(mask, mask.values() * (~cut)[rows].to(mask.values().dtype)), int(cut.sum())


def keep_high_entropy(mask: torch.Tensor, entropy: torch.Tensor, quantile: float) -> torch.Tensor:
    """The nested response mask keeping only the tokens whose entropy (padded, batch x response) is
    at or above the (1 - quantile) quantile of the unmasked tokens' entropies."""
    lengths = _lengths(mask)
    width = int(lengths.max()) if len(lengths) else 0
    padded = mask.to_padded_tensor(0.0, output_size=(len(lengths), width)).bool()
    entropy = entropy[:, :width].detach().float()
    valid = entropy[padded]
    if valid.numel() == 0:
        return mask
    threshold = torch.quantile(valid, 1.0 - quantile)
    keep = padded & (entropy >= threshold)
    inside = torch.arange(width, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
    return _rebuild(mask, keep[inside])
