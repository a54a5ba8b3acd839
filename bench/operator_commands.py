"""Operator commands at scale: `results --json/--csv` over a million items, `scope suggest`
over a million distinct addresses.

Usage::

    python bench/operator_commands.py                        # 1,000,000 items and addresses
    python bench/operator_commands.py --items 100000 --addresses 100000
    python bench/operator_commands.py --keep /tmp/bench-op   # keep (and reuse) the workspace

It makes a workspace from ``tests/fixtures/mini`` (ingest, evaluate: run 1), then
adds a synthetic run 2 of ``--items`` items of one check (each with three
supporting records in its evidence) and ``--addresses`` synthetic flow records
with distinct source addresses (IPv4 and IPv6, across CDE, connected, internal
and external ranges), with set-based DuckDB SQL. Each command then runs in a
child process with its output sent to /dev/null, measured from outside
(``os.wait4``: wall time, CPU time, peak RSS). Targets: constant memory for
``results`` (peak RSS well under the store's 2 GB DuckDB limit and not growing
with ``--items``), and ``scope suggest`` under a minute on 2 cores. This is a
script, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> tuple[float, float, int, int]:
    """(wall s, CPU s, peak RSS MiB, exit code) of ``auditkit args`` with stdout discarded."""
    start = time.monotonic()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "auditkit", *args], stdout=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    return (
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss // 1024,
        os.waitstatus_to_exitcode(status),
    )


def _prepare(ws: Path, items: int, addresses: int) -> None:
    shutil.copytree(ROOT / "tests" / "fixtures" / "mini", ws)
    for args in (
        ["ingest", str(ws / "scans"), str(ws / "runtime"), str(ws / "flows"), "-w", str(ws)],
        ["ingest", str(ws / "access"), "--observed-at", "2026-09-30", "-w", str(ws)],
        ["evaluate", "-w", str(ws)],
    ):
        subprocess.run([sys.executable, "-m", "auditkit", *args], check=True, capture_output=True)
    con = duckdb.connect(str(ws / "auditkit.duckdb"))
    try:
        sha, locator = con.execute("SELECT source_sha256, locator FROM flows LIMIT 1").fetchone()
        con.execute(
            "INSERT INTO runs SELECT 2, created_at, as_of, period_start, period_end, "
            "framework_id, framework_version, catalog_digest, config_digest, tool_version, "
            "organisation, entity_type, scope, inputs, registers, 'bench' FROM runs "
            "WHERE run_id = 1"
        )
        con.execute(
            """
            INSERT INTO run_results
            SELECT 2, 'flow_cde_inbound_unapproved', resource,
                CASE WHEN i % 3 = 0 THEN 'fail' ELSE 'pass' END,
                'synthetic connection ' || i || ' into the CDE', 'high',
                sha256('flow_cde_inbound_unapproved' || chr(10) || resource), ?, ?,
                to_json({'flows': i % 50, 'supporting_records': [
                    'aws-vpc-flow a.log (sha256 aaaa): 2 record(s) at line:' || i,
                    'hubble b.json (sha256 bbbb): 1 record(s) at line:' || i,
                    'zeek-conn c.log (sha256 cccc): 1 record(s) at line:' || i]}),
                NULL, NULL
            FROM (SELECT range AS i,
                         printf('10.30.%d.%d -> 10.20.1.%d:%d/tcp', range // 65536 % 256,
                                range // 256 % 256, range % 256, 1024 + range % 60000)
                             AS resource
                  FROM range(?))
            """,
            [sha, locator, items],
        )
        con.execute(
            "INSERT INTO run_checks SELECT 2, check_id, title, severity, state, reason, "
            "population, passed, failed, excepted, not_applicable, params, query_sha256 "
            "FROM run_checks "
            "WHERE run_id = 1"
        )
        con.execute(
            "INSERT INTO run_requirements SELECT 2, requirement, title, result, "
            "compensating_control, customized_approach, basis, checks, sort_key "
            "FROM run_requirements WHERE run_id = 1"
        )
        con.execute(
            """
            INSERT INTO flows (source_sha256, locator, flow_format, start_time, src_ip, src_port,
                               dst_ip, dst_port, protocol, action)
            SELECT ?, 'line:' || i, 'aws-vpc-flow', TIMESTAMP '2026-08-01' + to_seconds(i % 86400),
                CASE i % 5
                    WHEN 0 THEN printf('10.20.%d.%d', i // 256 % 256, i % 256)
                    WHEN 1 THEN printf('10.%d.%d.%d', 40 + i // 65536 % 100, i // 256 % 256,
                                       i % 256)
                    WHEN 2 THEN printf('203.%d.%d.%d', i // 65536 % 256, i // 256 % 256, i % 256)
                    WHEN 3 THEN printf('2001:db8:%x:%x::%x', i // 65536 % 65536, i // 256 % 256,
                                       i % 65536)
                    ELSE printf('10.30.%d.%d', i // 256 % 256, i % 256) END,
                40000 + i % 20000, '10.20.1.10', 443, 'tcp', 'allowed'
            FROM range(?) t(i)
            """,
            [sha, addresses],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()


def main() -> int:
    """Prepare the workspace (unless kept) and print the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--prepare-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_only is not None:
        _prepare(args.prepare_only, args.items, args.addresses)
        return 0
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-operator-"))
    ws = root / "ws"
    if not ws.exists():
        # In a child, so this process stays small: a forked child's peak RSS counts the parent's.
        t = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--items",
                str(args.items),
                "--addresses",
                str(args.addresses),
                "--prepare-only",
                str(ws),
            ],
            check=True,
        )
        print(f"prepared {ws} in {time.monotonic() - t:.1f} s")
    for label, cmd in (
        ("results --json", ["results", "-w", str(ws), "--run", "2", "--json"]),
        ("results --csv", ["results", "-w", str(ws), "--run", "2", "--csv"]),
        ("results (table, 200)", ["results", "-w", str(ws), "--run", "2"]),
        ("scope suggest --json", ["scope", "suggest", "-w", str(ws), "--json"]),
        ("scope check", ["scope", "check", "-w", str(ws)]),
    ):
        wall, cpu, rss, code = _run(cmd)
        print(
            f"{label:24} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {rss:6d} MiB  exit {code}"
        )
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
