"""Run folders and their checkpoints: where a run lives, how far it got, what --resume can continue."""

import re
import zipfile
from pathlib import Path

from .flags import UsageError
from .hardware import Change


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


ACTOR_FILES = {"model": "model", "optimizer": "optim", "extra": "extra_state"}  # save_contents -> file prefix


def incomplete(step_dir: Path, save_contents=("model", "optimizer", "extra")) -> str | None:
    """Why verl could not resume from this global_step_N folder, or None. Cheap: every shard the
    config saves is present, and each torch file's zip directory (written last) is readable, so a
    half-written or truncated file shows without loading gigabytes."""
    actor = step_dir / "actor"
    shards = sorted(actor.glob("model_world_size_*_rank_*.pt")) if actor.is_dir() else []
    if not shards:
        return "actor/model_world_size_*_rank_*.pt is missing"
    world = int(re.search(r"world_size_(\d+)_rank", shards[0].name).group(1))
    needed = [f"actor/{ACTOR_FILES[c]}_world_size_{world}_rank_{r}.pt" for c in save_contents if c in ACTOR_FILES
              for r in range(world)] + ["data.pt"]
    for name in needed:
        path = step_dir / name
        if not path.is_file():
            return f"{name} is missing"
        if not zipfile.is_zipfile(path):
            return f"{name} is truncated ({path.stat().st_size} bytes, no end of archive)"
    return None


def _step_folders(checkpoint_dir: Path) -> list[tuple[int, Path]]:
    """verl's global_step_N folders, newest first."""
    found = [(int(p.name.rsplit("_", 1)[1]), p) for p in checkpoint_dir.glob("global_step_*")
             if p.name.rsplit("_", 1)[1].isdigit()]
    return sorted(found, reverse=True)


def resume_fallback(checkpoint_dir: Path, save_contents) -> tuple[list[Change], str | None]:
    """When the newest checkpoint is incomplete: the settings that resume from the newest complete
    one, and the plan's line saying so; UsageError when none is complete."""
    step = checkpoint_step(checkpoint_dir)
    newest = checkpoint_dir / f"global_step_{step}"
    why = incomplete(newest, save_contents)
    if why is None:
        return [], None
    for _, folder in (entry for entry in _step_folders(checkpoint_dir) if entry[0] < step):
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
