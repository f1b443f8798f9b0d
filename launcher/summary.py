"""The closing lines of a run: accuracy before -> after, steps, time, and where things are."""

from pathlib import Path

from core.metrics import training_steps, val_accuracy
from core.run_folders import checkpoint_step
from reward.verl_settings import USER_FUNCTIONS


def scores_are_accuracies(plan) -> bool:
    """Our scorers' scores are accuracies (0 to 1); --reward_func files score on their own scale."""
    try:
        return str(plan.cfg.reward.custom_reward_function.path) != USER_FUNCTIONS
    except AttributeError:  # a plan without a composed config
        return True


def summary_lines(records: list[dict], seconds: float, plan) -> list[str]:
    vals = [(r["step"], val_accuracy(r["data"])) for r in records]
    vals = [(step, acc) for step, acc in vals if acc is not None]
    steps = max((r["step"] for r in training_steps(records)), default=0)
    lines = []
    accuracy = scores_are_accuracies(plan)
    name, shown = ("accuracy", "{:.0%}") if accuracy else ("reward", "{:.3f}")
    if len(vals) >= 2:
        lines.append(f"val {name} {shown.format(vals[0][1])} -> {shown.format(vals[-1][1])} in {steps} steps, "
                     f"{seconds:.0f} s")
    elif vals:
        lines.append(f"val {name} {shown.format(vals[0][1])} (validated once) after {steps} steps, {seconds:.0f} s")
    else:
        lines.append(f"{steps} steps, {seconds:.0f} s")
    lines += _reward_timeouts(records, plan)
    saved = checkpoint_step(Path(str(plan.checkpoint_dir)))
    where = f"{plan.checkpoint_dir} (latest: step {saved})" if saved is not None else "none saved"
    lines.append(f"checkpoints: {where}  metrics: {plan.metrics_path}  log: {plan.log_path}")
    return lines


TIMEOUT_KEY = "reward/reward_timeout/mean"


def _reward_timeouts(records: list[dict], plan) -> list[str]:
    """Samples whose scorer ran past its bound scored 0: a count the user must see, never silent."""
    means = [r["data"][TIMEOUT_KEY] for r in training_steps(records) if r["data"].get(TIMEOUT_KEY)]
    if not means:
        return []
    try:
        per_step = int(plan.cfg.data.train_batch_size) * int(plan.cfg.actor_rollout_ref.rollout.n)
    except Exception:  # a plan without a composed config: the share alone
        per_step = 0
    if per_step:
        count = f"{round(sum(means) * per_step)} samples"
    else:
        count = f"{sum(means) / len(training_steps(records)):.1%} of samples"
    return [f"reward timeouts: {count} in {len(means)} step(s) scored 0 because the scorer ran past its bound "
            f"(reward_timeout; see train.log for the responses)"]
