"""The one table of launcher flags: parsing, --help, env vars, and every flag-to-override rule.

Precedence (lowest to highest): config defaults < presets < env vars < flags < raw `key=value`.
A raw override of a key that a flag owns (`actor_rollout_ref.model.path=...`) counts as that flag.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.config import hydra_value
from core.errors import UsageError

from .flag_values import (AUTO, _bool, _clip_pair, _file_list, _float, _int, _logger, _parse_weights,
                          _positive_int, _reward_funcs, _reward_spec, _reward_weights, _str, _unit)
from .trl_options import (TRL_IS_MODES, TRL_LOSS_TYPES, _importance_sampling_level, _is_mode, _loss_type,
                          _scale_rewards, _scale_rewards_overrides, _vllm_is_correction)




@dataclass(frozen=True)
class Flag:
    name: str  # e.g. "rollout_n" -> --rollout_n
    help: str
    keys: tuple[str, ...] = ()  # Hydra keys set to the value
    parse: Callable[[str], object] = _str
    env: str | None = None  # documented environment variable
    is_switch: bool = False  # takes no value
    metavar: str = "VALUE"
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())
    to_overrides: Callable[[object], list[str]] | None = None  # when a flag does more than set `keys`
    names_run: bool = True  # part of the default experiment name: it changes what is trained
    repeatable: bool = False  # each use adds a value (a list; the env var is comma-separated)
    name_part: Callable[[object], list[str]] | None = None  # its words in the experiment name (default: name+value)

    def name_parts(self, value) -> list[str]:
        if self.name_part is not None:
            return self.name_part(value)
        return [self.name if value is True else f"{self.name}{value}"]


FLAGS: tuple[Flag, ...] = (
    Flag("model", "HF model id or local directory", ("actor_rollout_ref.model.path",), env="MODEL", metavar="ID|DIR",
         names_run=False),  # the model's own name leads the experiment name instead
    Flag("data", "training data: parquet, a data_prep folder, or JSON/JSONL/CSV converted once with data_prep",
         env="TRAIN_FILES", metavar="FILE|DIR", aliases=("train_files",), to_overrides=_file_list("data.train_files"),
         names_run=False),
    Flag("val_files", "validation data (parquet/JSON/JSONL/CSV), used whole", env="VAL_FILES", metavar="FILE",
         to_overrides=_file_list("data.val_files"), names_run=False),
    Flag("prompt_key", "column of the question in JSON/JSONL/CSV --data (data_prep --prompt-key)", metavar="NAME",
         names_run=False),
    Flag("answer_key", "column of the reference answer (data_prep --answer-key)", metavar="NAME", names_run=False),
    Flag("data_source", "data_source for rows without one (data_prep --data-source)", metavar="NAME",
         names_run=False),
    Flag("rollout_n", "responses sampled per prompt (the GRPO group size)", ("actor_rollout_ref.rollout.n",),
         _positive_int, env="ROLLOUT_N", metavar="N"),
    Flag("epochs", "passes over the training data", ("trainer.total_epochs",), _positive_int,
         env="TOTAL_EPOCHS", metavar="N", names_run=False),
    Flag("total_steps", "stop after this many steps (overrides epochs)", ("trainer.total_training_steps",),
         _positive_int, env="TOTAL_STEPS", metavar="N", names_run=False),
    Flag("batch_size", "prompts per step", ("data.train_batch_size",), _positive_int,
         env="TRAIN_BATCH_SIZE", metavar="N"),
    Flag("lr", "actor learning rate", ("actor_rollout_ref.actor.optim.lr",), _float, env="LEARNING_RATE",
         metavar="LR"),
    Flag("kl_coef", "KL loss coefficient", ("actor_rollout_ref.actor.kl_loss_coef",), _float,
         env="KL_LOSS_COEF", metavar="C"),
    Flag("kl_loss_type", "KL estimator", ("actor_rollout_ref.actor.kl_loss_type",), env="KL_LOSS_TYPE",
         metavar="TYPE", choices=("kl", "k1", "abs", "mse", "k2", "low_var_kl", "k3", "full")),
    Flag("use_kl_loss", "use the KL loss to the reference model", ("actor_rollout_ref.actor.use_kl_loss",), _bool,
         env="USE_KL_LOSS", metavar="BOOL"),
    Flag("no_kl", "no KL loss and no reference model", is_switch=True,
         to_overrides=lambda _: ["actor_rollout_ref.actor.use_kl_loss=false"]),
    Flag("norm_adv_by_std", "divide group advantages by their std (false = DrGRPO)",
         ("algorithm.norm_adv_by_std_in_grpo",), _bool, env="NORM_ADV_BY_STD", metavar="BOOL"),
    # TRL's GRPOConfig names, each onto verl's own key (docs/rewards.md: "TRL's GRPOConfig names")
    Flag("loss_type", "TRL's loss_type: grpo, bnpo, dapo or dr_grpo set the aggregation (verl's "
         "actor.loss_agg_mode); cispo and sapo also the policy loss (verl's of the same names)", env="LOSS_TYPE",
         metavar="TYPE", choices=tuple(TRL_LOSS_TYPES), to_overrides=_loss_type),
    Flag("importance_sampling_level", "TRL's importance_sampling_level: token, or sequence (GSPO: verl's gspo "
         "policy loss)", env="IMPORTANCE_SAMPLING_LEVEL", metavar="token|sequence", choices=("token", "sequence"),
         to_overrides=_importance_sampling_level),
    Flag("scale_rewards", "TRL's scale_rewards: group (divide by the group's std), batch (by the batch's) or "
         "none (verl's algorithm.norm_adv_by_std_in_grpo; batch: the grpo_batch_std estimator)",
         parse=_scale_rewards, env="SCALE_REWARDS", metavar="group|batch|none", to_overrides=_scale_rewards_overrides),
    Flag("vllm_importance_sampling_correction", "TRL's correction of vLLM's log-probs against the trainer's: "
         "truncated importance weights (verl's algorithm.rollout_correction)", parse=_bool,
         env="VLLM_IMPORTANCE_SAMPLING_CORRECTION", metavar="BOOL", to_overrides=_vllm_is_correction),
    Flag("vllm_importance_sampling_mode", "with the correction: token_truncate or sequence_truncate (verl's "
         "rollout_is token or sequence)", env="VLLM_IMPORTANCE_SAMPLING_MODE", parse=_is_mode, metavar="MODE",
         to_overrides=lambda v: [f"algorithm.rollout_correction.rollout_is={TRL_IS_MODES[v]}"]),
    Flag("vllm_importance_sampling_clip_max", "with the correction: the weights' upper bound C_max (TRL's "
         "default 3.0; verl's rollout_is_threshold)", ("algorithm.rollout_correction.rollout_is_threshold",), _float,
         env="VLLM_IMPORTANCE_SAMPLING_CLIP_MAX", metavar="C"),
    Flag("epsilon", "PPO clip range, TRL's epsilon (verl's actor.clip_ratio_low, and clip_ratio_high unless "
         "--epsilon_high)", ("actor_rollout_ref.actor.clip_ratio_low", "actor_rollout_ref.actor.clip_ratio_high"),
         _float, env="EPSILON", metavar="E"),
    Flag("epsilon_high", "upper clip range, TRL's epsilon_high (verl's actor.clip_ratio_high)",
         ("actor_rollout_ref.actor.clip_ratio_high",), _float, env="EPSILON_HIGH", metavar="E"),
    Flag("num_iterations", "updates per batch, TRL's num_iterations (verl's actor.ppo_epochs)",
         ("actor_rollout_ref.actor.ppo_epochs",), _positive_int, env="NUM_ITERATIONS", metavar="N"),
    Flag("mask_truncated_completions", "TRL's flag: responses that reach --max_response_length leave the loss "
         "(grpo_ext.token_masks.truncated)", parse=_bool, env="MASK_TRUNCATED_COMPLETIONS", metavar="BOOL",
         to_overrides=lambda v: [f"grpo_ext.token_masks.truncated={'true' if v else 'false'}"]),
    Flag("top_entropy_quantile", "TRL's option: only the highest-entropy tokens, this share of each micro-batch, "
         "train (grpo_ext.token_masks.top_entropy_quantile)", parse=_unit, env="TOP_ENTROPY_QUANTILE", metavar="Q",
         to_overrides=lambda v: [f"grpo_ext.token_masks.top_entropy_quantile={v}"]),
    # Group-level options (grpo_ext/): grpo_ext/launch.py wires verl's hooks for them.
    Flag("dynamic_clip", "PPO clip epsilon per sample, LOW for groups all solved to HIGH for groups none solved",
         env="DYNAMIC_CLIP", parse=_clip_pair, metavar="LOW,HIGH", name_part=lambda v: [f"dclip{v[0]:g}_{v[1]:g}"],
         to_overrides=lambda v: ["grpo_ext.dynamic_clip.enable=true", f"grpo_ext.dynamic_clip.low={v[0]}",
                                 f"grpo_ext.dynamic_clip.high={v[1]}"]),
    Flag("difficulty_scale", "scale group advantages by difficulty: x(1 + A(1 - 2 success rate))",
         env="DIFFICULTY_SCALE", parse=_unit, metavar="A", name_part=lambda v: [f"dscale{v:g}"],
         to_overrides=lambda v: ["grpo_ext.difficulty_scale.enable=true", f"grpo_ext.difficulty_scale.alpha={v}"]),
    Flag("length_norm", "normalise rewards within N response-length buckets of the batch", env="LENGTH_NORM",
         parse=_positive_int, metavar="N", name_part=lambda v: [f"lennorm{v}"],
         to_overrides=lambda v: ["grpo_ext.length_norm.enable=true", f"grpo_ext.length_norm.buckets={v}"]),
    Flag("similarity_weight", "down-weight rewards of near-duplicate responses in a group (mixing A)",
         env="SIMILARITY_WEIGHT", parse=_unit, metavar="A", name_part=lambda v: [f"simw{v:g}"],
         to_overrides=lambda v: ["grpo_ext.similarity.enable=true", f"grpo_ext.similarity.alpha={v}"]),
    Flag("curriculum", "order prompts by the accuracy recorded in the first epoch", env="CURRICULUM",
         metavar="MODE", choices=("easy_first", "hard_first", "replay_hard"),
         name_part=lambda v: [f"curr-{v}"],
         to_overrides=lambda v: ["grpo_ext.curriculum.enable=true", f"grpo_ext.curriculum.mode={v}"]),
    Flag("prefix_dropout", "continue the prefixes in the data (data_prep --prefix-file), each dropped with "
         "probability P", env="PREFIX_DROPOUT", parse=_unit, metavar="P", name_part=lambda v: [f"prefix{v:g}"],
         to_overrides=lambda v: ["grpo_ext.prefix.enable=true", f"grpo_ext.prefix.dropout={v}"]),
    Flag("prefix_sft", "with prefixes: add C x the prefix tokens' negative log-likelihood to the loss",
         env="PREFIX_SFT", parse=_float, metavar="C", name_part=lambda v: [f"psft{v:g}"],
         to_overrides=lambda v: ["grpo_ext.prefix.enable=true", f"grpo_ext.prefix.sft_coef={v}"]),
    Flag("max_prompt_length", "longest prompt in tokens", ("data.max_prompt_length",), _positive_int,
         env="MAX_PROMPT_LENGTH", metavar="N"),
    Flag("max_response_length", "longest response in tokens", ("data.max_response_length",), _positive_int,
         env="MAX_RESPONSE_LENGTH", metavar="N"),
    Flag("temperature", "rollout sampling temperature", ("actor_rollout_ref.rollout.temperature",), _float,
         env="TEMPERATURE", metavar="T"),
    Flag("reward_func", "reward file: compute_score (verl) or a TRL reward function (PATH:NAME); repeatable; "
         "verl calls it through reward.user_functions (reward.custom_reward_function)",
         env="REWARD_FUNC", metavar="PATH[:NAME]", parse=_reward_spec, to_overrides=_reward_funcs,
         repeatable=True, name_part=lambda specs: [s.run_name for s in specs]),
    Flag("reward_weights", "weights of several --reward_func, in order (TRL's reward_weights)", parse=_parse_weights,
         env="REWARD_WEIGHTS", metavar="W1,W2,...", name_part=lambda w: ["w" + "_".join(f"{x:g}" for x in w)],
         to_overrides=_reward_weights),
    Flag("n_gpus", "GPUs per node (on a CPU machine: parallel CPU workers)", ("trainer.n_gpus_per_node",),
         _positive_int, env="N_GPUS", metavar="N"),
    Flag("nnodes", "nodes in the Ray cluster", ("trainer.nnodes",), _positive_int, env="NNODES", metavar="N"),
    Flag("tp", "vLLM tensor-parallel size", ("actor_rollout_ref.rollout.tensor_model_parallel_size",),
         _positive_int, env="TP", metavar="N"),
    Flag("device", "plan for this device: gpu previews a GPU plan here with --dry-run (default: what is found)",
         metavar="cpu|gpu", choices=("cpu", "gpu"), names_run=False),
    Flag("lora_rank", "LoRA rank (0 = full fine-tuning)", ("actor_rollout_ref.model.lora_rank",), _int,
         env="LORA_RANK", metavar="R"),
    Flag("lora_alpha", "LoRA alpha", ("actor_rollout_ref.model.lora_alpha",), _int, env="LORA_ALPHA", metavar="A"),
    Flag("offload", "offload parameters and optimizer state to CPU", is_switch=True, env="OFFLOAD",
         to_overrides=lambda _: ["actor_rollout_ref.actor.fsdp_config.param_offload=true",
                                 "actor_rollout_ref.actor.fsdp_config.optimizer_offload=true",
                                 "actor_rollout_ref.ref.fsdp_config.param_offload=true"]),
    Flag("save_freq", "save a checkpoint every N steps and at the last (-1: never)", ("trainer.save_freq",), _int,
         env="SAVE_FREQ", metavar="N", names_run=False),
    Flag("test_freq", "validate every N steps (-1: only before training)", ("trainer.test_freq",), _int,
         env="TEST_FREQ", metavar="N", names_run=False),
    Flag("resume", "continue from the latest checkpoint of this run folder (--resume=auto, RESUME=auto: when "
         "there is one, else start at step 1; what scripts/slurm_train.sbatch uses)", is_switch=True, env="RESUME",
         to_overrides=lambda _: ["trainer.resume_mode=auto"], names_run=False),
    Flag("output_dir", "root of run outputs", env="OUTPUT_DIR", metavar="DIR", names_run=False),
    Flag("project", "project name (outputs/<project>/<experiment>)", ("trainer.project_name",), env="PROJECT",
         metavar="NAME", names_run=False),
    Flag("experiment", "experiment name (default: made from the settings that change what is trained)",
         ("trainer.experiment_name",), env="EXPERIMENT", metavar="NAME", names_run=False),
    Flag("logger", "comma-separated: console,tensorboard,wandb,file", env="LOGGER", metavar="LIST",
         to_overrides=_logger, names_run=False),
    Flag("preset", "configs/preset overlay; repeat or comma-separate", env="PRESET", metavar="NAME",
         names_run=False),
    Flag("verbose", "stream verl's full log to the terminal too", is_switch=True, env="VERBOSE", names_run=False),
    Flag("dry-run", "print the plan, the resolved config and the command; start nothing", is_switch=True,
         names_run=False),
    Flag("help", "show this help", is_switch=True, aliases=("h",), names_run=False),
)

BY_NAME: dict[str, Flag] = {}
for _flag in FLAGS:
    for _name in (_flag.name, *_flag.aliases):
        BY_NAME[_name] = _flag
        BY_NAME[_name.replace("-", "_")] = _flag
        BY_NAME[_name.replace("_", "-")] = _flag

# Raw overrides of these keys are the flag itself (verl users paste their override lists).
RAW_KEY_FLAGS = {"actor_rollout_ref.model.path": "model", "data.train_files": "data", "data.val_files": "val_files",
                 "trainer.project_name": "project", "trainer.experiment_name": "experiment",
                 "trainer.n_gpus_per_node": "n_gpus", "trainer.nnodes": "nnodes",
                 "trainer.logger": "logger"}  # the launcher's progress and summary need `file` among them


def _convert(flag: Flag, raw: str, origin: str):
    try:
        value = flag.parse(raw)
    except ValueError as err:
        raise UsageError(f"{origin}: invalid value {raw!r} ({err})") from None
    if flag.choices and value not in flag.choices:
        raise UsageError(f"{origin}: {raw!r} is not one of {', '.join(flag.choices)}")
    return value


@dataclass
class Parsed:
    values: dict[str, object]  # flag name -> value (env vars, flags and owned raw keys merged)
    explicit: set[str]  # names given on the command line (flags or owned raw keys)
    presets: list[str]
    overrides: list[str]  # raw Hydra overrides, in order (owned keys taken out)


def _raw_flag_value(override: str):
    """`data.train_files="['a', 'b']"` -> ("data", "a,b"); None when the key is not a flag's."""
    key, _, text = override.partition("=")
    name = RAW_KEY_FLAGS.get(key.lstrip("+"))
    if name is None or key.startswith("~"):
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        value = OverridesParser.create().parse_override(f"{key.lstrip('+')}={text}").value()
    except HydraException as err:
        raise UsageError(f"{override}: {str(err).splitlines()[0]}") from None
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return name, _convert(BY_NAME[name], str(value), key)


