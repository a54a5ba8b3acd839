"""Read one stored run back from the store as the data every pack output shares.

Two kinds of reads, kept apart so the report stays bounded:

- :func:`load_run` returns small things only: the run, its checks and
  requirements, a bounded sample of findings per check (``SAMPLE_PER_CHECK``),
  and aggregates computed in SQL (severity counts, the vulnerability-age
  histogram, the trend over earlier runs). Its cost does not grow with the
  number of findings beyond one scan of ``run_results`` per query.
- :func:`result_batches` streams result rows as Arrow record batches for the
  workbook and the evidence files; nothing holds a whole population in Python.

Selection rules shared by the PDF sample and the workbook (so the PDF's sample
is always the head of the workbook's list): failing and excepted items are
taken most severe first and, within a severity, by fingerprint. A fingerprint
is a sha256, so this is a reproducible pseudo-random choice, stable across
runs, rather than the alphabetical head of the list.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from auditkit.errors import NotFoundError
from auditkit.evaluate.catalog import Catalog

SAMPLE_PER_CHECK = 25
TREND_MAX_RUNS = 12
VULN_AGE_CHECK = "vuln_critical_patch_window"
RESULTS = ("In Place", "Not in Place", "Not Tested", "Not Applicable")
SEVERITIES = ("critical", "high", "medium", "low", "info", "unknown")
FINDING_STATUSES = ("fail", "excepted")

SEVERITY_RANK_SQL = (
    "CASE r.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
    "WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END"
)
# Evidence JSON (an object written by the engine) as "key: value; key: value",
# keys in the check's own order, null values left out. One parse per row.
DETAILS_SQL = (
    "array_to_string(list_transform(list_filter("
    "map_entries(TRY_CAST(r.evidence AS MAP(VARCHAR, VARCHAR))), "
    "lambda e: e.value IS NOT NULL), lambda e: e.key || ': ' || e.value), '; ')"
)

# Columns of every streamed result row, with their SQL. ``details`` is the
# readable evidence text (workbook); the evidence files carry the evidence as
# the JSON object the engine stored (``EVIDENCE_COLUMNS``).
# ``requirement`` is set when a row evidences one requirement only (NULL: every
# requirement the check maps to).
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("check_id", "r.check_id"),
    ("requirement", "r.requirement"),
    ("resource", "r.resource"),
    ("status", "r.status"),
    ("severity", "r.severity"),
    ("reason", "r.reason"),
    ("fingerprint", "r.fingerprint"),
    ("source_file", "s.path"),
    ("source_sha256", "r.source_sha256"),
    ("locator", "r.locator"),
    ("exception_id", "r.exception_id"),
)
DETAILS_COLUMN = ("details", DETAILS_SQL)


@dataclass
class ParamView:
    """A check parameter as used in the run, and where its value came from."""

    name: str
    value: Any
    provenance: str
    unit: str = ""
    description: str = ""

    @property
    def value_text(self) -> str:
        """The value as text (lists and objects as compact JSON)."""
        if isinstance(self.value, str):
            return self.value
        return json.dumps(self.value, sort_keys=True, ensure_ascii=False)


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
    rationale: str = ""
    remediation: str = ""
    resource_type: str = ""
    references: tuple[str, ...] = ()
    evidence_columns: tuple[str, ...] = ()
    param_views: list[ParamView] = field(default_factory=list)
    failing_by_severity: dict[str, int] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    rows: int = 0  # result rows stored for the check (its population as listed)
    finding_rows: int = 0  # of which failing or excepted
    sample: list[dict[str, Any]] = field(default_factory=list)
    excepted_items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def findings(self) -> int:
        """Rows in the Findings lists: failing plus excepted items."""
        return self.failed + self.excepted

    @property
    def evaluated(self) -> bool:
        """True when the check ran (as opposed to Not Tested for missing data)."""
        return self.state == "evaluated"

    @property
    def has_evidence(self) -> bool:
        """True when the check gets evidence files: it ran, or it listed items."""
        return self.evaluated or self.rows > 0


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
    manual: bool = False
    attestations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def population(self) -> int:
        """Items tested by the requirement's checks (a shared check counts once per check)."""
        return sum(c.population for c in self.checks)

    @property
    def findings(self) -> int:
        """Failing plus excepted items over the requirement's checks."""
        return sum(c.findings for c in self.checks)


@dataclass
class VulnAge:
    """Days from fix availability to resolution (or the as-of date), aggregated in SQL.

    ``points`` holds ``(days, still_open, items)`` triples, one per distinct
    day count, so its size is bounded by the spread of ages, not the item count.
    """

    check_id: str
    window_months: int
    points: list[tuple[int, bool, int]]
    items: int
    open_overdue: int
    resolved_late: int


