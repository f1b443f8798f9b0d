"""The `grpo_ext:` block, parsed and checked once so a wrong value is one line naming its key (at
launch, by grpo_ext/launch.py, and again where verl builds the sampler). Its defaults are those of
grpo_ext/grpo_ext.yaml, the one place they are written: what a caller leaves out comes from there."""

from dataclasses import dataclass
from pathlib import Path

from core.config import block_defaults, plain
from core.extensions import EnvVar

DEFAULTS_FILE = Path(__file__).resolve().with_name("grpo_ext.yaml")
# What reaches verl's workers by environment variable (launch.py sets them from the block above, in
# the job's runtime env; core/extensions.py says why), and the option packages grpo_ext imports: none.
ENV_VARS = (
    EnvVar("VERL_ENGINE_VENDOR", None, "verl_plugin: import the engine when it is grpo_ext (launch.py sets it)"),
    EnvVar("VERL_PLATFORM", None, "verl_plugin: the CPU platform first when it is cpu (the launcher sets it)"),
    EnvVar("GRPO_EXT_LOSSES", "0", "verl_plugin: register the policy losses without the engine (prefix.sft_coef)"),
    EnvVar("GRPO_EXT_ADVANTAGE", "0", "verl_plugin: register grpo_batch_std (--scale_rewards batch)"),
    EnvVar("GRPO_EXT_PREFIX_SFT_COEF", "0", "policy_loss.with_prefix_sft, in the actor: prefix.sft_coef"),
    EnvVar("GRPO_EXT_MASK_TRUNCATED", "", "token_masks.response_limit, in the actor: max_response_length "
           "when token_masks.mask_truncated_completions"),
    EnvVar("GRPO_EXT_TOP_ENTROPY_QUANTILE", "1.0", "token_masks.entropy_quantile, in the actor: "
           "token_masks.top_entropy_quantile"),
)
USES: dict[str, str] = {}
# What grpo_ext's options need of a run, and offers itself; another extension offers the same through
# its own PROVIDES (core/extensions.py), so launch.py accepts it without naming it.
ENGINE_CAPABILITY = "grpo_ext.engine"  # an engine vendor whose engine includes grpo_ext.engine.MicroBatchContext
SAMPLER_CAPABILITY = "grpo_ext.sampler"  # a sampler (pkg://module:Class) that runs trainer_hooks' batch step
PROVIDES = {ENGINE_CAPABILITY: "grpo_ext", SAMPLER_CAPABILITY: "pkg://trainer_hooks.replay_buffer:QuickPollReplayBuffer",
            # its advantage estimators compare each response with its group (the launcher refuses a group of one)
            "launcher.group_estimators": ("grpo_difficulty", "grpo_batch_std")}
CURRICULUM_MODES = ("easy_first", "hard_first", "replay_hard")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class GrpoExtSettings:
    success_key: str  # the reward field that says "correct" (else the summed reward)
    success_threshold: float
    dynamic_clip: bool
    clip_low: float  # clip epsilon of a group every sample solved
    clip_high: float  # ... of a group none solved
    difficulty_scale: bool
    difficulty_alpha: float
    difficulty_normalize: bool
    length_norm: bool
    length_buckets: int
    length_scale: bool
    similarity: bool
    similarity_alpha: float
    similarity_temperature: float
    similarity_ngram: int
    curriculum: bool
    curriculum_mode: str
    prefix: bool
    prefix_dropout: float
    prefix_sft_coef: float
    mask_truncated: bool
    top_entropy_quantile: float

    @property
    def token_masks(self) -> bool:
        """Applied by the engine on the update, not by the sampler."""
        return self.mask_truncated or self.top_entropy_quantile < 1.0

    @property
    def shapes_rewards(self) -> bool:
        return self.length_norm or self.similarity

    @property
    def any(self) -> bool:
        return self.dynamic_clip or self.difficulty_scale or self.shapes_rewards or self.curriculum


