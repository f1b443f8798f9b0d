"""Run verl's trainer as a child process: a short progress line per step, the full log in a
file, a start-up and stall watchdog, the first real error in one line, and nothing left running.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from core.metrics import MetricsTail, train_accuracy, val_accuracy

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RAY_PREFIX = re.compile(r"^\((?:[\w.]+ )?pid=\d+(?:, ip=[\d.]+)?\)\s*")
_EXCEPTION = re.compile(r"^((?:[A-Za-z_]\w*\.)*\w*(?:Error|Exception|Interrupt)): (.+)$")
# Errors verl survives by dropping the sample's whole group (its agent loop marks the prompt
# "failure"): for a user's reward function the run stops at the first, as TRL's trainer does
FATAL_ERRORS = ("RewardFunctionError",)
# Lines that end a failed run's log but say nothing about the cause
_NOISE = ("Set the environment variable HYDRA_FULL_ERROR=1",)


def clean_line(raw: str) -> str:
    return _RAY_PREFIX.sub("", _ANSI.sub("", raw)).rstrip()


def error_in(line: str) -> str | None:
    """`SomeError: message` at the start of a line (the last line of a traceback), not warnings."""
    match = _EXCEPTION.match(line)
    if not match or "Warning" in line:
        return None
    return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"


@dataclass
class RunState:
    first_error: str | None = None
    last_lines: list[str] = field(default_factory=list)
    tree: set[int] = field(default_factory=set)  # every pid seen under the child (Ray's daemons too)
    log_error: str | None = None  # the log file could not be written (disk full)
    notices: list[str] = field(default_factory=list)  # lines for the user, printed by the main loop
    fatal: str | None = None  # an error verl would carry on after, which must stop the run
    died: str | None = None  # which Ray worker an ActorDiedError was about
    died_class: str | None = None
    datasets: list[int] = field(default_factory=list)  # verl's "dataset len: N", in order (training first)


_DIED_CLASS, _DIED_PID = re.compile(r"^class_name: ([\w.<>]+)"), re.compile(r"^pid: (\d+)")
_WORKER_ROLES = {"WorkerDict": "the trainer's FSDP worker", "vLLMHttpServer": "a vLLM server",
                 "RewardLoopWorker": "a reward worker", "AgentLoopWorkerTQ": "an agent-loop worker",
                 "TaskRunnerV1": "verl's task runner"}


def _died_notice(line: str, state: "RunState") -> None:
    """Ray's ActorDiedError names the dead actor's class and pid on lines of their own: keep them."""
    if not (state.first_error and state.first_error.startswith("ActorDiedError")) or state.died:
        return
    line = line.strip()
    found_class, found_pid = _DIED_CLASS.match(line), _DIED_PID.match(line)
    if found_class:
        name = found_class.group(1).rsplit(".", 1)[-1]
        state.died_class = _WORKER_ROLES.get(name, name)
    elif found_pid and state.died_class:
        state.died = f"{state.died_class} (pid {found_pid.group(1)}) died: killed, or out of memory"


_DATASET_LEN = re.compile(r"^(filter )?dataset len: (\d+)$")


def _dataset_notice(line: str, state: RunState) -> None:
    """verl prints each dataset's size before and after its overlong-prompt filter (training first,
    then validation): rows it drops must not go unsaid."""
    match = _DATASET_LEN.match(line)
    if not match:
        return
    if not match.group(1):
        state.datasets.append(int(match.group(2)))
        return
    before, after = state.datasets[-1] if state.datasets else None, int(match.group(2))
    if before is not None and after < before:
        split = "training" if len(state.datasets) == 1 else "validation"
        state.notices.append(f"data: verl dropped {before - after} of {before} {split} rows, whose prompts are longer "
                             f"than data.max_prompt_length tokens; {after} remain (raise --max_prompt_length to keep "
                             f"them)")


def _pump_output(proc, log_file, state: RunState, verbose: bool) -> None:
    for raw in iter(proc.stdout.readline, b""):
        if state.log_error is None:
            try:
                log_file.write(raw)
            except OSError as err:  # disk full: keep reading (the trainer must not block on its pipe), say it once
                state.log_error = f"could not write {getattr(log_file, 'name', 'the log')}: {err.strerror}"
        text = raw.decode(errors="replace")
        if verbose:
            sys.stdout.write(text)
        line = clean_line(text)
        if line and not line.startswith(_NOISE):
            state.last_lines = (state.last_lines + [line])[-20:]
            error = error_in(line)
            if state.first_error is None:
                state.first_error = error
            if error and state.fatal is None and error.startswith(FATAL_ERRORS):
                state.fatal = error
            _dataset_notice(line, state)
            _died_notice(line, state)
    try:
        log_file.flush()
    except OSError:
        pass


def _remember_tree(proc, state: RunState) -> None:
    try:
        parent = psutil.Process(proc.pid)
        state.tree.update(p.pid for p in parent.children(recursive=True))
    except psutil.Error:
        pass


def stop_tree(proc, state: RunState, grace: float = 10.0) -> None:
    """SIGTERM the child's process group and every process it started, then SIGKILL stragglers."""
    _remember_tree(proc, state)
    targets = []
    for pid in {proc.pid, *state.tree}:
        try:
            targets.append(psutil.Process(pid))
        except psutil.Error:
            pass
    for p in targets:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(targets, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)


