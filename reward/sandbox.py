"""Run untrusted Python (model output) in a separate, limited process.

Covered, on Linux:
- its own process group and, where `unshare` works (root, or unprivileged user namespaces),
  new PID, network and mount namespaces: no network at all; every descendant, daemons that
  double-fork included, dies with the sandbox; the trainer's processes are invisible to it;
- as root, the code runs as `nobody` with private, size-capped tmpfs over /tmp, /var/tmp and
  /dev/shm, so it can write nothing outside its own temp directory;
- rlimits: CPU seconds, address space (memory), file size, number of processes (fork bombs);
- a wall-clock timeout and an output cap (read, then killed), an empty environment (no
  inherited secrets), no stdin beyond the test input, and `python -I` (no site, no env vars).
Not covered: without namespaces (unprivileged, no user namespaces) the network and the file
system are open to the code, and it can signal processes of the same user; CPU-time side
channels; kernel exploits. Run the trainer in a container for hostile workloads.
"""

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    output_bytes: int = 1_000_000
    file_mb: int = 16
    processes: int = 64
    tmpfs_mb: int = 64


@dataclass
class Result:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    output_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.output_truncated


_PRELUDE = r"""
# Runs inside the new namespaces, before the untrusted code: private tmpfs, then drop root.
set -e
if [ "$(id -u)" = 0 ] && [ -n "$SANDBOX_DROP" ]; then
  code="$(cat "$SANDBOX_CODE")"  # read before the tmpfs hides the host's /tmp
  for d in $SANDBOX_MASK; do mount -t tmpfs -o size=${SANDBOX_TMPFS}m,mode=1777 tmpfs "$d" 2>/dev/null || true; done
  mkdir -p /tmp/run && printf '%s\n' "$code" > /tmp/run/main.py && chmod -R a+rwx /tmp/run && cd /tmp/run
  exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$SANDBOX_PY" -I /tmp/run/main.py
fi
exec "$SANDBOX_PY" -I "$SANDBOX_CODE"
"""


@lru_cache(maxsize=1)
def namespace_prefix() -> tuple[str, ...]:
    """`unshare` arguments that work here, or () where namespaces are unavailable."""
    if shutil.which("unshare") is None:
        return ()
    base = ("unshare", "--pid", "--fork", "--kill-child", "--net", "--mount", "--mount-proc")
    candidates = [base] if os.geteuid() == 0 else [(*base[:1], "--map-root-user", *base[1:])]
    for prefix in candidates:
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def _limit(limits: Limits):
    def apply():
        os.setsid()
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.geteuid() != 0:  # root ignores RLIMIT_NPROC; as root the code runs as nobody (below)
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


def _read_capped(stream, cap: int, sink: list, on_overflow) -> None:
    total = 0
    while chunk := stream.read(65536):
        total += len(chunk)
        if total > cap:
            sink.append(chunk[: max(0, cap - (total - len(chunk)))])
            on_overflow()
            break
        sink.append(chunk)


def run_python(code: str, stdin: str = "", limits: Limits = Limits()) -> Result:
    workdir = tempfile.mkdtemp(prefix="sandbox-")
    os.chmod(workdir, 0o755)
    code_path = os.path.join(workdir, "main.py")
    with open(code_path, "w") as f:
        f.write(code)
    os.chmod(code_path, 0o644)
    prefix = namespace_prefix()
    # The base interpreter, not the venv's link to it: with -I the code gets the standard library only,
    # and a checkout under /tmp (hidden by the private tmpfs) still has a visible interpreter.
    python = os.path.realpath(sys.executable)
    mask = " ".join(d for d in ("/tmp", "/var/tmp", "/dev/shm") if not python.startswith(d + "/"))
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "SANDBOX_PY": python, "SANDBOX_CODE": code_path,
           "SANDBOX_MASK": mask,
           "SANDBOX_TMPFS": str(limits.tmpfs_mb), "SANDBOX_DROP": "1" if prefix else ""}
    if prefix and os.geteuid() == 0:
        # nobody gets a process budget of its own: a fork bomb stops at `processes`.
        cmd = [*prefix, "prlimit", f"--nproc={limits.processes}", "--", "sh", "-c", _PRELUDE]
    elif prefix:
        cmd = [*prefix, "sh", "-c", _PRELUDE]
    else:
        cmd = [python, "-I", code_path]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=workdir, env=env, preexec_fn=_limit(limits))
    out, err, truncated = [], [], threading.Event()

    def overflow():
        truncated.set()
        _kill_group(proc)

    readers = [threading.Thread(target=_read_capped, args=(proc.stdout, limits.output_bytes, out, overflow)),
               threading.Thread(target=_read_capped, args=(proc.stderr, 65536, err, lambda: None))]
    for t in readers:
        t.daemon = True
        t.start()
    try:
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    timed_out = False
    try:
        proc.wait(timeout=limits.wall_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_group(proc)
    proc.wait()
    for t in readers:
        t.join(timeout=5)
    shutil.rmtree(workdir, ignore_errors=True)
    return Result(proc.returncode, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace"),
                  timed_out, truncated.is_set())


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session made in _limit: every child not in a PID namespace
    except (ProcessLookupError, PermissionError):
        pass


_POOL = ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2)))


def run_many(jobs: list[tuple[str, str]], limits: Limits = Limits()) -> list[Result]:
    """Bounded concurrency: at most one sandbox per CPU runs at a time, whoever calls."""
    return list(_POOL.map(lambda job: run_python(job[0], job[1], limits), jobs))
