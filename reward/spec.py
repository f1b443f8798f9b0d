"""A `--reward_func path.py[:name]` spec, parsed once into one value (train.sh, eval.sh and reward.sh
all go through here); reward/verl_settings.py turns a list of them into verl's reward settings."""

from dataclasses import dataclass
from pathlib import Path

DEFAULT_NAME = "compute_score"


@dataclass(frozen=True)
class RewardSpec:
    path: Path  # the file, as given (~ expanded)
    name: str = DEFAULT_NAME

    @classmethod
    def parse(cls, text) -> "RewardSpec":
        """`path.py:name` -> (path.py, name); a plain path names `compute_score`."""
        if isinstance(text, RewardSpec):
            return text
        text = str(text)
        if not text:
            raise ValueError("must not be empty")
        path, sep, name = text.rpartition(":")
        if not (sep and name.isidentifier()):
            path, name = text, DEFAULT_NAME
        return cls(Path(path).expanduser(), name)

    def __str__(self) -> str:
        return f"{self.path}:{self.name}"

    def resolved(self) -> "RewardSpec":
        """The same function with an absolute path: what crosses to verl's workers, whose cwd differs."""
        return RewardSpec(self.path.resolve(), self.name)

    @property
    def run_name(self) -> str:
        """Its words in a run's experiment name."""
        return f"reward-{self.path.stem}" + ("" if self.name == DEFAULT_NAME else f".{self.name}")


def part_label(spec, specs) -> str:
    """The name a function's own value is logged under when several are combined."""
    spec, specs = RewardSpec.parse(spec), [RewardSpec.parse(s) for s in specs]
    same_name = sum(s.name == spec.name for s in specs) > 1
    return f"{spec.path.stem}.{spec.name}" if same_name else spec.name


def parse_weights(text: str) -> list[float]:
    """`1,0.5` (--reward_weights) -> the weights; ValueError saying what is wrong."""
    values = [float(w) for w in str(text).split(",") if w.strip()]
    if not values:
        raise ValueError("expected numbers separated by commas")
    return values


def weights_mismatch(weights, specs) -> str | None:
    """What is wrong with --reward_weights for these --reward_func, or None."""
    if weights is None or len(weights) == len(specs):
        return None
    return (f"--reward_weights: {len(weights)} weight(s) for {len(specs)} --reward_func file(s); "
            f"give one weight per --reward_func, in order")
