"""The supervisor around verl's process: progress, first error, watchdog, Ctrl-C, cleanup.
Real child processes stand in for the trainer here; the e2e test runs the trainer itself."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO

from launcher.supervise import clean_line, error_in, progress_line, supervise


def _run(code, tmp_path, **kw):
    metrics = tmp_path / "metrics.jsonl"
    cmd = [sys.executable, "-c", code, str(metrics)]
    kw = {"startup_timeout": 60, "stall_timeout": 60, **kw}
    return supervise(cmd, dict(os.environ), tmp_path / "log", metrics, total_steps=2, print_fn=lambda _: None, **kw)


def test_first_real_error_is_reported_not_the_last():
    ray_line = "\x1b[36m(AgentLoopWorker pid=12)\x1b[0m ValueError: Expected Qwen newline, got []"
    assert error_in(clean_line(ray_line)) == "ValueError: Expected Qwen newline, got []"
    assert error_in("UserWarning: torchtitan engine is not available: ModuleNotFoundError('x')") is None
    assert error_in("transfer_queue.Empty Error: nothing") is None


def test_failed_child_gives_first_error_line(tmp_path):
    code = ("import sys\nprint('ValueError: root cause here', flush=True)\n"
            "print('RuntimeError: a later consequence', flush=True)\nsys.exit(1)")
    outcome = _run(code, tmp_path)
    assert outcome.returncode == 1 and outcome.reason == "ValueError: root cause here"


def test_progress_read_from_metrics_file(tmp_path):
    code = ("import json, sys, time\nf = open(sys.argv[1], 'w')\n"
            "for s in (1, 2):\n"
            "    f.write(json.dumps({'step': s, 'data': {'timing_s/step': 1.5, 'critic/score/mean': 0.5}}) + '\\n')\n"
            "    f.flush(); time.sleep(1.2)\n")
    outcome = _run(code, tmp_path)
    assert outcome.returncode == 0 and [r["step"] for r in outcome.records] == [1, 2]
    assert progress_line(outcome.records[1], 2) == "step    2/2  reward 0.500  1.5 s"


def test_startup_watchdog_stops_a_hang_and_leaves_nothing(tmp_path):
    code = "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n" \
           "time.sleep(120)"
    t0 = time.monotonic()
    outcome = _run(code, tmp_path, startup_timeout=3)
    assert time.monotonic() - t0 < 30
    assert outcome.returncode == 1 and "no training step after 3 s" in outcome.reason
    assert not [p for p in psutil.process_iter(["cmdline"]) if "time.sleep(120)" in " ".join(p.info["cmdline"] or [])]


def test_ctrl_c_stops_the_run_and_its_children(tmp_path):
    code = "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(99)'])\n" \
           "time.sleep(99)"
    threading.Timer(3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    outcome = _run(code, tmp_path)
    assert outcome.reason == "stopped by SIGINT"
    assert not [p for p in psutil.process_iter(["cmdline"]) if "time.sleep(99)" in " ".join(p.info["cmdline"] or [])]


def test_metrics_tail_follows_a_file_started_afresh(tmp_path):
    from core.metrics import MetricsTail

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "data": {}}\n{"step": 2, "data": {}}\n')
    tail = MetricsTail(path)
    assert [r["step"] for r in tail.poll()] == [1, 2]
    path.write_text('{"step": 3, "data": {}}\n')  # verl's logger truncates on a resumed run
    assert [r["step"] for r in tail.poll()] == [3] and [r["step"] for r in tail.records] == [3]


def test_stall_watchdog_stops_a_run_that_stopped_making_steps(tmp_path):
    code = ("import json, sys, time\nf = open(sys.argv[1], 'w')\n"
            "f.write(json.dumps({'step': 1, 'data': {'timing_s/step': 1.0}}) + '\\n'); f.flush()\ntime.sleep(120)")
    t0 = time.monotonic()
    outcome = _run(code, tmp_path, stall_timeout=3)
    assert time.monotonic() - t0 < 30 and [r["step"] for r in outcome.records] == [1]
    assert outcome.returncode == 1 and "no progress for 3 s" in outcome.reason


def test_summary_lines_say_accuracy_before_and_after_and_where_things_are(tmp_path):
    from types import SimpleNamespace

    from launcher.summary import summary_lines

    records = [{"step": 0, "data": {"val-core/math_reasoning/acc/mean@1": 0.25}},
               {"step": 1, "data": {"timing_s/step": 2.0}},
               {"step": 2, "data": {"timing_s/step": 2.0, "val-core/math_reasoning/acc/mean@1": 0.75}}]
    plan = SimpleNamespace(checkpoint_dir=tmp_path / "c", metrics_path=tmp_path / "m", log_path=tmp_path / "l")
    lines = summary_lines(records, 61.4, plan)
    assert lines[0] == "val accuracy 25% -> 75% in 2 steps, 61 s"
    assert lines[1] == f"checkpoints: none saved  metrics: {tmp_path / 'm'}  log: {tmp_path / 'l'}"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "latest_checkpointed_iteration.txt").write_text("2")
    assert summary_lines(records, 61.4, plan)[1].startswith(f"checkpoints: {tmp_path / 'c'} (latest: step 2)  ")
    assert summary_lines(records[1:2], 5, plan)[0] == "1 steps, 5 s"


def test_progress_line_survives_a_nan_reward():
    """verl writes a NaN batch mean as null: the progress line says nan instead of crashing the launcher."""
    from launcher.supervise import progress_line

    line = progress_line({"step": 3, "data": {"critic/score/mean": None, "timing_s/step": 2.0}}, 5)
    assert line.startswith("step    3/5  reward nan")


def test_second_run_into_the_same_folder_is_refused_in_one_line(tmp_path):
    """Another process holds the folder's lock (as a running train.sh does): refused, naming its pid."""
    import subprocess
    import sys

    from core.errors import UsageError
    from launcher.run_lock import hold

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from launcher.run_lock import hold; h = hold(Path(sys.argv[1])); print('held', flush=True); "
                               "time.sleep(60)", str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match=rf"in use by another train.sh \(pid {holder.pid}\).*--experiment"):
            hold(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    hold(tmp_path).close()  # released with the process that held it (kill -9 included)


FAKE_TRAINER = """
import json, os, sys, time
stop = os.environ["STOP_FILE"]
f = open(sys.argv[1], "w")
f.write(json.dumps({"step": 1, "data": {"timing_s/step": 1.0}}) + "\\n"); f.flush()
while not os.path.exists(stop):
    time.sleep(0.1)
if os.environ.get("HONOUR") == "1":
    open(os.environ["SAVED"], "w").write("saved at the end of the step")
    sys.exit(0)
time.sleep(99)
"""


def _stoppable(tmp_path, honour: bool, signals: int = 1, grace: float = 30):
    stop_file, saved = tmp_path / ".stop_request", tmp_path / "saved"
    env = {**os.environ, "STOP_FILE": str(stop_file), "SAVED": str(saved), "HONOUR": "1" if honour else "0"}
    metrics = tmp_path / "metrics.jsonl"

    def send():
        while not metrics.exists() or not metrics.read_text():
            time.sleep(0.1)
        time.sleep(1.5)  # the supervisor has read step 1
        for _ in range(signals):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)

    threading.Thread(target=send, daemon=True).start()
    started = time.monotonic()
    outcome = supervise([sys.executable, "-c", FAKE_TRAINER, str(metrics)], env, tmp_path / "log", metrics,
                        total_steps=9, print_fn=lambda _: None, startup_timeout=60, stall_timeout=60,
                        stop_file=stop_file, stop_grace=grace)
    return outcome, saved.exists(), time.monotonic() - started


