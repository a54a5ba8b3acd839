"""Writing one check's rows into a run: the row contract, exceptions and storage.

The engine runs a check's SQL into a TEMP table; this module verifies the row
contract (columns, statuses, unique resources), applies the exceptions register
(matched by resource or fingerprint, active on the as-of date) and stores the
rows and the check's counts. It also records how each exception fared.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from auditkit.errors import CheckExecutionError
from auditkit.evaluate.catalog import CONTRACT_COLUMNS, ROW_STATUSES, Check
from auditkit.evaluate.outcomes import CheckOutcome
from auditkit.evaluate.register_usage import unmatched_exception_why
from auditkit.evaluate.registers import Registers
from auditkit.evaluate.rollup import CheckState, ItemFact
from auditkit.store import first_row

ROWS_TABLE = "_auditkit_check_rows"


def stage_exceptions(con: duckdb.DuckDBPyConnection, registers: Registers, as_of: dt.date) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _auditkit_exceptions "
        "(exception_id VARCHAR, check_id VARCHAR, "
        "kind VARCHAR, resource VARCHAR, fingerprint VARCHAR, active BOOLEAN, requirement VARCHAR)"
    )
    for e in registers.exceptions:
        con.execute(
            "INSERT INTO _auditkit_exceptions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [e.id, e.check, e.kind, e.resource, e.fingerprint, e.active_on(as_of), e.requirement],
        )


def validate_rows(con: duckdb.DuckDBPyConnection, check: Check) -> None:
    placeholders = ", ".join("?" * len(ROW_STATUSES))
    columns = [r[0] for r in con.execute(f"DESCRIBE {ROWS_TABLE}").fetchall()]
    missing = [c for c in (*CONTRACT_COLUMNS, *check.evidence_columns) if c not in columns]
    if missing:
        raise CheckExecutionError(
            check.id, f"result lacks column(s) {', '.join(missing)}", path=check.sql_path
        )
    bad = first_row(
        con.execute(
            f"""
        SELECT
            count(*) FILTER (resource IS NULL OR reason IS NULL),
            count(*) FILTER (status IS NULL OR status NOT IN ({placeholders})),
            (SELECT count(*) FROM (
                SELECT resource FROM {ROWS_TABLE} GROUP BY resource HAVING count(*) > 1))
        FROM {ROWS_TABLE}
        """,
            list(ROW_STATUSES),
        )
    )
    assert bad is not None
    if bad[0]:
        raise CheckExecutionError(
            check.id, f"{bad[0]} row(s) without resource or reason", path=check.sql_path
        )
    if bad[1]:
        raise CheckExecutionError(
            check.id,
            f"{bad[1]} row(s) with a status other than {', '.join(ROW_STATUSES)}",
            path=check.sql_path,
        )
    if bad[2]:
        raise CheckExecutionError(
            check.id,
            f"{bad[2]} resource key(s) appear on several rows; "
            "a check returns one row per population item",
            path=check.sql_path,
        )


def store_results(con: duckdb.DuckDBPyConnection, run_id: int, check: Check) -> None:
    columns = {r[0] for r in con.execute(f"DESCRIBE {ROWS_TABLE}").fetchall()}
    evidence = ", ".join(f'"{c}" := q."{c}"' for c in check.evidence_columns)
    evidence_sql = f"to_json(struct_pack({evidence}))" if evidence else "NULL"
    severity_sql = "coalesce(q.severity, ?)" if "severity" in columns else "?"
    requirement_sql = "CAST(q.requirement AS VARCHAR)" if "requirement" in columns else "NULL"
    con.execute(
        f"""
        INSERT INTO run_results BY POSITION
        WITH q AS (
            SELECT *, sha256(? || chr(10) || resource) AS fp FROM {ROWS_TABLE}
        ),
        matched AS (
            SELECT q.resource, min(e.exception_id) AS exception_id
            FROM q JOIN _auditkit_exceptions e
              ON e.check_id = ? AND e.active AND q.status = 'fail'
             AND (e.resource = q.resource OR e.fingerprint = q.fp)
            GROUP BY q.resource
        )
        SELECT ?, ?, q.resource,
            CASE WHEN m.exception_id IS NOT NULL THEN 'excepted' ELSE q.status END,
            q.reason, {severity_sql}, q.fp, q.source_sha256, q.locator, {evidence_sql},
            m.exception_id, {requirement_sql}
        FROM q LEFT JOIN matched m USING (resource)
        ORDER BY q.resource
        """,
        [check.id, check.id, run_id, check.id, check.severity],
    )


def check_state(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    check_id: str,
    reason: str,
    requirements: set[str],
    blocked: str = "",
) -> CheckState:
    """What the roll-up needs about one evaluated check: its failing and excepted items.

    Each item keeps the requirement its row names (it counts only there), and for an excepted
    item the exception's kind and the requirement the exception names: a compensating-control
    worksheet or a false-positive finding for one requirement covers the item there only.
    A row naming a requirement the framework does not map to this check (a custom framework)
    counts towards every mapped requirement, so it can never drop out of sight. ``blocked`` is
    the reason supplementary data was missing: then no requirement can pass on this check.
    """
    rows = con.execute(
        """
        SELECT r.resource, r.status, coalesce(r.requirement, ''), coalesce(e.kind, ''),
            coalesce(e.requirement, '')
        FROM run_results r LEFT JOIN _auditkit_exceptions e ON e.exception_id = r.exception_id
        WHERE r.run_id = ? AND r.check_id = ? AND r.status IN ('fail', 'excepted')
        ORDER BY r.resource
        """,
        [run_id, check_id],
    ).fetchall()
    items = tuple(
        ItemFact(str(res), str(status), req if req in requirements else "", str(kind), str(exc))
        for res, status, req, kind, exc in rows
    )
    return CheckState(check_id, "evaluated", reason, items=items, blocked=blocked)


def store_check(con: duckdb.DuckDBPyConnection, run_id: int, check: Check, o: CheckOutcome) -> None:
    con.execute(
        "INSERT INTO run_checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            check.id,
            check.title,
            check.severity,
            o.state,
            o.reason,
            o.population,
            o.passed,
            o.failed,
            o.excepted,
            o.not_applicable,
            json.dumps(o.params),
            check.sql_digest,
        ],
    )


def record_exceptions(
    con: duckdb.DuckDBPyConnection, run_id: int, registers: Registers, as_of: dt.date
) -> None:
    for e in registers.exceptions:
        row = first_row(
            con.execute(
                "SELECT count(*) FROM run_results WHERE run_id = ? AND exception_id = ?",
                [run_id, e.id],
            )
        )
        matched = int(row[0]) if row else 0
        why = ""
        if as_of > e.expires:
            state, why = "expired", f"expired on {e.expires}"
        elif as_of < e.approved_on:
            state, why = "not yet approved", f"approved on {e.approved_on}, after the as-of date"
        else:
            state = "applied" if matched else "unmatched"
            if not matched:
                why = unmatched_exception_why(con, run_id, e.check, e.resource, e.fingerprint)
        if state in ("expired", "not yet approved"):
            # An exception that no longer applies still names the items it would cover.
            hit = first_row(
                con.execute(
                    "SELECT count(*) FROM run_results WHERE run_id = ? AND check_id = ? "
                    "AND status = 'fail' AND (resource = ? OR fingerprint = ?)",
                    [run_id, e.check, e.resource, e.fingerprint],
                )
            )
            matched = int(hit[0]) if hit else 0
        detail = {
            "kind": e.kind,
            "resource": e.resource,
            "fingerprint": e.fingerprint,
            "justification": e.justification,
            "approved_by": e.approved_by,
            "approved_on": e.approved_on.isoformat(),
            "expires": e.expires.isoformat(),
            "requirement": e.requirement,
            "worksheet": e.worksheet,
            "source_file": e.source_file,
            "locator": e.locator,
            "why": why,
        }
        con.execute(
            "INSERT INTO run_exceptions VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, e.id, e.check, state, matched, json.dumps(detail)],
        )
    for a in registers.attestations:
        con.execute(
            "INSERT INTO run_attestations VALUES (?, ?)",
            [run_id, json.dumps(a.__dict__, default=str)],
        )
