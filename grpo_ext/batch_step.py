"""What the options do to a step's trained batch once its groups are complete, in the sampler
(trainer.v1.sampler.custom_sampler: trainer_hooks.replay_buffer), before verl computes advantages.

One TransferQueue read gives every sample's reward, its success value and (for the similarity
weights) its response tokens. Then:
- length normalisation and similarity weights rewrite the sample's reward (`rm_scores`, the
  change added at its last response token, so token-level rewards keep their shape) and verl's
  own estimator turns the shaped rewards into advantages;
- dynamic clipping stores each sample's clip epsilon as a field (`CLIP_FIELD`) that travels with
  the sample to the actor, where the `dynamic_clip` policy loss reads it;
- difficulty scaling needs each sample's group success rate at the advantage step: published on
  `STEP` (same process), aligned with the batch's rows;
- the curriculum records each prompt's accuracy on the training dataset's curriculum (curriculum.py).
"""

from dataclasses import dataclass, field

import torch
import transfer_queue as tq
from tensordict import TensorDict

from core.verl_internals import sample_uid, success_value

from . import shaping
from .curriculum import ACTIVE, ROW_FIELD
from .settings import GrpoExtSettings, from_mapping

CLIP_FIELD = "dynamic_clip_eps"


@dataclass
class StepRows:
    """This step's trained rows, in batch order (published for the advantage estimator)."""
    uids: list = field(default_factory=list)
    rates: list = field(default_factory=list)
    settings: GrpoExtSettings | None = None


STEP = StepRows()


def read(partition_id: str, keys: list[str], settings: GrpoExtSettings, responses: bool) -> dict:
    fields = ["rm_scores", "extra_fields"] + (["responses"] if responses else [])
    fields += [ROW_FIELD] if settings.curriculum else []
    data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=fields)
    scores = list(data["rm_scores"])
    rewards = [float(s.sum().item()) for s in scores]
    success = [success_value(extra, settings.success_key, reward)
               for reward, extra in zip(rewards, list(data["extra_fields"]), strict=True)]
    out = {"scores": scores, "rewards": rewards, "success": success}
    if responses:
        out["responses"] = [r.tolist() for r in data["responses"]]
    if settings.curriculum:
        rows = data[ROW_FIELD]
        out["rows"] = [int(r) for r in (rows.tolist() if hasattr(rows, "tolist") else list(rows))]
    return out


def shaped_rewards(rewards, lengths, responses, uids, s: GrpoExtSettings) -> tuple[list[float], dict]:
    metrics = {}
    out = list(rewards)
    if s.length_norm:
        out = shaping.length_normalized(out, lengths, s.length_buckets, s.length_scale)
    if s.similarity:
        weights = shaping.similarity_weights(responses, uids, s.similarity_ngram, s.similarity_temperature)
        out = shaping.similarity_weighted(out, weights, s.similarity_alpha)
        metrics["grpo_ext/similarity_weight/min"] = min(weights)
        metrics["grpo_ext/similarity_weight/max"] = max(weights)
    return out, metrics


def with_totals(scores: list[torch.Tensor], totals: list[float], lengths: list[int]) -> torch.Tensor:
    """The token-level rewards, each changed at its last response token so it sums to its new total."""
    rows = []
    for score, total, length in zip(scores, totals, lengths, strict=True):
        row = score.clone().to(torch.float32)
        last = max(0, min(int(length), row.shape[0]) - 1)
        row[last] += total - float(row.sum().item())
        rows.append(row.to(score.dtype))
    return torch.nested.as_nested_tensor(rows, layout=torch.jagged)


def for_sampler(sampler_kwargs: dict):
    """The sampler's batch step (trainer_hooks/replay_buffer.py: sampler_kwargs.batch_step names this
    factory in configs/grpo_trainer.yaml): the options of the `grpo_ext` block it is handed, or None
    when none is on."""
    settings = from_mapping(sampler_kwargs.get("grpo_ext"))
    if settings.difficulty_scale:
        from . import advantage  # noqa: F401  (registers the estimator in the trainer's process)
    return (lambda batch: apply(batch, settings)) if settings.any else None


def apply(batch, settings: GrpoExtSettings):
    """Shape this step's batch (a KVBatchMeta) in place in TransferQueue; returns the batch meta to
    hand to the trainer and the step's metrics."""
    keys, partition_id = list(batch.keys), batch.partition_id
    uids = [sample_uid(k) for k in keys]
    lengths = [int(tag.get("response_len", 0)) for tag in batch.tags]
    data = read(partition_id, keys, settings, responses=settings.similarity)
    rates = shaping.success_rates(data["success"], uids, settings.success_threshold)
    STEP.uids, STEP.rates, STEP.settings = uids, rates, settings
    metrics = {"grpo_ext/success_rate/mean": sum(rates) / len(rates),
               "grpo_ext/raw_score/mean": sum(data["rewards"]) / len(keys)}
    put = {}
    if settings.shapes_rewards:
        totals, shaped_metrics = shaped_rewards(data["rewards"], lengths, data.get("responses"), uids, settings)
        metrics.update(shaped_metrics)
        metrics["grpo_ext/shaped_score/mean"] = sum(totals) / len(totals)
        put["rm_scores"] = with_totals(data["scores"], totals, lengths)
    if settings.curriculum:
        if not ACTIVE:
            raise RuntimeError("grpo_ext.curriculum: the training dataset is not the curriculum's "
                               "(data.custom_cls must be grpo_ext.curriculum:CurriculumDataset)")
        ACTIVE[0].record(data["rows"], data["success"])
        metrics["grpo_ext/curriculum_epoch"] = ACTIVE[0].epoch
        metrics["grpo_ext/curriculum_prompts_rated"] = len(ACTIVE[0].accuracy)
    if settings.dynamic_clip:
        eps = shaping.clip_ranges(rates, settings.clip_low, settings.clip_high)
        metrics["grpo_ext/clip_eps/mean"] = sum(eps) / len(eps)
        put[CLIP_FIELD] = torch.tensor(eps, dtype=torch.float32)
    if put:
        updated = tq.kv_batch_put(keys=keys, partition_id=partition_id, fields=TensorDict(put, batch_size=len(keys)))
        if updated is not None and list(getattr(updated, "keys", [])) == keys:
            updated.tags = batch.tags
            updated.extra_info = batch.extra_info
            batch = updated
    return batch, metrics
