"""One registry from exact `data_source` to scorer, and verl's entry point `compute_score`."""

from .code_score import code
from .format_score import format_lenient, format_strict
from .math_score import numeric, symbolic
from .text_score import classification, qa

SCORERS = {
    "math_reasoning": numeric,
    "gsm8k": numeric,
    "math": symbolic,
    "code": code,
    "code_generation": code,
    "qa": qa,
    "trivia": qa,
    "classification": classification,
}
# Extra components for weighted combination; "accuracy" is the data source's own scorer.
COMPONENTS = {"format_lenient": format_lenient, "format_strict": format_strict}


class UnknownDataSource(ValueError):
    pass


def _unknown(data_source) -> UnknownDataSource:
    return UnknownDataSource(f"no reward for data_source {data_source!r}: ours are {', '.join(SCORERS)} (plus "
                             f"verl's built-ins); set data_source in the data, or pass --reward_func for others")


def _accuracy(data_source, solution_str, ground_truth, extra_info, options: dict) -> dict:
    if not isinstance(data_source, str) or not data_source.strip():
        raise _unknown(data_source)
    scorer = SCORERS.get(data_source)
    if scorer is not None:
        return scorer(solution_str, ground_truth, extra_info, **options)
    from verl.utils.reward_score import default_compute_score

    try:
        result = default_compute_score(data_source, solution_str, ground_truth, extra_info)
    except NotImplementedError:
        raise _unknown(data_source) from None
    return result if isinstance(result, dict) else {"score": float(result)}


def compute_score(data_source, solution_str, ground_truth, extra_info=None, reward_weights=None,
                  math_unmarked: str = "short", code_partial_credit: bool = False, **kwargs):
    """verl's reward signature; the keyword options come from reward.custom_reward_function.reward_kwargs.
    `reward_weights` combines components, e.g. {"accuracy": 1.0, "format_strict": 0.1}, like TRL's
    reward_weights. `math_unmarked` (short | last_line | off): how a math answer with no tag, box or
    "Answer:" line is read. `code_partial_credit`: score code by the fraction of tests passed."""
    options = {"unmarked": math_unmarked, "partial_credit": code_partial_credit}
    result = _accuracy(data_source, solution_str, ground_truth, extra_info, options)
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
