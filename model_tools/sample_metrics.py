"""Metrics over K sampled responses per problem: mean@K, unbiased pass@k, maj@K.

pass@k is Chen et al. (2021)'s unbiased estimator, 1 - C(n-c, k) / C(n, k): the chance that at
least one of k responses drawn without replacement from the n generated is correct. It is not
"any of the first k", which has a higher variance for the same samples.
"""

from collections import Counter


def pass_at_k(n: int, c: int, k: int) -> float:
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    # 1 - prod_{i=n-c+1}^{n} (1 - k/i), the numerically stable form of the binomial ratio
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def ks_for(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n]


def majority_correct(answers: list[str | None], correct: list[bool]) -> bool:
    """maj@K: the most frequent extracted answer (ties: the one seen first) is right. Responses with
    no extractable answer do not vote; none at all counts as wrong."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return False
    top = max(votes.values())
    winner = next(a for a in answers if a is not None and votes[a] == top)
    return next(ok for a, ok in zip(answers, correct) if a == winner)


def summarise(problems: list[dict], n: int) -> dict:
    """`problems`: dicts with `accuracy` (n values), `correct` (n bools) and `answers` (n extracted
    answers or None). mean@K averages the accuracy values, as verl's mean@N does."""
    if not problems:
        return {}
    size = len(problems)
    out = {"mean_at_k": sum(sum(p["accuracy"]) / n for p in problems) / size}
    out["pass_at_k"] = {k: sum(pass_at_k(n, sum(p["correct"]), k) for p in problems) / size for k in ks_for(n)}
    out["maj_at_k"] = sum(majority_correct(p["answers"], p["correct"]) for p in problems) / size
    return out