def progress_line(record: dict, total_steps: int | None, accuracy: bool = True) -> str | None:
    """One line per step. `accuracy` False (--reward_func files): their scores are rewards on the
    user's scale, not accuracies, so no percentages."""
    data, step = record["data"], record["step"]
    if "timing_s/step" not in data:
        value = val_accuracy(data)
        if value is None:
            return None
        return f"step {step:>4}  validation {'accuracy' if accuracy else 'reward'} {_score(value, accuracy)}"
    reward = data.get("critic/score/mean")  # None: verl wrote NaN as null
    acc = train_accuracy(data) if accuracy else None
    of = f"/{total_steps}" if total_steps else ""
    parts = [f"step {step:>4}{of}", f"reward {reward:.3f}" if isinstance(reward, (int, float)) else "reward nan",
             f"acc {acc:.1%}" if acc is not None else "", f"{data['timing_s/step']:.1f} s"]
    val = val_accuracy(data)
    if val is not None:
        parts.append(f"val {'acc' if accuracy else 'reward'} {_score(val, accuracy)}")
    return "  ".join(p for p in parts if p)


def _score(value: float, accuracy: bool) -> str:
    return f"{value:.1%}" if accuracy else f"{value:.3f}"


def _update_curves(records: list[dict], path: Path) -> None:
    from .curves import write_curves

    try:
        write_curves(records, path)
    except Exception as err:  # a plot must never stop a training run
        print(f"train.sh: warning: could not draw {path.name}: {err}", file=sys.stderr)


@dataclass
class Outcome:
    returncode: int
    reason: str | None  # one line when the run failed or was stopped
    records: list[dict]
    seconds: float
    warning: str | None = None  # a run that finished, with something the user must know (its log cut)


def supervise(cmd: list[str], env: dict, log_path: Path, metrics_path: Path, total_steps: int | None,
              startup_timeout: float, stall_timeout: float, verbose: bool = False, print_fn=print,
              curves_path: Path | None = None, stop_file: Path | None = None,
              stop_grace: float = 300.0, accuracy: bool = True) -> Outcome:
    started = time.monotonic()
    state = RunState()
    with open(log_path, "ab", buffering=0) as log_file:  # unbuffered: users tail it
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        pump = threading.Thread(target=_pump_output, args=(proc, log_file, state, verbose), daemon=True)
        pump.start()
        stop = {"why": None, "saving": None, "code": None}
        tail = MetricsTail(metrics_path)

        def on_signal(signum, _frame):
            # The first SIGTERM/SIGINT of a training run: the trainer finishes its step, saves it and
            # ends (trainer_hooks/graceful_stop.py); a second one, or start-up, stops at once.
            name = signal.Signals(signum).name
            stop["code"] = 128 + signum
            if stop_file is not None and stop["saving"] is None and tail.records and stop["why"] is None:
                stop_file.write_text(name + "\n")
                stop["saving"] = (name, time.monotonic())
                print(f"train.sh: {name}: finishing the step in progress and saving it, then stopping "
                      f"(at most {stop_grace:.0f} s, STOP_GRACE; {name} again stops at once)", file=sys.stderr)
            else:
                stop["why"] = f"stopped by {name}"

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        last_progress = time.monotonic()
        try:
            while proc.poll() is None and stop["why"] is None:
                time.sleep(1.0)
                _remember_tree(proc, state)
                while state.notices:
                    print_fn(state.notices.pop(0))
                new = tail.poll()
                for record in new:
                    last_progress = time.monotonic()
                    line = progress_line(record, total_steps, accuracy)
                    if line and not verbose:
                        print_fn(line)
                if new and curves_path is not None:
                    _update_curves(tail.records, curves_path)
                waited = time.monotonic() - last_progress
                if not tail.records and waited > startup_timeout:
                    stop["why"] = (f"no training step after {startup_timeout:.0f} s of start-up "
                                   f"(raise STARTUP_TIMEOUT if the model is large)")
                elif tail.records and waited > stall_timeout:
                    stop["why"] = f"no progress for {stall_timeout:.0f} s (raise STALL_TIMEOUT if steps are slow)"
                if state.fatal:
                    stop["why"] = state.fatal
                if stop["saving"] and time.monotonic() - stop["saving"][1] > stop_grace:
                    stop["why"] = (f"stopped by {stop['saving'][0]}: the step in progress was not finished and "
                                   f"saved within {stop_grace:.0f} s (STOP_GRACE)")
        finally:
            if proc.poll() is None:
                stop_tree(proc, state)
            else:
                stop_tree(proc, state, grace=5.0)  # Ray daemons outlive the driver otherwise
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            pump.join(timeout=10)
            tail.poll()
    if stop["why"] is None and stop["saving"]:  # the trainer saved and ended by itself
        stop["why"] = f"stopped by {stop['saving'][0]} at the end of a step"
    returncode = proc.returncode if stop["why"] is None else (stop["code"] or 1)
    reason = stop["why"]
    if reason is None and returncode != 0:
        reason = state.first_error or (state.last_lines[-1] if state.last_lines else f"exit status {returncode}")
    elif reason and state.first_error and reason != state.fatal:
        reason += f"; first error: {state.first_error}"
    if reason and state.died and reason.startswith("ActorDiedError"):
        reason += f" ({state.died})"
    if reason and "node timed out during startup" in reason:
        reason += (f" (Ray's own processes did not start within its 30 s: load average {os.getloadavg()[0]:.1f} on "
                   f"{os.cpu_count()} CPUs; retry when the machine is less busy)")
    if state.log_error and reason:
        reason += f"; {state.log_error}"
    warning = state.log_error if state.log_error and not reason else None
    return Outcome(returncode, reason, tail.records, time.monotonic() - started, warning)
