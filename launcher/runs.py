"""Run folders and their checkpoints: where a run lives, how far it got, what --resume can continue."""

from pathlib import Path

from .flags import UsageError


def checkpoint_step(checkpoint_dir: Path) -> int | None:
    """The step of the latest complete checkpoint verl wrote there (its tracker file), or None."""
    tracker = checkpoint_dir / "latest_checkpointed_iteration.txt"
    try:
        return int(tracker.read_text().strip())
    except (OSError, ValueError):
        return None


def runs_with_checkpoints(project_dir: Path) -> list[tuple[Path, int]]:
    found = []
    if project_dir.is_dir():
        for run in sorted(project_dir.iterdir()):
            step = checkpoint_step(run / "checkpoints")
            if step is not None:
                found.append((run, step))
    return found


def check_resume(run_dir: Path, checkpoint_dir: Path, total_steps: int | None) -> str | None:
    """Before anything starts: a --resume that would silently start afresh is an error naming the run
    folders that could be meant; a run that already reached its last step needs no start at all
    (returns the line that says so)."""
    step = checkpoint_step(checkpoint_dir)
    if step is None:
        others = [f"{run.name} (step {s})" for run, s in runs_with_checkpoints(run_dir.parent) if run != run_dir]
        hint = (f"run folders of project {run_dir.parent.name} with checkpoints: {', '.join(others)} "
                f"(--experiment NAME picks one)") if others else f"no run of project {run_dir.parent.name} has one"
        raise UsageError(f"--resume: no checkpoint in {checkpoint_dir}; {hint}; without --resume it starts afresh")
    if total_steps is not None and step >= total_steps:
        return (f"nothing to do: {run_dir} already reached its last step ({step} of {total_steps}); "
                f"to extend it, rerun with a larger --total_steps (or --epochs) and --resume")
    return None
