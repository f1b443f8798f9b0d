"""A `--reward_func path.py[:name]` spec, parsed once into one value, and the reward settings verl
gets for a list of them (train.sh, eval.sh and reward.sh all go through here)."""

from dataclasses import dataclass
from pathlib import Path

DEFAULT_NAME = "compute_score"
# verl calls reward/user_functions.py, which runs each file bounded and combines them by weight
USER_FUNCTIONS = "pkg://reward.user_functions"


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


def weights_mismatch(weights, specs) -> str | None:
    """What is wrong with --reward_weights for these --reward_func, or None."""
    if weights is None or len(weights) == len(specs):
        return None
    return (f"--reward_weights: {len(weights)} weight(s) for {len(specs)} --reward_func file(s); "
            f"give one weight per --reward_func, in order")


def weight_overrides(weights: list[float]) -> list[str]:
    """Several functions' weights, in order (TRL's reward_weights)."""
    return [f"++reward.custom_reward_function.reward_kwargs.user_reward_weights=[{','.join(map(str, weights))}]"]


def config_overrides(specs: list[RewardSpec], weights: list[float] | None = None) -> list[str]:
    """verl's reward settings for these functions. A TRL function also gets the reward manager that
    hands it the prompt (reward/reward_manager.py). Raises RewardFileError for a file that cannot load."""
    from core.config import hydra_value

    from .trl_adapter import is_trl_function
    from .user_file import load

    specs = [RewardSpec.parse(s).resolved() for s in specs]
    out = [f"reward.custom_reward_function.path={USER_FUNCTIONS}",
           "reward.custom_reward_function.name=compute_score",
           f"++reward.custom_reward_function.reward_kwargs.user_reward_functions="
           f"[{','.join(hydra_value(str(s)) for s in specs)}]"]
    if weights is not None:
        out += weight_overrides(weights)
    if any(is_trl_function(load(s)) for s in specs):
        # verl loads `name` from `module.path` (verl/trainer/ppo/reward.py, resolve_reward_manager_cls)
        out += ["reward.reward_manager.source=importlib", "reward.reward_manager.module.path=pkg://reward.reward_manager",
                "reward.reward_manager.name=PromptAwareRewardManager"]
    return out
