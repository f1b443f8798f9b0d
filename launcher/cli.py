"""`./train.sh` = `python -m launcher`: flags -> a checked plan -> verl's main_ppo, supervised."""

import os
import shlex
import sys
import time
from pathlib import Path

from core.errors import UsageError
from trainer_hooks.graceful_stop import STOP_FILE_ENV

from . import flags as F


def fail(message: str) -> int:
    print(f"train.sh: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parsed = F.parse(argv)
    except UsageError as err:
        return fail(str(err))
    if parsed.values.get("help"):
        print(F.help_text())
        return 0
    from .describe import plan_lines
    from .plan import build_plan  # after the cheap checks: it imports hydra

    try:
        plan = build_plan(parsed)
    except UsageError as err:
        return fail(str(err))
    for warning in plan.warnings:
        print(f"train.sh: warning: {warning}", file=sys.stderr)
    print("\n".join(plan_lines(plan)))
    if plan.finished:
        print(f"train.sh: {plan.finished}")
        return 0
    if parsed.values.get("dry-run"):
        print(plan.config_yaml)
        print("# command:")
        print(" ".join(f"{k}={shlex.quote(v)}" for k, v in plan.env_delta.items()) + " \\\n  "
              + " \\\n  ".join(shlex.quote(c) for c in plan.command))
        return 0
    return run(plan, verbose=bool(parsed.values.get("verbose")), argv=argv)


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


def run(plan, verbose: bool, argv: list[str] = ()) -> int:
    from .run_lock import hold
    from .summary import scores_are_accuracies, summary_lines
    from .supervise import supervise

    plan.run_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = hold(plan.run_dir)  # noqa: F841 (held until this process ends)
    except UsageError as err:
        return fail(str(err))
    if plan.token_fix is not None:
        plan.token_fix.write(plan.run_dir / "tokenizer")
    (plan.run_dir / "config.yaml").write_text(plan.config_yaml)
    (plan.run_dir / "command.sh").write_text(plan.shell_command())
    (plan.run_dir / "train_command.sh").write_text(" ".join(["./train.sh", *map(shlex.quote, argv)]) + "\n")
    if plan.metrics_path.exists():
        # verl's file logger starts the file afresh (also on --resume): keep every earlier run's steps
        with open(plan.metrics_path.with_name("metrics.previous.jsonl"), "ab") as history:
            history.write(plan.metrics_path.read_bytes())
        plan.metrics_path.unlink()
    print(f"run: {plan.run_dir}  (log: {plan.log_path})")
    print(f"starting verl ({plan.device_summary}); the first step takes a minute or two...")
    env = {**os.environ, **plan.env_delta}
    stop_file = Path(plan.env_delta[STOP_FILE_ENV])
    stop_file.unlink(missing_ok=True)  # an earlier run's request is not this run's
    t0 = time.time()
    outcome = supervise(plan.command, env, plan.log_path, plan.metrics_path, plan.total_steps,
                        startup_timeout=float(os.environ.get("STARTUP_TIMEOUT", 900)),
                        stall_timeout=float(os.environ.get("STALL_TIMEOUT", 1800)), verbose=verbose,
                        curves_path=plan.run_dir / "curves.png", stop_file=stop_file,
                        stop_grace=float(os.environ.get("STOP_GRACE", 300)), accuracy=scores_are_accuracies(plan))
    for line in summary_lines(outcome.records, time.time() - t0, plan):
        print(line)
    if outcome.warning:
        print(f"train.sh: warning: {outcome.warning}", file=sys.stderr)
    if outcome.reason:
        print(f"train.sh: error: {outcome.reason} (full log: {plan.log_path})", file=sys.stderr)
        if "No space left on device" in outcome.reason:
            print(disk_full_hint(plan), file=sys.stderr)
        print(resume_hint(plan), file=sys.stderr)
        return outcome.returncode or 1
    for line in next_steps(plan.run_dir):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
