"""One train.sh per run folder: a second run into the same folder would overwrite the first's
checkpoints and interleave its metrics and log. The lock is an flock on RUN/.train.lock, held for
the run's life and released by the OS however the launcher ends (kill -9 included)."""

import fcntl
import os
from pathlib import Path

from core.errors import UsageError


def hold(run_dir: Path):
    """The open lock file (keep it referenced for the run); UsageError when another run holds it."""
    path = run_dir / ".train.lock"
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise UsageError(f"{run_dir} is in use by another train.sh (pid {holder}); wait for it, or give this "
                         f"run its own folder with --experiment NAME") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
