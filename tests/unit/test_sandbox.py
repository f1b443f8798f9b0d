"""Hostile code in the sandbox: each attack is contained and this test process survives. Each test
has one target the host can see, so it fails when the protection it checks is removed."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from conftest import REPO
from reward.sandbox import Limits, namespace_prefix, run_python

needs_namespaces = pytest.mark.skipif(not namespace_prefix(), reason="no PID/network namespaces on this machine")
QUICK = Limits(wall_s=5, cpu_s=5, memory_mb=512, output_bytes=100_000)


def test_runs_ordinary_code_with_stdin():
    result = run_python("print(sum(map(int, input().split())))", "2 3\n", QUICK)
    assert result.ok and result.stdout.strip() == "5"


@pytest.fixture
def host_dir():
    """A folder outside /tmp (which the sandbox masks), so what lands there is visible here."""
    folder = REPO / "outputs" / f"sandbox-test-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    yield folder
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()


@needs_namespaces
def test_write_to_a_host_folder(host_dir):
    target = host_dir / "escape.txt"  # owned by this user: only dropping privileges keeps it out
    result = run_python(f"open({str(target)!r}, 'w').write('x')", "", QUICK)
    assert not result.ok and not target.exists()


@needs_namespaces
def test_write_to_tmp_stays_in_the_sandbox():
    target = Path("/tmp") / f"sandbox-escape-{uuid.uuid4().hex[:8]}.txt"  # /tmp is world-writable: the mask
    result = run_python(f"open({str(target)!r}, 'w').write('x')\nprint('wrote')", "", QUICK)
    try:
        assert result.ok and "wrote" in result.stdout  # it wrote into its private tmpfs...
        assert not target.exists()  # ...which the host does not see
    finally:
        target.unlink(missing_ok=True)


CONNECT = "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"


def test_network_control_connects_without_the_sandbox():
    """The attack below does reach a listener when nothing stops it (so its test can fail)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        out = subprocess.run([sys.executable, "-c", CONNECT.format(port=server.getsockname()[1])],
                             capture_output=True, text=True, timeout=30)
        assert "connected" in out.stdout


@needs_namespaces
def test_network_connection():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        result = run_python(CONNECT.format(port=server.getsockname()[1]), "", QUICK)
        assert "connected" not in result.stdout and not result.ok
        with pytest.raises(socket.timeout):
            server.accept()  # nobody came


@needs_namespaces
def test_fork_bomb():
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    started = time.monotonic()
    result = run_python(code, "", Limits(wall_s=3, cpu_s=3, processes=32))
    assert not result.ok and time.monotonic() - started < 20
    pid = os.fork()  # this process can still fork: the bomb was contained
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


def test_allocating_30_gb():
    result = run_python("x = bytearray(30 * 1024 ** 3)\nprint('allocated')", "", QUICK)
    assert "allocated" not in result.stdout and "MemoryError" in result.stderr


def test_reading_a_parent_secret(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    result = run_python("import os\nprint(os.environ.get('SECRET_TOKEN'))", "", QUICK)
    assert "hunter2" not in result.stdout


@needs_namespaces
def test_killing_the_parent():
    """A scorer process (as a reward worker) runs code that kills its parent and grandparent by pid;
    it must live on to say so."""
    code = ("import os, signal, sys\nsys.path.insert(0, sys.argv[1])\nfrom reward.sandbox import Limits, run_python\n"
            "attack = f'import os, signal\\nos.kill({os.getpid()}, signal.SIGKILL)\\n"
            "os.kill({os.getppid()}, signal.SIGKILL)'\nrun_python(attack, '', Limits(wall_s=5))\nprint('survived')")
    out = subprocess.run([sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, timeout=60)
    assert "survived" in out.stdout, out.stderr[-2000:]


def test_printing_1_gb():
    started = time.monotonic()
    result = run_python("import sys\nchunk = 'x' * 1_000_000\nfor _ in range(1000):\n    sys.stdout.write(chunk)",
                        "", QUICK)
    assert result.output_truncated and len(result.stdout) <= QUICK.output_bytes and time.monotonic() - started < 10


def _sandboxed_python_since(t0: float) -> list[int]:
    """Interpreters the sandbox started (`python -I <code file>`) that are alive now."""
    found = []
    for p in psutil.process_iter(["cmdline", "create_time"]):
        cmd = p.info["cmdline"] or []
        if p.info["create_time"] >= t0 - 1 and len(cmd) >= 3 and cmd[1] == "-I" and cmd[2].endswith(".py"):
            found.append(p.pid)
    return found


@needs_namespaces
def test_sleeping_orphan_writes_nothing_after_timeout(host_dir):
    marker = host_dir / "orphan.txt"
    os.chmod(host_dir, 0o777)  # the orphan could write here: only its death keeps the file away
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(3)\n"
            f"        open({str(marker)!r}, 'w').write('late')\n    os._exit(0)\ntime.sleep(60)")
    t0 = time.time()
    result = run_python(code, "", Limits(wall_s=1, cpu_s=2))
    assert result.timed_out
    assert _sandboxed_python_since(t0) == []  # nothing the code started outlives the scoring
    time.sleep(4)
    assert not marker.exists()


def test_infinite_loop():
    started = time.monotonic()
    result = run_python("while True:\n    pass", "", Limits(wall_s=2, cpu_s=1))
    assert not result.ok and time.monotonic() - started < 10
