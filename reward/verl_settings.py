"""The reward settings verl gets for `--reward_func` files (train.sh's flags and eval.sh's scoring
alike): verl calls reward/user_functions.py, which runs each file bounded and combines them by weight."""

from core.config import hydra_value

from .spec import RewardSpec
from .openrlhf_adapter import is_openrlhf_function
from .trl_adapter import is_trl_function
from .user_file import load

USER_FUNCTIONS = "pkg://reward.user_functions"


def weight_overrides(weights: list[float]) -> list[str]:
    """Several functions' weights, in order (TRL's reward_weights)."""
    return [f"++reward.custom_reward_function.reward_kwargs.user_reward_weights=[{','.join(map(str, weights))}]"]


def config_overrides(specs: list[RewardSpec], weights: list[float] | None = None) -> list[str]:
    """verl's reward settings for these functions. A TRL or OpenRLHF function also gets the reward
    manager that hands it the prompt (reward/reward_manager.py). Raises RewardFileError for a file that cannot load."""
    specs = [RewardSpec.parse(s).resolved() for s in specs]
    out = [f"reward.custom_reward_function.path={USER_FUNCTIONS}",
           "reward.custom_reward_function.name=compute_score",
           f"++reward.custom_reward_function.reward_kwargs.user_reward_functions="
           f"[{','.join(hydra_value(str(s)) for s in specs)}]"]
    if weights is not None:
        out += weight_overrides(weights)
    if any(is_trl_function(fn) or is_openrlhf_function(fn) for fn in map(load, specs)):
        # verl loads `name` from `module.path` (verl/trainer/ppo/reward.py, resolve_reward_manager_cls)
        out += ["reward.reward_manager.source=importlib", "reward.reward_manager.module.path=pkg://reward.reward_manager",
                "reward.reward_manager.name=PromptAwareRewardManager"]
    return out
