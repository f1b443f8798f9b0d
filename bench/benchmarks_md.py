"""Render BENCHMARKS.md from the JSON the benchmarks wrote (nothing in a generated section is typed by
hand; --history appends sections kept as written, whose JSON is gone).

    .venv/bin/python bench/benchmarks_md.py bench/results/peer_smollm2.json --history bench/results/history.md \
        > BENCHMARKS.md
    .venv/bin/python bench/benchmarks_md.py outputs/bench/startup.json outputs/bench/grpo_throughput.json

Each file is recognised by what it holds: bench/peer_compare.py's side-by-side on SmolLM2,
bench/grpo_throughput.py's step figures, or bench/startup.py's start-up arms.
"""

import json
import sys
from pathlib import Path


def fmt(x, digits=2):
    return "-" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def section(r: dict) -> str:
    lines = [f"## {r['device']} ({r['date']})", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()) + f", Python {r['python']}", "",
             f"Command: `{r['command']}`", "", "| ratio | value |", "| --- | --- |",
             f"| G1 rollout efficiency (verl gen tok/s ÷ standalone vLLM tok/s) | {fmt(r.get('G1_rollout_efficiency'))} |",
             f"| G2 step throughput, ours ÷ plain verl | {fmt(r.get('G2_step_throughput_vs_plain_verl'))} |", "",
             "| run | tok/s/device | gen tok/s | gen | old_log_prob | ref | update_actor | update_weights | step (s) "
             "| MFU | peak GPU GB |", "|" + "---|" * 11]
    for arm in ("ours", "plain_verl"):
        if arm not in r:
            continue
        a, st = r[arm], r[arm]["stages_s"]
        lines.append(f"| {arm} | {fmt(a['throughput_tok_s_per_device'], 0)} | {fmt(a['verl_gen_tok_s'], 0)} | "
                     + " | ".join(fmt(st[s]) for s in ("gen", "old_log_prob", "ref", "update_actor", "update_weights",
                                                      "step"))
                     + f" | {fmt(a['mfu_actor'], 3)} | {fmt(a['peak_gpu_mem_gb'])} |")
    v = r["vllm_standalone"]
    lines += ["", f"Standalone vLLM on the same prompts: {v['generated_tokens']} tokens in {v['seconds']:.2f} s "
              f"({v['tokens_per_s']:.0f} tok/s). Step figures are medians over {r['ours']['steps_measured']} "
              "step(s), the first (warm-up) left out.", ""]
    return "\n".join(lines)


STARTUP_ROWS = (("imports_wall_s", "`import verl.trainer.main_ppo, transformers, vllm` (wall)"),
                ("imports_cpu_s", "the same imports (CPU seconds)"), ("dry_run_s", "`./train.sh --dry-run` (demo)"),
                ("launch_to_step1_s", "demo: launch to the first step line"), ("whole_demo_s", "demo: whole run"),
                ("suite_s", "default test suite"))


def startup_section(r: dict) -> str:
    arms = [a for a in ("source", "bytecode") if a in r]
    lines = [f"## Start-up: packages with and without bytecode ({r['date']})", "",
             "Both arms in one run of `.venv/bin/python " + r["command"] + "`, one after the other on an otherwise "
             "idle 2-core machine, both with `PYTHONDONTWRITEBYTECODE=1`. `source`: the venv's .pyc files hidden "
             "(PYTHONPYCACHEPREFIX on an empty folder), i.e. a venv installed without bytecode, where every process "
             "compiles what it imports; `bytecode`: the venv as scripts/bootstrap.sh installs it now.", "",
             "| seconds | " + " | ".join(arms) + " | source ÷ bytecode |", "|---|" + "---|" * (len(arms) + 1)]
    ratios = r.get("ratios_source_over_bytecode", {})
    for key, label in STARTUP_ROWS:
        if any(key in r[a] for a in arms):
            lines.append(f"| {label} | " + " | ".join(fmt(r[a].get(key), 1) for a in arms)
                         + f" | {fmt(ratios.get(key))} |")
    for arm in arms:
        if r[arm].get("suite_result"):
            lines.append(f"\nSuite, {arm}: `{r[arm]['suite_result']}`.")
    return "\n".join(lines) + "\n"


