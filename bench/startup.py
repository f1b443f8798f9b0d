"""Start-up benchmark: the same venv with and without its bytecode, side by side.

    .venv/bin/python bench/startup.py                  # imports, --dry-run, the demo (launch to step 1, whole run)
    .venv/bin/python bench/startup.py --suite          # ... and the default test suite (about 2 x 15 min more)
    .venv/bin/python bench/startup.py --arms bytecode  # one arm only (after a change, against a saved JSON)

Arms (both with PYTHONDONTWRITEBYTECODE=1, as many images and clusters set it):
  source    PYTHONPYCACHEPREFIX points at an empty folder, so every process of the run (launcher,
            main_ppo, Ray workers, the vLLM server, reward workers, pytest) finds no .pyc and compiles
            each module it imports, every time: a venv installed without bytecode.
  bytecode  the venv as scripts/bootstrap.sh installs it (`uv pip install --compile-bytecode`).
Figures are wall seconds (imports: also CPU seconds); the demo and the suite run once per arm, the
imports and the dry-run `--repeat` times (median). Writes outputs/bench/startup.json.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPORTS = "import verl.trainer.main_ppo, transformers, vllm"
STEP_LINE = re.compile(r"^step +1/\d+")


def arm_env(arm: str, scratch: Path) -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if arm == "source":
        empty = scratch / "no-bytecode"
        empty.mkdir(exist_ok=True)
        env["PYTHONPYCACHEPREFIX"] = str(empty)
    return env


def timed(cmd: list[str], env: dict, check: bool = True) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds (user + system of the children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and proc.returncode != 0:
        raise SystemExit(f"startup: `{' '.join(cmd)}` failed:\n{proc.stdout[-2000:]}")
    return wall, cpu, proc


def demo(env: dict, out: Path) -> dict:
    """The demo as a user runs it: seconds from launch to the first step line, and to the end."""
    cmd = [sys.executable, "-m", "launcher", "--output_dir", str(out), "--experiment", "startup"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_step, tail = None, []
    for line in proc.stdout:
        tail = (tail + [line])[-20:]
        if first_step is None and STEP_LINE.match(line):
            first_step = time.perf_counter() - t0
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit("startup: the demo failed:\n" + "".join(tail))
    return {"launch_to_step1_s": round(first_step, 1), "whole_demo_s": round(time.perf_counter() - t0, 1),
            "summary": next((x.strip() for x in tail if x.startswith("val accuracy")), None)}


def measure(arm: str, args, scratch: Path) -> dict:
    env = arm_env(arm, scratch)
    result = {}
    runs = [timed([sys.executable, "-c", IMPORTS], env) for _ in range(args.repeat)]
    result["imports_wall_s"] = round(statistics.median(r[0] for r in runs), 1)
    result["imports_cpu_s"] = round(statistics.median(r[1] for r in runs), 1)
    dry = [timed([sys.executable, "-m", "launcher", "--dry-run"], env)[0] for _ in range(args.repeat)]
    result["dry_run_s"] = round(statistics.median(dry), 1)
    print(f"{arm}: imports {result['imports_wall_s']} s ({result['imports_cpu_s']} s CPU), "
          f"dry-run {result['dry_run_s']} s", flush=True)
    if not args.no_demo:
        result.update(demo(env, scratch / f"demo-{arm}"))
        print(f"{arm}: demo launch to step 1 {result['launch_to_step1_s']} s, whole {result['whole_demo_s']} s",
              flush=True)
    if args.suite:
        wall, _, proc = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], env, check=False)
        result["suite_s"] = round(wall, 1)
        result["suite_result"] = proc.stdout.strip().splitlines()[-1]
        print(f"{arm}: test suite {result['suite_s']} s ({result['suite_result']})", flush=True)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arms", default="source,bytecode", help="comma-separated: source, bytecode")
    p.add_argument("--repeat", type=int, default=3, help="runs of the imports and the dry-run per arm")
    p.add_argument("--no_demo", action="store_true", help="skip the demo runs")
    p.add_argument("--suite", action="store_true", help="also time the default test suite per arm")
    p.add_argument("--out", type=Path, default=REPO / "outputs" / "bench" / "startup.json")
    p.add_argument("--merge", type=Path, help="keep the arms of this earlier JSON that are not measured now")
    args = p.parse_args(argv)
    # the demo's model and data are built once, outside the timings
    subprocess.run([sys.executable, "-m", "launcher", "--dry-run"], cwd=REPO, stdout=subprocess.DEVNULL, check=True)
    result = {"date": time.strftime("%Y-%m-%d"), "load_before": os.getloadavg()[0],
              "command": " ".join(["bench/startup.py", *(argv if argv is not None else sys.argv[1:])])}
    if args.merge:
        earlier = json.loads(args.merge.read_text())
        result.update({arm: {**earlier[arm], "measured": earlier["date"]} for arm in ("source", "bytecode")
                       if arm in earlier and arm not in args.arms.split(",")})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        for arm in args.arms.split(","):
            result[arm] = measure(arm, args, Path(tmp))
            args.out.write_text(json.dumps(result, indent=1))  # an arm that is done is kept
    if "source" in result and "bytecode" in result:
        result["ratios_source_over_bytecode"] = {
            k: round(result["source"][k] / result["bytecode"][k], 2)
            for k, v in result["bytecode"].items() if isinstance(v, float) and v and k in result["source"]}
        print("source / bytecode:", result["ratios_source_over_bytecode"])
    args.out.write_text(json.dumps(result, indent=1))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
