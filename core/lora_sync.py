"""LoRA merged into the weights for the rollout, in the rollout's own precision.

With `actor_rollout_ref.model.lora.merge: true` verl merges the adapters into the base weights before
each sync, so vLLM serves plain weights and needs no LoRA support (the CPU's vLLM has none that
verl's adapters load into). verl 0.9.1 casts every merged tensor to bf16 on the way
(`FSDPEngine._merged_lora_per_tensor_param`), which suits a bf16 rollout; a float32 rollout (every
CPU run) then samples from bf16-rounded weights while the trainer scores with float32 ones: a
rollout/trainer log-prob gap of ~2e-3 from the first step, where full fine-tuning's is ~1e-6. Here
the tensors leave in the dtype the rollout computes in (ROLLOUT_DTYPE_ENV, set by the launcher from
`actor_rollout_ref.rollout.dtype`; verl's bf16 when it is unset).

What it relies on of verl (core/verl_internals.py): the method's name, that it is a generator of
(name, tensor) pairs, verl's `merged_lora_context`, `normalize_peft_param_name` and
`convert_weight_keys`; tests/unit/test_lora_sync.py runs it on a real peft model.
"""

import os

import torch

ROLLOUT_DTYPE_ENV = "GRPO_ROLLOUT_DTYPE"
_DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16,
           "half": torch.float16, "float32": torch.float32, "fp32": torch.float32, "float": torch.float32}


def rollout_dtype() -> torch.dtype:
    return _DTYPES.get(os.environ.get(ROLLOUT_DTYPE_ENV, "bfloat16").lower(), torch.bfloat16)


class RolloutDtypeLoraSync:
    """Mixin for verl's FSDPEngine (before it in the bases)."""

    def _merged_lora_per_tensor_param(self):
        from torch.distributed.tensor import DTensor
        from verl.utils.device import get_device_id
        from verl.utils.fsdp_utils import merged_lora_context, normalize_peft_param_name, offload_fsdp_model_to_cpu
        from verl.utils.model import convert_weight_keys

        device, dtype = get_device_id(), rollout_dtype()
        try:
            # the context restores the un-merged base weights on exit: every tensor is copied inside it
            with merged_lora_context(self.module, backup_adapters=True):
                params = normalize_peft_param_name(self.module.state_dict())
                params = convert_weight_keys(params, getattr(self.module, "_fsdp_wrapped_module", self.module))
                for name, param in params.items():
                    if isinstance(param, DTensor):
                        # a copy: on one rank full_tensor() can alias the storage the context restores,
                        # and in the rollout's dtype already no cast copies it either
                        yield name, param.to(device, non_blocking=True).full_tensor().to(dtype, copy=True)
                    else:
                        yield name, param.detach().clone()
        finally:
            if self._is_offload_param:
                offload_fsdp_model_to_cpu(self.module)
