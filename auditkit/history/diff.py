"""Run history: compare two runs, requirement by requirement and item by item.

Items are matched by fingerprint (sha256 of check id and resource key), which
does not depend on the run, so an item keeps its identity across quarters. An
exception noted is a population item whose status is ``fail``; an excepted item
is reported as excepted, not as resolved. (The dataclasses keep the internal
name "finding" for such an item; what users see says "exception".)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from auditkit.errors import NotFoundError
from auditkit.store import first_row


@dataclass
class RequirementChange:
    """One requirement's result in both runs."""

    requirement: str
    title: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        """The result differs between the runs."""
        return self.before != self.after


@dataclass
class FindingChange:
    """One item's fate between the runs (an exception noted in either)."""

    check_id: str
    fingerprint: str
    resource: str
    # new | resolved | persisting | excepted (failing before, excepted now)
    # | not re-tested (failing before; the check could not be tested in the later run)
    # | first tested (failing now; the check could not be tested in the earlier run)
    change: str
    status_before: str | None
    status_after: str | None
    severity: str
    reason: str


@dataclass
class CheckDelta:
    """Per check: counts of new, resolved and persisting exceptions and state changes."""

    check_id: str
    state_before: str | None
    state_after: str | None
    new: int = 0
    resolved: int = 0
    persisting: int = 0
    excepted: int = 0
    not_retested: int = 0
    first_tested: int = 0


@dataclass
class RunDiff:
    """Everything that changed from ``run_a`` to ``run_b``."""

    run_a: int
    run_b: int
    as_of_a: str
    as_of_b: str
    requirements: list[RequirementChange]
    checks: list[CheckDelta]
    findings: list[FindingChange] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "as_of_a": self.as_of_a,
            "as_of_b": self.as_of_b,
            "requirement_changes": [
                {
                    "requirement": r.requirement,
                    "title": r.title,
                    "before": r.before,
                    "after": r.after,
                }
                for r in self.requirements
                if r.changed
            ],
            "checks": [c.__dict__ for c in self.checks],
            "totals": {
                k: sum(getattr(c, k) for c in self.checks)
                for k in (
                    "new",
                    "resolved",
                    "persisting",
                    "excepted",
                    "not_retested",
                    "first_tested",
                )
            },
            "exception_changes": [f.__dict__ for f in self.findings],
        }