@dataclass
class TrendPoint:
    """Requirements per result in one run of the same framework."""

    run_id: int
    as_of: dt.date
    counts: dict[str, int]


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
    vuln_age: VulnAge | None = None
    trend: list[TrendPoint] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Requirements per result."""
        out = dict.fromkeys(RESULTS, 0)
        for req in self.requirements:
            out[req.result] = out.get(req.result, 0) + 1
        return out

    def predicate_inputs(self) -> list[dict[str, str]]:
        """Input digests for the signed manifest."""
        return [
            {"path": i["path"], "sha256": i["sha256"], "format": i["format"]} for i in self.inputs
        ]

    @property
    def automated(self) -> list[RequirementView]:
        """Requirements evidenced by checks (one section each in the PDF)."""
        return [r for r in self.requirements if not r.manual]

    @property
    def manual(self) -> list[RequirementView]:
        """Requirements no check can evidence (one table in the PDF)."""
        return [r for r in self.requirements if r.manual]

    @property
    def failing_items(self) -> int:
        """Failing items over all checks (excepted items not included)."""
        return sum(c.failed for c in self.checks.values())

    @property
    def excepted_items(self) -> int:
        """Excepted items over all checks."""
        return sum(c.excepted for c in self.checks.values())

    @property
    def population(self) -> int:
        """Items tested over all checks."""
        return sum(c.population for c in self.checks.values())


def _rows(con: duckdb.DuckDBPyConnection, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(args))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _item(row: dict[str, Any]) -> dict[str, Any]:
    evidence = json.loads(row["evidence"]) if row["evidence"] else {}
    return {
        "resource": row["resource"],
        "status": row["status"],
        "reason": row["reason"],
        "severity": row["severity"],
        "fingerprint": row["fingerprint"],
        "source": row["source_path"],
        "source_sha256": row["source_sha256"],
        "locator": row["locator"],
        "exception_id": row["exception_id"],
        "requirement": row["requirement"],
        "evidence": evidence if isinstance(evidence, dict) else {"value": evidence},
    }


def _sample(
    con: duckdb.DuckDBPyConnection, run_id: int, check_id: str, status: str, limit: int
) -> list[dict[str, Any]]:
    """The first ``limit`` items of one check and status under the selection rule."""
    rows = _rows(
        con,
        f"""
        SELECT r.resource, r.status, r.reason, r.severity, r.fingerprint, s.path AS source_path,
               r.source_sha256, r.locator, r.exception_id, r.requirement,
               CAST(r.evidence AS VARCHAR) AS evidence,
               {SEVERITY_RANK_SQL} AS severity_rank
        FROM run_results r LEFT JOIN sources s USING (source_sha256)
        WHERE r.run_id = ? AND r.check_id = ? AND r.status = ?
        ORDER BY severity_rank, r.fingerprint
        LIMIT ?
        """,
        [run_id, check_id, status, limit],
    )
    # Shown most severe first, then by resource, to read like a list.
    items = [_item(r) | {"_rank": r["severity_rank"]} for r in rows]
    items.sort(key=lambda i: (i["_rank"], i["resource"], i["fingerprint"]))
    for i in items:
        del i["_rank"]
    return items


def _vuln_age(
    con: duckdb.DuckDBPyConnection, run_id: int, as_of: dt.date, check: CheckView
) -> VulnAge | None:
    if not check.evaluated:
        return None
    window = check.params.get("window_months", {}).get("value", 1)
    rows = con.execute(
        """
        WITH v AS (
            SELECT TRY_CAST(r.evidence->>'fix_seen_at' AS DATE) AS fix_seen,
                   TRY_CAST(r.evidence->>'resolved_at' AS DATE) AS resolved,
                   TRY_CAST(r.evidence->>'days_overdue' AS INTEGER) AS overdue
            FROM run_results r
            WHERE r.run_id = ? AND r.check_id = ? AND r.status IN ('pass', 'fail', 'excepted')
        )
        SELECT date_diff('day', fix_seen, coalesce(resolved, CAST(? AS DATE))) AS days,
               resolved IS NULL AS still_open,
               count(*) AS items,
               count(*) FILTER (WHERE coalesce(overdue, 0) > 0) AS late
        FROM v WHERE fix_seen IS NOT NULL
        GROUP BY ALL ORDER BY days, still_open
        """,
        [run_id, check.id, as_of],
    ).fetchall()
    points = [(int(d), bool(o), int(n)) for d, o, n, _ in rows]
    return VulnAge(
        check_id=check.id,
        window_months=int(window) if isinstance(window, int | float) else 1,
        points=points,
        items=sum(p[2] for p in points),
        open_overdue=sum(int(late) for _, o, _, late in rows if o),
        resolved_late=sum(int(late) for _, o, _, late in rows if not o),
    )


def _trend(con: duckdb.DuckDBPyConnection, run_id: int, framework_id: str) -> list[TrendPoint]:
    """Earlier runs of the same framework and this one (never later runs: a report
    of an old run must not change when a new run is stored)."""
    rows = con.execute(
        """
        WITH recent AS (
            SELECT run_id, as_of FROM runs WHERE framework_id = ? AND run_id <= ?
            ORDER BY run_id DESC LIMIT ?
        )
        SELECT q.run_id, any_value(recent.as_of), q.result, count(*)
        FROM run_requirements q JOIN recent USING (run_id)
        GROUP BY q.run_id, q.result ORDER BY q.run_id
        """,
        [framework_id, run_id, TREND_MAX_RUNS],
    ).fetchall()
    points: dict[int, TrendPoint] = {}
    for rid, as_of, result, n in rows:
        point = points.setdefault(rid, TrendPoint(rid, as_of, dict.fromkeys(RESULTS, 0)))
        point.counts[result] = int(n)
    return [points[k] for k in sorted(points)]


def load_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    catalog: Catalog | None = None,
    *,
    sample_per_check: int = SAMPLE_PER_CHECK,
) -> RunReport:
    """Load a stored run. Raises NotFoundError for an unknown id."""
    runs = _rows(con, "SELECT * FROM runs WHERE run_id = ?", [run_id])
    if not runs:
        known = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        raise NotFoundError(f"no run {run_id}; stored runs: {', '.join(map(str, known)) or 'none'}")
    run = runs[0]
    framework = catalog.frameworks.get(run["framework_id"]) if catalog else None
    manual_ids = {r.id for r in framework.requirements if r.manual} if framework else set()
    checks: dict[str, CheckView] = {}
    for row in _rows(con, "SELECT * FROM run_checks WHERE run_id = ? ORDER BY check_id", [run_id]):
        meta = catalog.checks.get(row["check_id"]) if catalog else None
        params = json.loads(row["params"])
        declared = {p.name: p for p in meta.params} if meta else {}
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
            params=params,
            description=meta.description if meta else "",
            rationale=meta.rationale if meta else "",
            remediation=meta.remediation if meta else "",
            resource_type=meta.resource_type if meta else "",
            references=meta.references if meta else (),
            evidence_columns=meta.evidence_columns if meta else (),
            param_views=[
                ParamView(
                    name=name,
                    value=p.get("value"),
                    provenance=str(p.get("provenance", "")),
                    unit=declared[name].unit if name in declared else "",
                    description=declared[name].description if name in declared else "",
                )
                for name, p in sorted(params.items())
            ],
        )
        checks[view.id] = view
    for check_id, rows, finding_rows in con.execute(
        "SELECT check_id, count(*), count(*) FILTER (WHERE list_contains(?, status)) "
        "FROM run_results WHERE run_id = ? GROUP BY check_id",
        [list(FINDING_STATUSES), run_id],
    ).fetchall():
        if check_id in checks:
            checks[check_id].rows = int(rows)
            checks[check_id].finding_rows = int(finding_rows)
    for check_id, severity, n in con.execute(
        "SELECT check_id, severity, count(*) FROM run_results WHERE run_id = ? AND status = 'fail' "
        "GROUP BY ALL ORDER BY ALL",
        [run_id],
    ).fetchall():
        if check_id in checks:
            checks[check_id].failing_by_severity[severity] = int(n)
    for view in checks.values():
        if view.failed:
            view.sample = _sample(con, run_id, view.id, "fail", sample_per_check)
        if view.excepted:
            view.excepted_items = _sample(con, run_id, view.id, "excepted", sample_per_check)
    attestations = [
        json.loads(r[0])
        for r in con.execute(
            "SELECT attestation FROM run_attestations WHERE run_id = ? ORDER BY attestation",
            [run_id],
        ).fetchall()
    ]
    attestations.sort(
        key=lambda a: (
            tuple(int(p) if p.isdigit() else 1 << 30 for p in str(a.get("requirement")).split(".")),
            str(a.get("requirement")),
            str(a.get("date_start")),
            str(a.get("id")),
        )
    )
    requirements = []
    for row in _rows(
        con, "SELECT * FROM run_requirements WHERE run_id = ? ORDER BY sort_key", [run_id]
    ):
        req_checks = [checks[c] for c in row["checks"] if c in checks]
        for c in req_checks:
            c.requirements.append(row["requirement"])
        requirements.append(
            RequirementView(
                id=row["requirement"],
                title=row["title"],
                result=row["result"],
                basis=row["basis"],
                compensating_control=row["compensating_control"],
                customized_approach=row["customized_approach"],
                checks=req_checks,
                # partly manual requirements with checks are shown with their checks' evidence
                manual=(row["requirement"] in manual_ids and not row["checks"])
                if framework
                else not row["checks"],
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
                **detail,
                "id": row["exception_id"],
                "check": row["check_id"],
                "state": row["state"],
                "matched": row["matched"],
            }
        )
    inputs = json.loads(run["inputs"])
    input_shas = [i["sha256"] for i in inputs]
    sources = _rows(
        con,
        "SELECT source_sha256, path, format, family, parser_version, compressed, records_stored, "
        "records_skipped, time_min, time_max, observed_at, size_bytes FROM sources "
        "WHERE list_contains(?, source_sha256) ORDER BY path, source_sha256",
        [input_shas],
    )
    sev = dict(
        con.execute(
            "SELECT severity, count(*) FROM run_results WHERE run_id = ? AND status = 'fail' "
            "GROUP BY severity",
            [run_id],
        ).fetchall()
    )
    framework_title = framework.title if framework else run["framework_id"]
    vuln = checks.get(VULN_AGE_CHECK)
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
        vuln_age=_vuln_age(con, run_id, run["as_of"], vuln) if vuln else None,
        trend=_trend(con, run_id, run["framework_id"]),
    )


# -- streaming ---------------------------------------------------------------------


EVIDENCE_COLUMNS: tuple[tuple[str, str], ...] = (
    *BASE_COLUMNS,
    ("evidence", "CAST(r.evidence AS VARCHAR)"),
)


def result_batches(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    columns: Sequence[tuple[str, str]],
    *,
    check_id: str,
    statuses: Sequence[str] | None = None,
    limit: int | None = None,
    pick: str = "findings",
    order: str = "stored",
    batch_size: int = 16_384,
) -> pa.RecordBatchReader:
    """Stream one check's result rows as Arrow batches, every column as text.

    ``order``: ``"stored"`` (as the engine stored them: by resource, without a
    sort), ``"resource"`` or ``"severity"`` (most severe first, then by
    resource). With ``limit`` only that many rows are returned, chosen by
    ``pick``: ``"findings"`` takes the most severe first and then by
    fingerprint (the rule the PDF sample follows); ``"population"`` takes the
    lowest fingerprints (a reproducible pseudo-random sample of the population).
    """
    where = "r.run_id = ? AND r.check_id = ?"
    args: list[Any] = [run_id, check_id]
    if statuses is not None:
        where += " AND list_contains(?, r.status)"
        args.append(list(statuses))
    select = ", ".join(f'CAST({sql} AS VARCHAR) AS "{name}"' for name, sql in columns)
    if order == "severity":
        order_sql = f"ORDER BY {SEVERITY_RANK_SQL}, r.resource, r.fingerprint"
    elif order == "resource":
        order_sql = "ORDER BY r.resource, r.fingerprint"
    else:
        # Stored order: the engine inserts each check's rows sorted by resource, and
        # DuckDB preserves insertion order, so no sort (and no sort memory) is needed.
        order_sql = ""
    if limit is not None:
        # Choose by the narrow keys first (a top-N over row ids, not over whole rows),
        # then read only the chosen rows.
        choose = f"{SEVERITY_RANK_SQL}, r.fingerprint" if pick == "findings" else "r.fingerprint"
        where += (
            f" AND r.rowid IN (SELECT r.rowid FROM run_results r WHERE {where} "
            f"ORDER BY {choose} LIMIT ?)"
        )
        args = [*args, *args, limit]
    sql = f"""
        SELECT {select}
        FROM run_results r LEFT JOIN sources s USING (source_sha256)
        WHERE {where} {order_sql}
    """
    # A relation streams batches straight from the query (a DB-API cursor would
    # copy every row first). DuckDB 2 names the method to_arrow_reader, 1.x
    # fetch_record_batch; both return a RecordBatchReader.
    rel = con.sql(sql, params=args)
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch
    result: pa.RecordBatchReader = reader(batch_size)
    return result


def batch_rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """A record batch as row tuples (one batch at a time, never a whole population)."""
    return list(zip(*(col.to_pylist() for col in batch.columns), strict=True))
