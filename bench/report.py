"""Report benchmark: build the signed pack of a run with a million findings.

Usage::

    python bench/report.py                       # 1,000,000 findings
    python bench/report.py --findings 100000     # quick look
    python bench/report.py --keep /tmp/bench-ws  # keep (and reuse) the workspace

It makes a workspace from ``tests/fixtures/mini`` (ingest, evaluate: run 1,
real sources and checks), then inserts a synthetic run 2 directly with
set-based DuckDB SQL: ``--findings`` failing items spread over five checks
(60 % critical vulnerabilities with realistic evidence, so the age histogram
has data) plus 15 % passing items, each row pointing at a real source record.
``run_checks`` and ``run_requirements`` are derived from those rows.

The pack is then built in a child process (``build_pack``, exactly what
``auditkit report`` runs, without ``--zip``). The child reports its wall time,
its CPU time and that of its own children (the WeasyPrint render and the CSV
workers), and its peak RSS; this script samples the summed RSS of the whole
process tree. Targets: under 60 s and under 1.5 GB on 2 cores. The report's PDF size
and page count are printed too: they must not grow with the findings beyond
the per-check sample. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MINI = ROOT / "tests" / "fixtures" / "mini"
CLAIMED = dt.datetime(2026, 10, 1, 12, 0, 0)

# (check, share of findings, passing items as a share of that check's findings)
SPREAD = (
    ("vuln_critical_patch_window", 0.60, 0.15),
    ("flow_cde_outbound_unapproved", 0.20, 0.15),
    ("rbac_wildcard_grants", 0.08, 0.15),
    ("users_inactive_accounts", 0.07, 0.15),
    ("audit_log_continuity", 0.05, 0.15),
)


def make_workspace(ws: Path) -> None:
    """mini fixture -> ingest -> evaluate (run 1) -> keys."""
    from auditkit.evaluate.catalog import load_catalog
    from auditkit.evaluate.engine import evaluate
    from auditkit.ingest import IngestOptions, ingest_paths
    from auditkit.sign.keys import generate_keys
    from auditkit.store import create_store, open_store
    from auditkit.workspace import Workspace

    shutil.copytree(MINI, ws)
    workspace = Workspace(ws)
    with workspace.lock():
        create_store(workspace)
    with open_store(workspace, write=True) as con:
        ingest_paths(con, [ws / "scans", ws / "runtime", ws / "flows"])
        ingest_paths(con, [ws / "access"], IngestOptions(observed_at=dt.datetime(2026, 9, 30)))
        catalog = load_catalog(workspace.config.controls_dirs)
        evaluate(con, workspace, catalog, claimed_time=CLAIMED)
    generate_keys(workspace.keys_dir, subject_name="Mini Test Payments")


def _evidence_sql(check: str, columns: tuple[str, ...]) -> str:
    if check == "vuln_critical_patch_window":
        return """to_json(struct_pack(
            image_repo := 'registry.example.test/payments/app' || (i % 400),
            image_digest := 'sha256:' || sha256('img' || (i % 400)),
            vuln_id := 'CVE-2026-' || (10000 + i),
            pkg_name := 'lib' || (i % 3000),
            installed_version := '1.' || (i % 17) || '.0',
            fixed_version := '1.' || (i % 17) || '.1',
            first_seen := DATE '2026-09-30' - CAST(i % 190 + 3 AS INTEGER),
            fix_seen_at := DATE '2026-09-30' - CAST(i % 190 AS INTEGER),
            deadline := DATE '2026-09-30' - CAST(i % 190 AS INTEGER) + 30,
            last_seen := DATE '2026-09-20',
            resolved_at := CASE WHEN i % 3 = 0 THEN DATE '2026-09-20' END,
            days_overdue := greatest(0, i % 190 - 30),
            zone := CASE WHEN i % 2 = 0 THEN 'cde' ELSE 'connected' END))"""
    pairs = ", ".join(f"\"{c}\" := '{c}-' || i" for c in columns)
    return f"to_json(struct_pack({pairs}))" if pairs else "NULL"


def add_synthetic_run(ws: Path, findings: int) -> int:
    """Insert run 2 with ``findings`` failing items (set-based SQL); return its id."""
    from auditkit.evaluate.catalog import load_catalog
    from auditkit.store import open_store
    from auditkit.workspace import Workspace

    workspace = Workspace(ws)
    catalog = load_catalog(workspace.config.controls_dirs)
    with open_store(workspace, write=True) as con:
        con.execute("INSERT INTO runs SELECT 2, * EXCLUDE (run_id) FROM runs WHERE run_id = 1")
        con.execute("UPDATE runs SET label = 'synthetic benchmark run' WHERE run_id = 2")
        locators = con.execute(
            "SELECT source_sha256, locator FROM vulnerabilities ORDER BY locator LIMIT 1"
        ).fetchone()
        assert locators is not None
        for check, share, passing in SPREAD:
            fails = int(findings * share)
            total = fails + int(fails * passing)
            columns = catalog.checks[check].evidence_columns
            con.execute(
                f"""
                INSERT INTO run_results
                SELECT 2, ?, resource,
                    CASE WHEN i < ? THEN 'fail' ELSE 'pass' END,
                    CASE WHEN i < ? THEN 'synthetic finding ' || i ||
                        ': fix available for 47 days, still present in the latest scan'
                        ELSE 'synthetic passing item ' || i END,
                    CASE i % 5 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'high'
                        WHEN 3 THEN 'medium' ELSE 'low' END,
                    sha256(? || chr(10) || resource), ?, '#/Results/0/Vulnerabilities/' || i,
                    {_evidence_sql(check, columns)}, NULL, NULL
                FROM (SELECT range AS i,
                             'registry.example.test/payments/app' || (range % 400) ||
                             ' CVE-2026-' || (10000 + range) || ' lib' || (range % 3000)
                             AS resource
                      FROM range(?))
                """,
                [check, fails, fails, check, locators[0], total],
            )
        con.execute(
            """
            INSERT INTO run_checks
            SELECT 2, c.check_id, c.title, c.severity, 'evaluated',
                   coalesce(r.failed, 0) || ' of ' || coalesce(r.population, 0)
                       || ' item(s) failed',
                   coalesce(r.population, 0), coalesce(r.passed, 0), coalesce(r.failed, 0),
                   0, 0, c.params, c.query_sha256
            FROM run_checks c LEFT JOIN (
                SELECT check_id, count(*) AS population,
                       count(*) FILTER (WHERE status = 'pass') AS passed,
                       count(*) FILTER (WHERE status = 'fail') AS failed
                FROM run_results WHERE run_id = 2 GROUP BY check_id
            ) r USING (check_id)
            WHERE c.run_id = 1
            """
        )
        con.execute(
            """
            INSERT INTO run_requirements
            SELECT 2, requirement, title,
                   CASE WHEN len(checks) = 0 THEN result ELSE 'Not in Place' END,
                   false, false,
                   CASE WHEN len(checks) = 0 THEN basis ELSE 'synthetic: failing items' END,
                   checks, sort_key
            FROM run_requirements WHERE run_id = 1
            """
        )
        con.execute(
            "INSERT INTO run_exceptions SELECT 2, * EXCLUDE (run_id) FROM run_exceptions "
            "WHERE run_id = 1"
        )
        con.execute(
            "INSERT INTO run_attestations SELECT 2, attestation FROM run_attestations "
            "WHERE run_id = 1"
        )
    return 2


def child(ws: Path, run_id: int, out: Path) -> None:
    """Build the pack; print one JSON line with the figures."""
    from auditkit.errors import CatalogError
    from auditkit.evaluate.catalog import load_catalog
    from auditkit.pack.build import build_pack
    from auditkit.sign.keys import load_signing_material
    from auditkit.store import open_store
    from auditkit.workspace import Workspace

    started = time.monotonic()
    workspace = Workspace(ws)
    material = load_signing_material(workspace.keys_dir)
    try:
        catalog = load_catalog(workspace.config.controls_dirs)
    except CatalogError:  # a catalog being edited in the working tree
        catalog = None
    with open_store(workspace, write=False) as con:
        pack = build_pack(con, catalog, run_id, out, material, claimed_time=CLAIMED, force=True)
    elapsed = time.monotonic() - started
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_kb = me.ru_maxrss
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 1),
                "peak_rss_mb": round(self_kb / 1024),
                "cpu_seconds": round(me.ru_utime + me.ru_stime, 1),
                "children_cpu_seconds": round(kids.ru_utime + kids.ru_stime, 1),
                "workbook_rows": pack.workbook_rows,
                "evidence_rows": pack.evidence_rows,
                "statements": pack.workbook_statements,
                "timings": pack.timings,
            }
        )
    )


class TreeMemory:
    """Peak of the summed RSS of a process and all its descendants (Linux /proc).

    ``ru_maxrss`` of a child counts the pages it shared with its parent at
    fork, so it cannot tell what the PDF render or a CSV worker really used.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    todo += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    continue
        return pids

    def _rss_kb(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._done.wait(0.1):
            total = sum(self._rss_kb(p) for p in self._tree())
            self.peak_mb = max(self.peak_mb, total // 1024)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _pdf_pages(pdf: Path) -> str:
    if shutil.which("pdfinfo") is None:
        return "?"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False)
    for line in info.stdout.splitlines():
        if line.startswith("Pages:"):
            return line.split()[-1]
    return "?"


def main() -> None:
    """Parse arguments, prepare the workspace, time the child."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="workspace folder to create or reuse")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.workspace, 2, args.out)
        return
    tmp = Path(tempfile.mkdtemp(prefix="auditkit-bench-report-"))
    try:
        ws = args.keep or tmp / "ws"
        if not (ws / "auditkit.duckdb").exists():
            t0 = time.monotonic()
            make_workspace(ws)
            add_synthetic_run(ws, args.findings)
            print(
                f"workspace with {args.findings:,} findings built in "
                f"{time.monotonic() - t0:.1f} s: {ws}"
            )
        out = tmp / "pack"
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", "--workspace", str(ws), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        tree = TreeMemory(proc.pid)
        stdout, stderr = proc.communicate()
        tree.stop()
        wall = time.monotonic() - started
        if proc.returncode != 0:
            sys.exit(f"report failed:\n{stderr}")
        figures = json.loads(stdout.strip().splitlines()[-1])
        pdf = out / "report.pdf"
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}"
        )
        print(f"findings: {args.findings:,}")
        print(
            f"report: {figures['seconds']} s inside the child, {wall:.1f} s with interpreter start"
        )
        print(
            f"CPU time: report process {figures['cpu_seconds']} s, "
            f"children {figures['children_cpu_seconds']} s"
        )
        print(
            f"peak RSS: report process {figures['peak_rss_mb']} MB; whole process tree "
            f"(report + PDF render + CSV workers, sampled every 0.1 s) {tree.peak_mb} MB"
        )
        print(f"report.pdf: {pdf.stat().st_size / 1024:.0f} KB, {_pdf_pages(pdf)} pages")
        print(
            f"workbook.xlsx: {(out / 'workbook.xlsx').stat().st_size / 1e6:.1f} MB, "
            f"rows {figures['workbook_rows']}"
        )
        print(f"pack: {size / 1e6:.0f} MB in total")
        print("steps (s): " + ", ".join(f"{k} {v}" for k, v in figures["timings"].items()))
        for line in figures["statements"]:
            print(f"  {line}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
