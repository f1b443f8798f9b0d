"""The arithmetic of the group-level options, on plain lists: no verl, no tensors, easy to check by hand.

Every function takes one value per sample of the trained batch, in batch order, with `uids`
saying which prompt's group a sample belongs to.
"""

import math
from collections import defaultdict

EPS = 1e-6


def groups(uids) -> dict[str, list[int]]:
    """uid -> the batch rows of its samples, in order."""
    rows = defaultdict(list)
    for i, uid in enumerate(uids):
        rows[uid].append(i)
    return dict(rows)


def success_rates(success: list[float], uids, threshold: float) -> list[float]:
    """Each sample's group success rate: the fraction of its group with success >= threshold."""
    rates = [0.0] * len(success)
    for rows in groups(uids).values():
        rate = sum(success[i] >= threshold for i in rows) / len(rows)
        for i in rows:
            rates[i] = rate
    return rates


# ---- 1. dynamic clipping ---------------------------------------------------------------------
def clip_ranges(rates: list[float], low: float, high: float) -> list[float]:
    """PPO's clip epsilon per sample: `low` for a group every sample solved, `high` for one none
    solved, linear in between: a rarely solved prompt may move its policy further in one update."""
    return [low + (high - low) * (1.0 - r) for r in rates]


# ---- 2. difficulty-aware advantage scaling ---------------------------------------------------
def difficulty_weights(rates: list[float], alpha: float) -> list[float]:
    """1 + alpha * (1 - 2 * rate): hard groups (rate < 0.5) weigh up to 1 + alpha, easy ones down
    to 1 - alpha; a group solved half the time keeps its advantages as they are."""
    return [max(0.0, 1.0 + alpha * (1.0 - 2.0 * r)) for r in rates]


def batch_rms(advantages: list[float]) -> float:
    """Root mean square of the non-zero advantages (0.0 when none): dividing by it renormalises a
    scaled batch across groups to the update size of an unscaled std-normalised one."""
    live = [a for a in advantages if a != 0.0]
    return math.sqrt(sum(a * a for a in live) / len(live)) if live else 0.0


# ---- 4. length-group reward normalisation ----------------------------------------------------
def length_buckets(lengths: list[int], buckets: int) -> list[int]:
    """Bucket of each sample by response length: `buckets` groups of (nearly) equal size over the
    batch sorted by length; equal lengths always share a bucket."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out = [0] * len(lengths)
    per = len(lengths) / max(1, buckets)
    first_rank = {}
    for rank, i in enumerate(order):
        first_rank.setdefault(lengths[i], rank)  # a tie takes the bucket of its first member
        out[i] = min(buckets - 1, int(first_rank[lengths[i]] // per))
    return out


def length_normalized(rewards: list[float], lengths: list[int], buckets: int, scale: bool,
                      eps: float = 1e-6) -> list[float]:
    """Each reward centred on its length bucket's mean (and divided by its std with `scale`): a
    reward that only tracks length carries no signal afterwards."""
    out = list(rewards)
    for rows in groups(length_buckets(lengths, buckets)).values():
        values = [rewards[i] for i in rows]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        for i in rows:
            out[i] = (rewards[i] - mean) / (std + eps) if scale else rewards[i] - mean
    return out


# ---- 5. similarity-weighted reward -------------------------------------------------------------
def ngrams(tokens: list[int], n: int) -> set:
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def similarity_weights(responses: list[list[int]], uids, n: int, temperature: float) -> list[float]:
    """Per sample, n * softmax(-s / temperature) over its group, s = its mean n-gram Jaccard
    similarity to the group's other responses: near-duplicates weigh less than 1, distinct
    answers more; the weights of a group average 1."""
    out = [1.0] * len(responses)
    for rows in groups(uids).values():
        if len(rows) < 2:
            continue
        grams = [ngrams(responses[i], n) for i in rows]
        sims = [sum(jaccard(grams[a], grams[b]) for b in range(len(rows)) if b != a) / (len(rows) - 1)
                for a in range(len(rows))]
        logits = [-s / temperature for s in sims]
        top = max(logits)
        exp = [math.exp(x - top) for x in logits]
        total = sum(exp)
        for k, i in enumerate(rows):
            out[i] = len(rows) * exp[k] / total
    return out


def similarity_weighted(rewards: list[float], weights: list[float], alpha: float) -> list[float]:
    """reward * ((1 - alpha) + alpha * weight): alpha = 0 leaves rewards alone, 1 uses the weights whole."""
    return [r * ((1.0 - alpha) + alpha * w) for r, w in zip(rewards, weights, strict=True)]
