"""verl platform ``cpu``: run verl's trainer with no accelerator.

Ray still schedules workers on the "GPU" resource (the launcher gives ``ray.init`` logical GPUs),
so verl's placement logic is unchanged; tensors live on the CPU and collectives use gloo.
"""

from contextlib import contextmanager
from types import ModuleType
from typing import Any, Optional

import torch
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry

from .device_module import cpu_device_module


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        return cpu_device_module  # type: ignore[return-value]

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check=False) -> bool:
        # Only chosen explicitly (VERL_PLATFORM=cpu); never auto-detected over a real GPU.
        return False

    def current_device(self):
        return cpu_device_module.current_device()

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: Optional[int] = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[Optional[int], Optional[int]]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        # Ray sets it for actors holding logical GPUs; verl reads it to build device uuids.
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        # No CUDA IPC handles on CPU: verl then syncs weights to vLLM through shared memory.
        return False

    def rollout_env_vars(self) -> dict[str, str]:
        from .vllm_env import vllm_cpu_env

        # the KV cache is sized per run (launcher/hardware.py fit_kv_cache); vLLM-CPU turns the cpu
        # preset's single-process executor ("uni") back into "mp" unless multiprocessing is off,
        # which for AsyncLLM (verl's server) affects only the executor: the engine core stays a process
        return {**vllm_cpu_env(kv_cache_gib=None), "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}

    def cudart(self) -> Any:
        return None
