"""The `grpo_ext:` block of configs/grpo_trainer.yaml, checked once so a wrong value is one line
naming its key (at launch, by the launcher's preflight, and again where verl builds the sampler)."""

from dataclasses import dataclass


CURRICULUM_MODES = ("easy_first", "hard_first", "replay_hard")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class GrpoExtSettings:
    success_key: str = "acc"  # the reward field that says "correct" (else the summed reward)
    success_threshold: float = 1.0
    dynamic_clip: bool = False
    clip_low: float = 0.1  # clip epsilon of a group every sample solved
    clip_high: float = 0.3  # ... of a group none solved
    difficulty_scale: bool = False
    difficulty_alpha: float = 0.5
    difficulty_normalize: bool = False
    length_norm: bool = False
    length_buckets: int = 4
    length_scale: bool = True
    similarity: bool = False
    similarity_alpha: float = 0.5
    similarity_temperature: float = 0.2
    similarity_ngram: int = 3
    curriculum: bool = False
    curriculum_mode: str = "easy_first"
    prefix: bool = False
    prefix_dropout: float = 0.0
    prefix_sft_coef: float = 0.0

    @property
    def shapes_rewards(self) -> bool:
        return self.length_norm or self.similarity

    @property
    def any(self) -> bool:
        return self.dynamic_clip or self.difficulty_scale or self.shapes_rewards or self.curriculum


def _get(block, key, default):
    if block is None:
        return default
    value = block.get(key, default) if hasattr(block, "get") else default
    return default if value is None else value


def from_mapping(cfg) -> GrpoExtSettings:
    """From the `grpo_ext` config block (a DictConfig or dict; None: everything off)."""
    cfg = cfg or {}
    clip, diff = _get(cfg, "dynamic_clip", {}), _get(cfg, "difficulty_scale", {})
    length, sim = _get(cfg, "length_norm", {}), _get(cfg, "similarity", {})
    curriculum, prefix = _get(cfg, "curriculum", {}), _get(cfg, "prefix", {})
    s = GrpoExtSettings(
        success_key=str(_get(cfg, "success_key", "acc")),
        success_threshold=float(_get(cfg, "success_threshold", 1.0)),
        dynamic_clip=bool(_get(clip, "enable", False)), clip_low=float(_get(clip, "low", 0.1)),
        clip_high=float(_get(clip, "high", 0.3)),
        difficulty_scale=bool(_get(diff, "enable", False)), difficulty_alpha=float(_get(diff, "alpha", 0.5)),
        difficulty_normalize=bool(_get(diff, "normalize", False)),
        length_norm=bool(_get(length, "enable", False)), length_buckets=int(_get(length, "buckets", 4)),
        length_scale=bool(_get(length, "scale", True)),
        similarity=bool(_get(sim, "enable", False)), similarity_alpha=float(_get(sim, "alpha", 0.5)),
        similarity_temperature=float(_get(sim, "temperature", 0.2)), similarity_ngram=int(_get(sim, "ngram", 3)),
        curriculum=bool(_get(curriculum, "enable", False)), curriculum_mode=str(_get(curriculum, "mode", "easy_first")),
        prefix=bool(_get(prefix, "enable", False)), prefix_dropout=float(_get(prefix, "dropout", 0.0)),
        prefix_sft_coef=float(_get(prefix, "sft_coef", 0.0)))
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
    return s
