"""Code scorer: the last ```python block, run against test cases in the sandbox."""

import json

from .extract import last_code_block
from .sandbox import Limits, run_many, run_python


def _cases(ground_truth) -> dict:
    if isinstance(ground_truth, str):
        try:
            ground_truth = json.loads(ground_truth)
        except ValueError:
            raise ValueError("code ground_truth must be JSON: {\"inputs\": [...], \"outputs\": [...]} "
                             "or {\"test\": \"assert ...\"}") from None
    if not isinstance(ground_truth, dict) or not ({"inputs", "outputs"} <= set(ground_truth) or "test" in ground_truth):
        raise ValueError("code ground_truth needs \"inputs\"/\"outputs\" lists or a \"test\" string")
    return ground_truth


def code(solution_str: str, ground_truth, extra_info=None, limits: Limits = Limits(wall_s=10),
         partial_credit: bool = False, **_) -> dict:
    """1.0 when every test passes; with partial_credit the score is the fraction passed (as verl's
    code graders give it: 10 of 11 -> 0.91). `acc` stays all-or-nothing."""
    program = last_code_block(solution_str)
    cases = _cases(ground_truth)
    if program is None:
        return {"score": 0.0, "acc": 0.0, "pass_fraction": 0.0, "pred": ""}
    results = []
    if "test" in cases:
        results.append(run_python(program + "\n\n" + cases["test"], "", limits).ok)
    if "inputs" in cases:
        runs = run_many([(program, str(i)) for i in cases["inputs"]], limits)
        results += [r.ok and r.stdout.strip() == str(o).strip() for r, o in zip(runs, cases["outputs"])]
    passed = sum(results) / len(results) if results else 0.0
    score = passed if partial_credit else float(passed == 1.0)
    return {"score": score, "acc": float(passed == 1.0), "pass_fraction": passed, "pred": ""}
