"""A check's SQL can only read: one SELECT, run where it cannot write, within bounds.

Attack classes (see README.md): check SQL that closes the wrapping parenthesis
and runs more statements (rewriting stored runs, hiding rows behind a view),
data-changing statements inside a SELECT (a DML CTE), writes through
functions (``nextval``), tampering with the staged scope tables or with another
check's rows during a run, the same through a SQL library, and queries that
never end or exhaust memory and disk.

``controls lint`` and every command that loads the catalog reject the first
kinds (exit 2). Were one to slip past the parser, the run itself refuses it:
check SQL runs in a read-only transaction on its own connection (exit 3, the
check named, nothing stored).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditkit.evaluate import catalog as catalog_module
from auditkit.evaluate import sandbox as sandbox_module
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.conftest import CliRunner, use_mini_framework
from tests.test_engine import custom_controls, use_framework

ROW = "'x' AS resource, 'pass' AS status, 'r' AS reason, NULL AS source_sha256, NULL AS locator"
PLAIN = f"SELECT {ROW}"


def _closing(payload: str) -> str:
    """SQL that ends the engine's old ``SELECT * FROM (...)`` wrapper and runs ``payload``."""
    return f"SELECT {ROW}\n) ; {payload} ; SELECT * FROM (SELECT {ROW}"


ATTACKS = {
    "close-paren-update-runs": _closing("UPDATE run_results SET status = 'pass'"),
    "close-paren-hide-users": _closing(
        "ALTER TABLE users RENAME TO users_all ; "
        "CREATE VIEW users AS SELECT * FROM users_all WHERE user_id <> 'u-alice'"
    ),
    "two-statements": f"{PLAIN}; DELETE FROM run_results",
    "dml-in-cte": f"WITH gone AS (DELETE FROM run_results RETURNING 1) SELECT {ROW}",
    "dml-in-subquery": (
        f"SELECT {ROW} FROM (SELECT 1) WHERE 1 IN "
        "(WITH x AS (UPDATE run_results SET status = 'pass' RETURNING 1) SELECT * FROM x)"
    ),
    "scope-tamper": f"WITH gone AS (DELETE FROM scope_namespaces RETURNING 1) SELECT {ROW}",
    # The declarations main stages for its checks (break-glass identities, approved
    # registries, developers, the admission snapshot) are inputs of other checks too.
    "break-glass-tamper": (
        "WITH x AS (INSERT INTO break_glass VALUES ('system:masters', 'j', 'r') RETURNING 1) "
        f"SELECT {ROW}"
    ),
    "registries-tamper": (
        f"WITH x AS (INSERT INTO approved_registries VALUES ('*', '*') RETURNING 1) SELECT {ROW}"
    ),
    "policy-snapshot-tamper": (
        f"WITH x AS (DELETE FROM current_policy_sources RETURNING 1) SELECT {ROW}"
    ),
    "nextval": (
        "SELECT nextval('run_id_seq')::VARCHAR AS resource, 'pass' AS status, 'r' AS reason, "
        "NULL AS source_sha256, NULL AS locator"
    ),
    "dynamic-sql": f"SELECT * FROM query('SELECT {ROW.replace(chr(39), chr(39) * 2)}')",
    "not-a-select": "CREATE TABLE stolen AS SELECT * FROM users",
    "pragma": "PRAGMA version",
}


