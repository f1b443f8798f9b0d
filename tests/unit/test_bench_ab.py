"""The A/B driver's arithmetic over seeds (bench/adagrpo_ab.py), on made-up run summaries."""

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from adagrpo_ab import seed_table, tokens_to_reach  # noqa: E402


def _run(vals, tokens):
    return {"val": [{"step": i * 5, "acc": a, "tokens": t} for i, (a, t) in enumerate(zip(vals, tokens))],
            "val_first": vals[0], "val_last": vals[-1], "val_best": max(vals), "generated_tokens": tokens[-1],
            "zero_signal_mean": 0.5, "hard_groups": 10, "rescued_groups": 4, "train_s": 60.0,
            "actor_peak_memory_gb": 1.0}


def test_tokens_to_reach_is_the_first_validation_at_the_level():
    run = _run([0.1, 0.4, 0.6, 0.5], [0, 100, 200, 300])
    assert tokens_to_reach(run, 0.6) == 200 and tokens_to_reach(run, 0.4) == 100 and tokens_to_reach(run, 0.9) is None


def test_ratio_against_plain_grpo_per_seed():
    runs = {"grpo": [_run([0.1, 0.3, 0.5], [0, 500, 1000]), _run([0.1, 0.2, 0.4], [0, 500, 1000])],
            "adagrpo": [_run([0.1, 0.5, 0.7], [0, 400, 900]), _run([0.1, 0.2, 0.3], [0, 600, 1200])]}
    text, out = seed_table(runs)
    assert out["adagrpo_tokens_ratio_to_reach_grpo_final"] == [pytest.approx(0.4), None]  # 400/1000; never 0.4
    assert "adagrpo: generated tokens" in text and "0.40, never" in text and "| grpo | 2 |" in text and "0.45 ± 0.071" in text
