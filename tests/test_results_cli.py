"""`auditkit results`: a stored run's items, read-only, filtered, streamed as JSON or CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from auditkit.workspace import Workspace
from tests.conftest import CliRunner
from tests.test_engine import custom_controls, use_framework

Demo = tuple[Path, Path, dict[str, object]]

# A check whose items carry hostile text and several supporting records.
HOSTILE_SQL = """
SELECT * FROM (VALUES
    ('=HYPERLINK("http://x")', 'fail', 'formula in the key', 'supporting', 'line:1',
     ['vpc a.log: 1 record(s) at line:1', 'zeek b.log: 2 record(s) at line:4, line:9']),
    ('user:ok', 'pass', 'colour ' || chr(27) || '[31mred and ' || chr(8238), NULL,
     'absent:nothing', NULL),
    ('user:na', 'not_applicable', '@SUM(1)', NULL, 'absent:nothing', NULL)
) AS t(resource, status, reason, source_sha256, locator, supporting_records)
"""


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hostile(cli: CliRunner, mini_workspace: Path, tmp_path: Path) -> Path:
    controls = custom_controls(
        tmp_path / "controls",
        {"hostile_items": HOSTILE_SQL},
        [{"id": "H.1", "title": "Hostile", "checks": ["hostile_items"]}],
        extra={"hostile_items": "evidence_columns: [supporting_records]"},
    )
    text = (controls / "checks" / "custom" / "hostile_items.yaml").read_text()
    (controls / "checks" / "custom" / "hostile_items.yaml").write_text(
        text.replace("evidence_columns: []\n", "")
    )
    use_framework(mini_workspace, controls)
    assert cli("evaluate", "-w", mini_workspace).code == 0
    return mini_workspace


def test_json_streams_an_array_of_items_with_records(cli: CliRunner, hostile: Path) -> None:
    res = cli("results", "-w", hostile, "--json")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"  # one item per line, a valid array
    items = json.loads(res.out)
    assert [i["status"] for i in items] == ["fail", "pass", "not_applicable"]
    bad = items[0]
    assert bad["resource"] == '=HYPERLINK("http://x")'
    assert bad["supporting_records"] == [
        "vpc a.log: 1 record(s) at line:1",
        "zeek b.log: 2 record(s) at line:4, line:9",
    ]
    assert bad["evidence"]["supporting_records"] == bad["supporting_records"]
    assert bad["fingerprint"] and bad["run_id"] == 1 and bad["check_id"] == "hostile_items"
    assert bad["evidence_ref"].startswith("EV-")  # the check's population, as the run numbered it
    assert items[1]["supporting_records"] is None


def test_csv_defuses_formulas_and_keeps_every_record(cli: CliRunner, hostile: Path) -> None:
    res = cli("results", "-w", hostile, "--csv")
    assert res.code == 0, res.err
    rows = list(csv.DictReader(io.StringIO(res.out)))
    assert rows[0]["resource"] == '\'=HYPERLINK("http://x")'
    assert rows[2]["reason"] == "'@SUM(1)"
    assert rows[0]["supporting_records"].splitlines() == [
        "vpc a.log: 1 record(s) at line:1",
        "zeek b.log: 2 record(s) at line:4, line:9",
    ]


def test_table_escapes_terminal_controls(cli: CliRunner, hostile: Path) -> None:
    res = cli("results", "-w", hostile, "--status", "pass")
    assert res.code == 0, res.err
    assert "\x1b" not in res.out and "\u202e" not in res.out
    assert "\\x1b" in res.out and "\\u202e" in res.out
    assert "1 item(s) in run 1" in res.err


def test_results_is_read_only(cli: CliRunner, hostile: Path) -> None:
    before = _hash(hostile / "auditkit.duckdb")
    with Workspace(hostile).lock(exclusive=False):  # another reader holds the shared lock
        res = cli("results", "-w", hostile, "--json")
    assert res.code == 0, res.err
    assert _hash(hostile / "auditkit.duckdb") == before


def test_filters_limit_and_errors(cli: CliRunner, hostile: Path) -> None:
    res = cli("results", "-w", hostile, "--status", "fail,not-applicable", "--json")
    assert [i["status"] for i in json.loads(res.out)] == ["fail", "not_applicable"]
    res = cli("results", "-w", hostile, "--limit", "1")
    assert "1 of 3 item(s) shown" in res.err
    assert json.loads(cli("results", "-w", hostile, "--json", "--limit", "0").out)[2]
    for args, message in [
        (("--run", "9"), "no run 9"),
        (("--check", "nope"), "run 1 did not evaluate a check 'nope'"),
        (("--requirement", "99.9"), "run 1 has no requirement '99.9'"),
        (("--status", "failed"), "unknown status 'failed'"),
        (("--json", "--csv"), "choose one of --json and --csv"),
    ]:
        res = cli("results", "-w", hostile, *args)
        assert res.code == 2, (args, res.out)
        assert message in res.err


def test_batches_keep_order(cli: CliRunner, hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("auditkit.history.items.BATCH", 1)
    items = json.loads(cli("results", "-w", hostile, "--json").out)
    assert [i["resource"] for i in items] == ['=HYPERLINK("http://x")', "user:ok", "user:na"]


def test_evidence_references_when_the_store_has_them(cli: CliRunner, hostile: Path) -> None:
    con = duckdb.connect(str(hostile / "auditkit.duckdb"), read_only=True)
    refs = dict(
        con.execute(
            "SELECT key, ref FROM run_evidence WHERE run_id = 1 AND kind = 'check population'"
        ).fetchall()
    )
    sources = dict(
        con.execute(
            "SELECT key, ref FROM run_evidence WHERE run_id = 1 AND kind = 'source file'"
        ).fetchall()
    )
    con.close()
    items = json.loads(cli("results", "-w", hostile, "--json").out)
    assert items and all(i["evidence_ref"] == refs["hostile_items"] for i in items)
    for i in items:
        assert i["source_ref"] == sources.get(i["source_sha256"])
    table = cli("results", "-w", hostile).out
    assert refs["hostile_items"] in table


def test_demo_requirement_filter_and_records(cli: CliRunner, demo_pack: Demo) -> None:
    _, ws, _ = demo_pack
    items = json.loads(cli("results", "-w", ws, "--requirement", "11.4.6", "--json").out)
    keys = {(i["check_id"], i["resource"]) for i in items}
    # A row naming 11.4.5 does not evidence 11.4.6.
    assert ("attest_segmentation_test", "requirement 11.4.6") in keys
    assert ("attest_segmentation_test", "requirement 11.4.5") not in keys
    assert {c for c, _ in keys} <= {"attest_segmentation_test", "flow_segmentation_out_of_scope"}
    flows = json.loads(
        cli(
            "results",
            "-w",
            ws,
            "--check",
            "flow_cde_inbound_unapproved",
            "--status",
            "fail",
            "--json",
        ).out
    )
    assert flows and all(i["status"] == "fail" and i["run_id"] == 2 for i in flows)
    assert all(i["source_file"] and i["locator"].startswith("line:") for i in flows)
    # Attestation rows lead to their register file.
    reviews = json.loads(
        cli("results", "-w", ws, "--run", "1", "--check", "attest_daily_log_review", "--json").out
    )
    assert reviews[0]["source_file"].startswith("attestations/")
    res = cli("results", "-w", ws, "--check", "workload_runs_as_root", "--run", "1")
    assert res.code == 0


def test_not_tested_checks_are_named(cli: CliRunner, mini_workspace: Path) -> None:
    assert cli("evaluate", "-w", mini_workspace).code == 0
    res = cli("results", "-w", mini_workspace, "--check", "workload_runs_as_root", "--json")
    assert res.code == 0 and json.loads(res.out) == []
    assert "workload_runs_as_root was not tested in run 1:" in res.err


def test_a_closed_pipe_ends_quietly(cli: CliRunner, demo_pack: Demo, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(demo_pack[1], ws)
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditkit", "results", "-w", str(ws), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip() == b"["
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "internal error" not in err


def test_table_points_to_the_other_records(cli: CliRunner, hostile: Path) -> None:
    res = cli("results", "-w", hostile, "--status", "fail")
    assert res.code == 0, res.err
    assert "and records in 1 more file(s)" in " ".join(res.out.split())
