"""scripts/slurm_train.sbatch with fake `srun`/`scontrol` that record their arguments: the commands a
two-node job runs, in order, and its teardown; the one-line refusals. The real one-node cluster runs
the script in tests/e2e/test_e2e_slurm.py (slow)."""

import os
import shutil
import stat
import subprocess

from conftest import REPO

LOGGER = '#!/usr/bin/env bash\necho "{name} $*${{RAY_ADDRESS:+ RAY_ADDRESS=$RAY_ADDRESS}}" >> "$FAKE_LOG"\n{extra}'
# the fake `ray start --block` says what Ray says and blocks, as the real one does, until teardown
RAY = 'if [[ " $* " == *" --block "* ]]; then echo "Ray runtime started."; exec sleep 60; fi'


def _fake(path, name, extra=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LOGGER.format(name=name, extra=extra))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _job(tmp_path, nodes="node[1-2]", gpus="h100:8", args=(), ray=RAY, nvidia=True):
    repo, bin_dir, log = tmp_path / "repo", tmp_path / "bin", tmp_path / "calls.log"
    (repo / "scripts").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "scripts" / "slurm_train.sbatch", repo / "scripts")
    _fake(repo / "scripts" / "bootstrap.sh", "bootstrap")
    _fake(repo / ".venv" / "bin" / "python", "python")
    _fake(repo / ".venv" / "bin" / "ray", "ray", ray)
    _fake(repo / "train.sh", "train.sh", 'echo "train.sh RESUME=$RESUME" >> "$FAKE_LOG"')
    hosts = 'printf "node1\\nnode2\\n"' if "[" in nodes else 'echo node1'
    _fake(bin_dir / "scontrol", "scontrol", f'[[ $2 == hostnames ]] && {hosts}; true')
    if nvidia:
        _fake(bin_dir / "nvidia-smi", "nvidia-smi", 'echo "GPU 0: NVIDIA H100 (UUID: GPU-0)"')
    # srun records itself, then runs the command (the fakes above) without its options
    _fake(bin_dir / "srun", "srun",
          'while [[ $# -gt 0 && $1 == -* ]]; do case $1 in -w) shift 2;; *) shift;; esac; done\n'
          'if [[ $1 == hostname ]]; then echo 127.0.0.1; else "$@"; fi')
    path = f"{bin_dir}:{os.environ['PATH']}" if nvidia else f"{bin_dir}:/usr/bin:/bin"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "RAY_ADDRESS", "RESUME"))},
           "PATH": path, "FAKE_LOG": str(log), "GRPO_REPO": str(repo), "SLURM_JOB_ID": "42",
           "SLURM_JOB_NODELIST": nodes, "SLURM_GPUS_PER_NODE": gpus}
    out = subprocess.run(["bash", str(repo / "scripts" / "slurm_train.sbatch"), *args], env=env,
                         capture_output=True, text=True, timeout=60)
    return out, (log.read_text().splitlines() if log.exists() else [])


def test_a_two_node_job_starts_ray_waits_trains_and_tears_down(tmp_path):
    out, calls = _job(tmp_path, args=["--model", "Qwen/Qwen2.5-7B", "--rollout_n", "8"])
    assert out.returncode == 0, out.stderr
    logs = tmp_path / "repo" / "outputs" / "slurm" / "42"
    expect_in_order = [
        "ray start --head --node-ip-address=127.0.0.1 --port=6379 --num-gpus=8 --block",
        f"python -m launcher.ray_wait --address 127.0.0.1:6379 --gpus 16 --timeout 600 --logs {logs}",
        "train.sh --nnodes 2 --n_gpus 8 --model Qwen/Qwen2.5-7B --rollout_n 8 RAY_ADDRESS=127.0.0.1:6379",
        "train.sh RESUME=auto",  # a requeued job continues from its newest checkpoint by itself
        "ray stop --force RAY_ADDRESS=127.0.0.1:6379",
    ]
    positions = [next(i for i, c in enumerate(calls) if c == e) for e in expect_in_order]
    assert positions == sorted(positions), calls
    # the worker starts in the background after the head; with real Ray, ray_wait holds training until
    # it joins (the fake ray_wait returns at once, so the order of those two is not checked here)
    assert positions[0] < calls.index("ray start --address=127.0.0.1:6379 --num-gpus=8 --block")
    assert "scontrol show hostnames node[1-2]" in calls
    assert (logs / "ray-node1.log").read_text().startswith("Ray runtime started")


def test_one_node_runs_train_sh_without_a_ray_cluster(tmp_path):
    out, calls = _job(tmp_path, nodes="node1", gpus="1")
    assert out.returncode == 0, out.stderr
    assert not any(c.startswith("ray start") for c in calls), calls
    assert "train.sh --nnodes 1 --n_gpus 1" in calls


def test_a_cpu_node_trains_on_one_cpu_worker_per_gpu_asked_for(tmp_path):
    out, calls = _job(tmp_path, nodes="node1", gpus="0", nvidia=False)
    assert out.returncode == 0, out.stderr
    assert "train.sh --nnodes 1 --n_gpus 1" in calls and "CPU worker(s)" in out.stdout


def test_refusals_are_one_line(tmp_path):
    cases = [
        (dict(args=["--n_gpus", "4"]), "--n_gpus: the allocation decides (2 node(s) x 8 GPU(s))"),
        (dict(gpus="0"), "no GPU in this allocation: ask for them (sbatch --gpus-per-node=N"),
        (dict(ray='echo "raylet failed to bind port" >&2; exit 1'), "the Ray head on node1 did not start: raylet failed"),
    ]
    for i, (kwargs, message) in enumerate(cases):
        out, _ = _job(tmp_path / str(i), **kwargs)
        assert out.returncode == 2 and message in out.stderr, (kwargs, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_repository_the_node_does_not_see_is_named(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    env.update(SLURM_JOB_ID="42", SLURM_JOB_NODELIST="node1", GRPO_REPO=str(tmp_path / "not-shared"))
    out = subprocess.run(["bash", str(REPO / "scripts" / "slurm_train.sbatch")], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 2 and "is not on node" in out.stderr and "file system every node sees" in out.stderr


def test_sbatch_script_outside_slurm_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    out = subprocess.run(["bash", str(REPO / "scripts" / "slurm_train.sbatch")], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0 and "run this with sbatch" in out.stderr
