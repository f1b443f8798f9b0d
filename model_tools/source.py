"""What MODEL means for eval.sh, export.sh and chat.sh: a run folder (its latest checkpoint, or
--step N), a checkpoint folder (global_step_N or its actor/), a Hugging Face folder, or a hub id."""

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import UsageError
from core.run_folders import checkpoint_step

STEP_DIR = re.compile(r"global_step_(\d+)$")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class Source:
    given: str
    hf_path: str | None = None       # a Hugging Face folder or hub id vLLM/transformers can load
    actor_dir: Path | None = None    # an FSDP checkpoint (verl's actor/ folder) to merge first
    run_dir: Path | None = None
    step: int | None = None

    @property
    def is_checkpoint(self) -> bool:
        return self.actor_dir is not None

    @property
    def merged_dir(self) -> Path:
        """Where a checkpoint's merged Hugging Face weights are kept: beside its actor/ folder, so
        verl's checkpoint retention removes them with the checkpoint."""
        return self.actor_dir.parent / "hf_merged"

    def describe(self) -> str:
        if self.is_checkpoint:
            return f"{self.run_dir or self.actor_dir.parent.parent} step {self.step}"
        if self.hf_path != self.given and not Path(self.given).expanduser().exists():
            return f"{self.given} ({self.hf_path}: the shipped copy, no hub access here)"
        return str(self.hf_path)


def _steps(checkpoint_dir: Path) -> list[int]:
    found = []
    if checkpoint_dir.is_dir():
        for child in checkpoint_dir.iterdir():
            match = STEP_DIR.match(child.name)
            if match and (child / "actor").is_dir():
                found.append(int(match.group(1)))
    return sorted(found)


def _from_run(run_dir: Path, step: int | None, given: str) -> Source:
    checkpoints = run_dir / "checkpoints"
    steps = _steps(checkpoints)
    if not steps:
        raise UsageError(f"{given}: this run folder has no checkpoint yet (verl writes one every --save_freq "
                         f"steps and at the last step)")
    if step is None:
        step = checkpoint_step(checkpoints) if checkpoint_step(checkpoints) in steps else steps[-1]
    elif step not in steps:
        raise UsageError(f"--step {step}: {given} has checkpoints for step(s) {', '.join(map(str, steps))}")
    return Source(given, actor_dir=checkpoints / f"global_step_{step}" / "actor", run_dir=run_dir, step=step)


def _is_hf_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and (any(path.glob("*.safetensors")) or any(path.glob("*.bin")))


def resolve(model: str, step: int | None = None) -> Source:
    path = Path(model).expanduser()
    if path.is_dir():
        path = path.resolve()
        if (path / "checkpoints").is_dir() or (path / "config.yaml").is_file() and (path / "metrics.jsonl").exists():
            return _from_run(path, step, model)
        if path.name == "checkpoints":
            return _from_run(path.parent, step, model)
        if path.name == "actor" and STEP_DIR.match(path.parent.name):
            path = path.parent
        match = STEP_DIR.match(path.name)
        if match and (path / "actor").is_dir():
            found = int(match.group(1))
            if step is not None and step != found:
                raise UsageError(f"--step {step}: {model} is the checkpoint of step {found}")
            run_dir = path.parent.parent if path.parent.name == "checkpoints" else None
            return Source(model, actor_dir=path / "actor", run_dir=run_dir, step=found)
        if _is_hf_folder(path):
            if step is not None:
                raise UsageError(f"--step {step}: {model} is a Hugging Face folder, not a run with checkpoints")
            return Source(model, hf_path=str(path))
        raise UsageError(f"{model}: not a run folder (with checkpoints/), a checkpoint (global_step_N), "
                         f"or a Hugging Face model folder (config.json and weights)")
    if path.exists():
        raise UsageError(f"{model}: a file; give a run folder, a checkpoint folder, a Hugging Face folder or a hub id")
    if HUB_ID.match(model) and not model.startswith((".", "/", "~")):
        if step is not None:
            raise UsageError(f"--step {step}: {model} is a hub id, not a run with checkpoints")
        from shipped_models import resolve as shipped

        try:
            return Source(model, hf_path=shipped(model, log=lambda line: print(f"model: {line}"))[0])
        except FileNotFoundError as err:
            raise UsageError(str(err)) from None
    raise UsageError(f"{model}: no such folder, and not a hub id (ORG/NAME)")
