"""`--reward_func` files as verl's custom reward function: one or several, verl's signature or TRL's,
combined with weights like TRL's `reward_weights`, each bounded in wall time (reward/bounded.py).

verl calls `compute_score(...)` with reward_kwargs `user_reward_functions` (the `path.py:name`
specs), `user_reward_weights` (default 1 each) and `reward_timeout` (seconds). The score is the
weighted sum of the functions that gave a score (TRL's None is left out, as TRL does); each
function's own value is logged under its name when there are several.
"""

import inspect
import logging
import math

from . import bounded
from .spec import part_label
from .trl_adapter import TRLRewardError
from .user_file import finite_score

logger = logging.getLogger(__name__)


class RewardFunctionError(ValueError):
    """A user's reward function raised, or returned something that is not a score: one line naming
    the function and the sample. Training stops, as TRL's does, rather than learn from garbage."""


def describe_sample(data_source, solution_str, ground_truth, extra_info) -> str:
    index = (extra_info or {}).get("index")
    where = f"row {index}, " if index is not None else ""
    return (f"{where}data_source {str(data_source)!r}, ground truth {str(ground_truth)[:40]!r}, "
            f"response {str(solution_str)[:60]!r}")


def score_one(spec: str, data_source, solution_str, ground_truth, extra_info, kwargs: dict):
    """In a scoring process: the user's function, in verl's form (TRL functions adapted), its
    result checked: a finite number (or a dict with one as `score`), or None from a TRL function."""
    fn = bounded.resolve(spec)
    try:
        result = fn(data_source, solution_str, ground_truth, extra_info=extra_info, **kwargs)
        if inspect.isawaitable(result):  # an async compute_score, as verl's reward loop allows
            from .trl_adapter import settle

            result = settle(result)
    except TRLRewardError as err:  # a list of the wrong length, a string in it...
        sample = describe_sample(data_source, solution_str, ground_truth, extra_info)
        raise RewardFunctionError(f"reward function {spec} {err} (on {sample})") from None
    except Exception as err:
        sample = describe_sample(data_source, solution_str, ground_truth, extra_info)
        raise RewardFunctionError(f"reward function {spec} raised {type(err).__name__}: {err} (on {sample})") from None
    trl = getattr(fn, "trl", False)
    if trl and (result.get("score") if isinstance(result, dict) else result) is None:
        return result  # TRL's "no score"
    if finite_score(result) is None:
        sample = describe_sample(data_source, solution_str, ground_truth, extra_info)
        expected = "a finite float or None" if trl else "a finite number, or a dict with a numeric 'score'"
        raise RewardFunctionError(f"reward function {spec} returned {repr(result)[:80]} ({type(result).__name__}) "
                                  f"on {sample}; expected {expected}")
    return result


def compute_score(data_source, solution_str, ground_truth, extra_info=None, user_reward_functions=(),
                  user_reward_weights=None, reward_timeout=bounded.DEFAULT_TIMEOUT_S, **kwargs):
    specs = list(user_reward_functions)
    weights = list(user_reward_weights) if user_reward_weights is not None else [1.0] * len(specs)
    if len(weights) != len(specs):
        raise ValueError(f"reward weights: {len(weights)} given for {len(specs)} reward function(s)")
    total, parts, timed_out = 0.0, {}, 0.0
    single = None
    for spec, weight in zip(specs, weights):
        try:
            result = bounded.call("reward.user_functions:score_one",
                                  (spec, data_source, solution_str, ground_truth, dict(extra_info or {}), kwargs),
                                  timeout=float(reward_timeout))
        except bounded.Timeout as err:
            logger.warning("reward %s: %s; scored 0 (response starts %r)", spec, err, str(solution_str)[:80])
            result, timed_out = 0.0, 1.0
        if len(specs) == 1 and isinstance(result, dict):
            single = result  # one verl-style function: its dict is the result, as verl would log it
        value = result.get("score") if isinstance(result, dict) else result
        scored = value is not None and not (isinstance(value, float) and math.isnan(value))
        if scored:
            total += float(weight) * float(value)
        # no score stays None: left out of the sum and of the per-function means, as TRL leaves it out
        # (verl's validation metrics and the trained batch's reward/<name>/mean skip None)
        parts[part_label(spec, specs)] = float(value) if scored else None
    if single is not None:
        return {**single, "reward_timeout": timed_out}
    # `acc` as verl names a plain number's score: DAPO's filter_groups reads it
    out = {"score": total, "acc": total, "reward_timeout": timed_out}
    if len(specs) > 1:
        out.update(parts)
    return out
