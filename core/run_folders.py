"""Run folders and their checkpoints: how far a run got, and whether verl could resume from a step."""

import re
import zipfile
from pathlib import Path


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


def step_folders(checkpoint_dir: Path) -> list[tuple[int, Path]]:
    """verl's global_step_N folders, newest first."""
    found = [(int(p.name.rsplit("_", 1)[1]), p) for p in checkpoint_dir.glob("global_step_*")
             if p.name.rsplit("_", 1)[1].isdigit()]
    return sorted(found, reverse=True)
