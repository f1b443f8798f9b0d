"""verl's FSDP language-model engine, keeping the micro-batch it is scoring where a policy loss can
read per-sample fields (policy_loss.CURRENT): verl passes a loss only log-probs and advantages; and
applying TRL's token masks to the update's response mask (token_masks.py).

Selected through verl's EngineRegistry with VERL_ENGINE_VENDOR=grpo_ext (the launcher sets it with
--dynamic_clip); adaGRPO's engine includes the same mixin.
"""

from verl.workers.engine.base import EngineRegistry
from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

from core.lora_sync import RolloutDtypeLoraSync
from core.response_logits import ResponseLogits

from . import token_masks
from .policy_loss import CURRENT

ENGINE_VENDOR = "grpo_ext"


class MicroBatchContext:
    def forward_backward_batch(self, data, loss_function, forward_only=False):
        limit = token_masks.response_limit()
        self._truncated_frac = None
        if not forward_only and limit and "response_mask" in data.keys():
            # before verl counts the tokens the loss divides by (loss_mask is response_mask: verl's padding.py)
            data["response_mask"], cut = token_masks.keep_untruncated(data["response_mask"], limit)
            data["loss_mask"] = data["response_mask"]
            self._truncated_frac = cut / len(data["response_mask"].offsets().diff())
        return super().forward_backward_batch(data, loss_function, forward_only)

    def forward_step(self, micro_batch, loss_function, forward_only):
        CURRENT.micro_batch = micro_batch
        if not forward_only and loss_function is not None and (token_masks.entropy_quantile() is not None
                                                                or getattr(self, "_truncated_frac", None) is not None):
            loss_function = _with_token_masks(loss_function, token_masks.entropy_quantile(),
                                              getattr(self, "_truncated_frac", None))
        try:
            return super().forward_step(micro_batch, loss_function, forward_only)
        finally:
            CURRENT.micro_batch = None


def _with_token_masks(loss_function, quantile: float | None, truncated_frac: float | None):
    """verl's loss, on a copy of the micro-batch whose response mask keeps only the top-entropy
    tokens (the entropy of this very forward pass: actor.calculate_entropy, set by launch.py), and
    the masks' metrics: the share of the mini-batch's responses left out as truncated, the share of
    response tokens the entropy mask kept."""
    from verl.utils.metric import AggregationType, Metric
    from verl.workers.utils.padding import no_padding_2_padding

    def loss(model_output, data, dp_group=None):
        extra = {}
        if truncated_frac is not None:
            extra["actor/truncated_masked_frac"] = Metric(value=truncated_frac, aggregation=AggregationType.MEAN)
        if quantile is not None:
            entropy = model_output.get("entropy")
            if entropy is None:
                raise RuntimeError("grpo_ext.token_masks.top_entropy_quantile: the update computed no entropy; it "
                                   "needs actor_rollout_ref.actor.calculate_entropy=true (the launcher sets it)")
            before = data["response_mask"]
            data = data.clone(recurse=False)
            data["response_mask"] = token_masks.keep_high_entropy(before, no_padding_2_padding(entropy, data), quantile)
            total = float(before.values().sum())
            kept = float(data["response_mask"].values().sum()) / total if total else 1.0
            extra["actor/top_entropy_kept_frac"] = Metric(value=kept, aggregation=AggregationType.MEAN)
        out, metrics = loss_function(model_output=model_output, data=data, dp_group=dp_group)
        return out, {**metrics, **extra}

    return loss


@EngineRegistry.register(model_type="language_model", backend=["fsdp", "fsdp2"], device=["cuda", "npu"],
                         vendor=ENGINE_VENDOR)
class MicroBatchContextEngine(MicroBatchContext, ResponseLogits, RolloutDtypeLoraSync, FSDPEngineWithLMHead):
    """(with what every run's engine has: core/engine.py)"""
