"""Proportional memory (PSS) of a process tree: shared pages split between the processes that map
them, so the sum is what the tree really costs the machine (summed RSS counts every shared library
and every forked page once per process). Ray's and vLLM's processes are children of the launcher
(Ray's raylet and its workers, vLLM's engine core and workers), so the launcher's tree is the run.

    .venv/bin/python bench/process_memory.py -- ./train.sh --preset smollm2 --total_steps 3

prints the peak and, for the moment of the peak, one row per process (its Ray or vLLM title).
"""

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path


def pss_bytes(pid: int) -> int | None:
    """The process's PSS from /proc/PID/smaps_rollup (kB there), or None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def title(pid: int) -> str:
    """What the process calls itself: Ray and vLLM set titles (`ray::WorkerDict.update_actor`, `VLLM::EngineCore`)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"
    return cmd[:90] or "?"


def tree(root: int) -> list[int]:
    import psutil

    try:
        proc = psutil.Process(root)
        return [root, *(c.pid for c in proc.children(recursive=True))]
    except psutil.Error:
        return []


class PeakPss(threading.Thread):
    """Samples the tree's PSS every `interval` seconds; keeps the peak total and its per-process rows."""

    def __init__(self, pid: int, interval: float = 2.0):
        super().__init__(daemon=True)
        self.pid, self.interval, self.done = pid, interval, threading.Event()
        self.peak, self.peak_rows, self.samples = 0, [], 0
        self.each_peak: dict[str, int] = {}  # each process's own peak, by title

    def sample(self) -> tuple[int, list[tuple[int, str, int]]]:
        rows = []
        for pid in tree(self.pid):
            size = pss_bytes(pid)
            if size:
                rows.append((pid, title(pid), size))
        return sum(r[2] for r in rows), rows

    def run(self):
        while not self.done.wait(self.interval):
            total, rows = self.sample()
            self.samples += 1
            for _, name, size in rows:
                self.each_peak[name] = max(size, self.each_peak.get(name, 0))
            if total > self.peak:
                self.peak, self.peak_rows = total, rows

    def report(self) -> dict:
        rows = sorted(self.peak_rows, key=lambda r: -r[2])
        own = sorted(self.each_peak.items(), key=lambda item: -item[1])
        return {"peak_pss_gb": round(self.peak / 2**30, 2), "samples": self.samples,
                "processes": [{"pid": p, "title": t, "pss_gb": round(s / 2**30, 3)} for p, t, s in rows],
                "own_peaks": [{"title": t, "pss_gb": round(s / 2**30, 3)} for t, s in own]}


def table(report: dict) -> str:
    lines = [f"peak PSS of the process tree: {report['peak_pss_gb']:.2f} GB ({report['samples']} samples)",
             "| process (at the peak) | PSS GB |", "| --- | --- |"]
    lines += [f"| {p['title']} | {p['pss_gb']:.2f} |" for p in report["processes"]]
    lines += ["", "| process (its own peak, by title) | PSS GB |", "| --- | --- |"]
    lines += [f"| {p['title']} | {p['pss_gb']:.2f} |" for p in report["own_peaks"][:12]]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--json", type=Path, help="write the report here too")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("give the command to measure after --")
    start = time.time()
    proc = subprocess.Popen(command)
    sampler = PeakPss(proc.pid, args.interval)
    sampler.start()
    code = proc.wait()
    sampler.done.set()
    report = {"command": command, "exit": code, "wall_s": round(time.time() - start, 1), **sampler.report()}
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main())
