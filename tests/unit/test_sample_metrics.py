"""pass@k (unbiased), maj@K and mean@K against hand-computed values and brute force."""

from itertools import combinations
from math import comb

import pytest

from model_tools.sample_metrics import ks_for, majority_correct, pass_at_k, summarise


@pytest.mark.parametrize("n,c,k,expected", [
    (4, 1, 1, 0.25), (4, 1, 2, 0.5), (4, 1, 4, 1.0),       # 1 - C(3,2)/C(4,2) = 1 - 3/6
    (5, 2, 2, 0.7), (5, 2, 3, 0.9),                        # 1 - C(3,2)/C(5,2) = 1 - 3/10; 1 - 1/10
    (10, 0, 5, 0.0), (10, 10, 1, 1.0), (8, 3, 4, 1 - comb(5, 4) / comb(8, 4)),
])
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_is_the_chance_over_all_subsets_not_the_first_k():
    correct = [False, False, True, False, True, False]  # the first 2 are both wrong
    for k in range(1, 7):
        subsets = list(combinations(correct, k))
        brute = sum(any(s) for s in subsets) / len(subsets)
        assert pass_at_k(6, sum(correct), k) == pytest.approx(brute)
    assert pass_at_k(6, 2, 2) == pytest.approx(1 - 6 / 15) != float(any(correct[:2]))


def test_pass_at_k_needs_k_samples():
    with pytest.raises(ValueError, match="pass@5 needs at least 5"):
        pass_at_k(4, 1, 5)


def test_ks():
    assert ks_for(8) == [1, 2, 4, 8] and ks_for(6) == [1, 2, 4, 6] and ks_for(2) == [1, 2]


@pytest.mark.parametrize("answers,correct,expected", [
    (["5", "6", "6", None], [False, True, True, False], True),   # 6 wins 2-1
    (["5", "5", "6", "6"], [False, False, True, True], False),   # tie: the answer seen first
    (["7", None, None, None], [True, False, False, False], True),  # no answer does not vote
    ([None, None], [False, False], False),
    (["3", "4", "4", "4"], [True, False, False, False], False),  # the majority is wrong
])
def test_majority_vote(answers, correct, expected):
    assert majority_correct(answers, correct) is expected


def test_summary_by_hand():
    problems = [{"accuracy": [1, 0, 0, 0], "correct": [True, False, False, False], "answers": ["1", "2", "2", "3"]},
                {"accuracy": [1, 1, 1, 0], "correct": [True, True, True, False], "answers": ["9", "9", "9", "8"]}]
    out = summarise(problems, 4)
    assert out["mean_at_k"] == pytest.approx((0.25 + 0.75) / 2)
    assert out["pass_at_k"] == pytest.approx({1: 0.5, 2: (0.5 + 1.0) / 2, 4: 1.0})
    assert out["maj_at_k"] == 0.5
