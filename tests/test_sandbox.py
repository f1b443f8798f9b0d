"""Hostile code in the sandbox: each attack is contained and this test process survives."""

import os
import time
from pathlib import Path

import pytest

from reward.sandbox import Limits, namespace_prefix, run_python

needs_namespaces = pytest.mark.skipif(not namespace_prefix(), reason="no PID/network namespaces on this machine")
QUICK = Limits(wall_s=5, cpu_s=5, memory_mb=512, output_bytes=100_000)


def test_runs_ordinary_code_with_stdin():
    result = run_python("print(sum(map(int, input().split())))", "2 3\n", QUICK)
    assert result.ok and result.stdout.strip() == "5"


@needs_namespaces
def test_write_outside_its_temp_dir(tmp_path):
    target = Path(__file__).resolve().parent / "sandbox_escape.txt"
    result = run_python(f"open({str(target)!r}, 'w').write('x')\nopen('/tmp/escape.txt', 'w').write('x')", "", QUICK)
    assert not result.ok and not target.exists() and not Path("/tmp/escape.txt").exists()


@needs_namespaces
def test_network_connection():
    code = "import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=2)\nprint('connected')"
    result = run_python(code, "", QUICK)
    assert "connected" not in result.stdout and not result.ok


@needs_namespaces
def test_fork_bomb():
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    started = time.monotonic()
    result = run_python(code, "", Limits(wall_s=3, cpu_s=3, processes=32))
    assert not result.ok and time.monotonic() - started < 20
    assert os.fork is not None  # this process can still fork: the bomb was contained
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def test_allocating_30_gb():
    result = run_python("x = bytearray(30 * 1024 ** 3)\nprint('allocated')", "", QUICK)
    assert "allocated" not in result.stdout and "MemoryError" in result.stderr


def test_reading_a_parent_secret(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    result = run_python("import os\nprint(os.environ.get('SECRET_TOKEN'))", "", QUICK)
    assert "hunter2" not in result.stdout


@needs_namespaces
def test_killing_the_parent():
    code = f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)"
    run_python(code, "", QUICK)
    assert True  # still alive to assert


def test_printing_1_gb():
    started = time.monotonic()
    result = run_python("import sys\nchunk = 'x' * 1_000_000\nfor _ in range(1000):\n    sys.stdout.write(chunk)",
                        "", QUICK)
    assert result.output_truncated and len(result.stdout) <= QUICK.output_bytes and time.monotonic() - started < 10


@needs_namespaces
def test_sleeping_orphan_writes_nothing_after_timeout(tmp_path):
    marker = tmp_path / "orphan.txt"
    os.chmod(tmp_path, 0o777)
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(3)\n"
            f"        open({str(marker)!r}, 'w').write('late')\n    os._exit(0)\ntime.sleep(60)")
    result = run_python(code, "", Limits(wall_s=1, cpu_s=2))
    assert result.timed_out
    time.sleep(4)
    assert not marker.exists()


def test_infinite_loop():
    started = time.monotonic()
    result = run_python("while True:\n    pass", "", Limits(wall_s=2, cpu_s=1))
    assert not result.ok and time.monotonic() - started < 10
