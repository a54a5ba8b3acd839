"""Export benchmark: ``auditkit export`` of a run with a million findings, per format.

Usage::

    python bench/export.py                        # 1,000,000 findings
    python bench/export.py --findings 100000      # quick look
    python bench/export.py --keep /tmp/bench-ws   # keep (and reuse) the workspace

The workspace is made exactly as ``bench/report.py`` makes it (the mini
fixture evaluated as run 1, then a synthetic run 2 of ``--findings`` failing
items plus 15 % passing items, inserted set-based); a workspace kept by either
script serves both. Each export runs as ``auditkit export`` in its own
interpreter and is measured from outside with ``os.wait4``: wall time, user +
system CPU, peak RSS. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report as report_bench  # noqa: E402 - bench/report.py, the shared workspace maker

RUNS = (("ocsf", "run2.ocsf.jsonl.gz"), ("ecs", "run2.ecs.jsonl"), ("splunk", "run2.hec.json"))


def measure(args: list[str]) -> tuple[float, float, float]:
    """Run a command; return wall seconds, CPU seconds and peak RSS in MiB."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        assert proc.stderr is not None
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    """Prepare the workspace, then time each format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="workspace folder to create or reuse")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="auditkit-bench-export-"))
    ws = args.keep or tmp / "ws"
    if not (ws / "auditkit.duckdb").exists():
        t0 = time.monotonic()
        report_bench.make_workspace(ws)
        report_bench.add_synthetic_run(ws, args.findings)
        print(f"workspace with {args.findings:,} findings built in {time.monotonic() - t0:.1f} s")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    auditkit = [sys.executable, "-m", "auditkit"]
    for fmt, name in RUNS:
        out = tmp / name
        wall, cpu, rss = measure(
            [*auditkit, "export", "--run", "2", "--format", fmt, "--out", str(out), "--force"]
            + ["-w", str(ws)]
        )
        with out.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
        print(
            f"{fmt:7} {name:20} wall {wall:6.1f} s  CPU {cpu:6.1f} s  peak RSS {rss:6.0f} MiB  "
            f"file {size / 1e6:7.1f} MB"
        )


if __name__ == "__main__":
    main()
