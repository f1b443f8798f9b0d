"""`./train.sh` = `python -m launcher`: flags -> checked Hydra overrides -> verl's main_ppo, supervised."""

import os
import re
import shlex
import sys
import time
from pathlib import Path

from reward.user_file import split_spec

from . import flags as F
from .flags import UsageError

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "configs"
CONFIG_NAME = "grpo_trainer"


def fail(message: str) -> int:
    print(f"train.sh: error: {message}", file=sys.stderr)
    return 2


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or os.path.exists(path)


def check_files(values: dict, presets: list[str]) -> None:
    """Missing inputs fail here, in one line, before anything heavy is imported or started."""
    model = values.get("model")
    if model and _looks_local(model) and not Path(model).expanduser().is_dir():
        raise UsageError(f"--model {model}: no such directory (give a local model directory or a hub id)")
    for name in ("data", "val_files"):
        for path in str(values.get(name) or "").split(","):
            if path and not Path(path).expanduser().exists():
                raise UsageError(f"--{name} {path}: no such file")
    reward = values.get("reward_func")
    if reward:
        path = split_spec(reward)[0]
        if not Path(path).expanduser().is_file():
            raise UsageError(f"--reward_func {path}: no such file (expected a .py file defining compute_score)")
    for preset in presets:
        if not (CONFIG_DIR / "preset" / f"{preset}.yaml").is_file():
            known = ", ".join(sorted(p.stem for p in (CONFIG_DIR / "preset").glob("*.yaml")))
            raise UsageError(f"--preset {preset}: unknown preset; known: {known}")


def _hydra_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and re.search(r"[\s,\[\]{}()'\"=:$\\]", value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def flag_overrides(values: dict) -> list[str]:
    """Hydra overrides for every flag that has a value (env var or command line)."""
    out = []
    for flag in F.FLAGS:
        if flag.name not in values or not flag.keys:
            continue
        out += [f"{key}={_hydra_value(values[flag.name])}" for key in flag.keys]
    if values.get("no_kl"):
        out.append("actor_rollout_ref.actor.use_kl_loss=false")
    if values.get("offload"):
        out += ["actor_rollout_ref.actor.fsdp_config.param_offload=true",
                "actor_rollout_ref.actor.fsdp_config.optimizer_offload=true",
                "actor_rollout_ref.ref.fsdp_config.param_offload=true"]
    if values.get("resume"):
        out.append("trainer.resume_mode=auto")
    if values.get("reward_func"):
        spec = values["reward_func"]
        path, name = split_spec(spec)
        out += [f"reward.custom_reward_function.path={_hydra_value(str(Path(path).expanduser().resolve()))}",
                f"reward.custom_reward_function.name={name}"]
    if values.get("logger"):
        loggers = [x.strip() for x in str(values["logger"]).split(",") if x.strip()]
        if "file" not in loggers:
            loggers.append("file")  # the launcher's progress line and summary read it
        out.append(f"trainer.logger=[{','.join(loggers)}]")
    return out


def experiment_name(values: dict, explicit: set[str], presets: list[str], demo: bool) -> str:
    """Made from the non-default settings, so runs with different settings never share a folder."""
    parts = ["demo"] if demo else ["grpo"]
    parts += [p for p in presets if p not in ("grpo", "cpu", "demo")]
    skip = {"model", "data", "val_files", "output_dir", "project", "experiment", "logger", "preset", "verbose",
            "dry-run", "help", "resume", "save_freq", "test_freq", "reward_func"}
    for flag in F.FLAGS:
        if flag.name in values and flag.name not in skip:
            value = values[flag.name]
            parts.append(flag.name if value is True else f"{flag.name}{value}")
    if "model" in values:
        parts.insert(1, Path(str(values["model"]).rstrip("/")).name)
    return re.sub(r"[^\w.+-]", "_", "-".join(parts))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parsed = F.parse(argv)
    except UsageError as err:
        return fail(str(err))
    values = parsed.values
    if values.get("help"):
        print(F.help_text())
        return 0
    from .plan import build_plan  # after the cheap checks: it imports hydra

    try:
        check_files(values, parsed.presets)
        plan = build_plan(parsed)
    except UsageError as err:
        return fail(str(err))
    if values.get("dry-run"):
        print(plan.config_yaml)
        print("# command:")
        print(" ".join(f"{k}={shlex.quote(v)}" for k, v in plan.env_delta.items()) + " \\\n  "
              + " \\\n  ".join(shlex.quote(c) for c in plan.command))
        return 0
    return run(plan, verbose=bool(values.get("verbose")))


def run(plan, verbose: bool) -> int:
    from .supervise import supervise
    from .summary import summary_lines

    plan.run_dir.mkdir(parents=True, exist_ok=True)
    (plan.run_dir / "config.yaml").write_text(plan.config_yaml)
    (plan.run_dir / "command.sh").write_text(plan.shell_command())
    if plan.metrics_path.exists():
        # verl's file logger starts the file afresh (also on --resume): keep the earlier steps.
        plan.metrics_path.replace(plan.metrics_path.with_name("metrics.previous.jsonl"))
    print(f"run: {plan.run_dir}  (log: {plan.log_path})")
    print(f"starting verl ({plan.device_summary}); the first step takes a minute or two...")
    env = {**os.environ, **plan.env_delta}
    t0 = time.time()
    outcome = supervise(plan.command, env, plan.log_path, plan.metrics_path, plan.total_steps,
                        startup_timeout=float(os.environ.get("STARTUP_TIMEOUT", 900)),
                        stall_timeout=float(os.environ.get("STALL_TIMEOUT", 1800)), verbose=verbose,
                        curves_path=plan.run_dir / "curves.png")
    for line in summary_lines(outcome.records, time.time() - t0, plan):
        print(line)
    if outcome.reason:
        print(f"train.sh: error: {outcome.reason} (full log: {plan.log_path})", file=sys.stderr)
        return outcome.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
