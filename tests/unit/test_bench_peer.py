"""The side-by-side driver's arithmetic (bench/peer_compare.py) on made-up metrics: tokens counted per
arm as each logs them, the reach ratio against verl's GRPO, and the table."""

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from peer_compare import reach_fraction, step_tokens, table  # noqa: E402


def test_each_arm_s_generated_tokens_and_zero_signal_groups():
    assert step_tokens("trl", {"generated_tokens": 600, "zero_signal_group_frac": 0.5}) == (600, 0.5)
    assert step_tokens("adagrpo", {"adagrpo/generated_tokens": 900, "adagrpo/zero_signal_frac": 0.25}) == (900, 0.25)
    assert step_tokens("verl_grpo", {"training/generated_tokens": 640, "training/zero_signal_group_frac": 0.75}) \
        == (640, 0.75)
    # dynamic sampling: 4 groups kept, 4 dropped (3 zero-variance, 1 surplus) at the kept ones' length
    tokens, zero = step_tokens("verl_dynamic_sampling", {"response_length/mean": 20.0,
                                                         "training/filter_groups/evicted_samples": 3,
                                                         "training/filter_groups/discarded_surplus_samples": 1})
    assert tokens == pytest.approx(1280) and zero == 0.0  # the trained groups all have signal


def _run(accs, tokens, step_s=10.0):
    return {"val": [{"step": i * 5, "acc": a, "tokens": t} for i, (a, t) in enumerate(zip(accs, tokens))],
            "generated_tokens": tokens[-1], "step_s_median": step_s, "tokens_per_s": 10.0, "peak_pss_gb": 4.0,
            "wall_s": 100.0, "zero_signal_mean": 0.5, "heldout_greedy": accs[-1], "tokens_estimated": False,
            "dropped_groups": 0, "steps": [{"step": 10}]}


def test_reach_fraction_and_the_ratio_lines():
    base = _run([0.1, 0.3, 0.4], [0, 500, 1000])
    fast = _run([0.1, 0.45, 0.5], [0, 300, 700], step_s=5.0)
    assert reach_fraction(fast, base) == pytest.approx(0.3) and reach_fraction(_run([0.1, 0.2], [0, 9]), base) is None
    text = table({"verl_grpo": [base], "trl": [fast]})
    assert "| verl_grpo | 1 | 10.0 |" in text and "| 10.0% -> 40.0% | 40.0% |" in text and "- trl ÷ verl_grpo, per seed: s/step 0.50;" in text
    assert "verl_grpo's final validation accuracy, as a fraction of verl_grpo's run: 0.30\n" in text
    assert text.rstrip().endswith("- verl_grpo ÷ trl, per seed: s/step 2.00; peak PSS 1.00")  # the goal's ratios


def test_benchmarks_md_renders_the_comparison_with_machine_versions_and_command():
    from benchmarks_md import peer_section

    run = _run([0.1, 0.4], [0, 1000]) | {"seed": 1}
    data = {"environment": {"cpu": "Some CPU", "cores": 2, "memory_gb": 24, "python": "3.11.7", "date": "2026-12-02",
                            "versions": {"verl": "0.9.1", "trl": "1.16.0"}},
            "args": {"steps": 10, "test_freq": 5}, "results": {"verl_grpo": [run], "trl": [run]}}
    text = peer_section(data)
    assert "Some CPU, 2 cores" in text and "verl 0.9.1, trl 1.16.0" in text
    assert "`.venv/bin/python bench/peer_compare.py --seeds 1 --steps 10`" in text and "| trl | 1 |" in text


