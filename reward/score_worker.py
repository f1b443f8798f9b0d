"""One scoring process of reward/bounded.py: `python -m reward.score_worker TASK_FD RESULT_FD`.

A fresh interpreter rather than a multiprocessing child, so the caller's main module is never
imported again here: `compute_score` works from a plain script without a `__main__` guard, a
heredoc or a notebook. Protocol: the parent sends its sys.path, this process warms up and answers
("ready", None), then each (target, args, kwargs) gets ("ok", result) or ("err", exception).
"""

import os
import pickle
import sys


def _send(out, message) -> None:
    try:
        data = pickle.dumps(message)
    except Exception as err:  # an unpicklable result or exception still gets an answer
        data = pickle.dumps(("err", RuntimeError(f"{type(err).__name__}: {err} (from {message[1]!r:.200})")))
    out.write(data)
    out.flush()


def main(task_fd: int, result_fd: int) -> None:
    tasks, results = os.fdopen(task_fd, "rb"), os.fdopen(result_fd, "wb")
    sys.path[:0] = [p for p in pickle.load(tasks) if p not in sys.path]

    from reward import bounded

    bounded.warm_up()
    _send(results, ("ready", None))
    while True:
        try:
            target, args, kwargs = pickle.load(tasks)
        except EOFError:  # the caller closed the pipe or died: nothing more to score
            return
        try:
            _send(results, ("ok", bounded.resolve(target)(*args, **kwargs)))
        except BaseException as err:  # noqa: BLE001 - the caller re-raises it
            _send(results, ("err", err))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
