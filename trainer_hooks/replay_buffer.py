"""verl's sync ReplayBuffer, checking for finished rollouts every `poll_interval` seconds, and
logging the reward's own fields per step.

verl constructs its buffer with a fixed 2 s poll, so a step whose generation finishes in 0.3 s
still waits ~2 s (measured on the CPU demo: `timing_s/gen` was always 2.02 or 4.04 s). Plugged in
with verl's own hook, `trainer.v1.sampler.custom_sampler`; the interval comes from
`trainer.v1.sampler.sampler_kwargs.poll_interval`.

verl 0.9.1's trainer logs only the summed score of a training step; the fields a reward returns
beside it (`acc`, each --reward_func's value, `reward_timeout`) reach the metrics here, as
`reward/<field>/mean` over the trained batch (one small TransferQueue read per step), with the
fraction of groups whose rewards were all equal (`training/zero_signal_group_frac`) and the tokens generated
for the batch (`training/generated_tokens`).

A batch step from configuration, `sampler_kwargs.batch_step: "module:factory"`, then sees the step's
complete batch before verl's advantage step: `factory(sampler_kwargs)` returns `step(batch) -> (batch,
metrics)`, or None when it has nothing to do. configs/grpo_trainer.yaml names grpo_ext's (dynamic
clipping, difficulty scaling, length normalisation, similarity weights, curriculum); this module
knows no extension.
"""

import importlib
import math

import transfer_queue as tq
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer

from core.verl_internals import reward_info, sample_uid

DEFAULT_POLL_INTERVAL_S = 0.2


def reward_field_means(extra_fields) -> dict[str, float]:
    sums, counts = {}, {}
    for fields in extra_fields:
        for key, value in reward_info(fields).items():
            if isinstance(value, (bool, int, float)) and math.isfinite(float(value)):
                sums[key] = sums.get(key, 0.0) + float(value)
                counts[key] = counts.get(key, 0) + 1
    return {f"reward/{key}/mean": sums[key] / counts[key] for key in sums}


def zero_signal_fraction(rewards: dict[str, float]) -> float:
    """The fraction of prompt groups (sample key -> summed reward) whose samples, two or more, all got
    the same reward: GRPO's advantage is zero for each of them, so they teach nothing."""
    groups: dict[str, list[float]] = {}
    for key, reward in rewards.items():
        groups.setdefault(sample_uid(key), []).append(reward)
    return sum(len(g) > 1 and max(g) == min(g) for g in groups.values()) / len(groups) if groups else 0.0


def batch_step(sampler_kwargs: dict):
    """The step `sampler_kwargs.batch_step` ("module:factory") makes, or None."""
    where = sampler_kwargs.get("batch_step")
    if not where:
        return None
    module, _, name = str(where).partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise RuntimeError(f"trainer.v1.sampler.sampler_kwargs.batch_step={where}: {err}") from None
    return factory(sampler_kwargs)


class QuickPollReplayBuffer(ReplayBuffer):
    def __init__(self, *args, **kwargs):
        sampler_kwargs = kwargs.get("sampler_kwargs") or {}
        kwargs["poll_interval"] = float(sampler_kwargs.get("poll_interval", DEFAULT_POLL_INTERVAL_S))
        super().__init__(*args, **kwargs)
        self.batch_step = batch_step(sampler_kwargs)

    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        """The step's batch of complete groups (`draw`), through the configured batch step if any."""
        batch, metrics = self.draw(global_steps, partition_id, batch_size)
        if partition_id != "val" and batch is not None and batch.keys and self.batch_step is not None:
            batch, shaped = self.batch_step(batch)
            metrics.update(shaped)
        return batch, metrics

    def draw(self, global_steps: int, partition_id: str, batch_size: int):
        batch, metrics = super().sample(global_steps, partition_id, batch_size)
        if partition_id != "val" and batch is not None and batch.keys:
            metrics.update(self.reward_metrics(partition_id, batch.keys))
            metrics["training/generated_tokens"] = sum(tag.get("response_len", 0) for tag in batch.tags)
        return batch, metrics

    @staticmethod
    def reward_metrics(partition_id: str, keys: list[str]) -> dict[str, float]:
        data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=["rm_scores", "extra_fields"])
        rewards = {key: float(score.sum().item()) for key, score in zip(keys, list(data["rm_scores"]), strict=True)}
        return {**reward_field_means(list(data["extra_fields"])),
                "training/zero_signal_group_frac": zero_signal_fraction(rewards)}
