"""The workbook: the run as sheets an assessor filters and samples in Excel.

Sheets, in order: Summary, Requirements, Procedures, Checks, Exceptions noted,
Population, any extra sheets the caller passes (changes, gap analysis, samples,
timeliness), Exceptions register, Attestations, Evidence references, Evidence
sources, Write log. "Exceptions noted" are the items the checks found failing
(and those an approved exception covers); the results are candidates for the
assessor, never the assessor's findings.

Every sheet goes through :class:`auditkit.safe_output.WorkbookWriter`
(write-only, constant memory), which keeps hostile strings as text cells
(never a formula, never an error value), replaces characters XML cannot hold,
truncates cells over 32,767 characters with a visible marker and rolls a
sheet over to ``"<title> (2)"`` past the row limit. What it changed is counted
in the last sheet, Write log, since the counts are only known at the end.

Exceptions noted and Population are bounded by a :class:`~auditkit.report.limits.WorkbookPlan`;
the Summary and the Checks sheet say how many rows each check lists of how
many exist, and the evidence files hold every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from auditkit.evaluate.registers import WORKSHEET_FIELDS
from auditkit.report.data import CheckView, RunReport
from auditkit.report.limits import WorkbookPlan
from auditkit.report.rows import (
    BASE_COLUMNS,
    DETAILS_COLUMN,
    FINDING_STATUSES,
    batch_rows,
    result_batches,
)
from auditkit.safe_output import RESULT_COLOURS, ColumnSpec, WorkbookStats, WorkbookWriter

SEVERITY_COLOURS = {"critical": "E1BEE7", "high": "FFC7CE", "medium": "FFE0B2", "low": "FFF9C4"}
BOOL_COLOURS = {"True": "FFEB9C"}


@dataclass
class ExtraSheet:
    """A sheet supplied by the caller (e.g. the Samples sheet of a later release).

    It is written after Population with the same safety rules as every sheet.
    """

    title: str
    columns: Sequence[ColumnSpec]
    rows: Iterable[Sequence[object]]
    kind: str = "extra"


@dataclass
class WorkbookResult:
    """What :func:`write_workbook` wrote: the writer's counters and the plan it followed."""

    stats: WorkbookStats
    plan: WorkbookPlan
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def cells_truncated(self) -> int:
        """Cells cut at 32,767 characters (each marked in the cell)."""
        return self.stats.cells_truncated


def _result_columns(check: CheckView | None = None) -> list[tuple[str, str]]:
    """The sheet columns; ``requirements`` names what each row counts towards."""
    cols = list(BASE_COLUMNS)
    mapped = ", ".join(check.requirements) if check is not None else ""
    literal = "'" + mapped.replace("'", "''") + "'"
    cols[cols.index(("requirement", "r.requirement"))] = (
        "requirements",
        f"coalesce(r.requirement || ' only', {literal})",
    )
    cols.insert(cols.index(("reason", "r.reason")) + 1, DETAILS_COLUMN)
    return cols


RESULT_SPECS = {
    "check_id": ColumnSpec("check_id", 28),
    "requirements": ColumnSpec("requirements", 14),
    "resource": ColumnSpec("resource", 50),
    "status": ColumnSpec("status", 12, RESULT_COLOURS),
    "severity": ColumnSpec("severity", 10, SEVERITY_COLOURS),
    "reason": ColumnSpec("reason", 70),
    "details": ColumnSpec("details", 80),
    "fingerprint": ColumnSpec("fingerprint", 20),
    "source_file": ColumnSpec("source_file", 36),
    "source_sha256": ColumnSpec("source_sha256", 20),
    "locator": ColumnSpec("locator", 24),
    "exception_id": ColumnSpec("exception_id", 14),
}


def _sheet_rows(
    con: duckdb.DuckDBPyConnection,
    report: RunReport,
    limits: dict[str, int],
    totals: dict[str, int],
    *,
    statuses: Sequence[str] | None,
    pick: str,
) -> Iterator[tuple[Any, ...]]:
    for check_id in sorted(limits):
        listed = limits[check_id]
        if listed <= 0:
            continue
        reader = result_batches(
            con,
            report.run_id,
            _result_columns(report.checks.get(check_id)),
            check_id=check_id,
            statuses=statuses,
            limit=None if listed >= totals[check_id] else listed,
            pick=pick,
            order="severity" if pick == "findings" else "resource",
        )
        for batch in reader:
            yield from batch_rows(batch)


