"""Every scorer bounded, from any caller: verl's reward threads, a user's script, a notebook.

verl's reward loop calls compute_score from a worker thread, where math-verify's signal-based
timeout is off, and a pathological answer (`\\boxed{9^{9^{9^{9}}}}`) can make sympy run for ever
while it holds the GIL, freezing the whole process. So each scoring runs in a scoring process
(reward/score_worker.py, a fresh interpreter: the caller's main module is never re-imported, so a
script without a `__main__` guard works). The bound counts the scorer's own CPU time, not the
wall clock: on a busy machine a quick scorer that waits for a core is not cut. A scorer that waits
instead of computing (sleep, I/O) is cut at WALL_FACTOR times the bound. Past either, the process
is killed and replaced, the score is 0, the reason is logged and `reward_timeout` is 1 for that
sample (verl logs its mean per step; the launcher's summary counts them).

Targets are named ("module:function" or a user file "path.py:name"), loaded once per process.
"""

import atexit
import importlib
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0  # CPU seconds of one scoring
WALL_FACTOR = 3.0  # a scorer that sleeps or blocks: cut after this many times the bound in wall time
READY_TIMEOUT_S = 300.0  # a scoring process's start-up (imports, first parse) on a loaded machine
_POLL_S = 0.2
_loaded: dict[str, object] = {}


def workers() -> int:
    return int(os.environ.get("GRPO_REWARD_WORKERS") or min(4, os.cpu_count() or 1))


def resolve(target: str):
    """`package.module:function` or a user file `path.py[:name]` (loaded once per process)."""
    if target not in _loaded:
        module, _, name = target.rpartition(":")
        if target.split(":")[0].endswith(".py") or "/" in target:
            from .user_file import load_any

            _loaded[target] = load_any(target)
        else:
            _loaded[target] = getattr(importlib.import_module(module), name)
    return _loaded[target]


def warm_up() -> None:
    """Imports and a first symbolic parse before any task: a scoring process's start-up (seconds of
    sympy and the LaTeX grammar) must not count against the first scoring's bound."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    try:
        from reward.math_score import symbolic

        symbolic("\\boxed{\\frac{1}{2}}", "0.5")
    except Exception:  # warming is an optimisation; a scorer's own import errors surface in its task
        pass


class Timeout(Exception):
    """The scorer did not return within its bound (its process was replaced)."""


class _Worker:
    """One scoring process and its two pipes."""

    def __init__(self):
        task_r, self._task_w = os.pipe()
        self._result_r, result_w = os.pipe()
        self.proc = subprocess.Popen([sys.executable, "-m", "reward.score_worker", str(task_r), str(result_w)],
                                     pass_fds=(task_r, result_w), stdin=subprocess.DEVNULL,
                                     env={**os.environ, "PYTHONPATH": _root_path()})
        os.close(task_r), os.close(result_w)
        self._tasks, self._results = os.fdopen(self._task_w, "wb"), os.fdopen(self._result_r, "rb")
        self.ready = False
        self._send([p for p in sys.path if isinstance(p, str)])

    def _send(self, obj) -> None:
        self._tasks.write(pickle.dumps(obj))
        self._tasks.flush()

    def cpu_seconds(self) -> float:
        try:
            import psutil

            times = psutil.Process(self.proc.pid).cpu_times()
            return times.user + times.system
        except Exception:  # gone, or no psutil: the wall bound still holds
            return 0.0

    def _wait(self, seconds: float) -> bool:
        return bool(select.select([self._result_r], [], [], seconds)[0])

    def wait_ready(self, name: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready:
            if self._wait(_POLL_S):
                self._receive(name)
                self.ready = True
            elif self.proc.poll() is not None:
                raise Timeout(f"{name}: its scoring process exited at start-up (code {self.proc.returncode})")
            elif time.monotonic() > deadline:
                raise Timeout(f"{name}: its scoring process did not start in {READY_TIMEOUT_S:.0f} s")

    def _receive(self, name: str):
        try:
            status, value = pickle.load(self._results)
        except (EOFError, pickle.UnpicklingError, OSError):
            raise Timeout(f"{name}: its scoring process died (code {self.proc.wait()})") from None
        if status == "err":
            raise value
        return value

    def run(self, name: str, target: str, args: tuple, kwargs: dict, timeout: float):
        cpu_start, wall_start = self.cpu_seconds(), time.monotonic()
        self._send((target, args, kwargs))
        while not self._wait(_POLL_S):
            cpu, wall = self.cpu_seconds() - cpu_start, time.monotonic() - wall_start
            if self.proc.poll() is not None:
                break  # _receive names the exit
            if cpu > timeout:
                raise Timeout(f"{name} took more than {timeout:g} s of CPU")
            if wall > WALL_FACTOR * timeout:
                raise Timeout(f"{name} did not return in {wall:.0f} s (it waits rather than computes: "
                              f"sleep, I/O or a lock)")
        return self._receive(name)

    def close(self) -> None:
        for f in (self._tasks, self._results):
            try:
                f.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _root_path() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)


class _Pool:
    """Up to workers() scoring processes; each call has one to itself."""

    def __init__(self):
        self.pid = os.getpid()
        self.idle: list[_Worker] = []
        self.count = 0
        self.cond = threading.Condition()

    def checkout(self) -> _Worker:
        with self.cond:
            while not self.idle and self.count >= workers():
                self.cond.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            return _Worker()
        except BaseException:
            self.checkin(None)
            raise

    def checkin(self, worker: "_Worker | None") -> None:
        with self.cond:
            if worker is None:
                self.count -= 1
            else:
                self.idle.append(worker)
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            idle, self.idle = self.idle, []
            self.count -= len(idle)
        for worker in idle:
            worker.close()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():  # a forked child never shares its parent's processes
            _pool = _Pool()
        return _pool


def call(target: str, args: tuple = (), kwargs: dict | None = None, timeout: float = DEFAULT_TIMEOUT_S):
    """Run `target(*args, **kwargs)` in a scoring process; its exceptions propagate, a scorer past its
    bound raises Timeout. timeout <= 0 runs it here, unbounded (for benchmarks of the scorer itself)."""
    if timeout <= 0:
        return resolve(target)(*args, **(kwargs or {}))
    name = target.rsplit(":", 1)[-1]
    pool = _get_pool()
    worker = pool.checkout()
    try:
        worker.wait_ready(name)
        result = worker.run(name, target, args, kwargs or {}, timeout)
    except Timeout:
        worker.close()
        pool.checkin(None)
        raise
    except BaseException as err:
        if isinstance(err, Exception) and worker.proc.poll() is None:
            pool.checkin(worker)  # the scorer's own exception: the process is fine
        else:  # interrupted mid-call (Ctrl-C): the process may be busy, replace it
            worker.close()
            pool.checkin(None)
        raise
    pool.checkin(worker)
    return result


def warm() -> None:
    """Start every scoring process now: for benchmarks, and callers that would rather pay the
    start-up before their first batch."""
    pool = _get_pool()
    started = [pool.checkout() for _ in range(workers())]
    for worker in started:
        worker.wait_ready("warm-up")
        pool.checkin(worker)


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None and _pool.pid == os.getpid():
            _pool.close()
        _pool = None


atexit.register(shutdown)
