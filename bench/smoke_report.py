"""The GPU smoke test's verdict from a run's metrics: weight sync, stage breakdown, tokens/s,
peak GPU memory.   python bench/smoke_report.py RUN_DIR [--max_diff 0.02] [--min_corr 0.8]

Weight sync: at step 1 vLLM and the trainer hold the same weights, so step 1's gap between their
log-probs is the numeric baseline (precision, kernels). After each update the gap must stay within
--max_diff or 1.5x that baseline: a sync that did not reach vLLM leaves it sampling with old weights
and the gap grows with every update (the smoke test uses a learning rate large enough for that)."""

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.metrics import read_records, training_steps  # noqa: E402

STAGES = ("gen", "old_log_prob", "ref", "update_actor", "update_weights", "step")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--max_diff", type=float, default=0.02, help="largest rollout_probs_diff_mean after step 1")
    p.add_argument("--min_corr", type=float, default=0.8, help="smallest rollout/actor probability correlation")
    args = p.parse_args(argv)
    steps = [r["data"] for r in training_steps(read_records(args.run_dir / "metrics.jsonl"))]
    if not steps:
        print(f"smoke: FAILED: no training step in {args.run_dir / 'metrics.jsonl'}")
        return 1
    measured = steps[1:] or steps  # step 1 compiles and warms up

    def med(key):
        values = [d[key] for d in measured if isinstance(d.get(key), (int, float))]
        return statistics.median(values) if values else None

    print("stage (median s): " + "  ".join(f"{s} {med(f'timing_s/{s}'):.2f}" for s in STAGES
                                         if med(f"timing_s/{s}") is not None))
    tok = med("perf/throughput")
    mem = med("perf/max_memory_allocated_gb")
    print(f"throughput {tok:.0f} tokens/s per GPU" if tok else "throughput: not logged")
    print(f"peak GPU memory {mem:.1f} GB allocated" if mem else "peak GPU memory: not logged")
    failures = []
    base_diff = steps[0].get("training/rollout_probs_diff_mean") or 0.0
    base_corr = steps[0].get("training/rollout_actor_probs_pearson_corr") or 1.0
    max_diff, min_corr = max(args.max_diff, 1.5 * base_diff), min(args.min_corr, base_corr - 0.05)
    for i, d in enumerate(steps, 1):
        diff, corr = d.get("training/rollout_probs_diff_mean"), d.get("training/rollout_actor_probs_pearson_corr")
        print(f"step {i}: rollout_probs_diff_mean {diff}  pearson {corr}  kl {d.get('actor/kl_loss')}")
        if i > 1 and (diff is None or diff > max_diff or corr is None or corr < min_corr):
            failures.append(f"step {i}: vLLM's log-probs differ from the trainer's (diff {diff}, corr {corr}): "
                            f"weight sync did not reach vLLM")
    print("smoke: " + ("FAILED: " + "; ".join(failures) if failures else f"ok ({len(steps)} steps, weights in sync)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