def _summary_rows(report: RunReport, plan: WorkbookPlan, signed: dt.datetime) -> list[list[Any]]:
    counts = report.counts()
    rows: list[list[Any]] = [
        ["Organisation", report.organisation],
        ["Entity type", report.entity_type.replace("_", " ")],
        ["Assessment period", f"{report.period_start} to {report.period_end}"],
        ["Results as of", report.as_of],
        ["Framework", f"{report.framework_title} ({report.framework_id})"],
        ["Run", report.run_id],
        ["Run label", report.label],
        ["Evaluated (UTC, claimed by the operator's clock)", report.created_at],
        ["Pack signed (UTC, claimed by the signer's clock)", signed],
        ["Tool version", f"auditkit {report.tool_version}"],
        ["Catalog digest (sha256)", report.catalog_digest],
        ["Configuration digest (sha256)", report.config_digest],
        [
            "What this is",
            "The entity's evidence for its assessor, with candidate results: a requirement is "
            "proposed In Place only when every one of its testing procedures is covered (sheet "
            "Procedures). No exceptions noted (partial) is not In Place; No automated evidence "
            "is not Not Tested, which only the entity's declarations set.",
        ],
        *[[f"Requirements: {k}", v] for k, v in counts.items()],
        ["Requirements (total)", len(report.requirements)],
        ["Items tested (all checks)", report.population],
        ["Items with exceptions noted", report.failing_items],
        ["Items under an approved exception", report.excepted_items],
        ["Evidence source files", len(report.sources)],
        ["Evidence references", f"{len(report.evidence)} (sheet Evidence references)"],
        *[[f"Scope: {k.replace('_', ' ')}", ", ".join(v)] for k, v in report.scope.items()],
        ["", None],
        ["About this workbook", None],
        *[["Rows listed", s] for s in plan.statements()],
        [
            "Sheets",
            "Requirements: one row per requirement with its candidate result. Procedures: one "
            "row per testing procedure, how far it is covered, by what, with which evidence "
            "references, and what the assessor still has to do. Checks: one row per check with "
            "its population, procedures and the rows each sheet lists. Exceptions noted: failing "
            "and excepted items with their source record. Population: tested items. Exceptions "
            "register, Attestations: the registers as applied. Evidence references: every "
            "evidence set (EV-nnnn). Evidence sources: every input file with its sha256. Write "
            "log: rows per sheet and every cell the writer changed.",
        ],
        [
            "Untrusted text",
            "Resource names, reasons and details come from scan results and logs. Every such "
            "value is a text cell: nothing is a formula. Characters XML cannot hold are "
            "replaced by U+FFFD; cells over 32,767 characters end with a truncation marker "
            "giving the full length and sha256. Counts are in the Write log sheet.",
        ],
        [
            "Continuation sheets",
            'A sheet that reaches Excel\'s row limit continues on "<title> (2)" with the '
            "same header.",
        ],
        [
            "Integrity",
            "This file is listed with its sha256 in manifest.dsse.json, which is signed; "
            "see VERIFY.md in the pack.",
        ],
    ]
    return rows


def _param_text(report: RunReport, checks: Iterable[Any]) -> str:
    return "; ".join(
        f"{c.id}.{p.name}={p.value_text}{(' ' + p.unit) if p.unit else ''} ({p.provenance})"
        for c in checks
        for p in c.param_views
    )


def _claims_text(check: CheckView) -> str:
    return "; ".join(
        f"{c['procedure']} "
        + (
            "(can show exceptions only)"
            if c["extent"] == "exceptions-only"
            else f"({', '.join(c['methods'])}, {c['extent']} population)"
        )
        for c in check.claims
    )