def run_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Every stored run id, ascending."""
    return [int(r[0]) for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]


def previous_run(con: duckdb.DuckDBPyConnection, run_id: int) -> int | None:
    """The latest earlier run of the same framework whose as-of date is earlier."""
    row = first_row(
        con.execute(
            """
        SELECT p.run_id FROM runs p, runs r
        WHERE r.run_id = ? AND p.framework_id = r.framework_id AND p.run_id <> r.run_id
          AND (p.as_of < r.as_of OR (p.as_of = r.as_of AND p.run_id < r.run_id))
        ORDER BY p.as_of DESC, p.run_id DESC LIMIT 1
        """,
            [run_id],
        )
    )
    return int(row[0]) if row else None


def _as_of(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    row = first_row(con.execute("SELECT as_of FROM runs WHERE run_id = ?", [run_id]))
    if row is None:
        raise NotFoundError(f"no run {run_id}; see 'auditkit runs list'")
    return str(row[0])


def diff_runs(
    con: duckdb.DuckDBPyConnection, run_a: int | None, run_b: int, *, limit: int | None = None
) -> RunDiff:
    """Compare ``run_a`` (default: the run before ``run_b``) with ``run_b``.

    ``limit`` bounds the listed items per kind of change; counts are always exact.
    """
    as_of_b = _as_of(con, run_b)
    if run_a is None:
        run_a = previous_run(con, run_b)
        if run_a is None:
            raise NotFoundError(f"run {run_b} has no earlier run of the same framework to compare")
    as_of_a = _as_of(con, run_a)
    requirements = [
        RequirementChange(r[0], r[1], r[2], r[3])
        for r in con.execute(
            """
            SELECT coalesce(b.requirement, a.requirement), coalesce(b.title, a.title),
                   a.result, b.result
            FROM (SELECT * FROM run_requirements WHERE run_id = ?) a
            FULL OUTER JOIN (SELECT * FROM run_requirements WHERE run_id = ?) b
              USING (requirement)
            ORDER BY coalesce(b.sort_key, a.sort_key)
            """,
            [run_a, run_b],
        ).fetchall()
    ]
    changes_sql = """
        WITH a AS (SELECT * FROM run_results WHERE run_id = $a),
             b AS (SELECT * FROM run_results WHERE run_id = $b),
             tested_a AS (SELECT check_id FROM run_checks
                          WHERE run_id = $a AND state = 'evaluated'),
             tested_b AS (SELECT check_id FROM run_checks
                          WHERE run_id = $b AND state = 'evaluated')
        SELECT coalesce(b.check_id, a.check_id) AS check_id,
               coalesce(b.fingerprint, a.fingerprint) AS fingerprint,
               coalesce(b.resource, a.resource) AS resource,
               CASE WHEN a.status = 'fail' AND b.status = 'fail' THEN 'persisting'
                    WHEN b.status = 'fail' AND b.check_id NOT IN (SELECT check_id FROM tested_a)
                        THEN 'first tested'
                    WHEN b.status = 'fail' THEN 'new'
                    WHEN b.status = 'excepted' THEN 'excepted'
                    WHEN b.status IS NULL AND a.check_id NOT IN (SELECT check_id FROM tested_b)
                        THEN 'not re-tested'
                    ELSE 'resolved' END AS change,
               a.status AS status_before, b.status AS status_after,
               coalesce(b.severity, a.severity) AS severity,
               CASE WHEN b.status IS NULL AND a.check_id IN (SELECT check_id FROM tested_b)
                    THEN 'no longer in the population: ' || a.reason
                    ELSE coalesce(b.reason, a.reason) END AS reason
        FROM a FULL OUTER JOIN b USING (check_id, fingerprint)
        WHERE a.status = 'fail' OR b.status = 'fail'
    """
    params = {"a": run_a, "b": run_b}
    listing = f"SELECT * FROM ({changes_sql}) ORDER BY check_id, change, resource"
    if limit is not None:
        # Bounded listing (for the pack): the counts below stay exact.
        listing = (
            f"SELECT * EXCLUDE (n) FROM (SELECT *, row_number() OVER (PARTITION BY change "
            f"ORDER BY check_id, resource) AS n FROM ({changes_sql})) WHERE n <= {int(limit)} "
            "ORDER BY check_id, change, resource"
        )
    findings = [FindingChange(*r) for r in con.execute(listing, params).fetchall()]
    counts = con.execute(
        f"SELECT check_id, change, count(*) FROM ({changes_sql}) GROUP BY ALL", params
    ).fetchall()
    states = {
        r[0]: (r[1], r[2])
        for r in con.execute(
            """
            SELECT coalesce(b.check_id, a.check_id), a.state, b.state
            FROM (SELECT * FROM run_checks WHERE run_id = ?) a
            FULL OUTER JOIN (SELECT * FROM run_checks WHERE run_id = ?) b USING (check_id)
            """,
            [run_a, run_b],
        ).fetchall()
    }
    checks: dict[str, CheckDelta] = {
        cid: CheckDelta(cid, before, after) for cid, (before, after) in sorted(states.items())
    }
    for check_id, change, count in counts:
        delta = checks.setdefault(check_id, CheckDelta(check_id, None, None))
        attr = change.replace("not re-tested", "not_retested").replace(
            "first tested", "first_tested"
        )
        setattr(delta, attr, getattr(delta, attr) + int(count))
    return RunDiff(run_a, run_b, as_of_a, as_of_b, requirements, list(checks.values()), findings)


def result_history(
    con: duckdb.DuckDBPyConnection, framework_id: str, up_to_run: int
) -> list[dict[str, Any]]:
    """Counts per result for every run of a framework up to ``up_to_run`` (for trend charts)."""
    rows = con.execute(
        """
        SELECT r.run_id, r.as_of, q.result, count(*)
        FROM runs r JOIN run_requirements q USING (run_id)
        WHERE r.framework_id = ? AND r.as_of <= (SELECT as_of FROM runs WHERE run_id = ?)
        GROUP BY ALL ORDER BY r.as_of, r.run_id
        """,
        [framework_id, up_to_run],
    ).fetchall()
    out: dict[int, dict[str, Any]] = {}
    for run_id, as_of, result, count in rows:
        entry = out.setdefault(run_id, {"run_id": run_id, "as_of": str(as_of), "counts": {}})
        entry["counts"][result] = int(count)
    return list(out.values())
