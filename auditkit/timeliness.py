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
import json
import statistics
from dataclasses import dataclass
from typing import Any

import duckdb

from auditkit.catalog import Catalog


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


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def timeliness(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, run_id: int, as_of: dt.date
) -> list[TimelinessItem]:
    """Items of every opted-in check in the run, in check and resource order."""
    items: list[TimelinessItem] = []
    for check in sorted(catalog.checks.values(), key=lambda c: c.id):
        spec = check.timeliness
        if not spec:
            continue
        for resource, status, evidence in con.execute(
            "SELECT resource, status, evidence FROM run_results WHERE run_id = ? AND check_id = ? "
            "AND status <> 'not_applicable' ORDER BY resource",
            [run_id, check.id],
        ).fetchall():
            doc = json.loads(evidence) if evidence else {}
            opened = _day(doc.get(spec["opened"]))
            if opened is None:
                continue
            deadline = _day(doc.get(spec["deadline"]))
            resolved = _day(doc.get(spec["resolved"])) if "resolved" in spec else None
            end = resolved or as_of
            if resolved is not None:
                outcome = "met" if deadline is None or resolved <= deadline else "missed"
            else:
                outcome = (
                    "open (overdue)"
                    if deadline is not None and as_of > deadline
                    else "open (within deadline)"
                )
            items.append(
                TimelinessItem(
                    check.id,
                    resource,
                    status,
                    opened,
                    deadline,
                    resolved,
                    (end - opened).days,
                    outcome,
                )
            )
    return items


def summarise(items: list[TimelinessItem]) -> list[dict[str, Any]]:
    """Per check: counts per outcome and the median days taken by resolved items."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        entry = out.setdefault(
            item.check_id,
            {
                "check_id": item.check_id,
                "items": 0,
                "met": 0,
                "missed": 0,
                "open (within deadline)": 0,
                "open (overdue)": 0,
                "_days": [],
            },
        )
        entry["items"] += 1
        entry[item.outcome] += 1
        if item.resolved is not None:
            entry["_days"].append(item.days_taken)
    summary = []
    for entry in out.values():
        days = entry.pop("_days")
        entry["median_days_to_resolve"] = statistics.median(days) if days else None
        summary.append(entry)
    return summary
