"""Plain GRPO against adaGRPO or a grpo_ext option, side by side on the same task, seeds and steps;
writes a table, JSON and a PNG (validation accuracy vs step and vs generated tokens, zero-signal
fraction, wall time), with the spread over seeds.

    .venv/bin/python bench/adagrpo_ab.py                               # the CPU demo, 20 steps, seed 0
    .venv/bin/python bench/adagrpo_ab.py --seeds 0,1,2 -- --preset demo_hard   # the hard demo, 3 seeds
    .venv/bin/python bench/adagrpo_ab.py --steps 30 -- --model M --data D       # your task
    .venv/bin/python bench/adagrpo_ab.py --arms plain,dynamic_clip,difficulty --seeds 1,2   # grpo_ext options

Every arm runs `python -m launcher` (what train.sh runs). The adaGRPO arms run preset adagrpo; their
baseline `grpo` sets adagrpo.enable=false, which trains exactly as verl's GRPO and only adds the
sampler's metrics. The grpo_ext arms compare with `plain` (verl's GRPO, no preset). Arguments after
`--` go to every run.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from seed_stats import spread, tokens_to_reach  # noqa: E402  (bench/ is on the path: this file's folder)
# balanced: an all-correct group is re-asked too (Reinforce-Ada's balanced groups): both outcomes
# in every trained group where the budget allows, so fewer groups without signal
ARMS = {"grpo": ["--preset", "adagrpo", "adagrpo.enable=false"], "adagrpo": ["--preset", "adagrpo"],
        "balanced": ["--preset", "adagrpo", "adagrpo.all_correct=resample"],
        # grpo_ext options (docs/grpo_options.md), each alone against `plain`
        "plain": [], "dynamic_clip": ["--dynamic_clip", "0.1,0.3"], "difficulty": ["--difficulty_scale", "0.5"],
        "length_norm": ["--length_norm", "4"], "similarity": ["--similarity_weight", "0.5"],
        "curriculum": ["--curriculum", "easy_first"],
        # the demo's data with prefixes (bench/prefix_demo_data.py); the same prompts and order as `plain`'s
        "prefix": ["--model", "outputs/demo/model", "--data", "outputs/demo_prefix", "--preset", "demo",
                   "--prefix_dropout", "0.5", "--prefix_sft", "0.1"],
        # verl's parameter/optimizer offload: compare the actor's peak memory with `plain`
        "lowmem": ["--preset", "lowmem"],
        # with one mini-batch per step the PPO ratio is 1 and no clip range acts: four updates per step
        "plain_mb4": ["actor_rollout_ref.actor.ppo_mini_batch_size=4"],
        "dynamic_clip_mb4": ["actor_rollout_ref.actor.ppo_mini_batch_size=4", "--dynamic_clip", "0.1,0.3"]}
BASELINES = ("grpo", "plain", "plain_mb4")  # the arm the others are compared with: the first of these that ran


def run_arm(name: str, out: Path, args, extra: list[str], seed: int = 0) -> dict:
    # one seed drives verl's data order and the rollout's sampling
    seeded = [f"data.seed={seed}", f"actor_rollout_ref.rollout.seed={seed}"] if seed else []
    name = f"{name}-seed{seed}" if seed else name
    cmd = [sys.executable, "-m", "launcher", "--output_dir", str(out), "--experiment", name,
           "--project", "ab", "--total_steps", str(args.steps), "--test_freq", str(args.test_freq),
           "--rollout_n", str(args.rollout_n), "--save_freq", "-1", *ARMS[name.split("-seed")[0]], *seeded, *extra]
    from core.metrics import read_records

    metrics = out / "ab" / name / "metrics.jsonl"
    if args.reuse and metrics.exists():
        records = read_records(metrics)
        if any(r.get("step") == args.steps for r in records):
            print(f"[{name}] reusing {metrics}", flush=True)
            return {"records": records, "wall_s": 0.0}
    print(f"[{name}] {' '.join(cmd[2:])}", flush=True)
    start = time.time()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.time() - start
    tail = proc.stdout.strip().splitlines()[-3:]
    print("\n".join(f"[{name}] {line}" for line in tail), flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"ab_compare: the {name} run failed (exit {proc.returncode}); log: "
                         f"{out / 'ab' / name / 'train.log'}")
    return {"records": read_records(metrics), "wall_s": wall}


def summarize(records: list[dict], wall_s: float) -> dict:
    from core.metrics import val_accuracy

    val, steps, tokens, memory = [], [], 0, 0.0
    for r in records:
        data = r["data"]
        acc = val_accuracy(data)
        memory = max(memory, data.get("actor/perf/max_memory_allocated_gb", 0.0))
        if "timing_s/step" in data:
            tokens += data.get("adagrpo/generated_tokens", 0)
            steps.append({"step": r["step"], "tokens": tokens, "zero_signal": data.get("adagrpo/zero_signal_frac"),
                          "step_s": data["timing_s/step"], "gen_s": data.get("timing_s/gen"),
                          "extra_samples": data.get("adagrpo/extra_samples", 0),
                          "rescued": data.get("adagrpo/rescued_groups", 0),
                          "hard": data.get("adagrpo/hard_groups", 0)})
        if acc is not None:
            val.append({"step": r["step"], "acc": acc, "tokens": tokens})
    zero = [s["zero_signal"] for s in steps if s["zero_signal"] is not None]
    return {
        "val": val, "steps": steps, "wall_s": round(wall_s, 1),
        "val_first": val[0]["acc"] if val else None, "val_last": val[-1]["acc"] if val else None,
        "val_best": max((v["acc"] for v in val), default=None),
        "generated_tokens": tokens,
        "zero_signal_mean": sum(zero) / len(zero) if zero else None,
        "train_s": round(sum(s["step_s"] for s in steps), 1),
        "hard_groups": sum(s["hard"] for s in steps), "rescued_groups": sum(s["rescued"] for s in steps),
        "extra_samples": sum(s["extra_samples"] for s in steps),
        "actor_peak_memory_gb": round(memory, 3),  # verl's actor/perf/max_memory_allocated_gb (CPU: the process's RSS)
    }


def _spread(values: list) -> str:
    return spread(values, "{:.3g}", "{:.2g}")


def steps_to_reach(run: dict, level: float) -> int | None:
    """Training step at which validation accuracy first reached `level` (None: never)."""
    return next((v["step"] for v in run["val"] if v["acc"] >= level - 1e-9), None)


def seed_table(runs: dict, level: float = 0.9) -> tuple[str, dict]:
    """runs: arm -> [summary per seed]. Means ± standard deviation over seeds, steps to reach `level`,
    and what adaGRPO's goal asks: tokens to reach plain GRPO's final accuracy, as a ratio of GRPO's own."""
    out, rows = {}, ["| arm | seeds | val acc first | val acc last | best | generated tokens | zero-signal groups "
                     "| hard / rescued groups | train s | actor peak memory GB |", "|" + "---|" * 10]
    for arm, seeds in runs.items():
        out[arm] = {key: [s[key] for s in seeds] for key in ("val_first", "val_last", "val_best", "generated_tokens",
                                                               "zero_signal_mean", "hard_groups", "rescued_groups",
                                                               "train_s", "actor_peak_memory_gb")}
        o = out[arm]
        rows.append(f"| {arm} | {len(seeds)} | {_spread(o['val_first'])} | {_spread(o['val_last'])} | "
                    f"{_spread(o['val_best'])} | {_spread(o['generated_tokens'])} | {_spread(o['zero_signal_mean'])} | "
                    f"{_spread(o['hard_groups'])} / {_spread(o['rescued_groups'])} | {_spread(o['train_s'])} | "
                    f"{_spread(o['actor_peak_memory_gb'])} |")
    for arm, seeds in runs.items():
        reach = [steps_to_reach(r, level) for r in seeds]
        out[f"{arm}_steps_to_reach_{level:g}"] = reach
        rows.append(f"\n{arm}: steps to reach {level:.0%} validation accuracy, per seed: "
                    + ", ".join("never" if r is None else str(r) for r in reach))
    base = next((b for b in BASELINES if b in runs), None)
    for arm in [a for a in runs if base and a != base and runs[base][0]["generated_tokens"]]:
        ratios = []
        for base_run, other in zip(runs[base], runs[arm]):
            reach = tokens_to_reach(other, base_run["val_last"])
            ratios.append(None if reach is None or not base_run["generated_tokens"]
                          else reach / base_run["generated_tokens"])
        out[f"{arm}_tokens_ratio_to_reach_{base}_final"] = ratios
        shown = ", ".join("never" if r is None else f"{r:.2f}" for r in ratios)
        rows.append(f"\n{arm}: generated tokens to reach {base}'s final accuracy, per seed, as a fraction of "
                    f"{base}'s whole run: {shown}" + (" (goal: ≤ 0.6)" if arm in ("adagrpo", "balanced") else ""))
    return "\n".join(rows), out


