"""Remediation timeliness: for findings with a deadline, was it met?

A check opts in with ``timeliness: {opened, deadline, resolved}`` in its
YAML, naming evidence columns its SQL fills; the deadline is computed in that
SQL from the check's parameters (one month for critical patches, the scan
cadence, the inactivity limit), never here. For every item with an opening
date this module reports first seen, resolved (or open), the days taken and
whether the deadline was met, plus a summary per check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from auditkit.evaluate.catalog import Catalog


@dataclass
class TimelinessItem:
    """One item with a deadline."""

    check_id: str
    resource: str
    status: str
    opened: dt.date
    deadline: dt.date | None
    resolved: dt.date | None
    days_taken: int
    outcome: str  # met | missed | open (within deadline) | open (overdue)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            **self.__dict__,
            "opened": self.opened.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "resolved": self.resolved.isoformat() if self.resolved else None,
        }


def _sql(check_ids: list[str], specs: dict[str, dict[str, str]]) -> str:
    parts = []
    for check_id in check_ids:
        spec = specs[check_id]

        def col(role: str, spec: dict[str, str] = spec) -> str:
            name = spec.get(role)
            if not name:
                return "CAST(NULL AS DATE)"
            return f"try_cast(left(json_extract_string(evidence, '$.{name}'), 10) AS DATE)"

        parts.append(
            f"SELECT check_id, resource, status, {col('opened')} AS opened, "
            f"{col('deadline')} AS deadline, {col('resolved')} AS resolved "
            f"FROM run_results WHERE run_id = $run AND check_id = '{check_id}' "
            "AND status <> 'not_applicable'"
        )
    return f"""
        SELECT *, date_diff('day', opened, coalesce(resolved, $as_of)) AS days_taken,
            CASE WHEN resolved IS NOT NULL AND (deadline IS NULL OR resolved <= deadline)
                     THEN 'met'
                 WHEN resolved IS NOT NULL THEN 'missed'
                 WHEN deadline IS NOT NULL AND $as_of > deadline THEN 'open (overdue)'
                 ELSE 'open (within deadline)' END AS outcome
        FROM ({" UNION ALL ".join(parts)}) WHERE opened IS NOT NULL
    """


def _opted_in(catalog: Catalog) -> tuple[list[str], dict[str, dict[str, str]]]:
    specs = {c.id: c.timeliness for c in catalog.checks.values() if c.timeliness}
    return sorted(specs), {k: v for k, v in specs.items() if v}


def timeliness(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    run_id: int,
    as_of: dt.date,
    *,
    limit: int | None = None,
) -> list[TimelinessItem]:
    """Items of every opted-in check in the run, in check and resource order.

    ``limit`` bounds the listing, most urgent first (missed and overdue items).
    """
    ids, specs = _opted_in(catalog)
    if not ids:
        return []
    order = "check_id, resource"
    sql = f"SELECT * FROM ({_sql(ids, specs)}) ORDER BY {order}"
    if limit is not None:
        sql = (
            f"SELECT * FROM ({_sql(ids, specs)}) ORDER BY CASE outcome WHEN 'missed' THEN 0 "
            f"WHEN 'open (overdue)' THEN 1 ELSE 2 END, {order} LIMIT {int(limit)}"
        )
    rows = con.execute(sql, {"run": run_id, "as_of": as_of}).fetchall()
    return [TimelinessItem(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7]) for r in rows]


def summarise_run(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, run_id: int, as_of: dt.date
) -> list[dict[str, Any]]:
    """Per check, set-based: items per outcome and the median days taken by resolved items."""
    ids, specs = _opted_in(catalog)
    if not ids:
        return []
    rows = con.execute(
        f"""
        SELECT check_id, count(*),
            count(*) FILTER (outcome = 'met'), count(*) FILTER (outcome = 'missed'),
            count(*) FILTER (outcome = 'open (within deadline)'),
            count(*) FILTER (outcome = 'open (overdue)'),
            median(days_taken) FILTER (resolved IS NOT NULL)
        FROM ({_sql(ids, specs)}) GROUP BY check_id ORDER BY check_id
        """,
        {"run": run_id, "as_of": as_of},
    ).fetchall()
    return [
        {
            "check_id": r[0],
            "items": r[1],
            "met": r[2],
            "missed": r[3],
            "open (within deadline)": r[4],
            "open (overdue)": r[5],
            "median_days_to_resolve": float(r[6]) if r[6] is not None else None,
        }
        for r in rows
    ]
