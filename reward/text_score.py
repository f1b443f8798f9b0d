"""Text scorers: QA / trivia (SQuAD-style exact match, F1) and whole-label classification."""

import json
import re
import string
from collections import Counter

from .extract import answer_tag

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_PUNCT = str.maketrans("", "", string.punctuation)


def normalise(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def aliases(ground_truth) -> list[str]:
    """A string, a list, or a JSON list in a string (how data_prep stores aliases in parquet)."""
    if isinstance(ground_truth, str) and ground_truth.startswith("["):
        try:
            ground_truth = json.loads(ground_truth)
        except ValueError:
            pass
    if isinstance(ground_truth, str):
        return [ground_truth]
    return [str(g) for g in ground_truth]


def f1(pred: str, gold: str) -> float:
    p, g = normalise(pred).split(), normalise(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def qa(solution_str: str, ground_truth, extra_info=None, **_) -> dict:
    tag = answer_tag(solution_str)
    pred = tag if tag is not None else solution_str
    golds = aliases(ground_truth)
    exact = any(normalise(pred) == normalise(g) for g in golds)
    return {"score": float(exact), "acc": float(exact), "f1": max(f1(pred, g) for g in golds), "pred": pred[:200]}


def classification(solution_str: str, ground_truth, extra_info=None, **_) -> dict:
    """The whole label must match: `non-negative` is not `negative`."""
    tag = answer_tag(solution_str)
    pred = normalise(tag if tag is not None else solution_str)
    ok = pred in {normalise(g) for g in aliases(ground_truth)}
    return {"score": float(ok), "acc": float(ok), "pred": pred[:200]}