def peer_section(data: dict) -> str:
    """bench/peer_compare.py's results: SmolLM2 through verl (three arms) and TRL."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from peer_compare import breakdown, goals, heldout, processes, reach, table

    env, args = data["environment"], data["args"]
    name = args.get("name", "results")  # the plot is copied to docs/ under the comparison's name
    plot = "docs/peer_compare.png" if name == "results" else f"docs/{name}.png"
    seeds = sorted({r["seed"] for runs in data["results"].values() for r in runs})
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    arms = f" --arms {args['arms']}" if args.get("arms") else ""
    named = f" --name {name} --reuse" if name != "results" else ""
    judged = goals(data["results"])  # adaGRPO's goals, when the runs hold them
    together = (", in several invocations kept by --reuse and tabled by --report_only" if args.get("report_only")
                else " in one invocation")
    return "\n".join([
        f"## SmolLM2-135M-Instruct side by side: {', '.join(data['results'])} ({env['date']})", "",
        f"Machine: {env['cpu']}, {env['cores']} cores, {env['memory_gb']} GB, no GPU, otherwise idle; every run one "
        f"after the other{together}. Versions: {versions}, Python {env['python']}.", "",
        f"Command: `.venv/bin/python bench/peer_compare.py{arms} --seeds {','.join(map(str, seeds))} --steps {args['steps']}"
        f"{named}`"
        f" (its docstring says what each arm runs; bench/trl_grpo.py maps each verl setting onto TRL's). Every arm: "
        f"`--preset smollm2` settings (4 prompts x 8 responses a step, up to 32 tokens, temperature 0.7, lr 1e-5 "
        f"constant, two updates a step, no KL, token-mean loss, group-std advantages), {args['steps']} steps, "
        f"seeds {', '.join(map(str, seeds))}; TRL generates with vLLM (colocate, float32, every core) as verl's CPU "
        f"rollout does; `trl` at TRL's own fp32 matmul precision, `trl_bf32` at the one our CPU plan chooses "
        f"(verl_cpu/matmul.py). Validation: greedy on the 128 validation problems every {args['test_freq']} steps (verl's own "
        f"validation; TRL's with transformers' generate, outside the step times); held-out: `eval.sh` on the 500 "
        f"held-out problems, greedy, the same command for every arm. Means ± standard deviation over seeds.", "",
        table(data["results"]), "", "Held-out greedy accuracy by seed, with 95% intervals (t over seeds) and the "
        "difference from verl_grpo paired by seed:", "", heldout(data["results"]), "",
        *([judged, ""] if judged else []), "Reaching verl_grpo's final validation accuracy, paired by seed (training time: the "
        "steps' own seconds, validation and start-up left out):", "", reach(data["results"]), "", "Where a step's time goes (seconds, medians over every step and seed; verl's "
        "timing_s/* metrics; `the rest` is the orchestration between the stages: Ray calls, TransferQueue reads, "
        "the reward loop, the buffer's polling):", "", breakdown(data["results"]), "",
        "Where the memory is at each arm's peak (first seed; PSS of each process):", "", processes(data["results"]), "",
        f"![accuracy against generated tokens]({plot})", ""])


def main(paths: list[str]) -> None:
    history = None
    if "--history" in paths:  # sections kept as written, appended after the generated ones
        i = paths.index("--history")
        history, paths = paths[i + 1], paths[:i] + paths[i + 2:]
    print("# Benchmarks\n\nGenerated by `bench/benchmarks_md.py` from the JSON written by "
          "`bench/peer_compare.py`, `bench/grpo_throughput.py` (see its docstring for what G1 and G2 measure) and "
          "`bench/startup.py`; the JSON of the sections below is in `bench/results/`.\n")
    for path in paths:
        data = json.loads(open(path).read())
        if "environment" in data and "results" in data:
            print(peer_section(data))
        else:
            print(startup_section(data) if "bytecode" in data or "source" in data else section(data))
    if history:
        print(Path(history).read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
