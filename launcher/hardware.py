"""What this machine has, and the parallel sizes that fit it (checked before Ray starts)."""

import shutil
import subprocess

from .flags import UsageError


def count_gpus() -> int:
    """NVIDIA GPUs visible here, without importing torch (which takes seconds)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def check_divisibility(batch_size: int, mini_batch: int, rollout_n: int, n_gpus: int, nnodes: int, tp: int) -> None:
    """verl's own checks fire late, inside Ray, as assertion tracebacks; these say which number to change."""
    world = n_gpus * nnodes
    if world % tp:
        raise UsageError(f"--tp {tp} must divide the number of GPUs ({world}): use --tp 1, or a divisor of {world}")
    if mini_batch > batch_size:
        raise UsageError(f"ppo_mini_batch_size {mini_batch} exceeds --batch_size {batch_size}: lower "
                         f"actor_rollout_ref.actor.ppo_mini_batch_size or raise --batch_size")
    if batch_size % mini_batch:
        raise UsageError(f"--batch_size {batch_size} must be a multiple of ppo_mini_batch_size {mini_batch}")
    if (mini_batch * rollout_n) % world:
        raise UsageError(f"ppo_mini_batch_size x rollout_n = {mini_batch * rollout_n} responses must split evenly "
                         f"over {world} GPUs: change --batch_size/--rollout_n or --n_gpus")
    if (batch_size * rollout_n) % world:
        raise UsageError(f"--batch_size x --rollout_n = {batch_size * rollout_n} responses must split evenly over "
                         f"{world} GPUs: change --batch_size, --rollout_n or --n_gpus")