def test_held_out_intervals_and_differences_paired_by_seed():
    from peer_compare import heldout
    from seed_stats import interval, paired

    mean, half = interval([0.40, 0.50, 0.45])
    assert mean == pytest.approx(0.45) and half == pytest.approx(4.303 * 0.05 / 3 ** 0.5)
    diffs, ci = paired({1: 0.40, 2: 0.50, 3: 0.45}, {1: 0.42, 2: 0.55, 4: 0.9})  # seed 4 has no pair
    assert diffs == pytest.approx([0.02, 0.05]) and ci[0] == pytest.approx(0.035)
    runs = {"verl_grpo": [_run([0.1, a], [0, 100]) | {"seed": s} for s, a in ((1, 0.40), (2, 0.50))],
            "adagrpo": [_run([0.1, a], [0, 100]) | {"seed": s} for s, a in ((1, 0.44), (2, 0.52))]}
    text = heldout(runs)
    assert "| verl_grpo | 1: 40.0%, 2: 50.0% | 45.0% [" in text and "| adagrpo | 1: 44.0%, 2: 52.0% |" in text
    assert "+4.0%, +2.0% | +3.0% [" in text


def test_reaching_the_baseline_s_final_accuracy_as_fractions_of_what_it_took():
    from peer_compare import reach, reach_ratios

    def run(points, seed=1):
        return {"seed": seed, "val": [{"acc": a, "tokens": t, "train_s": s} for a, t, s in points]}

    base = run([(0.1, 0, 0.0), (0.4, 500, 50.0), (0.4, 1000, 100.0)])  # reached its final 40% halfway
    fast = run([(0.1, 0, 0.0), (0.3, 200, 30.0), (0.45, 300, 60.0)])
    assert reach_ratios(fast, base) == (pytest.approx(0.6), pytest.approx(1.2))
    assert reach_ratios(run([(0.1, 0, 0.0), (0.2, 900, 90.0)]), base) == (None, None)
    assert "| adagrpo | 1 | 0.60 | 1.20 |" in reach({"verl_grpo": [base], "adagrpo": [fast]})


def test_adagrpo_goals_judged_from_the_runs():
    from peer_compare import goals

    def run(seed, heldout, pss, val):
        return {"seed": seed, "heldout_greedy": heldout, "peak_pss_gb": pss,
                "val": [{"acc": a, "tokens": t, "train_s": s} for a, t, s in val]}

    def seeds(*heldouts, pss, val):  # seeds 1-4: the goal is judged on 4 seeds or more
        return [run(s, h, pss, val) for s, h in enumerate(heldouts, 1)]

    grpo = seeds(0.40, 0.50, 0.40, 0.50, pss=11.3, val=[(0.1, 0, 0.0), (0.3, 1000, 100.0)])
    dynamic = seeds(0.44, 0.46, 0.44, 0.46, pss=11.3, val=[(0.1, 0, 0.0), (0.4, 2000, 100.0)])
    ada = seeds(0.47, 0.48, 0.47, 0.48, pss=11.2, val=[(0.1, 0, 0.0), (0.3, 500, 50.0)])
    text = goals({"verl_grpo": grpo, "verl_dynamic_sampling": dynamic, "adagrpo": ada})
    assert "adagrpo − verl_dynamic_sampling: +2.5% on the means" in text
    assert "1. at least 2 points above both: **met**" in text
    assert "tokens 0.50, 0.50, 0.50, 0.50, time 0.50, 0.50, 0.50, 0.50 (per seed): **met**" in text
    assert "spread: held-out standard deviation 0.6% against 5.8%: **met**" in text and "11.20 against 11.30 GB: **met**" in text
    for r in dynamic:
        r["heldout_greedy"] = 0.47  # adaGRPO still 2.5 points above GRPO, now 0.5 above dynamic sampling
    assert "1. at least 2 points above both: **not met**" in goals({"verl_grpo": grpo, "verl_dynamic_sampling": dynamic,
                                                                  "adagrpo": ada})
    assert goals({"verl_grpo": grpo, "adagrpo": ada}) == ""  # judged only beside both baselines
    assert goals({"verl_grpo": grpo, "verl_dynamic_sampling": dynamic, "adagrpo": ada[:3]}) == ""  # and on 4 seeds
