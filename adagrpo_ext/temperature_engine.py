"""verl's FSDP language-model engine, computing log-probs at each sample's own temperature.

verl's engine already accepts a per-sample temperature tensor, but the trainer always sends one
scalar (rollout.temperature), which would make the old log-probs of a sample drawn at 1.5 wrong.
Trajectories carry `sample_temperature` (adagrpo_ext.agent_loop); this engine uses it for the
old, reference and updated log-probs alike, so the PPO ratio compares like with like.

With the think-aware logits processor in the rollout (ADAGRPO_THINK_SCALE / ADAGRPO_ANSWER_SCALE),
each token's logits are also divided by the scale the processor gave it (token_scales.py), through
a forward hook on the model's output, so the log-probs match the rollout's token by token.

Selected through verl's EngineRegistry with VERL_ENGINE_VENDOR=adagrpo (set by preset adagrpo).
It also keeps the micro-batch for per-sample policy losses (grpo_ext.engine: --dynamic_clip), and
merges LoRA for the rollout in its precision (core/lora_sync.py), and asks the model for the
response positions' logits only (core/response_logits.py), as every run's engine does; the think
scales are then cut to the positions the model returned.
"""

import torch
from verl.workers.engine.base import EngineRegistry
from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

from core.lora_sync import RolloutDtypeLoraSync
from core.response_logits import FIRST_KEY, ResponseLogits
from grpo_ext.engine import MicroBatchContext

from . import token_scales
from .agent_loop import TEMPERATURE_FIELD

ENGINE_VENDOR = "adagrpo"


@EngineRegistry.register(model_type="language_model", backend=["fsdp", "fsdp2"], device=["cuda", "npu"],
                         vendor=ENGINE_VENDOR)
class PerSampleTemperatureEngine(MicroBatchContext, ResponseLogits, RolloutDtypeLoraSync, FSDPEngineWithLMHead):
    def prepare_model_inputs(self, micro_batch):
        if TEMPERATURE_FIELD not in micro_batch.keys():
            # the scalar fallback would score resampled tokens at the wrong temperature, silently
            raise RuntimeError(f"adaGRPO: the batch has no {TEMPERATURE_FIELD!r}; its agent-loop manager "
                               f"(adagrpo_ext.agent_loop.AdaAgentLoopManager) did not produce it")
        micro_batch["temperature"] = micro_batch[TEMPERATURE_FIELD].to(float)
        model_inputs, output_args = super().prepare_model_inputs(micro_batch)
        self._token_factors = self._think_factors(micro_batch, output_args)
        return model_inputs, output_args

    # ---- the think-aware processor's per-token scales -------------------------------------------
    def _think_factors(self, micro_batch, output_args):
        settings = token_scales.settings_from_env()
        if settings is None:
            return None
        if getattr(self, "use_ulysses_sp", False):
            raise RuntimeError("adaGRPO: think-aware token scales with Ulysses sequence parallelism are not "
                               "supported; use ulysses_sequence_parallel_size=1")
        self._install_hook()
        marker = self._marker_ids(settings["think_end"])
        prompt_lens, responses = _prompt_lens_and_responses(micro_batch)
        per_seq = token_scales.position_factors(prompt_lens, responses, marker, settings["think_scale"],
                                                settings["answer_scale"])
        device = micro_batch["input_ids"].values().device if micro_batch["input_ids"].is_nested else "cpu"
        if "temperature_rmpad" in output_args:  # packed: (1, total tokens [+ pad])
            return torch.cat(per_seq).to(device).unsqueeze(0)
        width = max(len(f) for f in per_seq)  # padded: (batch, longest sequence), right-padded
        factors = torch.stack([torch.nn.functional.pad(f, (0, width - len(f)), value=1.0) for f in per_seq])
        # logits only from the first response position on (core/response_logits.py): the same positions' factors
        return factors[:, output_args.get(FIRST_KEY, 0):].to(device)

    def _marker_ids(self, text: str) -> list[int]:
        cache = self.__dict__.setdefault("_marker_cache", {})
        if text not in cache:
            cache[text] = self.model_config.tokenizer.encode(text, add_special_tokens=False)
        return cache[text]

    def _install_hook(self) -> None:
        if getattr(self, "_scale_hook", None) is not None:
            return

        def divide_logits(module, args, output):
            factors = getattr(self, "_token_factors", None)
            logits = getattr(output, "logits", None)
            if factors is None or logits is None:
                return output
            f = factors.to(logits.device, logits.dtype)
            if f.shape[1] < logits.shape[1]:  # a static pad after the packed tokens
                f = torch.nn.functional.pad(f, (0, logits.shape[1] - f.shape[1]), value=1.0)
            output.logits = logits / f.unsqueeze(-1)
            return output

        self._scale_hook = self.module.register_forward_hook(divide_logits)


def _prompt_lens_and_responses(micro_batch) -> tuple[list[int], list[list[int]]]:
    """Prompt lengths and response token lists, from verl's nested or padded prompts/responses."""
    prompts, responses = micro_batch["prompts"], micro_batch["responses"]
    if prompts.is_nested:
        return prompts.offsets().diff().tolist(), [r.tolist() for r in responses.unbind()]
    mask = micro_batch["attention_mask"]
    prompt_lens = mask[:, :prompts.shape[1]].sum(dim=1).tolist()
    response_lens = mask[:, prompts.shape[1]:].sum(dim=1).tolist()
    return prompt_lens, [responses[i, :n].tolist() for i, n in enumerate(response_lens)]