def table(results: dict) -> str:
    def pct(x):
        return "-" if x is None else f"{x:.0%}"

    rows = ["| arm | val acc first -> last (best) | generated tokens | zero-signal groups | hard / rescued "
            "| extra samples | train s (sum of steps) | wall s |", "|" + "---|" * 8]
    for name, r in results.items():
        rows.append(f"| {name} | {pct(r['val_first'])} -> {pct(r['val_last'])} ({pct(r['val_best'])}) "
                    f"| {int(r['generated_tokens'])} | {pct(r['zero_signal_mean'])} | {int(r['hard_groups'])} / "
                    f"{int(r['rescued_groups'])} | {int(r['extra_samples'])} | {r['train_s']} | {r['wall_s']} |")
    return "\n".join(rows)


def plot(runs: dict, path: Path) -> None:
    """runs: arm -> [summary per seed]; one line per seed, one colour per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not any(r["generated_tokens"] for seed_runs in runs.values() for r in seed_runs):
        return plot_per_arm(runs, path, plt)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for colour, (name, seed_runs) in zip([f"C{i}" for i in range(10)], runs.items()):
        for i, r in enumerate(seed_runs):
            label = name if i == 0 else None
            axes[0].plot([v["step"] for v in r["val"]], [v["acc"] for v in r["val"]], marker="o", color=colour,
                         alpha=0.8, label=label)
            axes[1].plot([v["tokens"] for v in r["val"]], [v["acc"] for v in r["val"]], marker="o", color=colour,
                         alpha=0.8, label=label)
            axes[2].plot([s["step"] for s in r["steps"]], [s["zero_signal"] for s in r["steps"]], color=colour,
                         alpha=0.8, label=label)
    for ax, (x, y) in zip(axes, [("step", "val accuracy"), ("generated tokens", "val accuracy"),
                                 ("step", "zero-signal fraction of trained groups")]):
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{' vs '.join(runs)} (same task, seeds, steps; one line per seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_per_arm(runs: dict, path: Path, plt) -> None:
    """Arms without adaGRPO's token and signal metrics: validation accuracy vs step, one panel per
    arm, the baseline's seeds in grey in each."""
    base = next((b for b in BASELINES if b in runs), None)
    arms = [a for a in runs if a != base] or list(runs)
    cols = min(4, len(arms))
    rows = (len(arms) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False, sharey=True)
    for ax, arm in zip(axes.flat, arms):
        for i, r in enumerate(runs.get(base, []) if base else []):
            ax.plot([v["step"] for v in r["val"]], [v["acc"] for v in r["val"]], color="grey", ls="--", alpha=0.7,
                    label=base if i == 0 else None)
        for i, r in enumerate(runs[arm]):
            ax.plot([v["step"] for v in r["val"]], [v["acc"] for v in r["val"]], marker="o", color="C1", alpha=0.8,
                    label=arm if i == 0 else None)
        ax.set_title(arm)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    for ax in axes.flat[len(arms):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("val accuracy")
    fig.suptitle(f"each arm vs {base} (same task, seeds, steps; one line per seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--test_freq", type=int, default=5)
    parser.add_argument("--rollout_n", type=int, default=4)
    parser.add_argument("--seeds", default="0", help="comma-separated; each arm runs once per seed")
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "ab_compare")
    parser.add_argument("--arms", default="grpo,adagrpo", help=f"comma-separated: {', '.join(ARMS)}")
    parser.add_argument("--reuse", action="store_true", help="keep a run whose metrics already reach --steps")
    parser.add_argument("--level", type=float, default=0.9, help="validation accuracy whose steps-to-reach are reported")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: dict[str, list] = {}
    for name in args.arms.split(","):
        if name not in ARMS:
            parser.error(f"--arms: unknown arm {name!r}; valid: {', '.join(ARMS)}")
    for seed in seeds:  # seed-major: a partial result already compares both arms
        for name in args.arms.split(","):
            run = run_arm(name, out, args, extra, seed)
            runs.setdefault(name, []).append(summarize(run["records"], run["wall_s"]))
            (out / "ab_runs.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                          "extra": extra, "runs": runs}, indent=1))
    results = {name: seed_runs[0] for name, seed_runs in runs.items()}
    text = table(results) if len(seeds) == 1 else seed_table(runs, args.level)[0]
    (out / "ab_table.md").write_text(text + "\n")
    (out / "ab_results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                     "extra": extra, "results": results,
                                                     "over_seeds": seed_table(runs, args.level)[1]}, indent=1))
    plot(runs, out / "ab_compare.png")
    print(text)
    print(f"written: {out / 'ab_table.md'}, {out / 'ab_results.json'}, {out / 'ab_compare.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
