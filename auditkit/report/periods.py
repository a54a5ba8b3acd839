"""What the report shows across time: changes since the previous run, and period evidence.

Recurring requirements are judged across the look-back, not on one day, so the
report draws them as timelines over the 12 months before the as-of date. Every
window comes from :mod:`auditkit.calendar`, the one calendar the checks use too:

- log retention (10.5.1): records per month for each log family;
- quarterly internal scans (11.3.1): the population and per-window scan counts
  of the check ``vuln_scan_quarterly_coverage`` exactly as the run stored them,
  so the timeline and the check can never count differently;
- attested activities: access reviews (7.2.4), network security control
  reviews (1.2.7), external ASV scans (11.3.2), segmentation tests (11.4.5,
  11.4.6 for service providers), scope confirmations (12.5.2, 12.5.2.1) and
  daily log reviews (10.4.1), with the longest gap and the interval that
  applies to the entity type;
- the intervals that apply to the entity, read from the parameters the run's
  checks used.

Everything here is an aggregate computed in SQL or read from the run's own
rows: its size does not grow with the number of records. Chart labels are
auditkit's words, dates and row numbers; repository names appear only in HTML
tables (escaped there).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from auditkit.calendar import Window, add_months, evaluation_date, lookback_start, windows
from auditkit.history.diff import diff_runs, previous_run
from auditkit.store import first_row

MAX_SCAN_LANES = 24
CHANGES_SHOWN = 25
MAX_LISTED = 20_000  # per kind of change, in the workbook; counts stay exact
SCAN_CHECK = "vuln_scan_quarterly_coverage"

LOG_FAMILIES = (
    ("Kubernetes audit log", "k8s_audit_events", "event_time"),
    ("runtime alerts", "runtime_alerts", "event_time"),
    ("network flows", "flows", "start_time"),
)
# (attestation kind, requirement, label, check, parameter, service-provider requirement,
# service-provider parameter): the interval is the value the run's check used.
REVIEW_KINDS = (
    ("access_review", "7.2.4", "user access reviews", "attest_access_review_six_months",
     "max_interval_months", None, None),
    ("nsc_review", "1.2.7", "network security control reviews", "attest_nsc_review_six_months",
     "max_interval_months", None, None),
    ("asv_scan", "11.3.2", "external ASV scans", "attest_asv_scans_quarterly", "window_months",
     None, None),
    ("segmentation_test", "11.4.5", "segmentation tests", "attest_segmentation_test",
     "interval_months", "11.4.6", "sp_interval_months"),
    ("scope_confirmation", "12.5.2", "scope confirmations", "attest_scope_confirmation",
     "interval_months", "12.5.2.1", "sp_interval_months"),
)  # fmt: skip
# Intervals shown for the entity, besides the attested activities: (requirement, label,
# check, parameter, unit text).
OTHER_INTERVALS = (
    ("11.3.1", "internal vulnerability scans of images", SCAN_CHECK, "window_months", "months"),
    ("12.3.1", "review of each targeted risk analysis", "attest_tra_reviewed", "max_age_months",
     "months"),
    ("10.5.1", "log history kept", "log_retention_12_months", "retention_months", "months"),
    ("10.5.1", "most recent log months immediately available", "log_retention_12_months",
     "online_months", "months"),
)  # fmt: skip


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
    scan_check_state: str = ""  # the scan check's state and reason when it was not evaluated
    reviews: list[dict[str, Any]] = field(default_factory=list)
    log_reviews: dict[str, Any] = field(default_factory=dict)
    intervals: list[dict[str, Any]] = field(default_factory=list)


def _params(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, dict[str, Any]]:
    return {
        check_id: json.loads(params)
        for check_id, params in con.execute(
            "SELECT check_id, params FROM run_checks WHERE run_id = ?", [run_id]
        ).fetchall()
    }


def _param(params: dict[str, dict[str, Any]], check: str, name: str) -> tuple[Any, str]:
    spec = params.get(check, {}).get(name)
    if not isinstance(spec, dict):
        return None, ""
    return spec.get("value"), f"{check}.{name} ({spec.get('provenance', '')})"


def _scan_repos(con: duckdb.DuckDBPyConnection, run_id: int, pe: PeriodEvidence) -> None:
    """The scan check's own rows: its population, per-window counts and scan dates."""
    state = first_row(
        con.execute(
            "SELECT state, reason FROM run_checks WHERE run_id = ? AND check_id = ?",
            [run_id, SCAN_CHECK],
        )
    )
    if state is None:
        pe.scan_check_state = f"the run has no check {SCAN_CHECK}"
        return
    if state[0] != "evaluated":
        pe.scan_check_state = f"{SCAN_CHECK} was not tested: {state[1]}"
    rows = con.execute(
        """
        SELECT resource, status,
               CAST(evidence->'scans_per_window' AS INTEGER[]),
               CAST(evidence->'scan_dates' AS DATE[])
        FROM run_results WHERE run_id = ? AND check_id = ?
        ORDER BY resource
        """,
        [run_id, SCAN_CHECK],
    ).fetchall()
    pe.scan_repos_total = len(rows)
    for repo, status, per_window, dates in rows[:MAX_SCAN_LANES]:
        counts = list(per_window or [0] * len(pe.windows))
        pe.scan_repos.append(
            {
                "repo": repo,
                "status": status,
                "dates": list(dates or []),
                "per_window": counts,
                "missing_windows": 1 if status == "fail" else 0,
            }
        )