def write_workbook(
    con: duckdb.DuckDBPyConnection,
    report: RunReport,
    path: Path,
    created: dt.datetime,
    plan: WorkbookPlan,
    *,
    max_rows: int | None = None,
    extra_sheets: Sequence[ExtraSheet] = (),
) -> WorkbookResult:
    """Write the workbook for ``report`` to ``path`` (atomically; nothing on failure)."""
    result_col = ColumnSpec("result", 16, RESULT_COLOURS)
    specs = [RESULT_SPECS[name] for name, _ in _result_columns()]
    rows: dict[str, int] = {}
    with WorkbookWriter(path, created=created, max_rows=max_rows) as wb:
        wb.add_sheet(
            "Summary",
            [ColumnSpec("item", 44), ColumnSpec("value", 110)],
            _summary_rows(report, plan, created),
            kind="summary",
        )
        wb.add_sheet(
            "Requirements",
            [
                ColumnSpec("requirement", 12),
                ColumnSpec("title", 60),
                result_col,
                ColumnSpec("procedures_covered", 12),
                ColumnSpec("procedures_total", 12),
                ColumnSpec("compensating_control", 12, BOOL_COLOURS),
                ColumnSpec("customized_approach", 12, BOOL_COLOURS),
                ColumnSpec("manual", 10),
                ColumnSpec("checks", 40),
                ColumnSpec("population_tested", 12),
                ColumnSpec("exceptions_noted", 12),
                ColumnSpec("excepted", 10),
                ColumnSpec("attestations", 24),
                ColumnSpec("evidence_refs", 30),
                ColumnSpec("parameters", 60),
                ColumnSpec("basis", 80),
                ColumnSpec("still_for_the_assessor", 100),
            ],
            (
                [
                    r.id,
                    r.title,
                    r.result,
                    r.procedures_covered,
                    r.procedures_total,
                    r.compensating_control,
                    r.customized_approach,
                    r.manual,
                    ", ".join(c.id for c in r.checks),
                    r.population,
                    sum(c.failed for c in r.checks),
                    sum(c.excepted for c in r.checks),
                    ", ".join(str(a.get("id")) for a in r.attestations),
                    " ".join(r.evidence_refs),
                    _param_text(report, r.checks),
                    r.basis,
                    "\n".join(r.to_do),
                ]
                for r in report.requirements
            ),
            kind="requirements",
        )
        wb.add_sheet(
            "Procedures",
            [
                ColumnSpec("requirement", 12),
                ColumnSpec("procedure", 14),
                ColumnSpec("methods", 26),
                ColumnSpec("description", 70),
                ColumnSpec("status", 16, RESULT_COLOURS),
                ColumnSpec("covered_methods", 22),
                ColumnSpec("partly_covered_methods", 22),
                ColumnSpec("checks", 40),
                ColumnSpec("attestations", 24),
                ColumnSpec("evidence_refs", 24),
                ColumnSpec("basis", 70),
                ColumnSpec("still_for_the_assessor", 90),
            ],
            (
                [
                    r.id,
                    p["procedure"],
                    ", ".join(p["methods"]),
                    p["text"],
                    p["status"],
                    ", ".join(p["covered_methods"]),
                    ", ".join(p["partly_methods"]),
                    ", ".join(p["checks"]),
                    ", ".join(p["attestations"]),
                    " ".join(p["evidence_refs"]),
                    p["basis"],
                    p["to_do"],
                ]
                for r in report.requirements
                for p in r.procedures
            ),
            kind="procedures",
        )
        wb.add_sheet(
            "Checks",
            [
                ColumnSpec("check_id", 30),
                ColumnSpec("evidence_ref", 12),
                ColumnSpec("title", 60),
                ColumnSpec("population_tested", 50),
                ColumnSpec("procedures_performed", 60),
                ColumnSpec("requirements", 16),
                ColumnSpec("severity", 10, SEVERITY_COLOURS),
                ColumnSpec("state", 12),
                ColumnSpec("reason", 60),
                ColumnSpec("resource_type", 20),
                ColumnSpec("population", 12),
                ColumnSpec("passed", 10),
                ColumnSpec("exceptions_noted", 10),
                ColumnSpec("excepted", 10),
                ColumnSpec("not_applicable", 10),
                ColumnSpec("exceptions_listed", 12),
                ColumnSpec("population_listed", 12),
                ColumnSpec("evidence_files", 40),
                ColumnSpec("parameters", 60),
                ColumnSpec("what_is_tested", 80),
            ],
            (
                [
                    c.id,
                    c.evidence_ref,
                    c.title,
                    c.population_text,
                    _claims_text(c),
                    ", ".join(c.requirements),
                    c.severity,
                    c.state.replace("_", " "),
                    c.reason,
                    c.resource_type,
                    c.population,
                    c.passed,
                    c.failed,
                    c.excepted,
                    c.not_applicable,
                    plan.findings.listed.get(c.id, 0),
                    plan.population.listed.get(c.id, 0),
                    f"evidence/{c.id}/" if c.has_evidence else None,
                    _param_text(report, [c]),
                    c.description,
                ]
                for c in report.checks.values()
            ),
            kind="checks",
        )
        sheet = wb.add_sheet(
            "Exceptions noted",
            specs,
            _sheet_rows(
                con,
                report,
                plan.findings.listed,
                plan.findings.total,
                statuses=FINDING_STATUSES,
                pick="findings",
            ),
            kind="findings",
        )
        rows["Exceptions noted"] = sheet.rows
        sheet = wb.add_sheet(
            "Population",
            specs,
            _sheet_rows(
                con,
                report,
                plan.population.listed,
                plan.population.total,
                statuses=None,
                pick="population",
            ),
            kind="population",
        )
        rows["Population"] = sheet.rows
        for extra in extra_sheets:
            sheet = wb.add_sheet(extra.title, extra.columns, extra.rows, kind=extra.kind)
            rows[extra.title] = sheet.rows
        wb.add_sheet(
            "Exceptions register",
            [
                ColumnSpec("exception_id", 14),
                ColumnSpec("check_id", 28),
                ColumnSpec("requirement", 12),
                ColumnSpec("kind", 22),
                ColumnSpec("state", 14),
                ColumnSpec("matched_items", 10),
                ColumnSpec("matches", 50),
                ColumnSpec("justification", 60),
                ColumnSpec("approved_by", 24),
                ColumnSpec("approved_on", 12),
                ColumnSpec("expires", 12),
                *[ColumnSpec(f"worksheet: {f.replace('_', ' ')}", 50) for f in WORKSHEET_FIELDS],
            ],
            (
                [
                    e["id"],
                    e["check"],
                    e.get("requirement"),
                    e.get("kind"),
                    e["state"],
                    e["matched"],
                    e.get("resource") or e.get("fingerprint"),
                    e.get("justification"),
                    e.get("approved_by"),
                    e.get("approved_on"),
                    e.get("expires"),
                    *[(e.get("worksheet") or {}).get(f) for f in WORKSHEET_FIELDS],
                ]
                for e in report.exceptions
            ),
            kind="exceptions",
        )
        wb.add_sheet(
            "Attestations",
            [
                ColumnSpec("attestation_id", 16),
                ColumnSpec("requirement", 12),
                ColumnSpec("kind", 20),
                ColumnSpec("date_start", 12),
                ColumnSpec("date_end", 12),
                ColumnSpec("performed_by", 24),
                ColumnSpec("evidence", 40),
                ColumnSpec("result", 10),
                ColumnSpec("not_applicable", 10),
                ColumnSpec("justification", 50),
                ColumnSpec("notes", 50),
                ColumnSpec("source_file", 30),
                ColumnSpec("locator", 16),
                ColumnSpec("source_sha256", 20),
                ColumnSpec("register_ref", 12),
                ColumnSpec("stands_for_procedures", 24),
            ],
            (
                [
                    a.get("id"),
                    a.get("requirement"),
                    a.get("kind"),
                    a.get("date_start"),
                    a.get("date_end"),
                    a.get("performed_by"),
                    a.get("evidence"),
                    a.get("result"),
                    a.get("not_applicable"),
                    a.get("justification"),
                    a.get("notes"),
                    a.get("source_file"),
                    a.get("locator"),
                    a.get("source_sha256"),
                    report.evidence_ref("register", str(a.get("source_file"))),
                    ", ".join(a.get("procedures") or []),
                ]
                for a in report.attestations
            ),
            kind="attestations",
        )
        wb.add_sheet(
            "Evidence references",
            [
                ColumnSpec("evidence_ref", 12),
                ColumnSpec("kind", 18),
                ColumnSpec("what", 70),
                ColumnSpec("key", 40),
                ColumnSpec("sha256", 70),
            ],
            ([e["ref"], e["kind"], e["title"], e["key"], e["sha256"]] for e in report.evidence),
            kind="evidence",
        )
        wb.add_sheet(
            "Evidence sources",
            [
                ColumnSpec("evidence_ref", 12),
                ColumnSpec("path", 50),
                ColumnSpec("sha256", 70),
                ColumnSpec("format", 18),
                ColumnSpec("family", 10),
                ColumnSpec("parser_version", 10),
                ColumnSpec("records", 10),
                ColumnSpec("skipped", 10),
                ColumnSpec("time_min", 20),
                ColumnSpec("time_max", 20),
                ColumnSpec("observed_at", 20),
                ColumnSpec("size_bytes", 12),
                ColumnSpec("gzip", 8),
            ],
            (
                [
                    report.evidence_ref("source file", s["source_sha256"]),
                    s["path"],
                    s["source_sha256"],
                    s["format"],
                    s["family"],
                    s["parser_version"],
                    s["records_stored"],
                    s["records_skipped"],
                    s["time_min"],
                    s["time_max"],
                    s["observed_at"],
                    s["size_bytes"],
                    s["compressed"],
                ]
                for s in report.sources
            ),
            kind="sources",
        )
        # Last, because only now are the counts known.
        log: list[list[Any]] = [
            [s.title, s.kind, s.rows, ", ".join(f"{t} ({n:,})" for t, n in s.parts)]
            for s in wb.stats.sheets
        ]
        log.append(["(cells truncated at 32,767 characters)", "writer", wb.stats.cells_truncated])
        log.append(["(characters replaced by U+FFFD)", "writer", wb.stats.chars_replaced])
        wb.add_sheet(
            "Write log",
            [
                ColumnSpec("sheet", 30),
                ColumnSpec("kind", 14),
                ColumnSpec("rows", 12),
                ColumnSpec("physical sheets (rows)", 60),
            ],
            log,
            kind="log",
        )
        stats = wb.close()
    return WorkbookResult(stats=stats, plan=plan, rows=rows)
