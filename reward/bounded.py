"""Every scorer bounded in wall time, whichever thread calls it.

verl's reward loop calls compute_score from a worker thread, where math-verify's signal-based
timeout is off, and a pathological answer (`\\boxed{9^{9^{9^{9}}}}`) can make sympy run for ever
while it holds the GIL, freezing the whole process. So each scoring runs in a worker process of a
pebble pool: past its time limit the worker is killed and replaced, the score is 0, the reason is
logged and `reward_timeout` is 1 for that sample (verl logs its mean per step).

Targets are named ("module:function" or a user file "path.py:name") so any function can run in
the workers, which load it once each.
"""

import importlib
import logging
import multiprocessing
import os
import threading

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
_pool = None
_pool_lock = threading.Lock()
_loaded: dict[str, object] = {}


def workers() -> int:
    return int(os.environ.get("GRPO_REWARD_WORKERS") or min(4, os.cpu_count() or 1))


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.active:
            from pebble import ProcessPool

            # forkserver: workers start from a clean process, never a fork of a threaded Ray actor
            _pool = ProcessPool(max_workers=workers(), context=multiprocessing.get_context("forkserver"),
                                initializer=_warm_up)
        return _pool


def resolve(target: str):
    """`package.module:function` or a user file `path.py:name` (loaded once per process)."""
    if target not in _loaded:
        module, _, name = target.rpartition(":")
        if target.split(":")[0].endswith(".py") or "/" in target:  # a user file, `path.py[:name]`
            from .user_file import load_any

            _loaded[target] = load_any(target)
        else:
            _loaded[target] = getattr(importlib.import_module(module), name)
    return _loaded[target]


def _warm_up() -> None:
    """Imports and a first symbolic parse before any task: a worker's start-up (seconds of sympy
    and the LaTeX grammar) must not count against the first scoring's time limit."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    try:
        from reward.math_score import symbolic

        symbolic("\\boxed{\\frac{1}{2}}", "0.5")  # imports sympy, the LaTeX grammar, verl's normaliser
    except Exception:  # warming is an optimisation; a scorer's own import errors surface in its task
        pass


def _run(target: str, args: tuple, kwargs: dict):
    return resolve(target)(*args, **kwargs)


class Timeout(Exception):
    """The scorer did not return in time (its worker was replaced)."""


def call(target: str, args: tuple = (), kwargs: dict | None = None, timeout: float = DEFAULT_TIMEOUT_S):
    """Run `target(*args, **kwargs)` in the pool; its exceptions propagate, a hang raises Timeout.
    timeout <= 0 runs it here, unbounded (for benchmarks of the scorer itself)."""
    if timeout <= 0:
        return _run(target, args, kwargs or {})
    from concurrent.futures import TimeoutError as FutureTimeout

    from pebble import ProcessExpired

    future = _get_pool().schedule(_run, args=(target, args, kwargs or {}), timeout=timeout)
    try:
        return future.result()
    except FutureTimeout:
        raise Timeout(f"{target.rsplit(':', 1)[-1]} took longer than {timeout:g} s") from None
    except ProcessExpired as err:  # killed from outside, or out of memory
        raise Timeout(f"{target.rsplit(':', 1)[-1]}: its process died ({err})") from None


def _noop() -> None:
    pass


def warm() -> None:
    """Start every worker now (each imports the scorers once): for benchmarks, and callers that
    would rather pay the start-up before their first batch."""
    pool = _get_pool()
    for future in [pool.schedule(_noop) for _ in range(2 * workers())]:
        future.result()


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.stop()
            _pool.join(timeout=5)
            _pool = None
