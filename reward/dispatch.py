"""One registry from exact `data_source` to scorer, and verl's entry point `compute_score`."""

import logging

from . import bounded
from .bounded import DEFAULT_TIMEOUT_S
from .code_score import code
from .format_score import format_boxed, format_lenient, format_strict
from .math_score import numeric, symbolic
from .sources import SOURCES
from .text_score import classification, qa

_FUNCTIONS = {f.__name__: f for f in (numeric, symbolic, code, qa, classification)}
SCORERS = {name: _FUNCTIONS[source.scorer] for name, source in SOURCES.items()}
# verl's own data_source names (its preprocess scripts write them) for what our scorers judge on
# the same 0/1 scale: ours score them, e.g. GSM8K answers with or without `####`. verl's strict
# `####` scorer agrees with OpenAI's labelled GSM8K solutions far less often. Names whose verl
# scale differs (math_dapo, aime*: +1 right / -1 wrong) keep verl's scorer (docs/rewards.md).
VERL_NAMES = {"openai/gsm8k": "gsm8k", "lighteval/MATH": "math", "DigitalLearningGmbH/MATH-lighteval": "math",
              "HuggingFaceH4/MATH-500": "math"}
# Extra components for weighted combination; "accuracy" is the data source's own scorer.
COMPONENTS = {"format_lenient": format_lenient, "format_strict": format_strict, "format_boxed": format_boxed}


logger = logging.getLogger(__name__)
CODE_TIMEOUT_S = 60.0


class UnknownDataSource(ValueError):
    pass


def who_scores(data_source: str) -> str:
    """For the plan: which scorer a data_source gets, and on what scale."""
    if data_source in SCORERS:
        return f"ours ({SCORERS[data_source].__name__})"
    if data_source in VERL_NAMES:
        return f"ours ({VERL_NAMES[data_source]}; verl's name)"
    if data_source in ("math_dapo", "math_dapo_reasoning") or data_source.startswith("aime"):
        return "verl's math_dapo: +1 right, -1 wrong (not 0/1)"
    return "verl's default_compute_score, else an error naming ours"


def _unknown(data_source) -> UnknownDataSource:
    return UnknownDataSource(f"no reward for data_source {data_source!r}: ours are {', '.join(SCORERS)} (plus "
                             f"verl's built-ins); set data_source in the data, or pass --reward_func for others")


def _accuracy(data_source, solution_str, ground_truth, extra_info, options: dict, scorers: str) -> dict:
    if not isinstance(data_source, str) or not data_source.strip():
        raise _unknown(data_source)
    if scorers not in ("ours", "verl"):
        raise ValueError(f"scorers={scorers!r}: must be ours (default) or verl")
    scorer = SCORERS.get(VERL_NAMES.get(data_source, data_source)) if scorers == "ours" else None
    if scorer is not None:
        return scorer(solution_str, ground_truth, extra_info, **options)
    from verl.utils.reward_score import default_compute_score

    try:
        result = default_compute_score(data_source, solution_str, ground_truth, extra_info)
    except NotImplementedError:
        raise _unknown(data_source) from None
    return result if isinstance(result, dict) else {"score": float(result)}


def compute_score(data_source, solution_str, ground_truth, extra_info=None, reward_timeout=None, **kwargs):
    """verl's reward signature; the keyword options come from reward.custom_reward_function.reward_kwargs.
    `reward_weights` combines components, e.g. {"accuracy": 1.0, "format_strict": 0.1}, like TRL's
    reward_weights. `math_unmarked` (short | last_line | off): how a math answer with no tag, box or
    "Answer:" line is read. `code_partial_credit`: score code by the fraction of tests passed.
    `reward_timeout`: seconds one scoring may take (reward/bounded.py; default 10; code and data sources
    left to verl's scorers 60); past it the score is 0 and `reward_timeout` is 1 in the result."""
    try:  # a missing or unknown data_source raises in the worker, and here through the pool
        result = bounded.call("reward.dispatch:score", (data_source, solution_str, ground_truth, extra_info),
                              kwargs, timeout=float(reward_timeout or _default_timeout(data_source)))
    except bounded.Timeout as err:
        logger.warning("reward %s: %s; scored 0 (response starts %r)", data_source, err, str(solution_str)[:80])
        return {"score": 0.0, "acc": 0.0, "pred": "", "reward_timeout": 1.0}
    return {**result, "reward_timeout": 0.0}


def _default_timeout(data_source) -> float:
    """Code runs every test case; a data_source ours do not score goes to verl's scorers, whose
    first use in each pool worker imports all of verl (torch included: ~10 s of CPU here), which
    the bound must not count as the scorer hanging."""
    if not isinstance(data_source, str):
        return DEFAULT_TIMEOUT_S
    scorer = SCORERS.get(VERL_NAMES.get(data_source, data_source))
    return CODE_TIMEOUT_S if scorer is code or scorer is None else DEFAULT_TIMEOUT_S


def score(data_source, solution_str, ground_truth, extra_info=None, reward_weights=None,
          math_unmarked: str = "short", code_partial_credit: bool = False, scorers: str = "ours", **kwargs) -> dict:
    """compute_score's work, unbounded (runs in a pool worker). `scorers="verl"` scores every
    data_source with verl's default_compute_score, as plain verl would."""
    options = {"unmarked": math_unmarked, "partial_credit": code_partial_credit}
    result = _accuracy(data_source, solution_str, ground_truth, extra_info, options, scorers)
    if not reward_weights:
        return result
    unknown = set(reward_weights) - {"accuracy", *COMPONENTS}
    if unknown:
        raise ValueError(f"reward_weights: unknown component(s) {sorted(unknown)}; "
                         f"known: accuracy, {', '.join(COMPONENTS)}")
    combined = dict(result)
    total = reward_weights.get("accuracy", 0.0) * result["score"]
    for name, weight in reward_weights.items():
        if name != "accuracy":
            part = COMPONENTS[name](solution_str, ground_truth, extra_info)["score"]
            combined[name] = part
            total += weight * part
    combined["score"] = total
    return combined
