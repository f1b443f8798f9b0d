"""The run's second half, in a light process: once the plan is checked and its files written, the
launcher replaces itself (exec, same pid) with this module, which starts verl, prints a line per
step and the summary, and stops what is left. Planning imports hydra, verl, torch and transformers
(0.4-0.7 GB of proportional memory that a waiting process would keep for the whole run); this
imports none of them. The run-folder lock's descriptor is inherited, so the lock stays held."""

import json
import os
import shlex
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from trainer_hooks.graceful_stop import STOP_FILE_ENV

SPEC = ".watch.json"


def _namespace(value):
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _namespace(v) for k, v in value.items()})
    return value


def hand_over(plan, verbose: bool, lock) -> None:
    """exec into `python -m launcher.watch RUN/.watch.json`; returns only if exec fails."""
    from .summary import scores_are_accuracies

    cfg = plan.cfg
    spec = {"command": plan.command, "env_delta": plan.env_delta, "verbose": verbose,
            "run_dir": str(plan.run_dir), "checkpoint_dir": str(plan.checkpoint_dir),
            "log_path": str(plan.log_path), "metrics_path": str(plan.metrics_path),
            "total_steps": plan.total_steps, "accuracy": scores_are_accuracies(plan),
            # what the summary reads of the config (launcher/summary.py)
            "cfg": {"data": {"train_batch_size": int(cfg.data.train_batch_size)},
                    "actor_rollout_ref": {"rollout": {"n": int(cfg.actor_rollout_ref.rollout.n)}},
                    "reward": {"custom_reward_function": {
                        "path": str((cfg.reward.get("custom_reward_function") or {}).get("path"))}}}}
    path = plan.run_dir / SPEC
    path.write_text(json.dumps(spec))
    os.set_inheritable(lock.fileno(), True)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(sys.executable, [sys.executable, "-m", "launcher.watch", str(path)])
    except OSError:
        return


def next_steps(run_dir) -> list[str]:
    """After a run that saved a checkpoint: what to do with it, ready to paste."""
    from core.run_folders import checkpoint_step

    if checkpoint_step(run_dir / "checkpoints") is None:
        return []
    run = shlex.quote(str(run_dir))
    return [f"evaluate: ./eval.sh {run} --n 8   (greedy accuracy, pass@k; --data FILE for other problems)",
            f"export:   ./export.sh {run} --out DIR   chat: ./chat.sh {run}"]


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
        n /= 1024


def disk_full_hint(plan) -> str:
    """The folder whose disk filled, what is free there and what one checkpoint of this run takes."""
    import shutil

    from core.run_folders import checkpoint_step

    folder = next(p for p in (plan.checkpoint_dir, plan.run_dir, plan.run_dir.parent) if p.exists())
    free = shutil.disk_usage(folder).free
    step = checkpoint_step(plan.checkpoint_dir)
    saved = plan.checkpoint_dir / f"global_step_{step}"
    size = sum(f.stat().st_size for f in saved.rglob("*") if f.is_file()) if step is not None else None
    need = f"; one checkpoint of this run takes {_size(size)}" if size else ""
    return (f"train.sh: the disk of {folder} is full ({_size(free)} free){need}: free space there, save "
            f"less often (--save_freq) or elsewhere (--output_dir)")


def resume_hint(plan) -> str:
    """After a stop or a failure: what --resume would continue from, said before the user tries it."""
    from core.run_folders import checkpoint_step

    step = checkpoint_step(plan.checkpoint_dir)
    if step is None:
        return "train.sh: no checkpoint was saved; --resume would start from step 1"
    return f"train.sh: --resume continues from step {step} ({plan.checkpoint_dir / f'global_step_{step}'})"


def watch(spec: dict) -> int:
    from .summary import summary_lines
    from .supervise import supervise

    run = SimpleNamespace(**{k: Path(spec[k]) for k in ("run_dir", "checkpoint_dir", "log_path", "metrics_path")},
                          cfg=_namespace(spec["cfg"]))
    env = {**os.environ, **spec["env_delta"]}
    stop_file = Path(spec["env_delta"][STOP_FILE_ENV])
    t0 = time.time()
    outcome = supervise(spec["command"], env, run.log_path, run.metrics_path, spec["total_steps"],
                        startup_timeout=float(os.environ.get("STARTUP_TIMEOUT", 900)),
                        stall_timeout=float(os.environ.get("STALL_TIMEOUT", 1800)), verbose=spec["verbose"],
                        curves_path=run.run_dir / "curves.png", stop_file=stop_file,
                        stop_grace=float(os.environ.get("STOP_GRACE", 300)), accuracy=spec["accuracy"])
    for line in summary_lines(outcome.records, time.time() - t0, run):
        print(line)
    if outcome.warning:
        print(f"train.sh: warning: {outcome.warning}", file=sys.stderr)
    if outcome.reason:
        print(f"train.sh: error: {outcome.reason} (full log: {run.log_path})", file=sys.stderr)
        if "No space left on device" in outcome.reason:
            print(disk_full_hint(run), file=sys.stderr)
        print(resume_hint(run), file=sys.stderr)
        return outcome.returncode or 1
    for line in next_steps(run.run_dir):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(watch(json.loads(Path(sys.argv[1]).read_text())))
