"""Read one stored run back from the store as the data every pack output shares.

:func:`load_run` returns small things only: the run, its checks and
requirements with their testing procedures and evidence references, a bounded
sample of items with exceptions noted per check (``SAMPLE_PER_CHECK``, chosen by
:mod:`auditkit.report.rows`), and aggregates computed in SQL (severity counts,
the vulnerability-age histogram, the trend over earlier runs). Its cost does
not grow with the number of items beyond one scan of ``run_results`` per query.
Streaming whole populations is :mod:`auditkit.report.rows`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from auditkit.errors import NotFoundError
from auditkit.evaluate.catalog import Catalog
from auditkit.evaluate.rollup import IN_PLACE, RESULTS
from auditkit.report.rows import FINDING_STATUSES, sample_items

SAMPLE_PER_CHECK = 25
TREND_MAX_RUNS = 12
VULN_AGE_CHECK = "vuln_critical_patch_window"
SEVERITIES = ("critical", "high", "medium", "low", "info", "unknown")


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
    population_text: str = ""  # the population the check tests, in words (its YAML)
    claims: list[dict[str, Any]] = field(default_factory=list)  # procedures it performs
    evidence_ref: str = ""  # EV-nnnn of its population in this run

    @property
    def findings(self) -> int:
        """Exceptions noted: failing plus excepted items (the workbook's list of them)."""
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
    procedures: list[dict[str, Any]] = field(default_factory=list)  # run_procedures rows
    procedures_total: int | None = None  # None: a run stored before procedures were modelled
    procedures_covered: int | None = None
    failing_checks: list[str] = field(default_factory=list)  # checks with exceptions for it

    @property
    def coverage(self) -> str:
        """ "k of n procedures covered" ("" for runs stored before procedures)."""
        if self.procedures_total is None:
            return ""
        return f"{self.procedures_covered} of {self.procedures_total} procedures covered"

    @property
    def to_do(self) -> list[str]:
        """What the assessor still has to do, one line per procedure not covered."""
        return [p["to_do"] for p in self.procedures if p.get("to_do")]

    @property
    def evidence_refs(self) -> list[str]:
        """Every evidence reference that supports one of its procedures."""
        return sorted({ref for p in self.procedures for ref in p.get("evidence_refs") or []})

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
    evidence: list[dict[str, Any]] = field(default_factory=list)  # run_evidence rows, by ref
    check_sources: dict[str, list[str]] = field(default_factory=dict)  # input files rows cite
    check_registers: dict[str, list[str]] = field(default_factory=dict)  # register files cited

    def evidence_ref(self, kind: str, key: str) -> str:
        """The EV reference of one evidence set ("" when the run has none)."""
        for e in self.evidence:
            if e["kind"] == kind and e["key"] == key:
                return str(e["ref"])
        return ""

    def counts(self) -> dict[str, int]:
        """Requirements per result (every result of the vocabulary, zero when unused)."""
        out = dict.fromkeys(RESULTS, 0)
        for req in self.requirements:
            out[req.result] = out.get(req.result, 0) + 1
        return out

    @property
    def proposed_in_place(self) -> list[RequirementView]:
        """Requirements auditkit proposes as In Place (every procedure covered)."""
        return [r for r in self.requirements if r.result == IN_PLACE]

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
            population_text=meta.population if meta else "",
            claims=[
                {
                    "procedure": c.procedure,
                    "methods": list(c.methods),
                    "extent": c.extent,
                    "limits": c.limits,
                }
                for c in (meta.procedures if meta else ())
            ],
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
            view.sample = sample_items(con, run_id, view.id, "fail", sample_per_check)
        if view.excepted:
            view.excepted_items = sample_items(con, run_id, view.id, "excepted", sample_per_check)
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
    evidence = _rows(
        con,
        "SELECT ref, kind, key, title, sha256 FROM run_evidence WHERE run_id = ? ORDER BY ref",
        [run_id],
    )
    for e in evidence:
        if e["kind"] == "check population" and e["key"] in checks:
            checks[e["key"]].evidence_ref = e["ref"]
    procedures: dict[str, list[dict[str, Any]]] = {}
    for p in _rows(
        con,
        "SELECT * FROM run_procedures WHERE run_id = ? ORDER BY sort_key, position",
        [run_id],
    ):
        procedures.setdefault(p["requirement"], []).append(p)
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
                procedures=procedures.get(row["requirement"], []),
                procedures_total=row.get("procedures_total"),
                procedures_covered=row.get("procedures_covered"),
                failing_checks=list(row.get("failing_checks") or []),
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
    registers = json.loads(run["registers"])
    register_paths = {sha: path for path, sha in (registers.get("digests") or {}).items()}
    input_set = set(input_shas)
    check_sources: dict[str, list[str]] = {}
    check_registers: dict[str, list[str]] = {}
    for check_id, shas in con.execute(
        "SELECT check_id, list(DISTINCT source_sha256 ORDER BY source_sha256) FROM run_results "
        "WHERE run_id = ? AND source_sha256 IS NOT NULL GROUP BY check_id",
        [run_id],
    ).fetchall():
        check_sources[check_id] = [s for s in shas if s in input_set]
        check_registers[check_id] = sorted({register_paths[s] for s in shas if s in register_paths})
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
        registers=registers,
        label=run["label"],
        requirements=requirements,
        checks=checks,
        sources=sources,
        exceptions=exceptions,
        attestations=attestations,
        severity_counts={k: int(v) for k, v in sev.items()},
        vuln_age=_vuln_age(con, run_id, run["as_of"], vuln) if vuln else None,
        trend=_trend(con, run_id, run["framework_id"]),
        evidence=evidence,
        check_sources=check_sources,
        check_registers=check_registers,
    )
