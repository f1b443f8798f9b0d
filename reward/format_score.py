"""Answer-format rewards (as TRL's format rewards): the answer tag is there, or is the whole response."""

import re

_STRICT = re.compile(r"^\s*(?:<think>.*?</think>\s*)?<answer>.*?</answer>\s*$", re.DOTALL)


def format_boxed(solution_str: str, ground_truth=None, extra_info=None) -> dict:
    """A non-empty \\boxed{...} somewhere in the response (the math scorer reads the last one)."""
    from .extract import last_boxed

    ok = bool((last_boxed(solution_str) or "").strip())
    return {"score": float(ok), "format_ok": float(ok)}


def format_lenient(solution_str: str, ground_truth=None, extra_info=None) -> dict:
    ok = "<answer>" in solution_str and "</answer>" in solution_str.split("<answer>", 1)[-1]
    return {"score": float(ok), "format_ok": float(ok)}


def format_strict(solution_str: str, ground_truth=None, extra_info=None) -> dict:
    ok = bool(_STRICT.match(solution_str))
    return {"score": float(ok), "format_ok": float(ok)}
