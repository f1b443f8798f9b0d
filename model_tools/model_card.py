"""README.md for an exported model: what it was trained from, on what, how long, how well, how."""

from pathlib import Path

from .run_info import command, last_val_accuracy, run_config, trained_steps


WEIGHTS = {"adapter": "PEFT LoRA adapter", "merged-lora": "full (LoRA merged)", "full": "full"}


def _files(value) -> str:
    files = [value] if isinstance(value, str) else list(value or [])
    return ", ".join(f"`{f}`" for f in files) or "unknown"


def card(run_dir: Path | None, step: int | None, kind: str) -> str:
    cfg = run_config(run_dir) or {}
    model = cfg.get("actor_rollout_ref", {}).get("model", {}).get("path", "unknown")
    data = cfg.get("data", {})
    algo = cfg.get("algorithm", {}).get("adv_estimator", "grpo")
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
        f"| group size (rollout n) | {cfg.get('actor_rollout_ref', {}).get('rollout', {}).get('n', '?')} |",
        f"| final validation accuracy (greedy) | {f'{val[1]:.1%} at step {val[0]}' if val else 'not validated'} |",
        "",
    ]
    cmd = command(run_dir)
    if cmd:
        lines += ["## Training command", "", "```bash", cmd, "```", ""]
    return "\n".join(lines)
