"""SmolLM2-135M-Instruct side by side: verl's GRPO through train.sh, TRL's GRPOTrainer, verl's own
dynamic sampling (DAPO's filter_groups) and adaGRPO, on the same task, settings, steps and seeds,
one run after the other; then eval.sh's held-out greedy accuracy for each. Prints a table and
writes JSON and a plot (validation accuracy against generated tokens, one line per run).

    .venv/bin/python bench/peer_compare.py --seeds 1,2 --steps 10
    .venv/bin/python bench/peer_compare.py --arms verl_grpo,trl --seeds 1 --reuse   # keep finished runs

Arms (`--preset smollm2` for every verl arm: 4 prompts x 8, 32 tokens, lr 1e-5, no KL):
- verl_grpo: `./train.sh --preset smollm2` (what the preset measures);
- trl: bench/trl_grpo.py in TRL's own venv (made here: TRL 1.16 over this project's torch,
  transformers and vLLM), the same settings key by key (its docstring), vLLM colocate generation;
- verl_dynamic_sampling: `--preset smollm2 --preset dynamic_sampling` (verl's filter_groups alone);
- adagrpo: `--preset smollm2 --preset adagrpo` (its defaults since 2026-12-07: one re-ask round of
  rollout.n samples for a uniform group, all-correct ones included, then a fresh prompt in its place;
  its runs of that day under the name adagrpo_lean);
- verl_grpo_bypass: `--preset smollm2 --preset rollout_logprobs` (verl's rollout-correction bypass
  mode: the rollout's log-probs are the old policy's, no old-log-prob pass);
- adagrpo_twice: adaGRPO's defaults before: up to two re-ask rounds (n, then 2n samples at 0.7, then
  0.9) for a failed group, all-correct and still-failing groups trained (runs of 2026-12-07 before the
  change under the name adagrpo);
- adagrpo_balanced: adagrpo_twice re-asking all-correct groups too (`adagrpo.all_correct=resample`);
- adagrpo_refill: adagrpo_balanced, and a group still uniform after its rounds replaced by a fresh
  prompt (`adagrpo.exhausted=replace`);
- adagrpo_hot: adagrpo_twice re-asking at 1.2 then 1.5, the defaults before that (its runs before
  2026-12-07 under the name adagrpo_cool);
- trl_*: one of TRL's GRPO options each (--loss_type cispo or sapo, --importance_sampling_level
  sequence, --scale_rewards batch, --vllm_importance_sampling_correction, --mask_truncated_completions,
  --top_entropy_quantile 0.2), on the preset.
- trl_bf32: TRL with the fp32 matmul precision our CPU plan chooses where the CPU has bf16 units
  ("medium", verl_cpu/matmul.py); `trl` keeps TRL's own ("highest").
Memory: the peak PSS of the run's whole process tree (Ray's workers and vLLM's included; shared
pages split between the processes that map them), sampled every 5 s (bench/process_memory.py).
Generated tokens: every response generated, trained or not. verl_grpo and trl train every one;
adaGRPO counts its resampled ones; verl's dynamic sampling logs only the number of groups it
dropped, so those are counted at the step's mean response length (an estimate, said in the table).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from process_memory import PeakPss  # noqa: E402  (bench/ is on the path: this file's folder)
from seed_stats import first_reach, interval, paired, spread, tokens_to_reach  # noqa: E402
TRL_VENV = REPO / "outputs" / "bench" / "trl-venv"
TRL_VERSION = "1.16.0"
HELDOUT = REPO / "outputs" / "smollm2" / "heldout.parquet"
TWICE = ["adagrpo.max_rounds=2", "adagrpo.all_correct=keep", "adagrpo.exhausted=keep"]
VERL_ARMS = {"verl_grpo": [], "verl_dynamic_sampling": ["--preset", "dynamic_sampling"],
             "adagrpo": ["--preset", "adagrpo"],
             # verl's bypass mode: the rollout's log-probs serve as the old policy's, so no old log-prob pass
             # (rollout and trainer both float32 on the CPU: they differ by ~1e-6)
             "verl_grpo_bypass": ["--preset", "rollout_logprobs"],
             # adaGRPO's former defaults (docs/adagrpo.md): two re-ask rounds, nothing replaced
             "adagrpo_twice": ["--preset", "adagrpo", *TWICE],
             # ... re-asking at 1.2-1.5: a 135M model's samples there are mostly noise
             "adagrpo_hot": ["--preset", "adagrpo", *TWICE, "adagrpo.temperature=[1.2,1.5]"],
             # ... re-asking all-correct groups too, until a group holds both outcomes (Reinforce-Ada's
             # "balanced" exit): fewer zero-signal groups trained
             "adagrpo_balanced": ["--preset", "adagrpo", *TWICE, "adagrpo.all_correct=resample"],
             # ... and a group still uniform after both rounds replaced by a fresh prompt
             "adagrpo_refill": ["--preset", "adagrpo", "adagrpo.max_rounds=2"],
             # the CPU plan before its speed and memory work (docs/real_model.md), for a paired comparison of
             # learning: the trainer recomputes old log-probs, plain fp32 matmuls, fixed micro-batches of 16/32
             "verl_grpo_before": ["algorithm.rollout_correction.bypass_mode=false",
                                  "++ray_kwargs.ray_init.runtime_env.env_vars.VERL_CPU_MATMUL_PRECISION='highest'",
                                  "actor_rollout_ref.actor.use_dynamic_bsz=false",
                                  "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=16",
                                  "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=32"],
             # LoRA (rank 16, lr 1e-4) against full fine-tuning: time and memory side by side
             "verl_lora": ["--preset", "lora"],
             # TRL's GRPO options, each alone on the preset (docs/rewards.md: what each maps to in verl)
             "trl_cispo": ["--loss_type", "cispo", "--epsilon_high", "5.0"],
             "trl_sapo": ["--loss_type", "sapo"],
             "trl_gspo": ["--importance_sampling_level", "sequence"],
             "trl_scale_batch": ["--scale_rewards", "batch"],
             "trl_vllm_is": ["--vllm_importance_sampling_correction", "true"],
             "trl_mask_truncated": ["--mask_truncated_completions", "true"],
             "trl_top_entropy": ["--top_entropy_quantile", "0.2"]}
# TRL's arms: "highest" is TRL's own fp32 matmul precision; trl_bf32 takes the one our CPU plan
# chooses where the CPU has bf16 units (verl_cpu/matmul.py), for a like-for-like comparison
TRL_ARMS = {"trl": "highest", "trl_bf32": "medium"}
ARMS = ("verl_grpo", "verl_grpo_before", "verl_lora", "trl", "trl_bf32", "verl_dynamic_sampling", "adagrpo", "verl_grpo_bypass", "adagrpo_twice", "adagrpo_hot",
        "adagrpo_balanced", "adagrpo_refill",
        "trl_cispo", "trl_sapo", "trl_gspo", "trl_scale_batch", "trl_vllm_is", "trl_mask_truncated", "trl_top_entropy")
VAL_KEY = "val-core/math/acc/mean@1"
GROUP = 8  # responses per prompt (the preset's rollout.n)
RESPONSES = 4 * GROUP  # trained a step (the preset's train_batch_size x rollout.n)


def trl_venv() -> Path:
    """TRL in a venv of its own that sees this project's packages (a .pth line) and adds only TRL."""
    python = TRL_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TRL_VENV)], check=True)
        import sysconfig

        site = next((TRL_VENV / "lib").glob("python*/site-packages"))
        (site / "_project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        uv = Path(sys.executable).parent / "uv"
        subprocess.run([str(uv), "pip", "install", "--python", str(python), "--no-deps", f"trl=={TRL_VERSION}"],
                       check=True)
    return python


def timed(cmd: list[str], log: Path, env=None) -> dict:
    """Run a command; its wall time and the peak PSS of its process tree (bench/process_memory.py:
    shared pages split, Ray's and vLLM's processes included), with the processes at that peak."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)
        memory = PeakPss(proc.pid, interval=5.0)
        memory.start()
        code = proc.wait()
        memory.done.set()
    if code != 0:
        tail = log.read_text().strip().splitlines()[-5:]
        raise SystemExit(f"peer_compare: {' '.join(cmd[:4])} ... failed (exit {code}); log: {log}\n" + "\n".join(tail))
    report = memory.report()
    return {"wall_s": round(time.time() - start, 1), "peak_pss_gb": report["peak_pss_gb"],
            "peak_processes": report["processes"]}


def run_arm(arm: str, seed: int, args) -> dict:
    name = f"{arm}-seed{seed}"
    folder = args.out / name
    done = folder / "done.json"
    if args.reuse and done.exists():
        print(f"[{name}] reusing {folder}", flush=True)
        result = json.loads(done.read_text())
        return {**result, **summarize(arm, Path(result["metrics"]))}
    print(f"[{name}] running", flush=True)
    if arm in TRL_ARMS:
        cmd = [str(trl_venv()), "bench/trl_grpo.py", "--steps", str(args.steps), "--test_freq", str(args.test_freq),
               "--seed", str(seed), "--out", str(folder), "--matmul_precision", TRL_ARMS[arm]]
        run = timed(cmd, folder / "run.log")
        metrics, model = folder / "metrics.jsonl", folder / "model"
    else:
        cmd = [sys.executable, "-m", "launcher", "--preset", "smollm2", *VERL_ARMS[arm], "--output_dir",
               str(args.out), "--project", "runs", "--experiment", name, "--total_steps", str(args.steps),
               "--test_freq", str(args.test_freq), "--save_freq", str(args.steps), f"data.seed={seed}",
               f"actor_rollout_ref.rollout.seed={seed}"]
        run = timed(cmd, folder / "run.log")
        metrics, model = args.out / "runs" / name / "metrics.jsonl", args.out / "runs" / name
    evaluation = timed([sys.executable, "-m", "model_tools.evaluate", str(model), "--data", str(HELDOUT),
                        "--max_response_length", "32", "--out", str(folder / "eval")], folder / "eval.log")
    heldout = json.loads((folder / "eval" / "results.json").read_text())["greedy_accuracy"]
    result = {"arm": arm, "seed": seed, **run, "heldout_greedy": heldout, "eval_s": evaluation["wall_s"],
              "metrics": str(metrics)}
    done.write_text(json.dumps(result, indent=1))
    result.update(summarize(arm, metrics))
    print(f"[{name}] held-out {heldout:.1%}, {run['wall_s']:.0f} s, {result['generated_tokens']} tokens", flush=True)
    return result


def summarize(arm: str, metrics: Path) -> dict:
    """Per step: seconds, generated tokens (cumulative), zero-signal groups; validation points."""
    from core.metrics import read_records

    records = read_records(metrics)
    tokens, seconds, steps, val = 0, 0.0, [], []
    for r in sorted(records, key=lambda r: r["step"]):
        d = r["data"]
        if "timing_s/step" in d:
            made, zero = step_tokens(arm, d)
            tokens += made
            seconds += d["timing_s/step"]
            dropped = d.get("training/filter_groups/evicted_samples", 0) + d.get(
                "training/filter_groups/discarded_surplus_samples", 0)
            steps.append({"step": r["step"], "step_s": d["timing_s/step"], "tokens": tokens, "zero_signal": zero,
                          "dropped_groups": dropped,
                          "gen_s": d.get("timing_s/gen"), "old_log_prob_s": d.get("timing_s/old_log_prob"),
                          "update_s": d.get("timing_s/update_actor"), "sync_s": d.get("timing_s/update_weights")})
        if VAL_KEY in d:
            val.append({"step": r["step"], "acc": d[VAL_KEY], "tokens": tokens, "train_s": round(seconds, 1)})
    step_s = [s["step_s"] for s in steps]
    zero = [s["zero_signal"] for s in steps if s["zero_signal"] is not None]
    return {"steps": steps, "val": val, "generated_tokens": int(tokens), "tokens_estimated": arm == "verl_dynamic_sampling",
            "step_s_median": statistics.median(step_s) if step_s else None,
            "train_s": round(sum(step_s), 1), "zero_signal_mean": statistics.mean(zero) if zero else None,
            "tokens_per_s": tokens / sum(step_s) if step_s else None,
            "dropped_groups": sum(s["dropped_groups"] for s in steps)}


def step_tokens(arm: str, d: dict) -> tuple[float, float | None]:
    """(tokens generated for this step, the fraction of its trained groups without signal)."""
    if arm in TRL_ARMS:
        return d["generated_tokens"], d.get("zero_signal_group_frac")
    if arm.startswith("adagrpo"):
        return d["adagrpo/generated_tokens"], d.get("adagrpo/zero_signal_frac")
    if arm == "verl_dynamic_sampling":
        # verl's own buffer logs neither the batch's tokens (its mean length x responses, then) nor the
        # dropped groups' (counted at that length); it counts prompt uids (groups) under these names:
        # the zero-variance ones, and those generated in flight beyond the batch and thrown away
        trained = d["response_length/mean"] * RESPONSES
        dropped = (d.get("training/filter_groups/evicted_samples", 0)
                   + d.get("training/filter_groups/discarded_surplus_samples", 0))
        kept = RESPONSES // GROUP
        return trained * (1 + dropped / kept), 0.0  # every trained group has signal: that is the filter
    return d["training/generated_tokens"], d.get("training/zero_signal_group_frac")


PCT, WHOLE, ONE = "{:.1%}", "{:.0f}", "{:.1f}"


def table(results: dict[str, list[dict]]) -> str:
    # runs before 2026-12-04 recorded the tree's summed RSS, later ones its PSS
    memory = "peak_pss_gb" if all("peak_pss_gb" in r for runs in results.values() for r in runs) else "peak_rss_gb"
    label = "peak PSS GB (process tree)" if memory == "peak_pss_gb" else "peak RSS GB (process tree, summed)"
    rows = [f"| arm | seeds | s/step (median) | generated tokens / step s | {label} | wall s | generated tokens "
            "| zero-signal trained groups | val acc first -> last | held-out greedy |", "|" + "---|" * 10]
    for arm, runs in results.items():
        est = " (est.)" if any(r["tokens_estimated"] for r in runs) else ""
        rows.append(f"| {arm} | {len(runs)} | {spread([r['step_s_median'] for r in runs], ONE)} | "
                    f"{spread([r['tokens_per_s'] for r in runs], ONE)} | "
                    f"{spread([r[memory] for r in runs], ONE)} | {spread([r['wall_s'] for r in runs], WHOLE)} | "
                    f"{spread([r['generated_tokens'] for r in runs], WHOLE)}{est} | "
                    f"{spread([r['zero_signal_mean'] for r in runs], PCT)} | "
                    f"{spread([r['val'][0]['acc'] for r in runs], PCT)} -> "
                    f"{spread([r['val'][-1]['acc'] for r in runs], PCT)} | "
                    f"{spread([r['heldout_greedy'] for r in runs], PCT)} |")
    base = results.get("verl_grpo")
    if base:
        rows.append("")
        for arm, runs in results.items():
            if arm == "verl_grpo":
                continue
            pairs = list(zip(base, runs))
            step = [o["step_s_median"] / b["step_s_median"] for b, o in pairs]
            reach = [reach_fraction(o, b) for b, o in pairs]
            dropped = [r["dropped_groups"] for r in runs]
            rows.append(f"- {arm} ÷ verl_grpo, per seed: s/step {', '.join(f'{x:.2f}' for x in step)}; generated "
                        f"tokens to reach verl_grpo's final validation accuracy, as a fraction of verl_grpo's run: "
                        + ", ".join("never" if x is None else f"{x:.2f}" for x in reach)
                        + (f"; groups generated and dropped (of {GROUP} responses each, {args_steps(runs)} steps): "
                           + ", ".join(f"{x:.0f}" for x in dropped) if any(dropped) else ""))
    for trl in (a for a in TRL_ARMS if a in results and base):
        pairs = list(zip(base, results[trl]))
        rows.append(f"- verl_grpo ÷ {trl}, per seed: s/step "
                    + ", ".join(f"{b['step_s_median'] / t['step_s_median']:.2f}" for b, t in pairs)
                    + f"; peak {label.split()[1]} " + ", ".join(f"{b[memory] / t[memory]:.2f}" for b, t in pairs))
    return "\n".join(rows)


def heldout(results: dict[str, list[dict]]) -> str:
    """Held-out greedy accuracy per arm: each seed, the mean with its 95% interval, and the paired
    difference from verl_grpo on the seeds both ran (what a +2-point goal is judged by)."""
    by_seed = {arm: {r["seed"]: r["heldout_greedy"] for r in runs} for arm, runs in results.items()}
    rows = ["| arm | held-out by seed | mean [95% interval] | − verl_grpo, paired by seed | mean difference [95% interval] |",
            "|---|---|---|---|---|"]
    for arm, seeds in by_seed.items():
        ci = interval(list(seeds.values()))
        mean = f"{ci[0]:.1%} [{ci[0] - ci[1]:.1%}, {ci[0] + ci[1]:.1%}]" if ci else "-"
        diffs, dci = paired(by_seed.get("verl_grpo", {}), seeds) if arm != "verl_grpo" else ([], None)
        diff = f"{dci[0]:+.1%} [{dci[0] - dci[1]:+.1%}, {dci[0] + dci[1]:+.1%}]" if dci else "-"
        rows.append(f"| {arm} | {', '.join(f'{s}: {v:.1%}' for s, v in sorted(seeds.items()))} | {mean} | "
                    f"{', '.join(f'{d:+.1%}' for d in diffs) or '-'} | {diff} |")
    return "\n".join(rows)


def reach_ratios(run: dict, base: dict) -> tuple[float | None, float | None]:
    """(generated tokens, training seconds) `run` took to first reach `base`'s final validation
    accuracy, each as a fraction of what `base` itself took to first reach it (None: never)."""
    level = base["val"][-1]["acc"]
    mine, theirs = first_reach(run, level), first_reach(base, level)
    if mine is None or theirs is None or not theirs["tokens"]:
        return None, None
    seconds = mine.get("train_s") / theirs["train_s"] if theirs.get("train_s") and "train_s" in mine else None
    return mine["tokens"] / theirs["tokens"], seconds


def reach(results: dict[str, list[dict]]) -> str:
    """Each arm against verl_grpo on the seeds both ran: the tokens and the training time it took to
    reach verl_grpo's final validation accuracy, as fractions of what verl_grpo took to reach it."""
    base = {r["seed"]: r for r in results.get("verl_grpo", [])}
    rows = ["| arm | seed | tokens to reach ÷ verl_grpo's | training time to reach ÷ verl_grpo's |", "|---|---|---|---|"]
    for arm, runs in results.items():
        if arm == "verl_grpo":
            continue
        for run in runs:
            if run["seed"] in base:
                tokens, seconds = reach_ratios(run, base[run["seed"]])
                rows.append(f"| {arm} | {run['seed']} | {'never' if tokens is None else f'{tokens:.2f}'} | "
                            f"{'-' if seconds is None else f'{seconds:.2f}'} |")
    return "\n".join(rows)


GOAL_POINTS, GOAL_TOKENS, GOAL_SEEDS = 0.02, 0.6, 4  # adaGRPO's goals on this task (docs/adagrpo.md)


def goals(results: dict[str, list[dict]]) -> str:
    """adaGRPO's three goals judged from the runs, when the table holds 4 seeds or more of adagrpo and
    both baselines:
    held-out >= each baseline's + 2 points (means; paired by seed beside them); verl_grpo's final
    validation accuracy reached with <= 0.6x the tokens verl_grpo needed and in no more training time
    (means over seeds); a seed-to-seed spread and a peak memory no larger than verl_grpo's."""
    if not all(len(results.get(arm, [])) >= GOAL_SEEDS for arm in ("adagrpo", "verl_grpo", "verl_dynamic_sampling")):
        return ""
    verdict = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    by_seed = {arm: {r["seed"]: r["heldout_greedy"] for r in runs} for arm, runs in results.items()}
    mean = {arm: statistics.mean(seeds.values()) for arm, seeds in by_seed.items()}
    lines = ["adaGRPO's goals (docs/adagrpo.md), judged from these runs:", ""]
    gaps = []
    for base in ("verl_grpo", "verl_dynamic_sampling"):
        diffs, ci = paired(by_seed[base], by_seed["adagrpo"])
        gaps.append(mean["adagrpo"] - mean[base])
        lines.append(f"- held-out, adagrpo − {base}: {gaps[-1]:+.1%} on the means; paired by seed "
                     + ", ".join(f"{d:+.1%}" for d in diffs)
                     + (f", mean {ci[0]:+.1%} [{ci[0] - ci[1]:+.1%}, {ci[0] + ci[1]:+.1%}]" if ci else ""))
    lines.append(f"- 1. at least {GOAL_POINTS * 100:.0f} points above both: {verdict(min(gaps) >= GOAL_POINTS - 1e-9)}")
    base = {r["seed"]: r for r in results["verl_grpo"]}
    ratios = [reach_ratios(r, base[r["seed"]]) for r in results["adagrpo"] if r["seed"] in base]
    tokens, seconds = [t for t, _ in ratios], [s for _, s in ratios]
    ok = (ratios and None not in tokens and None not in seconds
          and statistics.mean(tokens) <= GOAL_TOKENS and statistics.mean(seconds) <= 1)
    shown = lambda xs: ", ".join("never" if x is None else f"{x:.2f}" for x in xs)  # noqa: E731
    lines.append(f"- 2. verl_grpo's final validation accuracy with <= {GOAL_TOKENS}x its tokens, in no more "
                 f"training time: tokens {shown(tokens)}, time {shown(seconds)} (per seed): {verdict(ok)}")
    sd = {arm: statistics.stdev(by_seed[arm].values()) if len(by_seed[arm]) > 1 else None
          for arm in ("adagrpo", "verl_grpo")}
    pss = {arm: statistics.mean(r["peak_pss_gb"] for r in results[arm]) if all("peak_pss_gb" in r for r in results[arm])
           else None for arm in ("adagrpo", "verl_grpo")}
    spread = (f"{sd['adagrpo']:.1%} against {sd['verl_grpo']:.1%}: {verdict(sd['adagrpo'] <= sd['verl_grpo'])}"
              if None not in sd.values() else f"-: {verdict(False)}")
    memory = (f"{pss['adagrpo']:.2f} against {pss['verl_grpo']:.2f} GB: {verdict(pss['adagrpo'] <= pss['verl_grpo'])}"
              if None not in pss.values() else "- (not measured as PSS)")
    lines.append(f"- 3. spread: held-out standard deviation {spread}; memory: mean peak PSS {memory}")
    return "\n".join(lines)


def processes(results: dict[str, list[dict]]) -> str:
    """Each arm's first seed: its processes at the peak of its PSS (what the memory is made of)."""
    arms = list(results)
    pss = {arm: {} for arm in arms}  # arm -> process title -> GB (a row per process, a column per arm)
    for arm, runs in results.items():
        for p in runs[0].get("peak_processes", [])[:14]:
            # the trainer's title names the call it was in at the peak (update_actor, update_weights, ...)
            title = "ray::WorkerDict (the trainer)" if p["title"].startswith("ray::WorkerDict") else p["title"][:70]
            pss[arm][title] = pss[arm].get(title, 0.0) + p["pss_gb"]
    titles = list(dict.fromkeys(t for arm in arms for t in pss[arm]))
    rows = ["| process at the peak | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for title in titles:
        rows.append(f"| {title} | " + " | ".join(f"{pss[a][title]:.2f}" if title in pss[a] else "-" for a in arms) + " |")
    return "\n".join(rows)


def args_steps(runs: list[dict]) -> int:
    return max((s["step"] for r in runs for s in r["steps"]), default=0)


def reach_fraction(run: dict, base: dict) -> float | None:
    """Tokens `run` took to reach `base`'s final validation accuracy, as a fraction of base's whole run."""
    tokens = tokens_to_reach(run, base["val"][-1]["acc"])
    return None if tokens is None or not base["generated_tokens"] else tokens / base["generated_tokens"]


def breakdown(results: dict[str, list[dict]]) -> str:
    """Where a verl step's time goes (medians over every step of every seed)."""
    rows = ["| arm | step | generation | old log-probs | update | weight sync | the rest (orchestration) |",
            "|" + "---|" * 7]
    for arm, runs in results.items():
        steps = [s for r in runs for s in r["steps"] if s.get("gen_s") is not None]
        if not steps:
            continue
        med = {k: statistics.median(s[k] or 0.0 for s in steps) for k in ("step_s", "gen_s", "old_log_prob_s",
                                                                          "update_s", "sync_s")}
        rest = med["step_s"] - med["gen_s"] - med["old_log_prob_s"] - med["update_s"] - med["sync_s"]
        rows.append(f"| {arm} | {med['step_s']:.1f} | {med['gen_s']:.1f} | {med['old_log_prob_s']:.1f} | "
                    f"{med['update_s']:.1f} | {med['sync_s']:.1f} | {rest:.1f} |")
    return "\n".join(rows)


def plot(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for colour, (arm, runs) in zip([f"C{i}" for i in range(10)], results.items()):
        for i, r in enumerate(runs):
            label = arm if i == 0 else None
            axes[0].plot([v["tokens"] for v in r["val"]], [v["acc"] for v in r["val"]], marker="o", color=colour,
                         alpha=0.8, label=label)
            axes[1].plot([r["generated_tokens"]], [r["heldout_greedy"]], marker="*", ms=12, color=colour, ls="",
                         label=label)
    axes[0].set_ylabel("validation greedy accuracy (128 problems)")
    axes[1].set_ylabel("held-out greedy accuracy after training (eval.sh, 500)")
    for ax in axes:
        ax.set_xlabel("generated tokens")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("SmolLM2-135M-Instruct, two-digit sums: accuracy against generated tokens (one line per seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def environment() -> dict:
    """The machine and the versions both sides ran."""
    import importlib.metadata as md
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    versions = {}
    for package in ("verl", "vllm", "torch", "transformers", "ray"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    versions["trl"] = TRL_VERSION
    import psutil

    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "memory_gb": round(psutil.virtual_memory().total / 2**30),
            "python": platform.python_version(), "versions": versions, "date": time.strftime("%Y-%m-%d")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--test_freq", type=int, default=5)
    p.add_argument("--out", type=Path, default=REPO / "outputs" / "bench" / "peer")
    p.add_argument("--reuse", action="store_true", help="keep a run that finished before")
    p.add_argument("--report_only", action="store_true",
                   help="run nothing: the tables from the runs of --arms x --seeds that have finished (a bench split "
                        "over several sessions)")
    p.add_argument("--name", default="results", help="the file names of this comparison: NAME.json, NAME.md, NAME.png")
    args = p.parse_args(argv)
    args.out = args.out.resolve()
    args.reuse = args.reuse or args.report_only
    arms = args.arms.split(",")
    for arm in arms:
        if arm not in ARMS:
            p.error(f"--arms: unknown arm {arm!r}; valid: {', '.join(ARMS)}")
    if not HELDOUT.exists():
        from demo.two_digit import build, write_heldout

        build(HELDOUT.parent)
        write_heldout(HELDOUT, 500)
    results: dict[str, list[dict]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:  # seed-major: a partial result compares every arm
        for arm in arms:
            if args.report_only and not (args.out / f"{arm}-seed{seed}" / "done.json").exists():
                continue
            results.setdefault(arm, []).append(run_arm(arm, seed, args))
            (args.out / f"{args.name}.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                               "environment": environment(), "results": results},
                                                              indent=1, default=str))
    text = "\n\n".join(part for part in (table(results), heldout(results), goals(results), reach(results),
                                            breakdown(results), processes(results)) if part)
    (args.out / f"{args.name}.md").write_text(text + "\n")
    plot(results, args.out / f"{args.name}.png")
    print(text)
    print(f"written: {args.out / args.name}.md, .json and .png")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
