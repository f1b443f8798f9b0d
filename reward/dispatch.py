"""One registry from exact ``data_source`` to scorer."""

import re

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _math_reasoning(solution_str, ground_truth, extra_info=None):
    tag = _ANSWER_TAG.findall(solution_str)
    text = tag[-1] if tag else solution_str
    numbers = _NUMBER.findall(text)
    pred = numbers[-1] if numbers else None
    ok = pred is not None and float(pred) == float(ground_truth)
    return {"score": float(ok), "acc": float(ok), "pred": pred or ""}


SCORERS = {"math_reasoning": _math_reasoning}


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return SCORERS[data_source](solution_str, ground_truth, extra_info)
