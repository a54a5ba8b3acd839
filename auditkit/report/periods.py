"""What the report shows across time: changes since the previous run, and period evidence.

Recurring requirements are judged across the look-back window, not on one day,
so the report draws them as timelines over the 12 months before the as-of date:

- log retention (10.5.1): records per month for each log family;
- quarterly internal scans (11.3.1): every image scan per repository, against
  the four three-month windows ending at the as-of date;
- attested activities: access reviews (7.2.4), network security control
  reviews (1.2.7), external ASV scans (11.3.2), segmentation tests (11.4.5/6)
  and daily log reviews (10.4.1), with the longest gap between them.

Everything here is an aggregate computed in SQL: its size does not grow with
the number of records. Chart labels are auditkit's words, dates and row
numbers; repository names appear only in HTML tables (escaped there).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from auditkit.calendar import add_months
from auditkit.history.diff import diff_runs, previous_run
from auditkit.store import first_row

MAX_SCAN_LANES = 24
CHANGES_SHOWN = 25
MAX_LISTED = 20_000  # per kind of change, in the workbook; counts stay exact

LOG_FAMILIES = (
    ("Kubernetes audit log", "k8s_audit_events", "event_time"),
    ("runtime alerts", "runtime_alerts", "event_time"),
    ("network flows", "flows", "start_time"),
)
REVIEW_KINDS = (
    ("access_review", "7.2.4", "user access reviews", 6),
    ("nsc_review", "1.2.7", "network security control reviews", 6),
    ("asv_scan", "11.3.2", "external ASV scans", 3),
    ("segmentation_test", "11.4.5", "segmentation tests", 12),
    ("scope_confirmation", "12.5.2", "scope confirmations", 12),
)


@dataclass
class Window:
    """One three-month window of the look-back."""

    start: dt.date
    end: dt.date


@dataclass
class PeriodEvidence:
    """Aggregates for the timelines."""

    as_of: dt.date
    lookback_start: dt.date
    windows: list[Window]
    months: list[dt.date]
    log_families: list[dict[str, Any]] = field(default_factory=list)
    scan_repos: list[dict[str, Any]] = field(default_factory=list)
    scan_repos_total: int = 0
    reviews: list[dict[str, Any]] = field(default_factory=list)
    log_reviews: dict[str, Any] = field(default_factory=dict)


def _windows(as_of: dt.date) -> list[Window]:
    out = []
    end = as_of
    for _ in range(4):
        start = add_months(end, -3) + dt.timedelta(days=1)
        out.append(Window(start, end))
        end = start - dt.timedelta(days=1)
    return list(reversed(out))


def period_evidence(con: duckdb.DuckDBPyConnection, run_id: int) -> PeriodEvidence:
    """Collect the timeline aggregates for a run."""
    row = first_row(
        con.execute("SELECT as_of, period_start, period_end FROM runs WHERE run_id = ?", [run_id])
    )
    as_of, period_start, period_end = row
    lookback = add_months(as_of, -12) + dt.timedelta(days=1)
    months = [dt.date(lookback.year, lookback.month, 1)]
    while add_months(months[-1], 1) <= as_of:
        months.append(add_months(months[-1], 1))
    pe = PeriodEvidence(as_of, lookback, _windows(as_of), months)
    end = as_of + dt.timedelta(days=1)
    for label, table, column in LOG_FAMILIES:
        counts = dict(
            con.execute(
                f"SELECT CAST(date_trunc('month', {column}) AS DATE), count(*) FROM {table} "
                f"WHERE {column} >= ? AND {column} < ? GROUP BY 1",
                [months[0], end],
            ).fetchall()
        )
        bounds = first_row(
            con.execute(
                f"SELECT min({column}), max({column}) FROM {table} WHERE {column} < ?", [end]
            )
        )
        if bounds is None or bounds[0] is None:
            continue
        pe.log_families.append(
            {
                "family": label,
                "earliest": bounds[0].date(),
                "latest": bounds[1].date(),
                "months": [int(counts.get(m, 0)) for m in months],
                "reaches_back": bounds[0].date() <= lookback,
            }
        )
    repos = con.execute(
        """
        SELECT image_repo, list(DISTINCT CAST(scanned_at AS DATE) ORDER BY CAST(scanned_at AS DATE))
        FROM scans
        WHERE scan_kind = 'image' AND image_repo IS NOT NULL AND scanned_at >= ? AND scanned_at < ?
        GROUP BY image_repo ORDER BY image_repo
        """,
        [lookback, end],
    ).fetchall()
    pe.scan_repos_total = len(repos)
    for repo, dates in repos[:MAX_SCAN_LANES]:
        per_window = [sum(1 for d in dates if w.start <= d <= w.end) for w in pe.windows]
        pe.scan_repos.append(
            {
                "repo": repo,
                "dates": dates,
                "per_window": per_window,
                "missing_windows": sum(1 for n in per_window if n == 0),
            }
        )
    attestations = [
        json.loads(r[0])
        for r in con.execute(
            "SELECT attestation FROM run_attestations WHERE run_id = ?", [run_id]
        ).fetchall()
    ]

    def performed(a: dict[str, Any]) -> dt.date:
        return dt.date.fromisoformat(str(a.get("performed_on") or a["date_end"]))

    for kind, requirement, label, months_allowed in REVIEW_KINDS:
        dates = sorted(
            {
                performed(a)
                for a in attestations
                if a.get("kind") == kind
                and not a.get("not_applicable")
                and lookback - dt.timedelta(days=400) <= performed(a) <= as_of
            }
        )
        if not dates:
            pe.reviews.append(
                {
                    "kind": kind,
                    "requirement": requirement,
                    "label": label,
                    "dates": [],
                    "longest_gap_days": None,
                    "limit_months": months_allowed,
                }
            )
            continue
        points = [*dates, as_of]
        gaps = [(b - a).days for a, b in zip(points, points[1:], strict=False)]
        pe.reviews.append(
            {
                "kind": kind,
                "requirement": requirement,
                "label": label,
                "dates": dates,
                "longest_gap_days": max(gaps) if gaps else 0,
                "limit_months": months_allowed,
            }
        )
    covered: set[dt.date] = set()
    for a in attestations:
        if (
            a.get("kind") == "log_review"
            and a.get("requirement") == "10.4.1"
            and a.get("result") != "fail"
            and not a.get("not_applicable")
        ):
            day = dt.date.fromisoformat(str(a["date_start"]))
            last = dt.date.fromisoformat(str(a["date_end"]))
            while day <= last:
                covered.add(day)
                day += dt.timedelta(days=1)
    days = []
    day = period_start
    while day <= min(as_of, period_end):
        days.append(day)
        day += dt.timedelta(days=1)
    pe.log_reviews = {
        "days": len(days),
        "covered": sum(1 for d in days if d in covered),
        "missing": [d for d in days if d not in covered],
        "covered_days": [d for d in days if d in covered],
    }
    return pe


def changes_since_previous(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any] | None:
    """The comparison with the previous run of the same framework (None for a first run)."""
    previous = previous_run(con, run_id)
    if previous is None:
        return None
    diff = diff_runs(con, previous, run_id, limit=MAX_LISTED)
    doc = diff.to_json()
    findings = doc.pop("findings")
    shown: dict[str, list[dict[str, Any]]] = {}
    for kind in ("new", "resolved", "first tested", "excepted", "not re-tested"):
        items = [f for f in findings if f["change"] == kind]
        shown[kind] = items[:CHANGES_SHOWN]
    doc["shown"] = shown
    doc["checks"] = [
        c
        for c in doc["checks"]
        if any(
            c[k]
            for k in ("new", "resolved", "persisting", "excepted", "not_retested", "first_tested")
        )
    ]
    doc["diff"] = diff
    return doc
