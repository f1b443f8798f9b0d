"""README.md for an exported model: what it was trained from, on what, how long, how well, how."""

from pathlib import Path

from .run_info import command, last_val_accuracy, run_config, run_value, trained_steps

WEIGHTS = {"adapter": "PEFT LoRA adapter", "merged-lora": "full (LoRA merged)", "full": "full"}


def _files(value) -> str:
    files = [value] if isinstance(value, str) else list(value or [])
    return ", ".join(f"`{f}`" for f in files) or "unknown"


def card(run_dir: Path | None, step: int | None, kind: str) -> str:
    cfg = run_config(run_dir)
    model = run_value(cfg, "actor_rollout_ref", "model", "path", default="unknown")
    data = run_value(cfg, "data", default={})
    algo = run_value(cfg, "algorithm", "adv_estimator", default="grpo")
    val = last_val_accuracy(run_dir, step)
    lines = [
        "---", f"base_model: {model}", "library_name: transformers" if kind != "adapter" else "library_name: peft",
        "tags: [grpo, verl, reinforcement-learning]", "---", "",
        f"# {run_dir.name if run_dir else 'model'} (step {step})", "",
        f"Fine-tuned from `{model}` with {algo.upper()} (verl) by grpo-pipeline.", "",
        "| | |", "| --- | --- |",
        f"| base model | `{model}` |",
        f"| weights | {WEIGHTS[kind]} |",
        f"| training data | {_files(data.get('train_files'))} |",
        f"| validation data | {_files(data.get('val_files'))} |",
        f"| checkpoint step | {step} of {trained_steps(run_dir) or '?'} trained |",
        f"| group size (rollout n) | {run_value(cfg, 'actor_rollout_ref', 'rollout', 'n', default='?')} |",
        f"| final validation accuracy (greedy) | {f'{val[1]:.1%} at step {val[0]}' if val else 'not validated'} |",
        "",
    ]
    cmd = command(run_dir)
    if cmd:
        lines += ["## Training command", "", "```bash", cmd, "```", ""]
    return "\n".join(lines)
