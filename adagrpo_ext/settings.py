"""adaGRPO options (the `adagrpo:` block), checked once at start-up so a wrong value fails with one
line naming the key instead of mid-run. Their defaults are those of adagrpo_ext/adagrpo.yaml, the one
place they are written: what a caller leaves out comes from there."""

from dataclasses import dataclass
from pathlib import Path

from core.config import block_defaults, plain
from core.extensions import EnvVar

DEFAULTS_FILE = Path(__file__).resolve().with_name("adagrpo.yaml")
# The think-aware logits processor's settings reach vLLM's processes and the trainer's engine by
# environment variable (the job's runtime env: core/extensions.py says why); their defaults here.
THINK_DEFAULTS = {"ADAGRPO_THINK_SCALE": "1.0", "ADAGRPO_ANSWER_SCALE": "1.0", "ADAGRPO_THINK_END": "</think>"}
ENV_VARS = (
    EnvVar("VERL_ENGINE_VENDOR", None, "verl_plugin: import the per-sample-temperature engine when it is adagrpo "
           "(preset adagrpo sets it)"),
    EnvVar("VERL_PLATFORM", None, "verl_plugin: the CPU platform first when it is cpu (the launcher sets it)"),
    *(EnvVar(name, default, "think_logits (vLLM's processes) and token_scales (the trainer's engine): the "
             "think-aware processor's scales and end-of-thinking marker") for name, default in THINK_DEFAULTS.items()),
)
# adaGRPO's engine includes grpo_ext's (per-sample fields for its losses, TRL's token masks), so the
# GRPO options combine with adaGRPO: the one import between option packages.
USES = {"grpo_ext": "temperature_engine builds on grpo_ext.engine.MicroBatchContext"}
# so the GRPO options (--dynamic_clip, the token masks, ...) run with adaGRPO's engine and sampler
PROVIDES = {"grpo_ext.engine": "adagrpo", "grpo_ext.sampler": "pkg://adagrpo_ext.sampler:AdaptiveReplayBuffer",
            "launcher.group_estimators": ("adagrpo",)}  # its estimator pools each prompt's group
ALL_CORRECT_CHOICES = ("keep", "resample")
EXHAUSTED_CHOICES = ("keep", "replace")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class AdaGRPOSettings:
    # what each option means: adagrpo_ext/adagrpo.yaml
    enable: bool
    start_step: int
    success_key: str
    success_threshold: float
    min_correct: int
    all_correct: str
    max_rounds: int
    exhausted: str
    max_replacements_per_step: int | None
    temperature: tuple
    top_p: tuple
    n_scale: tuple
    max_extra_samples_per_prompt: int | None
    max_extra_samples_per_step: int | None
    max_advantage: float | None
    seed: int
    # Filled from the rest of the config, not meant to be set by hand.
    rollout_n: int = 1
    train_batch_size: int = 1
    checkpoint_dir: str | None = None
    resume: bool = False

    def round_params(self, round_index: int) -> dict:
        """Sampling for resample round `round_index` (1-based): the schedule grows with the round."""
        i = round_index - 1
        pick = lambda values: values[min(i, len(values) - 1)]  # noqa: E731
        n = max(self.rollout_n, round(self.rollout_n * pick(self.n_scale)))
        return {"n": n, "temperature": float(pick(self.temperature)), "top_p": float(pick(self.top_p))}

    @property
    def step_budget(self) -> int:
        if self.max_extra_samples_per_step is not None:
            return self.max_extra_samples_per_step
        return self.train_batch_size * self.rollout_n

    @property
    def replacement_budget(self) -> int:
        if self.exhausted != "replace":
            return 0
        if self.max_replacements_per_step is not None:
            return self.max_replacements_per_step
        return 4 * self.train_batch_size

    def passes(self, rewards: list[float]) -> bool:
        """The success condition: enough correct samples (and, with all_correct=resample, not all)."""
        correct = sum(r >= self.success_threshold for r in rewards)
        if correct < self.min_correct:
            return False
        return not (self.all_correct == "resample" and correct == len(rewards))


def _as_tuple(name: str, value) -> tuple:
    values = (value,) if isinstance(value, (int, float, str)) else tuple(value)
    if not values:
        raise SettingsError(f"adagrpo.{name}: give at least one value, e.g. [0.7, 0.9]")
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise SettingsError(f"adagrpo.{name}: {list(values)} is not a list of numbers") from None


def from_mapping(options, **derived) -> AdaGRPOSettings:
    """Build settings from the config block (a dict or DictConfig; what it leaves out: the defaults)
    and the values derived from the rest of the config; raise SettingsError naming the key at fault."""
    options, defaults = plain(options), block_defaults(DEFAULTS_FILE)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise SettingsError(f"adagrpo.{unknown[0]} is not an option; valid: {', '.join(sorted(defaults))}")
    values = {**defaults, **options, **{k: v for k, v in derived.items() if v is not None}}
    for name in ("temperature", "top_p", "n_scale"):
        if name in values:
            values[name] = _as_tuple(name, values[name])
    settings = AdaGRPOSettings(**values)
    _check(settings)
    return settings


def _check(s: AdaGRPOSettings) -> None:
    def fail(key, why):
        raise SettingsError(f"adagrpo.{key}={getattr(s, key)!r}: {why}")

    if s.all_correct not in ALL_CORRECT_CHOICES:
        fail("all_correct", f"must be one of {', '.join(ALL_CORRECT_CHOICES)}")
    if s.exhausted not in EXHAUSTED_CHOICES:
        fail("exhausted", f"must be one of {', '.join(EXHAUSTED_CHOICES)}")
    if not isinstance(s.max_rounds, int) or s.max_rounds < 0:
        fail("max_rounds", "must be an integer >= 0")
    if not isinstance(s.start_step, int) or s.start_step < 1:
        fail("start_step", "must be an integer >= 1")
    if not isinstance(s.min_correct, int) or s.min_correct < 1:
        fail("min_correct", "must be an integer >= 1")
    if any(t <= 0 for t in s.temperature):
        fail("temperature", "every value must be > 0")
    if any(p != 1 for p in s.top_p):
        fail("top_p", "every value must be 1.0: vLLM's log-probs include nucleus truncation and the trainer's "
                      "cannot, so the PPO ratio of a resampled token would be off (use temperature to explore)")
    if not isinstance(s.success_key, str) or not s.success_key:
        fail("success_key", "a reward field name, e.g. acc")
    if s.max_advantage is not None and (not isinstance(s.max_advantage, (int, float)) or s.max_advantage <= 0):
        fail("max_advantage", "must be null or a number > 0")
    if any(x <= 0 for x in s.n_scale):
        fail("n_scale", "every value must be > 0")
    for key in ("max_extra_samples_per_prompt", "max_extra_samples_per_step", "max_replacements_per_step"):
        value = getattr(s, key)
        if value is not None and (not isinstance(value, int) or value < 0):
            fail(key, "must be null or an integer >= 0")
