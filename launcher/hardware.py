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


MICRO_BATCH_KEYS = {
    # key -> which per-GPU batch it splits: "update" = mini-batch responses, "forward" = step responses
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": "update",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": "forward",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": "forward",
}


def largest_divisor_at_most(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def fit_micro_batches(cfg, user_keys: set[str]) -> list[str]:
    """Micro-batches must divide each GPU's share of the batch (verl asserts it deep inside a worker).
    Settings the user did not give are lowered to the largest size that divides; a user's own value
    that does not divide is an error naming the key."""
    n, world = int(cfg.actor_rollout_ref.rollout.n), int(cfg.trainer.n_gpus_per_node) * int(cfg.trainer.nnodes)
    per_gpu = {"update": int(cfg.actor_rollout_ref.actor.ppo_mini_batch_size) * n // world,
               "forward": int(cfg.data.train_batch_size) * n // world}
    overrides = []
    for key, kind in MICRO_BATCH_KEYS.items():
        node = cfg
        for part in key.split("."):
            node = node.get(part) if node is not None else None
        if node is None:
            continue
        micro, share = int(node), per_gpu[kind]
        if share % micro == 0:
            continue
        if key in user_keys:
            raise UsageError(f"{key}={micro} must divide each GPU's {share} responses per "
                             f"{'mini-batch' if kind == 'update' else 'step'}; use a divisor of {share}")
        overrides.append(f"{key}={largest_divisor_at_most(share, micro)}")
    return overrides