def parse(argv: list[str], environ: dict[str, str] | None = None) -> Parsed:
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    presets: list[str] = []
    for flag in FLAGS:
        if flag.env and environ.get(flag.env, "") != "":
            raw = environ[flag.env]
            if flag.name == "preset":
                presets += [p for p in raw.split(",") if p]
            elif flag.is_switch:
                values[flag.name] = (AUTO if flag.name == "resume" and raw.strip().lower() == AUTO
                                     else _convert(Flag(flag.name, "", parse=_bool), raw, f"env {flag.env}"))
            elif flag.repeatable:
                values[flag.name] = [_convert(flag, part, f"env {flag.env}") for part in raw.split(",") if part]
            else:
                values[flag.name] = _convert(flag, raw, f"env {flag.env}")
    explicit: set[str] = set()
    overrides: list[str] = []
    from_raw: dict[str, object] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg.startswith("-"):
            name, has_value, inline = arg.lstrip("-").partition("=")
            flag = BY_NAME.get(name)
            if flag is None or arg in ("-", "--"):
                known = " ".join(f"--{f.name}" for f in FLAGS)
                raise UsageError(f"unknown flag {arg!r}; known flags: {known} (or Hydra key=value)")
            if flag.is_switch:
                if has_value and not (flag.name == "resume" and inline == AUTO):
                    raise UsageError(f"--{flag.name} takes no value" + (" but auto (--resume=auto)" if flag.name == "resume" else ""))
                values[flag.name] = inline if has_value else True
            else:
                if has_value:
                    raw = inline
                elif i < len(argv) and not argv[i].startswith("--"):
                    raw = argv[i]
                    i += 1
                else:
                    raise UsageError(f"--{flag.name} needs a value ({flag.metavar})")
                if flag.name == "preset":
                    presets += [p for p in raw.split(",") if p]
                elif flag.repeatable:
                    earlier = values.get(flag.name) if flag.name in explicit else []  # flags replace the env var
                    values[flag.name] = [*earlier, _convert(flag, raw, f"--{flag.name}")]
                else:
                    values[flag.name] = _convert(flag, raw, f"--{flag.name}")
            explicit.add(flag.name)
        elif "=" in arg:
            owned = _raw_flag_value(arg)
            if owned is None:
                overrides.append(arg)
            else:
                from_raw[owned[0]] = owned[1]
        else:
            raise UsageError(f"unexpected argument {arg!r}: flags start with --, Hydra overrides look like key=value")
    values.update(from_raw)  # raw overrides win over flags, wherever they stand on the line
    explicit |= set(from_raw)
    return Parsed(values, explicit, presets, overrides)


