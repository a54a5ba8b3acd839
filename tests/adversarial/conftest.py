"""Hostile inputs through the real CLI: a fresh workspace, a table snapshot and checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from auditkit.store import init_workspace, open_store
from auditkit.workspace import Workspace
from tests.conftest import CliResult, CliRunner

# Every table an ingest can write to.
DATA_TABLES = (
    "sources",
    "quarantine",
    "runtime_alerts",
    "k8s_audit_events",
    "flows",
    "rbac_roles",
    "rbac_rules",
    "rbac_bindings",
    "service_accounts",
    "network_policies",
    "k8s_objects",
    "users",
    "vulnerabilities",
)

Snapshot = Callable[[], dict[str, int]]
Ingest = Callable[..., CliResult]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """An initialised, empty workspace."""
    return init_workspace(
        tmp_path / "ws",
        organisation="Adversarial Ltd",
        entity_type="merchant",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
    )


@pytest.fixture
def counts(ws: Workspace) -> Snapshot:
    """Row counts of every data table (read through a read-only connection)."""

    def snapshot() -> dict[str, int]:
        with open_store(ws, write=False) as con:
            return {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in DATA_TABLES
            }

    return snapshot


@pytest.fixture
def ingest(cli: CliRunner, ws: Workspace) -> Ingest:
    """``ingest(path, *options)`` runs ``auditkit ingest path -w WS options``."""

    def run(*args: str | Path) -> CliResult:
        return cli("ingest", *args, "-w", ws.root)

    return run


def error_line(result: CliResult) -> str:
    """The single ``error:`` line on stderr (and no traceback)."""
    assert "Traceback" not in result.err, result.err
    errors = [ln for ln in result.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.err
    return errors[0]


def assert_rejected(
    result: CliResult, path: Path, *, location: str | None = None, reason: str = ""
) -> str:
    """Exit 2 and exactly one error line naming the file (and location) and the reason."""
    assert result.code == 2, (result.out, result.err)
    line = error_line(result)
    assert str(path) in line, line
    if location is not None:
        assert f"{path}:{location}:" in line or f" {location}: " in line, line
    assert reason.lower() in line.lower(), line
    return line
