"""Checks on the composed config, run in order before Ray starts. Each raises UsageError with one
line, or returns warnings (one line each) that the plan prints."""

import contextlib
import io
from pathlib import Path

from core.config import ray_env_vars
from core.errors import UsageError
from core.verl_internals import ref_as_verl_builds_it

from .hardware import check_divisibility


def check_batches(cfg, ctx) -> list[str]:
    check_divisibility(cfg)
    return []


def check_runtime_env(cfg, ctx) -> list[str]:
    """Ray takes only strings as env vars; Hydra reads `=1.6` as a number. Say so before Ray does."""
    env = ray_env_vars(cfg)
    for key, value in env.items():
        if not isinstance(value, str):
            raise UsageError(f"ray_kwargs.ray_init.runtime_env.env_vars.{key}={value}: Ray takes env vars as strings; "
                             f"quote the value: ...env_vars.{key}='{value}'")
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
                         f"{cfg.actor_rollout_ref.model.path}/config.json, or model.override_config): e.g. "
                         f"--max_prompt_length {positions // 2} --max_response_length {positions - positions // 2}")
    return []


# verl's advantage estimators that compare each response with the others drawn for its prompt; the
# extensions offer theirs (settings.PROVIDES "launcher.group_estimators")
GROUP_ESTIMATORS = {"grpo", "grpo_vectorized", "grpo_passk", "rloo", "rloo_vectorized", "opo", "gpg",
                    "reinforce_plus_plus_baseline"}


def check_group_size(cfg, ctx) -> list[str]:
    """A group of one: nothing to compare a response with. verl's GRPO then takes the raw reward as
    the advantage (REINFORCE without a baseline), RLOO divides by zero; neither is what was asked."""
    estimator, n = str(cfg.algorithm.adv_estimator), int(cfg.actor_rollout_ref.rollout.n)
    from core.extensions import provided

    if n < 2 and estimator in GROUP_ESTIMATORS.union(*provided("launcher.group_estimators")):
        raise UsageError(f"--rollout_n {n} (actor_rollout_ref.rollout.n): {estimator} compares each response with "
                         f"the others sampled for its prompt, and a group of one has none; use --rollout_n 2 or "
                         f"more (4-16 is usual), or algorithm.adv_estimator=gae for PPO with a critic")
    return []


PPO_ONLY = {"critic": "GRPO has no critic (algorithm.adv_estimator=gae runs PPO, which trains one)",
            "algorithm.kl_ctrl": "it sets the KL penalty in the reward, used only with algorithm.use_kl_in_reward=true "
                                 "(this run's KL is the actor's loss term: --kl_coef, --use_kl_loss)"}


def check_unused_ppo_keys(cfg, ctx) -> list[str]:
    """verl's PPO quickstart sets critic.* and algorithm.kl_ctrl.*: on a GRPO run they compose and do
    nothing. Said, not refused: the run is still the one asked for."""
    from verl.trainer.ppo.utils import need_critic

    unused = []
    for prefix, why in PPO_ONLY.items():
        keys = sorted(k for k in ctx.user_keys if k == prefix or k.startswith(prefix + "."))
        if not keys:
            continue
        used = need_critic(cfg) if prefix == "critic" else bool(cfg.algorithm.get("use_kl_in_reward"))
        if not used:
            unused.append(f"{', '.join(keys)} do nothing in this run: {why}")
    return unused


def check_data_columns(cfg, ctx) -> list[str]:
    """What verl reads of every row, from each parquet file's schema (its footer, no rows read):
    without data_source its reward loop fails in a worker with a KeyError, without the prompt
    column its dataset does; rows with images need a model that sees them."""
    import pyarrow.parquet as pq

    from .hardware import is_multimodal, model_config

    prompt_key, image_key = str(cfg.data.get("prompt_key") or "prompt"), str(cfg.data.get("image_key") or "images")
    for flag, files in (("--data", ctx.train_files), ("--val_files", ctx.val_files)):
        for path in files:
            try:
                names = set(pq.ParquetFile(path).schema_arrow.names)
            except Exception:  # not a local parquet file: verl reads it, and says what is wrong
                continue
            for column in ("data_source", prompt_key):
                if column not in names:
                    raise UsageError(f"{flag} {path}: no {column!r} column (it has {', '.join(sorted(names))}); verl's "
                                     f"rows need data_source, {prompt_key} and reward_model.ground_truth: convert the "
                                     f"file with ./data_prep.sh convert, or add the column")
            if image_key in names and model_config(cfg) and not is_multimodal(cfg):  # known, and text-only
                raise UsageError(f"{flag} {path}: the rows have an {image_key!r} column (verl's multimodal schema, "
                                 f"<image> in the prompt) but {cfg.actor_rollout_ref.model.path} is a text-only model: "
                                 f"use a vision-language model (e.g. Qwen/Qwen2.5-VL-3B-Instruct), or drop the images")
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


def check_extensions(cfg, ctx) -> list[str]:
    """Each extension's own check (grpo_ext, adagrpo_ext), handed back when the plan wired it."""
    return [line for wired in ctx.extensions for line in wired.check(cfg, ctx.train_files)]


def installed_verl_plugins() -> set[str]:
    """verl's entry points here, and the extensions' plugins that trainer_hooks' plugin imports."""
    from importlib.metadata import entry_points

    from core.config import extension_packages

    installed = {ep.value for ep in entry_points(group="verl.plugins")}
    if "trainer_hooks.verl_plugin" in installed:
        installed |= {f"{package}.verl_plugin" for package in extension_packages()}
    return installed


def check_verl_plugins(cfg, ctx) -> list[str]:
    """Our verl plugins load through verl's entry points (pyproject.toml); verl skips one that is not
    installed without a word, in every worker. Each one this run needs must be there."""
    needed = {"trainer_hooks.verl_plugin": "saving the step on SIGTERM"}
    if not ctx.gpu:
        needed["verl_cpu.verl_plugin"] = "the CPU platform"
    for wired in ctx.extensions:  # each extension says which of its plugins this run needs
        needed.update(wired.plugins(cfg))
    missing = [f"{module} ({what})" for module, what in needed.items() if module not in installed_verl_plugins()]
    if missing:
        raise UsageError(f"verl plugin {', '.join(missing)} is not installed in this environment (entry points "
                         f"verl.plugins): run scripts/bootstrap.sh --force, or pip install -e . in your own")
    return []


CHECKS = (check_engines, check_data_columns, check_group_size, check_positions, check_lora_adapter, check_batches,
          check_runtime_env, check_extensions, check_verl_plugins, check_reward_file,
          check_unused_ppo_keys, check_with_verl)


def run_checks(cfg, ctx) -> list[str]:
    warnings = []
    for check in CHECKS:
        warnings += check(cfg, ctx)
    return warnings
