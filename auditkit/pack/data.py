"""Read one stored run back from the store as the data every pack output shares.

The PDF gets summaries and bounded samples (``SAMPLE_PER_CHECK`` findings per
check); the workbook and the evidence files stream the full rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

from auditkit.catalog import Catalog
from auditkit.errors import NotFoundError

SAMPLE_PER_CHECK = 25


@dataclass
class CheckView:
    """A check's outcome with what the report shows about it."""

    id: str
    title: str
    severity: str
    state: str
    reason: str
    population: int
    passed: int
    failed: int
    excepted: int
    not_applicable: int
    params: dict[str, Any]
    description: str = ""
    remediation: str = ""
    evidence_columns: tuple[str, ...] = ()
    sample: list[dict[str, Any]] = field(default_factory=list)
    excepted_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RequirementView:
    """A requirement's result and its checks."""

    id: str
    title: str
    result: str
    basis: str
    compensating_control: bool
    customized_approach: bool
    checks: list[CheckView]
    attestations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunReport:
    """Everything about one run that the pack presents."""

    run_id: int
    created_at: dt.datetime
    as_of: dt.date
    period_start: dt.date
    period_end: dt.date
    framework_id: str
    framework_title: str
    framework_version: str
    catalog_digest: str
    config_digest: str
    tool_version: str
    organisation: str
    entity_type: str
    scope: dict[str, list[str]]
    inputs: list[dict[str, Any]]
    registers: dict[str, Any]
    label: str | None
    requirements: list[RequirementView]
    checks: dict[str, CheckView]
    sources: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    attestations: list[dict[str, Any]]
    severity_counts: dict[str, int]

    def counts(self) -> dict[str, int]:
        """Requirements per result."""
        out = {"In Place": 0, "Not in Place": 0, "Not Tested": 0, "Not Applicable": 0}
        for req in self.requirements:
            out[req.result] = out.get(req.result, 0) + 1
        return out

    def predicate_inputs(self) -> list[dict[str, str]]:
        """Input digests for the signed manifest."""
        return [
            {"path": i["path"], "sha256": i["sha256"], "format": i["format"]} for i in self.inputs
        ]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def load_run(
    con: duckdb.DuckDBPyConnection, run_id: int, catalog: Catalog | None = None
) -> RunReport:
    """Load a stored run. Raises NotFoundError for an unknown id."""
    runs = _rows(con, "SELECT * FROM runs WHERE run_id = ?", [run_id])
    if not runs:
        known = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        raise NotFoundError(f"no run {run_id}; stored runs: {', '.join(map(str, known)) or 'none'}")
    run = runs[0]
    checks: dict[str, CheckView] = {}
    for row in _rows(con, "SELECT * FROM run_checks WHERE run_id = ? ORDER BY check_id", [run_id]):
        meta = catalog.checks.get(row["check_id"]) if catalog else None
        view = CheckView(
            id=row["check_id"],
            title=row["title"],
            severity=row["severity"],
            state=row["state"],
            reason=row["reason"] or "",
            population=row["population"],
            passed=row["passed"],
            failed=row["failed"],
            excepted=row["excepted"],
            not_applicable=row["not_applicable"],
            params=json.loads(row["params"]),
            description=meta.description if meta else "",
            remediation=meta.remediation if meta else "",
            evidence_columns=meta.evidence_columns if meta else (),
        )
        checks[view.id] = view
    for row in _rows(
        con,
        """
        SELECT * FROM (
            SELECT r.*, s.path AS source_path,
                row_number() OVER (PARTITION BY r.check_id, r.status
                                   ORDER BY r.severity_rank, r.resource) AS n
            FROM (SELECT *, CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
                      WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END AS severity_rank
                  FROM run_results WHERE run_id = ? AND status IN ('fail', 'excepted')) r
            LEFT JOIN sources s USING (source_sha256)
        ) WHERE n <= ? ORDER BY check_id, status, n
        """,
        [run_id, SAMPLE_PER_CHECK],
    ):
        found = checks.get(row["check_id"])
        if found is None:
            continue
        item = {
            "resource": row["resource"],
            "status": row["status"],
            "reason": row["reason"],
            "severity": row["severity"],
            "fingerprint": row["fingerprint"],
            "source": row["source_path"],
            "source_sha256": row["source_sha256"],
            "locator": row["locator"],
            "exception_id": row["exception_id"],
            "evidence": json.loads(row["evidence"]) if row["evidence"] else {},
        }
        (found.sample if row["status"] == "fail" else found.excepted_items).append(item)
    attestations = [
        json.loads(r[0])
        for r in con.execute(
            "SELECT attestation FROM run_attestations WHERE run_id = ?", [run_id]
        ).fetchall()
    ]
    requirements = []
    for row in _rows(
        con, "SELECT * FROM run_requirements WHERE run_id = ? ORDER BY sort_key", [run_id]
    ):
        requirements.append(
            RequirementView(
                id=row["requirement"],
                title=row["title"],
                result=row["result"],
                basis=row["basis"],
                compensating_control=row["compensating_control"],
                customized_approach=row["customized_approach"],
                checks=[checks[c] for c in row["checks"] if c in checks],
                attestations=[
                    a for a in attestations if a.get("requirement") == row["requirement"]
                ],
            )
        )
    exceptions = []
    for row in _rows(
        con, "SELECT * FROM run_exceptions WHERE run_id = ? ORDER BY exception_id", [run_id]
    ):
        detail = json.loads(row["detail"])
        exceptions.append(
            {
                "id": row["exception_id"],
                "check": row["check_id"],
                "state": row["state"],
                "matched": row["matched"],
                **detail,
            }
        )
    inputs = json.loads(run["inputs"])
    input_shas = [i["sha256"] for i in inputs]
    sources = _rows(
        con,
        "SELECT source_sha256, path, format, family, records_stored, records_skipped, time_min, "
        "time_max, observed_at, size_bytes FROM sources WHERE list_contains(?, source_sha256) "
        "ORDER BY path, source_sha256",
        [input_shas],
    )
    sev = dict(
        con.execute(
            "SELECT severity, count(*) FROM run_results WHERE run_id = ? AND status = 'fail' "
            "GROUP BY severity",
            [run_id],
        ).fetchall()
    )
    framework_title = run["framework_id"]
    if catalog and run["framework_id"] in catalog.frameworks:
        framework_title = catalog.frameworks[run["framework_id"]].title
    return RunReport(
        run_id=run_id,
        created_at=run["created_at"],
        as_of=run["as_of"],
        period_start=run["period_start"],
        period_end=run["period_end"],
        framework_id=run["framework_id"],
        framework_title=framework_title,
        framework_version=run["framework_version"],
        catalog_digest=run["catalog_digest"],
        config_digest=run["config_digest"],
        tool_version=run["tool_version"],
        organisation=run["organisation"],
        entity_type=run["entity_type"],
        scope=json.loads(run["scope"]),
        inputs=inputs,
        registers=json.loads(run["registers"]),
        label=run["label"],
        requirements=requirements,
        checks=checks,
        sources=sources,
        exceptions=exceptions,
        attestations=attestations,
        severity_counts={k: int(v) for k, v in sev.items()},
    )


def iter_results(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    failing_only: bool,
    check_id: str | None = None,
    batch: int = 10_000,
) -> Iterator[tuple[Any, ...]]:
    """Stream result rows (ordered) for the workbook and evidence files."""
    where = "r.run_id = ?" + (" AND r.status IN ('fail', 'excepted')" if failing_only else "")
    args: list[Any] = [run_id]
    if check_id is not None:
        where += " AND r.check_id = ?"
        args.append(check_id)
    cur = con.execute(
        f"""
        SELECT r.check_id, r.resource, r.status, r.severity, r.reason, r.fingerprint,
               s.path, r.source_sha256, r.locator, r.exception_id, r.evidence
        FROM run_results r LEFT JOIN sources s USING (source_sha256)
        WHERE {where} ORDER BY r.check_id, r.resource
        """,
        args,
    )
    while True:
        chunk = cur.fetchmany(batch)
        if not chunk:
            break
        yield from chunk


RESULT_COLUMNS = (
    "check_id",
    "resource",
    "status",
    "severity",
    "reason",
    "fingerprint",
    "source_file",
    "source_sha256",
    "locator",
    "exception_id",
    "evidence",
)
