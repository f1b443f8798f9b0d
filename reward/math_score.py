"""Math scorers: numeric final answers (math_reasoning, gsm8k) and symbolic ones (math)."""

import logging
import threading

from .extract import answer_tag, final_number, last_boxed, parse_number

MAX_ANSWER_CHARS = 1000  # the extracted answer, not the response: keeps sympy away from huge inputs


def numeric(solution_str: str, ground_truth: str, extra_info=None) -> dict:
    pred = final_number(solution_str)
    pred_value, truth_value = parse_number(pred), parse_number(str(ground_truth))
    ok = pred_value is not None and truth_value is not None and abs(pred_value - truth_value) <= 1e-6 * max(
        1.0, abs(truth_value))
    return {"score": float(ok), "acc": float(ok), "pred": pred or ""}


def _math_verify(gold: str, pred: str) -> bool:
    from math_verify import parse, verify

    # math-verify's own timeouts use SIGALRM, which works only in the main thread.
    main = threading.current_thread() is threading.main_thread()
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    timeout = 5 if main else None
    gold_parsed = parse(f"${gold}$", parsing_timeout=timeout)
    pred_parsed = parse(f"${pred}$", parsing_timeout=timeout)
    return bool(gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=timeout))


def symbolic(solution_str: str, ground_truth: str, extra_info=None) -> dict:
    """\\frac{1}{2} = 0.5 = 1/2, 2\\sqrt2 = \\sqrt8, (x+1)^2 = x^2+2x+1, sets in any order."""
    pred = answer_tag(solution_str)
    if pred is None:
        pred = last_boxed(solution_str)
    if pred is None or len(pred) > MAX_ANSWER_CHARS:
        return {"score": 0.0, "acc": 0.0, "pred": (pred or "")[:100]}
    gold = str(ground_truth)
    gold = last_boxed(gold) or gold
    ok = pred.strip() == gold.strip() or _math_verify(gold, pred)
    return {"score": float(ok), "acc": float(ok), "pred": pred}
