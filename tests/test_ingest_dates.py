"""Ingest says when a snapshot export (or an undated scan report) has no date, and which date
each one was given; a date given later makes it a dated snapshot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from tests.conftest import FIXTURES, CliRunner

SARIF = Path(__file__).resolve().parents[1] / "sample_data" / "scans" / "sarif"


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "mini", ws)
    return ws


def _files(out: str) -> dict[str, dict[str, object]]:
    return {Path(str(f["path"])).name: f for f in json.loads(out)["files"]}


def test_an_undated_snapshot_is_named_and_counts_until_dated(
    cli: CliRunner, tmp_path: Path
) -> None:
    ws = _workspace(tmp_path)
    res = cli("ingest", ws / "access", "-w", ws)
    assert res.code == 0, res.err
    assert "stored; UNDATED" in res.out
    for name in ("rbac.yaml", "users.csv"):
        assert f"warning: {ws / 'access' / name}: a snapshot export" in res.err
    assert "with no observation date: every evaluation counts it as in force" in res.err

    # Undated, it is in force for an evaluation as of any date, even before it was exported.
    ran = json.loads(cli("evaluate", "-w", ws, "--as-of", "2026-08-31", "--json").out)
    state = {c["check_id"]: c["state"] for c in ran["checks"]}
    assert state["rbac_wildcard_grants"] == "evaluated"

    res = cli("ingest", ws / "access", "-w", ws, "--observed-at", "2026-09-30", "--json")
    files = _files(res.out)
    assert files["rbac.yaml"]["snapshot"] is True
    assert files["rbac.yaml"]["observed_at"] == ["2026-09-30"]
    assert files["rbac.yaml"]["warning"] is None
    assert res.err == ""
    # Dated now: not in force before 2026-09-30, in force on it.
    ran = json.loads(cli("evaluate", "-w", ws, "--as-of", "2026-08-31", "--json").out)
    assert {c["check_id"]: c["state"] for c in ran["checks"]}["rbac_wildcard_grants"] == (
        "not_tested"
    )
    ran = json.loads(cli("evaluate", "-w", ws, "--as-of", "2026-09-30", "--json").out)
    assert {c["check_id"]: c["state"] for c in ran["checks"]}["rbac_wildcard_grants"] == (
        "evaluated"
    )
    table = cli("ingest", ws / "access" / "rbac.yaml", "-w", ws)
    assert "already present; observed 2026-09-30" in table.out


def test_a_dated_snapshot_says_its_date(cli: CliRunner, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    res = cli("ingest", ws / "access", "-w", ws, "--observed-at", "2026-06-30")
    assert res.code == 0
    assert res.out.count("stored; observed 2026-06-30") == 2
    assert "warning" not in res.err
    files = _files(cli("ingest", ws / "flows", "-w", ws, "--json").out)
    (flow,) = files.values()
    assert flow["snapshot"] is False and flow["warning"] is None


def test_an_undated_scan_report_is_named_and_can_be_dated(cli: CliRunner, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    res = cli("ingest", SARIF, "-w", ws, "--json")
    (sarif,) = _files(res.out).values()
    assert sarif["snapshot"] is False
    assert "does not say when the scan ran, so it counts in no period" in str(sarif["warning"])
    res = cli("ingest", SARIF, "-w", ws, "--observed-at", "2026-09-28", "--json")
    (sarif,) = _files(res.out).values()
    assert sarif["observed_at"] == ["2026-09-28"] and sarif["warning"] is None
    con = duckdb.connect(str(ws / "auditkit.duckdb"), read_only=True)
    try:
        dates = con.execute("SELECT DISTINCT CAST(scanned_at AS DATE) FROM scans").fetchall()
    finally:
        con.close()
    assert [str(d) for (d,) in dates] == ["2026-09-28"]