def period_evidence(con: duckdb.DuckDBPyConnection, run_id: int) -> PeriodEvidence:
    """Collect the timeline aggregates for a run."""
    row = first_row(
        con.execute(
            "SELECT as_of, period_start, period_end, entity_type FROM runs WHERE run_id = ?",
            [run_id],
        )
    )
    as_of, period_start, period_end, entity_type = row
    as_of = evaluation_date(as_of, period_end)  # the checks judged evidence up to this day
    service_provider = entity_type == "service_provider"
    lookback = lookback_start(as_of)
    months = [dt.date(lookback.year, lookback.month, 1)]
    while add_months(months[-1], 1) <= as_of:
        months.append(add_months(months[-1], 1))
    pe = PeriodEvidence(as_of, lookback, windows(as_of), months)
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
    _scan_repos(con, run_id, pe)
    params = _params(con, run_id)
    attestations = [
        json.loads(r[0])
        for r in con.execute(
            "SELECT attestation FROM run_attestations WHERE run_id = ?", [run_id]
        ).fetchall()
    ]

    def performed(a: dict[str, Any]) -> dt.date:
        return dt.date.fromisoformat(str(a.get("performed_on") or a["date_end"]))

    for kind, requirement, label, check, name, sp_req, sp_name in REVIEW_KINDS:
        months_allowed, source = _param(params, check, name)
        if months_allowed is None:
            continue
        pe.intervals.append(
            {
                "requirement": requirement,
                "label": label,
                "interval": f"at least every {months_allowed} months",
                "source": source,
            }
        )
        note = ""
        if sp_req and sp_name and service_provider:
            sp_months, sp_source = _param(params, check, sp_name)
            if sp_months is not None:
                pe.intervals.append(
                    {
                        "requirement": sp_req,
                        "label": f"{label} (service providers)",
                        "interval": f"at least every {sp_months} months",
                        "source": sp_source,
                    }
                )
                note = f"{sp_req} for a service provider; {requirement}: {months_allowed} months"
                requirement, months_allowed = sp_req, sp_months
        dates = sorted(
            {
                performed(a)
                for a in attestations
                if a.get("kind") == kind
                and not a.get("not_applicable")
                and lookback - dt.timedelta(days=400) <= performed(a) <= as_of
            }
        )
        points = [*dates, as_of]
        gaps = [(b - a).days for a, b in zip(points, points[1:], strict=False)]
        pe.reviews.append(
            {
                "kind": kind,
                "requirement": requirement,
                "label": label,
                "dates": dates,
                "longest_gap_days": (max(gaps) if gaps else 0) if dates else None,
                "limit_months": months_allowed,
                "note": note,
            }
        )
    for requirement, label, check, name, unit in OTHER_INTERVALS:
        value, source = _param(params, check, name)
        if value is not None:
            pe.intervals.append(
                {
                    "requirement": requirement,
                    "label": label,
                    "interval": f"{value} {unit}",
                    "source": source,
                }
            )
    pe.intervals.append(
        {
            "requirement": "10.4.1",
            "label": "review of security events and logs",
            "interval": "every day",
            "source": "the standard (attest_daily_log_review)",
        }
    )
    pe.intervals.sort(key=lambda i: tuple(int(p) for p in str(i["requirement"]).split(".")))
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
    findings = doc.pop("exception_changes")
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
