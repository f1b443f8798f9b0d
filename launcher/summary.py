"""The closing lines of a run: accuracy before -> after, steps, time, and where things are."""

from .metrics import training_steps, val_accuracy


def summary_lines(records: list[dict], seconds: float, plan) -> list[str]:
    vals = [(r["step"], val_accuracy(r["data"])) for r in records]
    vals = [(step, acc) for step, acc in vals if acc is not None]
    steps = max((r["step"] for r in training_steps(records)), default=0)
    lines = []
    if len(vals) >= 2:
        lines.append(f"val accuracy {vals[0][1]:.0%} -> {vals[-1][1]:.0%} in {steps} steps, {seconds:.0f} s")
    elif vals:
        lines.append(f"val accuracy {vals[0][1]:.0%} (validated once) after {steps} steps, {seconds:.0f} s")
    else:
        lines.append(f"{steps} steps, {seconds:.0f} s")
    lines.append(f"checkpoints: {plan.checkpoint_dir}  metrics: {plan.metrics_path}  log: {plan.log_path}")
    return lines
