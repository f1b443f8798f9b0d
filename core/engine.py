"""Every run's trainer engine unless an extension brings its own: verl's FSDP language-model engine
with the logits for the response positions only (response_logits.py) and LoRA merged for the rollout
in the rollout's precision (lora_sync.py).

Selected through verl's EngineRegistry with VERL_ENGINE_VENDOR=pipeline, which the launcher sets
when no extension and no user chose an engine; registered by trainer_hooks/verl_plugin.py.
"""

ENGINE_VENDOR = "pipeline"


def register():
    from verl.workers.engine.base import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    from .lora_sync import RolloutDtypeLoraSync
    from .response_logits import ResponseLogits

    @EngineRegistry.register(model_type="language_model", backend=["fsdp", "fsdp2"], device=["cuda", "npu"],
                             vendor=ENGINE_VENDOR)
    class PipelineEngine(ResponseLogits, RolloutDtypeLoraSync, FSDPEngineWithLMHead):
        pass

    return PipelineEngine
