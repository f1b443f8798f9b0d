"""Answer-format rewards (as TRL's format rewards): the answer tag is there, or is the whole response."""

import re

_STRICT = re.compile(r"^\s*(?:<think>.*?</think>\s*)?<answer>.*?</answer>\s*$", re.DOTALL)


def format_lenient(solution_str: str, ground_truth=None, extra_info=None) -> dict:
    ok = "<answer>" in solution_str and "</answer>" in solution_str.split("<answer>", 1)[-1]
    return {"score": float(ok), "format_ok": float(ok)}


def format_strict(solution_str: str, ground_truth=None, extra_info=None) -> dict:
    ok = bool(_STRICT.match(solution_str))
    return {"score": float(ok), "format_ok": float(ok)}