def flag_overrides(values: dict) -> list[str]:
    """Hydra overrides for every flag that has a value (env var, flag or owned raw key)."""
    out = []
    for flag in FLAGS:
        if flag.name not in values or (flag.is_switch and not values[flag.name]):
            continue
        if flag.to_overrides is not None:
            out += flag.to_overrides(values[flag.name])
        out += [f"{key}={hydra_value(values[flag.name])}" for key in flag.keys]
    return out


def experiment_name(values: dict, presets: list[str], demo: bool) -> str:
    """Made from the settings that change what is trained, so such runs never share a folder, while
    how long to train and how often to save, validate or log never move a run to another folder."""
    parts = ["demo"] if demo else ["grpo"]
    if "model" in values:
        parts.append(Path(str(values["model"]).rstrip("/")).name)
    parts += [p for p in presets if p not in ("grpo", "cpu", "demo")]
    for flag in FLAGS:
        if flag.name in values and flag.names_run:
            parts += flag.name_parts(values[flag.name])
    return re.sub(r"[^\w.+-]", "_", "-".join(parts))


def help_text() -> str:
    lines = [
        "usage: ./train.sh [--flag VALUE ...] [hydra.key=value ...]",
        "",
        "With no arguments on a machine without a GPU, trains the built-in demo (tiny model, CPU).",
        "Environment variables (right column) set the same things; flags win over them and raw",
        "key=value overrides win over both.",
        "",
    ]
    for flag in FLAGS:
        left = f"--{flag.name}" + ("" if flag.is_switch else f" {flag.metavar}")
        env = f"[{flag.env}]" if flag.env else ""
        lines.append(f"  {left:<28} {flag.help} {env}".rstrip())
    return "\n".join(lines)
