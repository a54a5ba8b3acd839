"""init -> ingest -> evaluate -> keygen -> report -> verify, in a temporary folder."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, CliRunner


@pytest.fixture
def pack(cli: CliRunner, tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    res = cli(
        "init",
        ws,
        "--org",
        "Mini Test Payments",
        "--entity-type",
        "service_provider",
        "--period-start",
        "2026-07-01",
        "--period-end",
        "2026-09-30",
    )
    assert res.code == 0, res.err
    cfg = ws / "auditkit.toml"
    cfg.write_text((FIXTURES / "mini" / "auditkit.toml").read_text())
    (ws / "approved-flows.yaml").write_text((FIXTURES / "mini" / "approved-flows.yaml").read_text())
    mini = FIXTURES / "mini"
    res = cli("ingest", mini / "scans", mini / "runtime", mini / "flows", "-w", ws, "--json")
    assert res.code == 0, res.err
    files = json.loads(res.out)["files"]
    assert {f["format"] for f in files} == {"trivy-json", "k8s-audit", "aws-vpc-flow"}
    assert all(f["status"] == "stored" for f in files)
    res = cli("ingest", mini / "access", "--observed-at", "2026-09-30", "-w", ws)
    assert res.code == 0, res.err
    res = cli("evaluate", "-w", ws, "--json")
    assert res.code == 0, res.err
    run = json.loads(res.out)
    assert run["run_id"] == 1
    assert res.code == 0
    res = cli("keygen", "-w", ws)
    assert res.code == 0, res.err
    out = tmp_path / "pack"
    res = cli("report", "--run", "1", "--out", out, "-w", ws)
    assert res.code == 0, res.err
    return ws, out


def test_pack_has_every_part_and_verifies(cli: CliRunner, pack: tuple[Path, Path]) -> None:
    ws, out = pack
    for name in (
        "report.pdf",
        "workbook.xlsx",
        "manifest.dsse.json",
        "VERIFY.md",
        "keys/manifest-signing-key.pub.pem",
        "keys/pdf-signing-chain.pem",
        "evidence/sources.csv",
        "evidence/vuln_critical_patch_window/exceptions_noted.csv",
        "evidence/vuln_critical_patch_window/population.parquet",
    ):
        assert (out / name).is_file(), name
    # Private keys never enter a pack; on disk they are 0600.
    assert not any(
        "pem" in p.name and "pub" not in p.name and "chain" not in p.name for p in out.rglob("*")
    )
    for key in (ws / ".auditkit" / "keys").glob("*-key.pem"):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    res = cli("verify", out)
    assert res.code == 0, res.out + res.err
    assert "INTERNALLY CONSISTENT, SIGNER NOT PINNED" in res.out
    trusted = cli(
        "verify",
        out,
        "--trust",
        ws / ".auditkit" / "keys" / "manifest-signing-key.pub.pem",
        "--json",
    )
    assert trusted.code == 0
    assert json.loads(trusted.out)["ok"] is True
    assert json.loads(trusted.out)["verdict"] == "verified"


def test_changing_one_byte_of_the_workbook_fails_verification(
    cli: CliRunner, pack: tuple[Path, Path]
) -> None:
    _, out = pack
    path = out / "workbook.xlsx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    res = cli("verify", out, "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert doc["ok"] is False
    failed = {c["name"] for c in doc["checks"] if not c["ok"]}
    assert "digests" in failed


def test_verify_of_a_missing_pack_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    res = cli("verify", tmp_path / "nothing-here")
    assert res.code == 2


def test_report_of_unknown_run_is_a_clear_error(
    cli: CliRunner, pack: tuple[Path, Path], tmp_path: Path
) -> None:
    ws, _ = pack
    res = cli("report", "--run", "99", "--out", tmp_path / "p2", "-w", ws)
    assert res.code == 2
    assert "no run 99" in res.err


def test_report_without_keys_says_how_to_make_them(
    cli: CliRunner, mini_workspace: Path, tmp_path: Path
) -> None:
    assert cli("evaluate", "-w", mini_workspace).code == 0
    res = cli("report", "--run", "1", "--out", tmp_path / "p", "-w", mini_workspace)
    assert res.code == 2
    assert "auditkit keygen" in res.err
    assert not (tmp_path / "p").exists()


def test_unchanged_snapshot_counts_for_a_later_date(cli: CliRunner, mini_workspace: Path) -> None:
    """The same export bytes observed again later are the later snapshot too."""
    ws = mini_workspace
    res = cli("evaluate", "-w", ws, "--as-of", "2026-10-15", "--json")
    checks = {c["check_id"]: c for c in json.loads(res.out)["checks"]}
    assert checks["rbac_cluster_admin_bindings"]["state"] == "evaluated"
    res = cli("ingest", ws / "access", "--observed-at", "2026-12-31", "-w", ws, "--json")
    assert res.code == 0
    files = json.loads(res.out)["files"]
    assert all(f["status"] == "already present" and f["observation_recorded"] for f in files)
    res = cli("evaluate", "-w", ws, "--as-of", "2027-01-05", "--json")
    checks = {c["check_id"]: c for c in json.loads(res.out)["checks"]}
    assert checks["rbac_cluster_admin_bindings"]["failed"] == 1


def test_scan_without_its_own_time_takes_the_declared_date(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert cli("init", ws, "--org", "X").code == 0
    report = tmp_path / "k8s.json"
    report.write_text(
        json.dumps(
            {
                "ClusterName": "prod",
                "Resources": [
                    {"Namespace": "payments", "Kind": "Deployment", "Name": "api", "Results": []}
                ],
            }
        )
    )
    assert cli("ingest", report, "--observed-at", "2026-09-28", "-w", ws).code == 0
    import duckdb

    with duckdb.connect(str(ws / "auditkit.duckdb"), read_only=True) as con:
        (scanned,) = con.execute("SELECT DISTINCT scanned_at FROM scans").fetchall()
    assert str(scanned[0]) == "2026-09-28 00:00:00"
