"""`./train.sh` = `python -m launcher`: flags -> a checked plan -> verl's main_ppo, supervised."""

import shlex
import sys
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


def run(plan, verbose: bool, argv: list[str] = ()) -> int:
    from .inputs import check_hub_model
    from .run_lock import hold

    try:
        check_hub_model(str(plan.cfg.actor_rollout_ref.model.path))
    except UsageError as err:
        return fail(str(err))

    plan.run_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = hold(plan.run_dir)  # held for the run's life: its descriptor passes to the supervisor
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
    Path(plan.env_delta[STOP_FILE_ENV]).unlink(missing_ok=True)  # an earlier run's request is not this run's
    from .watch import hand_over

    hand_over(plan, verbose, lock)  # the rest runs in launcher/watch.py, without planning's imports
    return fail("could not start the run's supervisor (exec failed)")


if __name__ == "__main__":
    sys.exit(main())