def test_sigterm_asks_the_trainer_to_save_its_step_and_waits_for_it(tmp_path):
    outcome, saved, _ = _stoppable(tmp_path, honour=True)
    assert saved and outcome.reason == "stopped by SIGTERM at the end of a step"
    assert outcome.returncode == 128 + signal.SIGTERM  # what a batch script sees: stopped, not finished


def test_a_trainer_that_does_not_save_in_time_is_stopped_after_the_grace(tmp_path):
    outcome, saved, seconds = _stoppable(tmp_path, honour=False, grace=2)
    assert not saved and "was not finished and saved within 2 s (STOP_GRACE)" in outcome.reason and seconds < 20
    assert not [p for p in psutil.process_iter(["cmdline"]) if FAKE_TRAINER[:20] in " ".join(p.info["cmdline"] or [])]


def test_a_second_sigterm_stops_at_once(tmp_path):
    outcome, saved, seconds = _stoppable(tmp_path, honour=False, signals=2, grace=60)
    assert outcome.reason == "stopped by SIGTERM" and seconds < 20


def test_a_full_disk_under_the_log_is_one_line_and_the_trainer_is_not_blocked(tmp_path):
    # /dev/full: every write fails with ENOSPC, as a full disk does
    code = ("import json, sys\nf = open(sys.argv[1], 'w')\nfor i in range(3000):\n    print('x' * 100, flush=True)\n"
            "f.write(json.dumps({'step': 1, 'data': {'timing_s/step': 1.0}}) + '\\n')\n")
    metrics = tmp_path / "metrics.jsonl"
    outcome = supervise([sys.executable, "-c", code, str(metrics)], dict(os.environ), Path("/dev/full"), metrics,
                        total_steps=1, print_fn=lambda _: None, startup_timeout=60, stall_timeout=60)
    assert outcome.returncode == 0 and outcome.reason is None  # 300 kB through the pipe: nothing blocked
    assert outcome.warning == "could not write /dev/full: No space left on device"


