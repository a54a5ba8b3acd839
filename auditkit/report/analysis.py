"""Sheets for run comparisons and gap analysis, shared by the standalone workbooks
(``auditkit diff --out``, ``auditkit gap --out``) and the evidence pack's workbook."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditkit.clock import claimed_now
from auditkit.history.diff import RunDiff
from auditkit.history.gap import GapItem
from auditkit.safe_output import RESULT_COLOURS, ColumnSpec, WorkbookWriter

CHANGE_COLOURS = {
    "new": "F8CBAD",
    "resolved": "C6EFCE",
    "persisting": "FFEB9C",
    "excepted": "E4DFEC",
}

REQUIREMENT_CHANGE_COLUMNS = [
    ColumnSpec("requirement", 12),
    ColumnSpec("title", 60),
    ColumnSpec("before", 16, RESULT_COLOURS),
    ColumnSpec("after", 16, RESULT_COLOURS),
]
FINDING_CHANGE_COLUMNS = [
    ColumnSpec("check_id", 28),
    ColumnSpec("change", 12, CHANGE_COLOURS),
    ColumnSpec("resource", 50),
    ColumnSpec("status_before", 12),
    ColumnSpec("status_after", 12),
    ColumnSpec("severity", 10),
    ColumnSpec("reason", 70),
    ColumnSpec("fingerprint", 20),
]
GAP_COLUMNS = [
    ColumnSpec("priority", 8),
    ColumnSpec("requirement", 12),
    ColumnSpec("title", 50),
    ColumnSpec("result", 16, RESULT_COLOURS),
    ColumnSpec("severity", 10),
    ColumnSpec("affected_resources", 10),
    ColumnSpec("earliest_deadline", 14),
    ColumnSpec("owner", 20),
    ColumnSpec("due", 12),
    ColumnSpec("note", 40),
    ColumnSpec("checks", 40),
    ColumnSpec("example_resources", 60),
    ColumnSpec("basis", 70),
    ColumnSpec("still_to_cover", 90),
]


def requirement_change_rows(diff: RunDiff) -> Iterable[list[Any]]:
    """Requirements whose result changed."""
    return ([r.requirement, r.title, r.before, r.after] for r in diff.requirements if r.changed)


def finding_change_rows(diff: RunDiff) -> Iterable[list[Any]]:
    """Every new, resolved, persisting or newly excepted exception."""
    return (
        [
            f.check_id,
            f.change,
            f.resource,
            f.status_before,
            f.status_after,
            f.severity,
            f.reason,
            f.fingerprint,
        ]
        for f in diff.findings
    )


def gap_rows(items: list[GapItem]) -> Iterable[list[Any]]:
    """One row per requirement to work on, in priority order."""
    return (
        [
            i.priority,
            i.requirement,
            i.title,
            i.result,
            i.severity,
            i.affected,
            i.earliest_deadline,
            i.owner,
            i.due,
            i.note,
            ", ".join(c["check_id"] for c in i.checks),
            "; ".join(i.sample_resources),
            i.basis,
            "\n".join(i.to_do),
        ]
        for i in items
    )


def write_diff_workbook(diff: RunDiff, path: Path) -> None:
    """A workbook with the requirement changes and the finding changes."""
    with WorkbookWriter(path, created=claimed_now()) as wb:
        wb.add_sheet(
            f"Changes {diff.run_a} to {diff.run_b}",
            REQUIREMENT_CHANGE_COLUMNS,
            requirement_change_rows(diff),
            kind="changes",
        )
        wb.add_sheet(
            "Exception changes", FINDING_CHANGE_COLUMNS, finding_change_rows(diff), kind="findings"
        )
        wb.close()


def write_gap_workbook(items: list[GapItem], path: Path, run_id: int) -> None:
    """A workbook with the prioritised remediation plan."""
    with WorkbookWriter(path, created=claimed_now()) as wb:
        wb.add_sheet(f"Gap analysis run {run_id}", GAP_COLUMNS, gap_rows(items), kind="gap")
        wb.close()


MAX_TIMELINESS_ROWS = 20_000
TIMELINESS_SUMMARY_COLUMNS = [
    ColumnSpec("check_id", 28),
    ColumnSpec("items", 10),
    ColumnSpec("met", 10),
    ColumnSpec("missed", 10),
    ColumnSpec("open_within_deadline", 14),
    ColumnSpec("open_overdue", 14),
    ColumnSpec("median_days", 12),
]
SAMPLE_COLUMNS = [
    ColumnSpec("sample_id", 10),
    ColumnSpec("check_id", 28),
    ColumnSpec("method", 22),
    ColumnSpec("seed", 16),
    ColumnSpec("stratify", 16),
    ColumnSpec("population_size", 12),
    ColumnSpec("population_digest", 20),
    ColumnSpec("selected_by", 24),
    ColumnSpec("selected_at_claimed", 20),
    ColumnSpec("fingerprint", 20),
    ColumnSpec("resource", 50),
    ColumnSpec("status", 12, RESULT_COLOURS),
    ColumnSpec("stratum", 16),
    ColumnSpec("key", 20),
]
TIMELINESS_COLUMNS = [
    ColumnSpec("check_id", 28),
    ColumnSpec("resource", 50),
    ColumnSpec("status", 12, RESULT_COLOURS),
    ColumnSpec("opened", 12),
    ColumnSpec("deadline", 12),
    ColumnSpec("resolved", 12),
    ColumnSpec("days_taken", 10),
    ColumnSpec("outcome", 22),
]


def analysis_sheets(
    con: Any, catalog: Any, report: Any, changes: dict[str, Any] | None, limits: Any
) -> list[Any]:
    """The pack workbook's sheets about time: changes, gap analysis, samples, timeliness."""
    from auditkit.history.gap import gap_analysis
    from auditkit.history.sampling import samples_for_run
    from auditkit.history.timeliness import summarise_run, timeliness
    from auditkit.report.workbook import ExtraSheet

    sheets: list[Any] = []
    if changes is not None:
        diff: RunDiff = changes["diff"]
        sheets.append(
            ExtraSheet(
                "Changes",
                REQUIREMENT_CHANGE_COLUMNS,
                list(requirement_change_rows(diff)),
                kind="changes",
            )
        )
        rows = list(finding_change_rows(diff))
        listed = len(rows)
        total = sum(
            c.new + c.resolved + c.persisting + c.excepted + c.not_retested + c.first_tested
            for c in diff.checks
        )
        if total > listed:
            note = (
                f"... {total - listed} more: run 'auditkit diff {diff.run_a} {diff.run_b} "
                "--out FILE.xlsx' for every row"
            )
            rows.append([None, None, note])
        sheets.append(ExtraSheet("Exception changes", FINDING_CHANGE_COLUMNS, rows, kind="changes"))
    sheets.append(
        ExtraSheet(
            "Gap analysis",
            GAP_COLUMNS,
            list(gap_rows(gap_analysis(con, report.run_id))),
            kind="gap",
        )
    )
    sample_rows: list[list[Any]] = []
    for s in samples_for_run(con, report.run_id):
        for item in s["items"]:
            sample_rows.append(
                [
                    s["sample_id"],
                    s["check_id"],
                    s["method"],
                    s["seed"],
                    s["stratify"],
                    s["population_size"],
                    s["population_digest"],
                    s["selected_by"],
                    s["created_at"],
                    item["fingerprint"],
                    item["resource"],
                    item["status"],
                    item["stratum"],
                    item["key"],
                ]
            )
    sheets.append(ExtraSheet("Samples", SAMPLE_COLUMNS, sample_rows, kind="samples"))
    if catalog is not None:
        items = timeliness(con, catalog, report.run_id, report.as_of, limit=MAX_TIMELINESS_ROWS)
        summary = summarise_run(con, catalog, report.run_id, report.as_of)
        total = sum(int(x["items"]) for x in summary)
        timely: list[list[Any]] = [
            [
                i.check_id,
                i.resource,
                i.status,
                i.opened,
                i.deadline,
                i.resolved,
                i.days_taken,
                i.outcome,
            ]
            for i in items
        ]
        if total > len(timely):
            timely.append(
                [
                    None,
                    f"... {total - len(timely)} more (missed and overdue items are "
                    "listed first): run 'auditkit timeliness --json' for every item",
                ]
            )
        sheets.append(ExtraSheet("Timeliness", TIMELINESS_COLUMNS, timely, kind="timeliness"))
        sheets.append(
            ExtraSheet(
                "Timeliness summary",
                TIMELINESS_SUMMARY_COLUMNS,
                [
                    [
                        x["check_id"],
                        x["items"],
                        x["met"],
                        x["missed"],
                        x["open (within deadline)"],
                        x["open (overdue)"],
                        x["median_days_to_resolve"],
                    ]
                    for x in summary
                ],
                kind="timeliness",
            )
        )
    return sheets
