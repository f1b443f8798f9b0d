"""A ``torch.<device>``-style namespace for the CPU.

verl calls ``get_torch_device().<fn>()`` (empty_cache, mem_get_info, memory stats, rng state...)
as if the device were CUDA. ``torch.cpu`` has only part of that API; the rest is answered here
with CPU meanings: no cache to empty, memory from psutil, the global RNG.
"""

import os

import psutil
import torch


class CpuDeviceIndex(str):
    """The "current device" on CPU.

    verl uses ``get_device_id()`` both as a device (``tensor.to(get_device_id())``) and inside
    f-strings such as ``f"{device_name}:{get_device_id()}"``. As a ``str`` its value is "cpu",
    which torch accepts as a device; formatted, it reads "0", so the f-string gives "cpu:0".
    """

    def __new__(cls):
        return super().__new__(cls, "cpu")

    def __format__(self, spec: str) -> str:
        return format(0, spec)

    def __index__(self) -> int:
        return 0


CURRENT_DEVICE = CpuDeviceIndex()


def _process_rss() -> int:
    return psutil.Process(os.getpid()).memory_info().rss


class CpuDeviceModule:
    """Stand-in for ``torch.cuda`` whose answers describe the CPU and host memory."""

    def __getattr__(self, name):
        # Streams, events and the like come from torch.cpu as they are.
        return getattr(torch.cpu, name)

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def current_device():
        return CURRENT_DEVICE

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def set_device(_device) -> None:
        return None

    @staticmethod
    def synchronize(_device=None) -> None:
        return None

    @staticmethod
    def empty_cache() -> None:
        return None

    @staticmethod
    def ipc_collect() -> None:
        return None

    @staticmethod
    def get_device_name(_device=None) -> str:
        return "cpu"

    @staticmethod
    def set_per_process_memory_fraction(_fraction, _device=None) -> None:
        return None

    @staticmethod
    def mem_get_info(_device=None) -> tuple[int, int]:
        mem = psutil.virtual_memory()
        return mem.available, mem.total

    @staticmethod
    def memory_allocated(_device=None) -> int:
        return _process_rss()

    memory_reserved = memory_allocated
    max_memory_allocated = memory_allocated
    max_memory_reserved = memory_allocated

    @staticmethod
    def reset_peak_memory_stats(_device=None) -> None:
        return None

    @staticmethod
    def manual_seed(seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    @staticmethod
    def get_rng_state(_device=None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state: torch.Tensor, _device=None) -> None:
        torch.set_rng_state(state)


cpu_device_module = CpuDeviceModule()
