"""scripts/slurm_train.sbatch with fake `srun`/`scontrol` (no SLURM cluster here): the commands it
would run, in order, and its teardown. The fakes only record their arguments."""

import os
import shutil
import stat
import subprocess

from conftest import REPO

LOGGER = '#!/usr/bin/env bash\necho "{name} $*${{RAY_ADDRESS:+ RAY_ADDRESS=$RAY_ADDRESS}}" >> "$FAKE_LOG"\n{extra}'


def _fake(path, name, extra=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LOGGER.format(name=name, extra=extra))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_sbatch_script_starts_ray_waits_trains_and_tears_down(tmp_path):
    repo, bin_dir, log = tmp_path / "repo", tmp_path / "bin", tmp_path / "calls.log"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "slurm_train.sbatch", repo / "scripts")
    _fake(repo / "scripts" / "bootstrap.sh", "bootstrap")
    _fake(repo / ".venv" / "bin" / "python", "python")
    _fake(repo / ".venv" / "bin" / "ray", "ray")
    _fake(repo / "train.sh", "train.sh")
    _fake(bin_dir / "scontrol", "scontrol", 'printf "node1\\nnode2\\n"')
    # srun records itself, then runs the command for hostname and ray (the fakes above).
    _fake(bin_dir / "srun", "srun",
          'while [[ $# -gt 0 && $1 == -* ]]; do case $1 in -w) shift 2;; *) shift;; esac; done\n'
          'if [[ $1 == hostname ]]; then echo 127.0.0.1; else "$@"; fi')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "GRPO_REPO": str(repo),
           "SLURM_JOB_NODELIST": "node[1-2]", "SLURM_GPUS_PER_NODE": "h100:8"}
    env.pop("RAY_ADDRESS", None)
    out = subprocess.run(["bash", str(repo / "scripts" / "slurm_train.sbatch"), "--model", "Qwen/Qwen2.5-7B",
                          "--rollout_n", "8"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    calls = log.read_text().splitlines()
    expect_in_order = [
        "bootstrap --quiet",
        "ray start --head --node-ip-address=127.0.0.1 --port=6379 --num-gpus=8 --block",
        "python -m launcher.ray_wait --address 127.0.0.1:6379 --gpus 16 --timeout 600",
        "train.sh --nnodes 2 --n_gpus 8 --model Qwen/Qwen2.5-7B --rollout_n 8 RAY_ADDRESS=127.0.0.1:6379",
        "ray stop --force",
    ]
    positions = [next(i for i, c in enumerate(calls) if c == e) for e in expect_in_order]
    assert positions == sorted(positions), calls
    # Workers start in the background after the head; with real Ray, ray_wait holds training until they
    # join (the fake returns at once, so their order relative to training is not checked here).
    worker = calls.index("ray start --address=127.0.0.1:6379 --num-gpus=8 --block")
    assert positions[1] < worker
    assert "scontrol show hostnames node[1-2]" in calls


def test_sbatch_script_outside_slurm_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    out = subprocess.run(["bash", str(REPO / "scripts" / "slurm_train.sbatch")], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0 and "run this with sbatch" in out.stderr
