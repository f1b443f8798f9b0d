"""verl's FSDP language-model engine, computing log-probs at each sample's own temperature.

verl's engine already accepts a per-sample temperature tensor, but the trainer always sends one
scalar (rollout.temperature), which would make the old log-probs of a sample drawn at 1.5 wrong.
Trajectories carry `sample_temperature` (adagrpo_ext.agent_loop); this engine uses it for the
old, reference and updated log-probs alike, so the PPO ratio compares like with like.

Selected through verl's EngineRegistry with VERL_ENGINE_VENDOR=adagrpo (set by preset adagrpo).
"""

from verl.workers.engine.base import EngineRegistry
from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

from .agent_loop import TEMPERATURE_FIELD

ENGINE_VENDOR = "adagrpo"


@EngineRegistry.register(model_type="language_model", backend=["fsdp", "fsdp2"], device=["cuda", "npu"],
                         vendor=ENGINE_VENDOR)
class PerSampleTemperatureEngine(FSDPEngineWithLMHead):
    def prepare_model_inputs(self, micro_batch):
        if TEMPERATURE_FIELD not in micro_batch.keys():
            # the scalar fallback would score resampled tokens at the wrong temperature, silently
            raise RuntimeError(f"adaGRPO: the batch has no {TEMPERATURE_FIELD!r}; its agent-loop manager "
                               f"(adagrpo_ext.agent_loop.AdaAgentLoopManager) did not produce it")
        micro_batch["temperature"] = micro_batch[TEMPERATURE_FIELD].to(float)
        return super().prepare_model_inputs(micro_batch)
