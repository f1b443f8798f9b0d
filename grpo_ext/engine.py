"""verl's FSDP language-model engine, keeping the micro-batch it is scoring where a policy loss can
read per-sample fields (policy_loss.CURRENT): verl passes a loss only log-probs and advantages.

Selected through verl's EngineRegistry with VERL_ENGINE_VENDOR=grpo_ext (the launcher sets it with
--dynamic_clip); adaGRPO's engine includes the same mixin.
"""

from verl.workers.engine.base import EngineRegistry
from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

from .policy_loss import CURRENT

ENGINE_VENDOR = "grpo_ext"


class MicroBatchContext:
    def forward_step(self, micro_batch, loss_function, forward_only):
        CURRENT.micro_batch = micro_batch
        try:
            return super().forward_step(micro_batch, loss_function, forward_only)
        finally:
            CURRENT.micro_batch = None


@EngineRegistry.register(model_type="language_model", backend=["fsdp", "fsdp2"], device=["cuda", "npu"],
                         vendor=ENGINE_VENDOR)
class MicroBatchContextEngine(MicroBatchContext, FSDPEngineWithLMHead):
    pass
