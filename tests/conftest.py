import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The launcher must never see a GPU-less test machine as a GPU one, or the reverse, by accident.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

E2E_TIMEOUT_S = 900


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


def run_launcher(out: Path, experiment: str, args: list[str]) -> dict:
    """`python -m launcher` (what train.sh runs) on the demo under a hard timeout; its step records."""
    cmd = [sys.executable, "-m", "launcher", "--output_dir", str(out), "--experiment", experiment, *args]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "STARTUP_TIMEOUT": "600"}, start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=E2E_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        stdout, _ = proc.communicate()
        pytest.fail(f"trainer did not finish in {E2E_TIMEOUT_S} s:\n{stdout[-3000:]}")
    run_dir = out / "demo" / experiment
    log = run_dir / "train.log"
    assert proc.returncode == 0, stdout[-3000:] + (log.read_text()[-5000:] if log.exists() else "")
    from launcher.metrics import read_records, training_steps

    records = read_records(run_dir / "metrics.jsonl")
    return {"stdout": stdout, "steps": [r["data"] for r in training_steps(records)],
            "run_dir": run_dir}
