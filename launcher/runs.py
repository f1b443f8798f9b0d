"""What --resume can continue: the checkpoint to resume from, or a one-line reason why none."""

from pathlib import Path

from core.errors import UsageError
from core.run_folders import checkpoint_step, incomplete, runs_with_checkpoints, step_folders

from .flag_values import AUTO
from .hardware import Change


def resume_fallback(checkpoint_dir: Path, save_contents) -> tuple[list[Change], str | None]:
    """When the newest checkpoint is incomplete: the settings that resume from the newest complete
    one, and the plan's line saying so; UsageError when none is complete."""
    step = checkpoint_step(checkpoint_dir)
    newest = checkpoint_dir / f"global_step_{step}"
    why = incomplete(newest, save_contents)
    if why is None:
        return [], None
    for _, folder in (entry for entry in step_folders(checkpoint_dir) if entry[0] < step):
        if incomplete(folder, save_contents) is None:
            line = (f"resume: the newest checkpoint {newest.name} is incomplete ({why}); resuming from {folder.name}, "
                    f"the newest complete one")
            return [Change("trainer.resume_mode", "auto", "resume_path"),
                    Change("trainer.resume_from_path", None, str(folder))], line
    raise UsageError(f"--resume: checkpoint {newest} is incomplete ({why}) and no earlier complete one is there; "
                     f"without --resume it starts afresh")


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


def plan_resume(resume, run_dir: Path, checkpoint_dir: Path, total_steps: int | None,
                save_contents) -> tuple[list[Change], list[str], str | None]:
    """What --resume (True, or "auto": only when there is a checkpoint) adds to the plan: the settings
    that pick the checkpoint, the plan's lines, and the line that says the run already finished."""
    if resume == AUTO and checkpoint_step(checkpoint_dir) is None:
        return [], [f"resume: no checkpoint in {checkpoint_dir} yet; starting at step 1 (--resume=auto)"], None
    if not resume:
        return [], [], None
    finished = check_resume(run_dir, checkpoint_dir, total_steps)
    if finished:
        return [], [], finished
    fallback, line = resume_fallback(checkpoint_dir, save_contents)
    step = checkpoint_step(checkpoint_dir)
    return fallback, [line or f"resume: from step {step}, continuing at step {step + 1} "
                              f"({checkpoint_dir / f'global_step_{step}'})"], None
