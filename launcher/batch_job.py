"""A run inside a SLURM job: how often it saves, and what a kill loses, said in the plan.

scancel, scontrol requeue and preemption stop every process of the job at once (Ray's workers too),
so only what the last checkpoint holds survives. The one stop that finishes and saves the step in
progress is the time-limit warning that scripts/slurm_train.sbatch asks for (USR1), or the same
signal sent by hand. A checkpoint that costs next to nothing (under 1 GiB: the demo's is a few MB)
is written every step unless the user chose --save_freq, so a kill loses at most the step in progress.
"""

import os

from .hardware import Change, decoder_shape, model_config

CHEAP_CHECKPOINT_BYTES = 1 << 30
BYTES_PER_PARAMETER = 12  # fp32 weights and AdamW's two moments, as verl's FSDP checkpoint holds them


def job_id() -> str | None:
    return os.environ.get("SLURM_JOB_ID") or None


def parameters(config: dict) -> int | None:
    """A decoder's parameter count from its config.json: embeddings (twice when untied) and per layer
    the attention's four projections (narrower k/v with grouped queries) and a gated MLP's three."""
    d = decoder_shape(config)
    if d is None:
        return None
    hidden = d["hidden"]
    embeddings = d["vocab"] * hidden * (1 if d["tied"] else 2)
    attention = 2 * hidden * hidden + 2 * hidden * (hidden * d["kv_heads"] // d["heads"])
    return embeddings + d["layers"] * (attention + 3 * hidden * d["intermediate"])


def checkpoint_bytes(cfg) -> int | None:
    count = parameters(model_config(cfg))
    return None if count is None else count * BYTES_PER_PARAMETER


def fit_saves(cfg, user_set: bool) -> list[Change]:
    """In a SLURM job, a checkpoint every step when one is cheap and the user chose no interval."""
    size = checkpoint_bytes(cfg)
    freq = int(cfg.trainer.save_freq)
    if not job_id() or user_set or freq == 1 or size is None or size > CHEAP_CHECKPOINT_BYTES:
        return []
    return [Change("trainer.save_freq", freq, 1)]


def note(cfg) -> list[str]:
    job = job_id()
    if not job:
        return []
    freq = int(cfg.trainer.save_freq)
    size = checkpoint_bytes(cfg)
    each = f", ~{size / 2**20:,.0f} MB each" if size else ""
    if freq <= 0:
        loses = "everything: no checkpoints (save_freq <= 0)"
    elif freq == 1:
        loses = f"at most the step in progress (a checkpoint every step{each})"
    else:
        loses = (f"up to {freq - 1} finished step(s) and the one in progress (a checkpoint every {freq} steps{each}: "
                 f"--save_freq)")
    graceful = ("; the time-limit warning (USR1, scripts/slurm_train.sbatch) or `scancel --batch --signal=USR1 "
                f"{job}` finishes and saves the step in progress, then requeues the job"
                if os.environ.get("GRPO_SLURM_SCRIPT") else "")
    return [f"SLURM job {job}: a kill (scancel, scontrol requeue, preemption) loses {loses}{graceful}"]