def merged(given, base: dict | None = None, where: str = "grpo_ext") -> dict:
    """The defaults with `given` (a dict or DictConfig, None: nothing) laid over them; a key the
    defaults do not have is an error naming it."""
    base = block_defaults(DEFAULTS_FILE) if base is None else base
    out = dict(base)
    for key, value in plain(given).items():
        if key not in base:
            raise SettingsError(f"{where}.{key} is not an option; valid: {', '.join(base)}")
        out[key] = merged(value, base[key], f"{where}.{key}") if isinstance(base[key], dict) else value
    return {k: (v if v is not None or base[k] is None else base[k]) for k, v in out.items()}


def from_mapping(cfg) -> GrpoExtSettings:
    """From the `grpo_ext` config block (a DictConfig or dict; None: everything off)."""
    b = merged(cfg)
    clip, diff, length, sim = b["dynamic_clip"], b["difficulty_scale"], b["length_norm"], b["similarity"]
    curriculum, prefix, masks = b["curriculum"], b["prefix"], b["token_masks"]
    s = GrpoExtSettings(
        success_key=str(b["success_key"]), success_threshold=float(b["success_threshold"]),
        dynamic_clip=bool(clip["enable"]), clip_low=float(clip["low"]), clip_high=float(clip["high"]),
        difficulty_scale=bool(diff["enable"]), difficulty_alpha=float(diff["alpha"]),
        difficulty_normalize=bool(diff["normalize"]),
        length_norm=bool(length["enable"]), length_buckets=int(length["buckets"]), length_scale=bool(length["scale"]),
        similarity=bool(sim["enable"]), similarity_alpha=float(sim["alpha"]),
        similarity_temperature=float(sim["temperature"]), similarity_ngram=int(sim["ngram"]),
        curriculum=bool(curriculum["enable"]), curriculum_mode=str(curriculum["mode"]),
        prefix=bool(prefix["enable"]), prefix_dropout=float(prefix["dropout"]),
        prefix_sft_coef=float(prefix["sft_coef"]),
        mask_truncated=bool(masks["truncated"]), top_entropy_quantile=float(masks["top_entropy_quantile"]))
    _check(s)
    return s


def _check(s: GrpoExtSettings) -> None:
    if not 0 < s.clip_low <= s.clip_high < 1:
        raise SettingsError(f"grpo_ext.dynamic_clip: need 0 < low <= high < 1, got low={s.clip_low} high={s.clip_high}")
    if not 0 <= s.difficulty_alpha <= 1:
        raise SettingsError(f"grpo_ext.difficulty_scale.alpha={s.difficulty_alpha}: give a value in [0, 1] "
                            "(1: an unsolved-half group weighs 2x, an easy one 0x)")
    if s.length_buckets < 1:
        raise SettingsError(f"grpo_ext.length_norm.buckets={s.length_buckets}: give 1 or more")
    if not 0 <= s.similarity_alpha <= 1:
        raise SettingsError(f"grpo_ext.similarity.alpha={s.similarity_alpha}: give a value in [0, 1]")
    if s.similarity_temperature <= 0:
        raise SettingsError(f"grpo_ext.similarity.temperature={s.similarity_temperature}: give a positive value")
    if s.similarity_ngram < 1:
        raise SettingsError(f"grpo_ext.similarity.ngram={s.similarity_ngram}: give 1 or more")
    if s.curriculum_mode not in CURRICULUM_MODES:
        raise SettingsError(f"grpo_ext.curriculum.mode={s.curriculum_mode!r}; valid: {', '.join(CURRICULUM_MODES)}")
    if not 0 <= s.prefix_dropout <= 1:
        raise SettingsError(f"grpo_ext.prefix.dropout={s.prefix_dropout}: give a probability in [0, 1]")
    if s.prefix_sft_coef < 0:
        raise SettingsError(f"grpo_ext.prefix.sft_coef={s.prefix_sft_coef}: give 0 (off) or a positive weight")
    if not 0 <= s.top_entropy_quantile <= 1:
        raise SettingsError(f"grpo_ext.token_masks.top_entropy_quantile={s.top_entropy_quantile}: give a share in "
                            "[0, 1] (1: every token; TRL's paper suggests 0.2)")
