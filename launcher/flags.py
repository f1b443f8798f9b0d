"""The one table of launcher flags. It drives parsing, --help, env vars and experiment names.

Precedence (lowest to highest): config defaults < presets < env vars < flags < raw `key=value`.
"""

import os
from dataclasses import dataclass, field
from typing import Callable


class UsageError(Exception):
    """A user mistake: reported as one line, exit status 2."""


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float:
    return float(text)


def _str(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


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


FLAGS: tuple[Flag, ...] = (
    Flag("model", "HF model id or local directory", ("actor_rollout_ref.model.path",), env="MODEL", metavar="ID|DIR"),
    Flag("data", "training data: parquet, or JSON/JSONL converted once with data_prep",
         ("data.train_files",), env="TRAIN_FILES", metavar="FILE", aliases=("train_files",)),
    Flag("val_files", "validation data (parquet/JSON/JSONL)", ("data.val_files",), env="VAL_FILES", metavar="FILE"),
    Flag("rollout_n", "responses sampled per prompt (the GRPO group size)", ("actor_rollout_ref.rollout.n",),
         _positive_int, env="ROLLOUT_N", metavar="N"),
    Flag("epochs", "passes over the training data", ("trainer.total_epochs",), _positive_int,
         env="TOTAL_EPOCHS", metavar="N"),
    Flag("total_steps", "stop after this many steps (overrides epochs)", ("trainer.total_training_steps",),
         _positive_int, env="TOTAL_STEPS", metavar="N"),
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
    Flag("no_kl", "no KL loss and no reference model", is_switch=True),
    Flag("norm_adv_by_std", "divide group advantages by their std (false = DrGRPO)",
         ("algorithm.norm_adv_by_std_in_grpo",), _bool, env="NORM_ADV_BY_STD", metavar="BOOL"),
    Flag("max_prompt_length", "longest prompt in tokens", ("data.max_prompt_length",), _positive_int,
         env="MAX_PROMPT_LENGTH", metavar="N"),
    Flag("max_response_length", "longest response in tokens", ("data.max_response_length",), _positive_int,
         env="MAX_RESPONSE_LENGTH", metavar="N"),
    Flag("temperature", "rollout sampling temperature", ("actor_rollout_ref.rollout.temperature",), _float,
         env="TEMPERATURE", metavar="T"),
    Flag("reward_func", "reward file defining compute_score (or PATH:NAME)", env="REWARD_FUNC",
         metavar="PATH[:NAME]"),
    Flag("n_gpus", "GPUs per node (on a CPU machine: parallel CPU workers)", ("trainer.n_gpus_per_node",),
         _positive_int, env="N_GPUS", metavar="N"),
    Flag("nnodes", "nodes in the Ray cluster", ("trainer.nnodes",), _positive_int, env="NNODES", metavar="N"),
    Flag("tp", "vLLM tensor-parallel size", ("actor_rollout_ref.rollout.tensor_model_parallel_size",),
         _positive_int, env="TP", metavar="N"),
    Flag("lora_rank", "LoRA rank (0 = full fine-tuning)", ("actor_rollout_ref.model.lora_rank",), _int,
         env="LORA_RANK", metavar="R"),
    Flag("lora_alpha", "LoRA alpha", ("actor_rollout_ref.model.lora_alpha",), _int, env="LORA_ALPHA", metavar="A"),
    Flag("offload", "offload parameters and optimizer state to CPU", is_switch=True, env="OFFLOAD"),
    Flag("save_freq", "save a checkpoint every N steps (-1: never)", ("trainer.save_freq",), _int,
         env="SAVE_FREQ", metavar="N"),
    Flag("test_freq", "validate every N steps (-1: only at the start and end)", ("trainer.test_freq",), _int,
         env="TEST_FREQ", metavar="N"),
    Flag("resume", "continue from the latest checkpoint of this experiment", is_switch=True, env="RESUME"),
    Flag("output_dir", "root of run outputs", env="OUTPUT_DIR", metavar="DIR"),
    Flag("project", "project name (outputs/<project>/<experiment>)", ("trainer.project_name",), env="PROJECT",
         metavar="NAME"),
    Flag("experiment", "experiment name (default: made from the non-default settings)",
         ("trainer.experiment_name",), env="EXPERIMENT", metavar="NAME"),
    Flag("logger", "comma-separated: console,tensorboard,wandb,file", env="LOGGER", metavar="LIST"),
    Flag("preset", "configs/preset overlay; repeat or comma-separate", env="PRESET", metavar="NAME"),
    Flag("verbose", "stream verl's full log to the terminal too", is_switch=True, env="VERBOSE"),
    Flag("dry-run", "print the resolved config and command; start nothing", is_switch=True),
    Flag("help", "show this help", is_switch=True, aliases=("h",)),
)

BY_NAME: dict[str, Flag] = {}
for _flag in FLAGS:
    for _name in (_flag.name, *_flag.aliases):
        BY_NAME[_name] = _flag
        BY_NAME[_name.replace("-", "_")] = _flag
        BY_NAME[_name.replace("_", "-")] = _flag


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
    values: dict[str, object]  # flag name -> value (env vars and flags merged)
    explicit: set[str]  # names given on the command line
    presets: list[str]
    overrides: list[str]  # raw Hydra overrides, in order


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
                values[flag.name] = _convert(Flag(flag.name, "", parse=_bool), raw, f"env {flag.env}")
            else:
                values[flag.name] = _convert(flag, raw, f"env {flag.env}")
    explicit: set[str] = set()
    overrides: list[str] = []
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
                if has_value:
                    raise UsageError(f"--{flag.name} takes no value")
                values[flag.name] = True
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
                else:
                    values[flag.name] = _convert(flag, raw, f"--{flag.name}")
            explicit.add(flag.name)
        elif "=" in arg:
            overrides.append(arg)
        else:
            raise UsageError(f"unexpected argument {arg!r}: flags start with --, Hydra overrides look like key=value")
    return Parsed(values, explicit, presets, overrides)


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
