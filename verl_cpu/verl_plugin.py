"""Entry point ``verl.plugins: cpu``: imported by ``import verl`` in every process.

Registering the platform is always harmless (it is used only with ``VERL_PLATFORM=cpu``); the
process-group fix below is applied only when that platform is selected.
"""

import functools
import os

import torch
import torch.distributed

from . import matmul
from . import platform  # noqa: F401  (registers PlatformCPU)


def _dedupe_backend(backend: str | None) -> str | None:
    """verl asks for f"cpu:gloo,{device}:{backend}", i.e. "cpu:gloo,cpu:gloo" on CPU; torch
    rejects a device named twice, so keep each device's first entry."""
    if not isinstance(backend, str) or "," not in backend:
        return backend
    pairs: dict[str, str] = {}
    for pair in backend.split(","):
        device, _, name = pair.partition(":")
        pairs.setdefault(device, name)
    return ",".join(f"{d}:{n}" for d, n in pairs.items())


def _use_every_core() -> None:
    """Ray gives an actor that asks for no CPUs OMP_NUM_THREADS=1, and verl's workers ask for GPUs
    only: a CPU run would train on one core. A trainer worker starts by joining its process group,
    so that is where it takes the threads the launcher planned (VERL_CPU_TRAINER_THREADS: every
    CPU, or the user's OMP_NUM_THREADS). Only the trainer: Ray's helper actors keep one thread each."""
    threads = os.environ.get("VERL_CPU_TRAINER_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))
    matmul.apply()  # and the fp32 matmul precision the launcher planned for this CPU


def _patch_init_process_group() -> None:
    original = torch.distributed.init_process_group
    if getattr(original, "_verl_cpu_patched", False):
        return

    @functools.wraps(original)
    def init_process_group(*args, **kwargs):
        _use_every_core()
        if "backend" in kwargs:
            kwargs["backend"] = _dedupe_backend(kwargs["backend"])
        elif args:
            args = (_dedupe_backend(args[0]), *args[1:])
        return original(*args, **kwargs)

    init_process_group._verl_cpu_patched = True
    torch.distributed.init_process_group = init_process_group


def _make_pinning_a_no_op() -> None:
    """Pinned memory only speeds host-to-accelerator copies; with no accelerator torch raises
    instead. verl's FSDP2 reference model always asks for CPUOffloadPolicy(pin_memory=True)."""
    if torch.accelerator.is_available() or getattr(torch.Tensor.pin_memory, "_verl_cpu_patched", False):
        return

    def pin_memory(self, device=None):
        return self

    pin_memory._verl_cpu_patched = True
    torch.Tensor.pin_memory = pin_memory


if os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu":
    _patch_init_process_group()
    _make_pinning_a_no_op()
