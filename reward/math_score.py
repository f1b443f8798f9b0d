"""Math scorers: numeric final answers (math_reasoning, gsm8k) and symbolic ones (math)."""

import logging
import re
import threading

from core.verl_internals import verl_math_dapo

from .extract import answer_line, answer_tag, bare_answer, final_number, last_boxed, parse_number

MAX_ANSWER_CHARS = 1000  # the extracted answer, not the response: keeps sympy away from huge inputs
UNMARKED = ("off", "short", "last_line")


def numeric(solution_str: str, ground_truth: str, extra_info=None, **_) -> dict:
    """Exact comparison after normalising the representation: `1,234` = `1234`, `$18.00` = `18`,
    `3.0` = `3`; 1000001 is not 1000000."""
    pred = final_number(solution_str)
    pred_value, truth_value = parse_number(pred), parse_number(str(ground_truth))
    ok = pred_value is not None and truth_value is not None and pred_value == truth_value
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


def minerva_normalise(answer: str) -> str:
    """verl's Minerva/DAPO normalisation (units, `\\text{}`, `^\\circ`, `\\$`, thousands separators,
    `x = 5` -> `5`); with several `=` the answer is left as it is (a system, not one value)."""
    return answer if answer.count("=") > 1 else verl_math_dapo().normalize_final_answer(answer)


def extract_math_answer(solution_str: str, unmarked: str = "short") -> str | None:
    """The answer tag, else the last \\boxed{}, else the final "Answer:" line; with nothing marked,
    `unmarked` decides: "short" reads a response that is only a short expression, "last_line"
    reads the last line, "off" reads nothing."""
    if unmarked not in UNMARKED:
        raise ValueError(f"math_unmarked={unmarked!r}: must be one of {', '.join(UNMARKED)}")
    for rule in (answer_tag, last_boxed, answer_line):
        found = rule(solution_str)
        if found is not None:
            return found
    if unmarked == "short":
        return bare_answer(solution_str)
    if unmarked == "last_line":
        lines = [line for line in solution_str.strip().splitlines() if line.strip()]
        return lines[-1].strip().strip("$").strip() if lines else None
    return None


# the final forms of a number: what parse_number reads (1,234 $18.00 3.0 50%), a fraction p/q or
# \frac{p}{q}, with a sign
_FRACTION = re.compile(r"^[-+]?\s*(?:\d+\s*/\s*\d+|\\[dt]?frac\s*\{\s*\d+\s*\}\s*\{\s*\d+\s*\})$")
# number literals joined by the four operations, and nothing else (no power, root, constant, variable)
_LATEX_OPERATORS = re.compile(r"\\(?:times|cdot|div)")
_LITERALS_AND_OPERATORS = re.compile(r"^[\s\d.,()+\-*/×÷]+$")
_OPERATION = re.compile(r"\d[\s()]*[+\-*/×÷][\s()]*[+\-]?\d")


def restated_arithmetic(pred: str, gold: str) -> bool:
    """The truth is a number and the answer is the sum still to do: number literals joined by + - x /
    (`\\boxed{54 + 23}`, `14 (+93)`, `6 \\times 7`). math-verify evaluates those to the value and calls
    them right; for a model asked to compute, that is the question copied back, and a policy finds
    it within a dozen steps (docs/real_model.md). Closed forms a grader accepts are not touched:
    `3\\pi` for 9.42477796, `\\sqrt{2}`, `2^{10}` for 1024, a fraction."""
    if parse_number(gold) is None or parse_number(pred) is not None or _FRACTION.match(pred):
        return False
    text = _LATEX_OPERATORS.sub("*", pred)
    return bool(_LITERALS_AND_OPERATORS.match(text) and _OPERATION.search(text))


def symbolic(solution_str: str, ground_truth: str, extra_info=None, unmarked: str = "short", **_) -> dict:
    """\\frac{1}{2} = 0.5 = 1/2, 2\\sqrt2 = \\sqrt8, (x+1)^2 = x^2+2x+1, sets in any order; every form
    normalised the same way, whether it came from a tag, a box or an "Answer:" line."""
    pred = extract_math_answer(solution_str, unmarked)
    if pred is None or len(pred) > MAX_ANSWER_CHARS:
        return {"score": 0.0, "acc": 0.0, "pred": (pred or "")[:100]}
    gold = str(ground_truth)
    gold = last_boxed(gold) or gold
    gold_norm, pred_norm = minerva_normalise(gold), minerva_normalise(pred)
    if restated_arithmetic(pred_norm.strip(), gold_norm.strip()):
        return {"score": 0.0, "acc": 0.0, "pred": pred}
    ok = (pred.strip() == gold.strip() or pred_norm == gold_norm or _math_verify(gold, pred)
          or _math_verify(gold_norm, pred_norm))
    return {"score": float(ok), "acc": float(ok), "pred": pred}
