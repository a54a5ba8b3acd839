"""Gap analysis: a prioritised plan from one run, for everything short of a proposed In Place.

Every requirement that is Not in Place, No exceptions noted (partial), No
automated evidence or Not Tested becomes a plan item with its failing (or
untested) checks, the affected resources, the worst severity, the earliest
deadline found in the exceptions' evidence, what the assessor (or the entity)
still has to cover procedure by procedure, and — from an optional plan file —
an owner, a due date and a note. Order: Not in Place first (remediation), then
partial coverage, then no automated evidence, then declared Not Tested; within
each, severity, the earliest deadline, then the standard's order. It needs no
signing key: it is meant for readiness runs before an audit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from auditkit.errors import ConfigError, InputError, NotFoundError
from auditkit.evaluate.rollup import NO_EVIDENCE, NOT_IN_PLACE, NOT_TESTED, PARTIAL
from auditkit.safeload import load_yaml_file_text, read_regular
from auditkit.store import first_row

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4, "unknown": 5}
RESULT_RANK = {NOT_IN_PLACE: 0, PARTIAL: 1, NO_EVIDENCE: 2, NOT_TESTED: 3}
DEADLINE_COLUMNS = ("deadline", "due", "due_date")


@dataclass
class PlanEntry:
    """One line of the plan file."""

    check: str | None
    requirement: str | None
    owner: str
    due: dt.date | None
    note: str


@dataclass
class GapItem:
    """One requirement to work on."""

    requirement: str
    title: str
    result: str
    basis: str
    checks: list[dict[str, Any]]
    affected: int
    sample_resources: list[str]
    severity: str
    earliest_deadline: dt.date | None
    owner: str | None = None
    due: dt.date | None = None
    note: str | None = None
    priority: int = 0
    overdue_plan: bool = field(default=False)
    to_do: list[str] = field(default_factory=list)  # procedures not covered, and what is left

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = dict(self.__dict__)
        for key in ("earliest_deadline", "due"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def load_plan(path: Path | None) -> list[PlanEntry]:
    """Read a plan file: ``plan: [{check|requirement, owner, due, note}]``."""
    if path is None:
        return []
    try:
        data = read_regular(path)
        doc = load_yaml_file_text(data.decode("utf-8"), source=str(path))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path) from None
    except InputError as exc:
        message = "plan file not found" if exc.message == "file not found" else exc.message
        raise ConfigError(message, path=path, location=exc.location) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("plan"), list):
        raise ConfigError("expected a top-level 'plan:' list", path=path)
    entries = []
    for index, item in enumerate(doc["plan"]):
        where = f"#/plan/{index}"
        if not isinstance(item, dict):
            raise ConfigError("entry must be a mapping", path=path, location=where)
        extra = sorted(set(item) - {"check", "requirement", "owner", "due", "note"})
        if extra:
            raise ConfigError(f"unknown key {extra[0]!r}", path=path, location=where)
        if bool(item.get("check")) == bool(item.get("requirement")):
            raise ConfigError("give exactly one of check or requirement", path=path, location=where)
        due = item.get("due")
        if due is not None and not isinstance(due, dt.date):
            try:
                due = dt.date.fromisoformat(str(due))
            except ValueError:
                raise ConfigError(
                    f"due must be a date, not {due!r}", path=path, location=where + "/due"
                ) from None
        owner = item.get("owner")
        if not isinstance(owner, str) or not owner.strip():
            raise ConfigError("owner is required", path=path, location=where + "/owner")
        entries.append(
            PlanEntry(
                check=str(item["check"]) if item.get("check") else None,
                requirement=str(item["requirement"]) if item.get("requirement") else None,
                owner=owner.strip(),
                due=due,
                note=str(item.get("note") or "").strip(),
            )
        )
    return entries


def gap_analysis(
    con: duckdb.DuckDBPyConnection, run_id: int, plan: list[PlanEntry] | None = None
) -> list[GapItem]:
    """The prioritised plan for ``run_id``."""
    run = first_row(con.execute("SELECT as_of FROM runs WHERE run_id = ?", [run_id]))
    if run is None:
        raise NotFoundError(f"no run {run_id}; see 'auditkit runs list'")
    as_of: dt.date = run[0]
    reqs = con.execute(
        "SELECT requirement, title, result, basis, checks, sort_key FROM run_requirements "
        "WHERE run_id = ? AND list_contains(?, result) ORDER BY sort_key",
        [run_id, list(RESULT_RANK)],
    ).fetchall()
    to_do: dict[str, list[str]] = {}
    for requirement, line in con.execute(
        "SELECT requirement, to_do FROM run_procedures "
        "WHERE run_id = ? AND to_do IS NOT NULL ORDER BY sort_key, position",
        [run_id],
    ).fetchall():
        to_do.setdefault(requirement, []).append(line)
    check_rows = {
        r[0]: {
            "check_id": r[0],
            "title": r[1],
            "severity": r[2],
            "state": r[3],
            "reason": r[4],
            "failed": r[5],
            "population": r[6],
        }
        for r in con.execute(
            "SELECT check_id, title, severity, state, reason, failed, population "
            "FROM run_checks WHERE run_id = ?",
            [run_id],
        ).fetchall()
    }
    # Per check, set-based: affected resources, worst severity, earliest deadline, examples.
    deadline_sql = " , ".join(
        f"try_cast(left(json_extract_string(evidence, '$.{k}'), 10) AS DATE)"
        for k in DEADLINE_COLUMNS
    )
    per_check: dict[str, dict[str, Any]] = {}
    for check_id, affected, worst, deadline, examples in con.execute(
        f"""
        SELECT check_id, count(DISTINCT resource),
               arg_min(severity, CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
                   WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END),
               min(least({deadline_sql})),
               (list(resource ORDER BY resource))[1:5]
        FROM run_results WHERE run_id = ? AND status = 'fail' GROUP BY check_id
        """,
        [run_id],
    ).fetchall():
        per_check[check_id] = {
            "affected": int(affected),
            "severity": worst,
            "deadline": deadline,
            "examples": list(examples),
        }
    by_check = {p.check: p for p in plan or [] if p.check}
    by_req = {p.requirement: p for p in plan or [] if p.requirement}
    items: list[GapItem] = []
    for requirement, title, result, basis, checks, sort_key in reqs:
        involved = [
            check_rows[c]
            for c in checks
            if c in check_rows
            and (check_rows[c]["failed"] or check_rows[c]["state"] != "evaluated")
        ]
        stats = [per_check[c] for c in checks if c in per_check]
        severities = [st["severity"] for st in stats] or [c["severity"] for c in involved]
        severity = min(severities, key=lambda s: SEVERITY_RANK.get(s, 9), default="unknown")
        deadlines = [st["deadline"] for st in stats if st["deadline"] is not None]
        deadline = min(deadlines) if deadlines else None
        entry = by_req.get(requirement) or next(
            (by_check[c] for c in checks if c in by_check), None
        )
        item = GapItem(
            requirement=requirement,
            title=title,
            result=result,
            basis=basis,
            checks=involved,
            affected=sum(st["affected"] for st in stats),
            sample_resources=[r for st in stats for r in st["examples"]][:5],
            severity=severity,
            earliest_deadline=deadline,
            owner=entry.owner if entry else None,
            due=entry.due if entry else None,
            note=entry.note if entry else None,
            to_do=to_do.get(requirement, []),
        )
        item.overdue_plan = bool(item.due and item.due < as_of)
        item.priority = sort_key
        items.append(item)
    items.sort(
        key=lambda i: (
            RESULT_RANK.get(i.result, 9),
            SEVERITY_RANK.get(i.severity, 9),
            i.earliest_deadline or dt.date.max,
            i.priority,
        )
    )
    for rank, item in enumerate(items, start=1):
        item.priority = rank
    return items