def test_after_a_failure_the_user_reads_what_resume_continues_from_and_how_full_the_disk_is(tmp_path):
    from types import SimpleNamespace

    from launcher.watch import disk_full_hint, resume_hint

    plan = SimpleNamespace(run_dir=tmp_path / "run", checkpoint_dir=tmp_path / "run" / "checkpoints")
    plan.run_dir.mkdir()
    assert resume_hint(plan) == "train.sh: no checkpoint was saved; --resume would start from step 1"
    assert disk_full_hint(plan).startswith(f"train.sh: the disk of {plan.run_dir} is full (")
    step = plan.checkpoint_dir / "global_step_2"
    step.mkdir(parents=True)
    (step / "model.pt").write_bytes(b"0" * 2**20)
    (plan.checkpoint_dir / "latest_checkpointed_iteration.txt").write_text("2")
    assert resume_hint(plan) == f"train.sh: --resume continues from step 2 ({step})"
    assert "one checkpoint of this run takes 1.0 MiB" in disk_full_hint(plan)


def test_ray_start_up_timeout_is_the_reason_not_hydras_hint(tmp_path):
    code = ("import sys\nprint('Exception: The current node timed out during startup. This could happen because "
            "some of the raylet failed to startup or the GCS has become overloaded.', flush=True)\n"
            "print('', flush=True)\nprint('Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack "
            "trace.', flush=True)\nsys.exit(1)")
    outcome = _run(code, tmp_path)
    assert outcome.reason.startswith("Exception: The current node timed out during startup.")
    assert "load average" in outcome.reason and "HYDRA_FULL_ERROR" not in outcome.reason


def test_rows_verl_drops_for_their_length_are_said(tmp_path):
    # verl's RLHFDataset prints these lines, training first (one 20,000-character prompt among 90)
    code = ("import sys, time\nfor line in ('dataset len: 90', 'filter dataset len: 89', 'dataset len: 10', "
            "'filter dataset len: 10'):\n    print(line, flush=True)\ntime.sleep(2)")
    said = []
    supervise([sys.executable, "-c", code, str(tmp_path / "m.jsonl")], dict(os.environ), tmp_path / "log",
              tmp_path / "m.jsonl", total_steps=1, print_fn=said.append, startup_timeout=60, stall_timeout=60)
    assert said == ["data: verl dropped 1 of 90 training rows, whose prompts are longer than data.max_prompt_length "
                    "tokens; 89 remain (raise --max_prompt_length to keep them)"]


