"""Long real runs on the CPU (marked slow; `scripts/test.sh -m slow`): resume after kill -9 and
after SIGTERM, and
the trainer on a two-node Ray cluster (two raylets on this machine)."""

import os
import subprocess
import sys
import time

import pytest

from conftest import REPO, kill_tree

pytestmark = pytest.mark.slow


def _launch(out, *argv, env=None):
    cmd = [sys.executable, "-m", "launcher", "--output_dir", str(out), "--experiment", "x", "--test_freq", "-1",
           "trainer.val_before_train=false", *argv]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def _steps(metrics) -> list[int]:
    from core.metrics import read_records, training_steps

    return [r["step"] for r in training_steps(read_records(metrics))]


def test_resume_after_kill_9_loses_at_most_one_save_interval(tmp_path):
    run_dir = tmp_path / "demo" / "x"
    proc = _launch(tmp_path, "--total_steps", "6", "--save_freq", "2")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:  # wait for step 3: checkpoint 2 exists, step 3 is lost
        if (run_dir / "metrics.jsonl").exists() and max(_steps(run_dir / "metrics.jsonl"), default=0) >= 3:
            break
        time.sleep(2)
    kill_tree(proc.pid)
    proc.wait()
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    (run_dir / "metrics.jsonl").rename(run_dir / "metrics-first.jsonl")
    resumed = _launch(tmp_path, "--total_steps", "6", "--save_freq", "2", "--resume")
    out, _ = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, out[-3000:]
    assert _steps(run_dir / "metrics.jsonl") == [3, 4, 5, 6]  # continued from checkpoint 2


def test_sigterm_saves_the_step_and_resume_continues(tmp_path):
    """What SLURM sends at preemption: the step in progress is finished and saved (save_freq 10
    would not save it), the run stops in one line naming the step --resume continues from, no
    Ray process is left, and --resume continues from that step."""
    import signal

    import psutil

    run_dir = tmp_path / "demo" / "x"
    proc = _launch(tmp_path, "--total_steps", "8", "--save_freq", "10")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and proc.poll() is None and not (
            (run_dir / "metrics.jsonl").exists() and max(_steps(run_dir / "metrics.jsonl"), default=0) >= 2):
        time.sleep(1)
    assert proc.poll() is None, proc.stdout.read()[-3000:]
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=600)
    saved = int((run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text())
    assert proc.returncode == 128 + signal.SIGTERM and saved >= 2, out[-3000:]
    assert "stopped by SIGTERM at the end of a step" in out and f"--resume continues from step {saved}" in out
    assert max(_steps(run_dir / "metrics.jsonl")) == saved  # it stopped right after saving
    assert not [p for p in psutil.process_iter(["cmdline"]) if "raylet" in " ".join(p.info["cmdline"] or [])]
    (run_dir / "metrics.jsonl").rename(run_dir / "metrics-first.jsonl")
    resumed = _launch(tmp_path, "--total_steps", "8", "--save_freq", "10", "--resume")
    out, _ = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, out[-3000:]
    assert _steps(run_dir / "metrics.jsonl") == list(range(saved + 1, 9))


def test_two_node_ray_cluster_on_cpu(tmp_path):
    from ray.cluster_utils import Cluster

    env_for_workers = {"VERL_PLATFORM": "cpu", "VERL_ENGINE_DEVICE": "cuda"}
    os.environ.update(env_for_workers)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 8, "num_gpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=8, num_gpus=1)
    try:
        cluster.wait_for_nodes()
        proc = _launch(tmp_path, "--total_steps", "2", "--nnodes", "2", "--n_gpus", "1", "--save_freq", "-1",
                       env={"RAY_ADDRESS": cluster.address})
        out, _ = proc.communicate(timeout=1200)
        assert proc.returncode == 0, out[-3000:] + (tmp_path / "demo" / "x" / "train.log").read_text()[-4000:]
        assert _steps(tmp_path / "demo" / "x" / "metrics.jsonl") == [1, 2]
    finally:
        cluster.shutdown()
        for k in env_for_workers:
            os.environ.pop(k, None)



def test_smollm2_demo_learns_and_its_replies_end(tmp_path):
    """The real-model demo, whole (~30 min here): SmolLM2-135M-Instruct through verl's trainer, the
    held-out greedy accuracy at least 15 points above the base model's as eval.sh measures both,
    the rollout and the trainer agreeing on log-probs, and replies stopping at <|im_end|>."""
    import json

    from core.metrics import read_records, training_steps

    proc = subprocess.run([sys.executable, "-m", "launcher", "--preset", "smollm2", "--output_dir", str(tmp_path),
                           "--experiment", "smol"], cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_dir = tmp_path / "demo" / "smol"
    steps = [r["data"] for r in training_steps(read_records(run_dir / "metrics.jsonl"))]
    # two mini-batches a step: PPO's mean log-ratio holds the first update's drift, so it bounds the gap loosely
    assert max(abs(s["actor/ppo_kl"]) for s in steps) < 0.02
    # replies end at <|im_end|>, not at the 32-token limit (verl's clip_ratio compares with the
    # batch's longest response, so the mean length is what tells)
    assert steps[-1]["response_length/mean"] < 24
    heldout = REPO / "outputs" / "smollm2" / "heldout.parquet"

    def greedy(model, out):
        subprocess.run([sys.executable, "-m", "model_tools.evaluate", str(model), "--data", str(heldout), "--limit",
                        "200", "--max_response_length", "32", "--out", str(out)], cwd=REPO, check=True, timeout=1200,
                       capture_output=True)
        return json.loads((out / "results.json").read_text())["greedy_accuracy"]

    base = greedy(REPO / "outputs" / "models" / "SmolLM2-135M-Instruct", tmp_path / "eval-base")
    trained = greedy(run_dir, tmp_path / "eval-trained")
    assert trained >= base + 0.15, (base, trained)