def _store_state(cli: CliRunner, ws: Path) -> tuple[object, ...]:
    """Everything an attack could change: stored results, sequences, the store's objects."""
    with open_store(Workspace(ws), write=False) as con:
        results = con.execute(
            "SELECT run_id, check_id, status, count(*) FROM run_results GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        checks = con.execute("SELECT * FROM run_checks ORDER BY run_id, check_id").fetchall()
        objects = con.execute(
            "SELECT database_name, schema_name, table_name, estimated_size FROM duckdb_tables() "
            "WHERE NOT temporary UNION ALL SELECT database_name, schema_name, view_name, NULL "
            "FROM duckdb_views() WHERE NOT internal AND NOT temporary ORDER BY ALL"
        ).fetchall()
        users = con.execute("SELECT count(*) FROM users").fetchall()
    return tuple(results), tuple(checks), tuple(objects), tuple(users)


def _users_seen(cli: CliRunner, ws: Path) -> int:
    run = json.loads(cli("evaluate", "-w", ws, "--json").out)
    check = next(c for c in run["checks"] if c["check_id"] == "users_inactive_accounts")
    return int(check["population"])


@pytest.fixture
def evaluated(cli: CliRunner, mini_workspace: Path) -> Path:
    """The mini workspace with one run of the built-in mini framework."""
    (mini_workspace / "pristine.toml").write_text((mini_workspace / "auditkit.toml").read_text())
    use_mini_framework(mini_workspace)
    assert cli("evaluate", "-w", mini_workspace).code in (0, 1)
    return mini_workspace


def _attack_workspace(ws: Path, tmp_path: Path, name: str, sql: str) -> Path:
    controls = custom_controls(
        tmp_path / f"evil-{name}",
        {"custom_evil": sql},
        [{"id": "C-1", "title": "x", "checks": ["custom_evil"]}],
    )
    (ws / "auditkit.toml").write_text((ws / "pristine.toml").read_text())
    use_framework(ws, controls)
    return controls


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_lint_and_evaluate_reject_check_sql_that_is_not_one_read_only_select(
    name: str, cli: CliRunner, evaluated: Path, tmp_path: Path
) -> None:
    before = _store_state(cli, evaluated)
    controls = _attack_workspace(evaluated, tmp_path, name, ATTACKS[name])
    lint = cli("controls", "lint", "--controls", controls)
    assert lint.code == 2, lint.out + lint.err
    assert "custom_evil.sql" in lint.out + lint.err
    assert "read-only SELECT" in lint.out + lint.err
    res = cli("evaluate", "-w", evaluated)
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    assert _store_state(cli, evaluated) == before


@pytest.mark.parametrize(
    "name",
    [
        "close-paren-update-runs",
        "dml-in-cte",
        "dml-in-subquery",
        "scope-tamper",
        "nextval",
    ],
)
def test_the_run_refuses_writes_even_past_the_parser(
    name: str,
    cli: CliRunner,
    evaluated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: with the statement check switched off, the read-only
    transaction still stops every write (exit 3, the check named)."""
    monkeypatch.setattr(catalog_module, "select_problem", lambda sql: None)
    monkeypatch.setattr(sandbox_module, "select_problem", lambda sql: None)
    before = _store_state(cli, evaluated)
    _attack_workspace(evaluated, tmp_path, name, ATTACKS[name])
    res = cli("evaluate", "-w", evaluated)
    assert res.code == 3, res.err
    assert "custom_evil" in res.err and "Traceback" not in res.err
    assert _store_state(cli, evaluated) == before


def test_hiding_users_behind_a_view_cannot_change_later_runs(
    cli: CliRunner,
    evaluated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    users = _users_seen(cli, evaluated)
    cfg = evaluated / "auditkit.toml"
    original = cfg.read_text()
    monkeypatch.setattr(catalog_module, "select_problem", lambda sql: None)
    monkeypatch.setattr(sandbox_module, "select_problem", lambda sql: None)
    _attack_workspace(evaluated, tmp_path, "hide", ATTACKS["close-paren-hide-users"])
    assert cli("evaluate", "-w", evaluated).code == 3
    monkeypatch.undo()
    cfg.write_text(original)
    assert _users_seen(cli, evaluated) == users


def test_library_sql_is_held_to_the_same_rule(
    cli: CliRunner, evaluated: Path, tmp_path: Path
) -> None:
    before = _store_state(cli, evaluated)
    controls = _attack_workspace(evaluated, tmp_path, "lib", PLAIN)
    (controls / "lib").mkdir()
    (controls / "lib" / "evil_lib.sql").write_text(
        "SELECT 1 AS x) ; UPDATE run_results SET status = 'pass' ; SELECT * FROM (SELECT 1 AS x"
    )
    lint = cli("controls", "lint", "--controls", controls)
    assert lint.code == 2 and "evil_lib.sql" in lint.out + lint.err
    assert cli("evaluate", "-w", evaluated).code == 2
    assert _store_state(cli, evaluated) == before


def test_a_plain_custom_check_still_runs(cli: CliRunner, evaluated: Path, tmp_path: Path) -> None:
    sql = (
        "-- one row per user\nWITH u AS (SELECT * FROM current_users)\n"
        "SELECT 'user:' || user_id AS resource, 'pass' AS status, 'ok' AS reason, "
        "source_sha256, locator FROM u;\n"
    )
    controls = _attack_workspace(evaluated, tmp_path, "fine", sql)
    assert cli("controls", "lint", "--controls", controls).code == 0
    res = cli("evaluate", "-w", evaluated, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["checks"][0]["population"] > 0


# -- bounds ----------------------------------------------------------------------------------


def _bounded(ws: Path, **store: str) -> None:
    cfg = ws / "auditkit.toml"
    lines = "\n".join(f"{k} = {v}" for k, v in store.items())
    cfg.write_text(cfg.read_text() + f"\n[store]\n{lines}\n")


def test_a_check_that_runs_too_long_is_stopped_naming_the_check(
    cli: CliRunner, evaluated: Path, tmp_path: Path
) -> None:
    before = _store_state(cli, evaluated)
    sql = (
        "SELECT 'x' AS resource, 'pass' AS status, count(*)::VARCHAR AS reason, "
        "NULL AS source_sha256, NULL AS locator FROM range(100000000000)"
    )
    _attack_workspace(evaluated, tmp_path, "slow", sql)
    _bounded(evaluated, check_timeout_seconds="2")
    res = cli("evaluate", "-w", evaluated)
    assert res.code == 3, res.err
    assert "custom_evil" in res.err
    assert "time limit of 2 s" in res.err and "check_timeout_seconds" in res.err
    assert _store_state(cli, evaluated) == before


def test_a_check_that_exhausts_memory_and_spill_is_stopped_naming_the_check(
    cli: CliRunner, evaluated: Path, tmp_path: Path
) -> None:
    before = _store_state(cli, evaluated)
    sql = (
        "SELECT md5(range::VARCHAR) || repeat('x', 200) AS resource, 'pass' AS status, "
        "'r' AS reason, NULL AS source_sha256, NULL AS locator FROM range(3000000) "
        "ORDER BY resource DESC"
    )
    _attack_workspace(evaluated, tmp_path, "big", sql)
    _bounded(evaluated, check_memory_limit='"64MB"', check_temp_limit='"64MB"')
    res = cli("evaluate", "-w", evaluated)
    assert res.code == 3, res.err
    assert "custom_evil" in res.err and "Traceback" not in res.err
    assert "memory" in res.err and "check_memory_limit" in res.err
    assert _store_state(cli, evaluated) == before
    spill = evaluated / ".auditkit" / "tmp"
    assert sum(f.stat().st_size for f in spill.rglob("*") if f.is_file()) < 100 << 20


def test_bounds_are_validated(cli: CliRunner, evaluated: Path) -> None:
    _bounded(evaluated, check_timeout_seconds='"soon"')
    res = cli("evaluate", "-w", evaluated)
    assert res.code == 2 and "check_timeout_seconds" in res.err