def test_weighted_user_rewards_are_shown_as_rewards_not_percentages(tmp_path):
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from launcher.summary import summary_lines

    record = {"step": 3, "data": {"timing_s/step": 2.0, "critic/score/mean": 19.688, "reward_extra_info/acc/mean": 19.688,
                                  "val-core/math/reward/mean@1": 19.77}}
    assert progress_line(record, 9, accuracy=False) == "step    3/9  reward 19.688  2.0 s  val reward 19.770"
    assert "acc 1968.8%" in progress_line(record, 9)  # what it printed before: our scorers' acc is an accuracy
    cfg = OmegaConf.create({"reward": {"custom_reward_function": {"path": "pkg://reward.user_functions"}}})
    plan = SimpleNamespace(cfg=cfg, checkpoint_dir=tmp_path / "c", metrics_path="m", log_path="l")
    first = {"step": 0, "data": {"val-core/math/reward/mean@1": 0.5}}
    assert summary_lines([first, record], 10, plan)[0] == "val reward 0.500 -> 19.770 in 3 steps, 10 s"


def test_a_reward_function_error_verl_would_survive_stops_the_run(tmp_path):
    # verl's agent loop logs it and drops the group; the run must not carry on without a word
    code = ("import sys, time\nprint('\\x1b[36m(AgentLoopWorkerTQ pid=7)\\x1b[0m reward.user_functions.RewardFunctionError: "
            "reward function r.py returned nan (float) on row 3, data_source math', flush=True)\ntime.sleep(60)")
    t0 = time.monotonic()
    outcome = _run(code, tmp_path)
    assert time.monotonic() - t0 < 20 and outcome.returncode == 1
    assert outcome.reason == "RewardFunctionError: reward function r.py returned nan (float) on row 3, data_source math"


def test_a_dead_ray_worker_is_named(tmp_path):
    # what Ray logs when `kill -9` hits the trainer's FSDP worker mid-step (from a real CPU demo run)
    code = ("import sys\nprint('ray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this "
            "task.', flush=True)\nprint('\\tclass_name: create_colocated_worker_cls.<locals>.WorkerDict', flush=True)\n"
            "print('\\tpid: 2983', flush=True)\nsys.exit(1)")
    outcome = _run(code, tmp_path)
    assert outcome.reason == ("ActorDiedError: The actor died unexpectedly before finishing this task. (the trainer's "
                              "FSDP worker (pid 2983) died: killed, or out of memory)")


TRAINER_STANDIN = """
import fcntl, json, os, sys
metrics, run = sys.argv[1], sys.argv[2]
watcher = os.getppid()
maps = open(f"/proc/{watcher}/maps").read()
with open(os.path.join(run, ".train.lock"), "a+") as lock:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = "free"
    except OSError:
        locked = "held"
print("watcher", "torch" if "libtorch" in maps else "light", locked,
      "watch" if b"launcher.watch" in open(f"/proc/{watcher}/cmdline", "rb").read() else "?", flush=True)
with open(metrics, "w") as f:
    f.write(json.dumps({"step": 1, "data": {"timing_s/step": 1.0, "critic/score/mean": 0.5}}) + "\\n")
"""

HAND_OVER = """
import sys
from pathlib import Path
from types import SimpleNamespace

import torch  # noqa: F401  (what planning imports)
from omegaconf import OmegaConf

from launcher.run_lock import hold
from launcher.watch import hand_over
from trainer_hooks.graceful_stop import STOP_FILE_ENV

run = Path(sys.argv[1])
plan = SimpleNamespace(command=[sys.executable, "-c", sys.argv[2], str(run / "metrics.jsonl"), str(run)],
                       env_delta={STOP_FILE_ENV: str(run / ".stop_request")}, run_dir=run,
                       checkpoint_dir=run / "checkpoints", log_path=run / "train.log",
                       metrics_path=run / "metrics.jsonl", total_steps=1,
                       cfg=OmegaConf.create({"data": {"train_batch_size": 4}, "actor_rollout_ref": {"rollout": {"n": 2}},
                                             "reward": {"custom_reward_function": {"path": "pkg://reward"}}}))
hand_over(plan, False, hold(run))
"""


def test_the_run_is_watched_by_a_process_without_plannings_imports(tmp_path):
    """After planning, the launcher execs launcher.watch in its own pid: the process that waits out
    the whole run maps no torch (planning's imports cost 0.4-0.7 GB of PSS for the run's life), it
    keeps the run folder's lock, and it prints the progress and the summary."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", HAND_OVER, str(tmp_path), TRAINER_STANDIN], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "watcher light held watch" in (tmp_path / "train.log").read_text()
    assert "step    1/1  reward 0.500" in out.stdout and "1 steps" in out.stdout
