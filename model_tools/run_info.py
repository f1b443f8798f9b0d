"""What a run folder says about itself: its resolved config, command and validation accuracy."""

from pathlib import Path

from core.metrics import read_records, training_steps, val_accuracy


def run_config(run_dir: Path | None) -> dict | None:
    """The config verl ran with (the launcher writes it as config.yaml), as plain containers."""
    if run_dir is None or not (run_dir / "config.yaml").is_file():
        return None
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=False)


def run_value(cfg: dict | None, *keys: str, default=None):
    """cfg[k1][k2]... of a run config, or `default` where any level is missing (or null)."""
    node = cfg or {}
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return default if node is None else node


def _records(run_dir: Path) -> list[dict]:
    # a resumed run keeps its earlier steps in metrics.previous.jsonl
    return read_records(run_dir / "metrics.previous.jsonl") + read_records(run_dir / "metrics.jsonl")


def last_val_accuracy(run_dir: Path | None, step: int | None = None) -> tuple[int, float] | None:
    """(step, greedy validation accuracy) of the last validation at or before `step`."""
    if run_dir is None:
        return None
    vals = [(r["step"], val_accuracy(r["data"])) for r in _records(run_dir)]
    vals = [(s, acc) for s, acc in vals if acc is not None and (step is None or s <= step)]
    return vals[-1] if vals else None


def trained_steps(run_dir: Path | None) -> int | None:
    if run_dir is None:
        return None
    return max((r["step"] for r in training_steps(_records(run_dir))), default=None)


def command(run_dir: Path | None) -> str | None:
    """The train.sh command the run was started with, else the verl command it ran."""
    for name in ("train_command.sh", "command.sh"):
        path = run_dir / name if run_dir else None
        if path and path.is_file():
            return path.read_text().strip()
    return None
