"""scripts/slurm_train.sbatch on a real one-node SLURM cluster (scripts/local_slurm.sh: slurm-wlm and
munge from Debian's packages, one stand-in GPU), submitted with plain sbatch as a user would: a 3-step
job; a 12-step job requeued by `scontrol requeue` after its 4th step (every process killed) that
finishes all 12 steps with one resume; and the time-limit path, the script's USR1 sent by hand: the
step in progress is finished and saved although no periodic save was due, the job requeues itself
and continues from that step. Slow (about 8 minutes; may install packages) and needs root: it starts
system daemons. The cluster is brought up here and down afterwards, unless it was already up."""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO

LOCAL_SLURM = REPO / "scripts" / "local_slurm.sh"
SBATCH = REPO / "scripts" / "slurm_train.sbatch"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="starts munged, slurmctld and slurmd: needs root"),
    pytest.mark.skipif(shutil.which("slurmctld") is None and shutil.which("apt-get") is None,
                       reason="no SLURM here and no apt-get to install it"),
]


def _sh(*cmd, check=True, timeout=120) -> str:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    assert not check or out.returncode == 0, f"{cmd}: {out.stdout}{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def cluster():
    conf = Path("/etc/slurm/slurm.conf")
    if conf.exists() and "written by local_slurm.sh" not in conf.read_text():
        pytest.skip("this machine has its own SLURM configuration")
    was_up = "not running" not in _sh(LOCAL_SLURM, "status", check=False)
    _sh(LOCAL_SLURM, "up", "--gpus", "1", timeout=600)
    yield
    if not was_up:
        _sh(LOCAL_SLURM, "down")
        left = subprocess.run(["pgrep", "-x", "slurmctld|slurmd|munged|slurmstepd"], capture_output=True, text=True)
        assert left.stdout.strip() == "", f"left running: {left.stdout}"


def _submit(out: Path, name: str, args: list[str], wait: bool = False) -> tuple[str, subprocess.CompletedProcess]:
    result = subprocess.run(["sbatch", "--parsable", *(["--wait"] if wait else []), f"--output={out}/job-%j.out",
                             str(SBATCH), "--output_dir", str(out), "--experiment", name, "--test_freq", "-1", *args],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    return result.stdout.strip().splitlines()[0].split(";")[0], result


def _job(job: str) -> dict:
    line = _sh("scontrol", "show", "job", "-o", job)
    return dict(re.findall(r"(\w+)=(\S*)", line))


def _steps(run: Path, *names: str) -> list[int]:
    return [json.loads(line)["step"] for name in names if (run / name).exists()
            for line in (run / name).read_text().splitlines() if line.strip() and "training/global_step" in line]


def _wait_for_step(run: Path, step: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step in _steps(run, "metrics.jsonl"):
            return
        time.sleep(0.5)
    pytest.fail(f"step {step} not reached in {timeout:.0f} s")


def _wait_done(job: str, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _job(job)
        if state["JobState"] in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
            return state
        time.sleep(3)
    pytest.fail(f"job {job} did not end in {timeout:.0f} s: {_job(job)}")


def test_a_three_step_job_trains_the_demo(cluster, tmp_path):
    job, result = _submit(tmp_path, "three", ["--total_steps", "3"], wait=True)
    output = (tmp_path / f"job-{job}.out").read_text()
    assert result.returncode == 0, output[-3000:]
    run = tmp_path / "demo" / "three"
    assert _steps(run, "metrics.jsonl") == [1, 2, 3]
    assert f"slurm_train: job {job} (attempt 1)" in output and "step    3/3" in output
    # the plan says what a kill would lose: the demo's checkpoint costs nothing, so one is saved every step
    assert f"SLURM job {job}: a kill (scancel, scontrol requeue, preemption) loses at most the step in progress" in output


def test_a_job_requeued_after_step_4_finishes_with_one_resume(cluster, tmp_path):
    job, _ = _submit(tmp_path, "requeue", ["--total_steps", "12"])
    run = tmp_path / "demo" / "requeue"
    _wait_for_step(run, 4)
    _sh("scontrol", "requeue", job)
    state = _wait_done(job)
    output = (tmp_path / f"job-{job}.out").read_text()
    assert state["JobState"] == "COMPLETED" and state["Restarts"] == "1", (state, output[-3000:])
    assert "DUE TO JOB REQUEUE" in output and f"slurm_train: job {job} (attempt 2)" in output
    resumed = re.findall(r"resume: from step (\d+), continuing at step", output)
    assert len(resumed) == 1 and int(resumed[0]) >= 4, output[-3000:]
    # the second attempt trained from the step after the checkpoint to the end, nothing twice
    assert _steps(run, "metrics.jsonl") == list(range(int(resumed[0]) + 1, 13))


def test_the_time_limit_warning_saves_the_step_in_progress_and_requeues(cluster, tmp_path):
    # --save_freq 100: no periodic save is due, so the step the job resumes from is the one the
    # warning (USR1 to the batch script, as --signal=B:USR1@300 sends it before the limit) saved
    job, _ = _submit(tmp_path, "usr1", ["--total_steps", "8", "--save_freq", "100"])
    run = tmp_path / "demo" / "usr1"
    _wait_for_step(run, 2)
    _sh("scancel", "--batch", "--signal=USR1", job)
    state = _wait_done(job)
    output = (tmp_path / f"job-{job}.out").read_text()
    assert state["JobState"] == "COMPLETED" and state["Restarts"] == "1", (state, output[-3000:])
    assert "slurm_train: USR1: asking the run to finish its step and save it" in output
    assert f"slurm_train: requeueing job {job}" in output
    [resumed] = re.findall(r"resume: from step (\d+), continuing at step", output)
    assert int(resumed) >= 2
    assert _steps(run, "metrics.previous.jsonl")[-1] == int(resumed)  # the step in progress, finished and saved
    assert _steps(run, "metrics.jsonl") == list(range(int(resumed) + 1, 9))
