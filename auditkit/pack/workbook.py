"""The workbook: every requirement, finding and population row, written safely.

Sheets: Summary, Requirements, Findings, Population, Exceptions, Attestations,
Evidence sources. Every sheet is write-only (constant memory) through
:class:`auditkit.safe_output.WorkbookWriter`, which keeps hostile strings as
text, replaces characters XML cannot hold, truncates visibly and rolls over
past Excel's row limit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from auditkit.pack.data import RunReport, iter_results
from auditkit.safe_output import RESULT_COLOURS, ColumnSpec, WorkbookStats, WorkbookWriter


def _result_rows(
    con: duckdb.DuckDBPyConnection, run_id: int, failing_only: bool
) -> Iterator[list[Any]]:
    for row in iter_results(con, run_id, failing_only=failing_only):
        (
            check_id,
            resource,
            status,
            severity,
            reason,
            fingerprint,
            path,
            sha,
            locator,
            exception_id,
            evidence,
        ) = row
        yield [
            check_id,
            resource,
            status,
            severity,
            reason,
            fingerprint,
            path,
            sha,
            locator,
            exception_id,
            evidence,
        ]


def write_workbook(
    con: duckdb.DuckDBPyConnection, report: RunReport, path: Path, created: dt.datetime
) -> WorkbookStats:
    """Write the workbook for ``report`` to ``path``."""
    result_col = ColumnSpec("result", 16, RESULT_COLOURS)
    status_col = ColumnSpec("status", 12, RESULT_COLOURS)
    with WorkbookWriter(path, created=created) as wb:
        counts = report.counts()
        summary: list[list[Any]] = [
            ["Organisation", report.organisation],
            ["Entity type", report.entity_type],
            ["Assessment period", f"{report.period_start} to {report.period_end}"],
            ["Results as of", report.as_of],
            ["Framework", f"{report.framework_title} ({report.framework_id})"],
            ["Run", report.run_id],
            ["Evaluated (claimed time, UTC)", report.created_at],
            ["Tool version", report.tool_version],
            ["Catalog digest", report.catalog_digest],
            ["Configuration digest", report.config_digest],
            *[[f"Requirements {k}", v] for k, v in counts.items()],
            ["Failing items", sum(c.failed for c in report.checks.values())],
            ["Excepted items", sum(c.excepted for c in report.checks.values())],
            *[[f"Scope: {k.replace('_', ' ')}", ", ".join(v)] for k, v in report.scope.items()],
        ]
        wb.add_sheet(
            "Summary", [ColumnSpec("item", 32), ColumnSpec("value", 80)], summary, kind="summary"
        )
        wb.add_sheet(
            "Requirements",
            [
                ColumnSpec("requirement", 12),
                ColumnSpec("title", 60),
                result_col,
                ColumnSpec("compensating_control", 12),
                ColumnSpec("customized_approach", 12),
                ColumnSpec("checks", 40),
                ColumnSpec("population_tested", 12),
                ColumnSpec("failed", 10),
                ColumnSpec("excepted", 10),
                ColumnSpec("parameters", 60),
                ColumnSpec("basis", 80),
            ],
            (
                [
                    r.id,
                    r.title,
                    r.result,
                    r.compensating_control,
                    r.customized_approach,
                    ", ".join(c.id for c in r.checks),
                    sum(c.population for c in r.checks),
                    sum(c.failed for c in r.checks),
                    sum(c.excepted for c in r.checks),
                    "; ".join(
                        f"{c.id}.{k}={v['value']} ({v['provenance']})"
                        for c in r.checks
                        for k, v in c.params.items()
                    ),
                    r.basis,
                ]
                for r in report.requirements
            ),
            kind="requirements",
        )
        wb.add_sheet(
            "Checks",
            [
                ColumnSpec("check_id", 30),
                ColumnSpec("title", 60),
                ColumnSpec("severity", 10),
                ColumnSpec("state", 12, RESULT_COLOURS),
                ColumnSpec("reason", 60),
                ColumnSpec("population", 12),
                ColumnSpec("passed", 10),
                ColumnSpec("failed", 10),
                ColumnSpec("excepted", 10),
                ColumnSpec("not_applicable", 10),
                ColumnSpec("parameters", 60),
            ],
            (
                [
                    c.id,
                    c.title,
                    c.severity,
                    c.state,
                    c.reason,
                    c.population,
                    c.passed,
                    c.failed,
                    c.excepted,
                    c.not_applicable,
                    json.dumps(c.params, sort_keys=True),
                ]
                for c in report.checks.values()
            ),
            kind="checks",
        )
        result_columns = [
            ColumnSpec("check_id", 28),
            ColumnSpec("resource", 50),
            status_col,
            ColumnSpec("severity", 10),
            ColumnSpec("reason", 70),
            ColumnSpec("fingerprint", 20),
            ColumnSpec("source_file", 40),
            ColumnSpec("source_sha256", 20),
            ColumnSpec("locator", 24),
            ColumnSpec("exception_id", 14),
            ColumnSpec("evidence", 80),
        ]
        wb.add_sheet(
            "Findings", result_columns, _result_rows(con, report.run_id, True), kind="findings"
        )
        wb.add_sheet(
            "Population", result_columns, _result_rows(con, report.run_id, False), kind="population"
        )
        wb.add_sheet(
            "Exceptions",
            [
                ColumnSpec("exception_id", 14),
                ColumnSpec("check_id", 28),
                ColumnSpec("kind", 22),
                ColumnSpec("state", 14),
                ColumnSpec("matched_items", 10),
                ColumnSpec("matches", 50),
                ColumnSpec("justification", 60),
                ColumnSpec("approved_by", 24),
                ColumnSpec("approved_on", 12),
                ColumnSpec("expires", 12),
                ColumnSpec("worksheet", 80),
            ],
            (
                [
                    e["id"],
                    e["check"],
                    e["kind"],
                    e["state"],
                    e["matched"],
                    e.get("resource") or e.get("fingerprint"),
                    e["justification"],
                    e["approved_by"],
                    e["approved_on"],
                    e["expires"],
                    json.dumps(e["worksheet"], sort_keys=True) if e.get("worksheet") else None,
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
                ColumnSpec("source_file", 30),
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
                    a.get("source_file"),
                ]
                for a in report.attestations
            ),
            kind="attestations",
        )
        wb.add_sheet(
            "Evidence sources",
            [
                ColumnSpec("path", 60),
                ColumnSpec("format", 20),
                ColumnSpec("family", 10),
                ColumnSpec("records", 10),
                ColumnSpec("skipped", 10),
                ColumnSpec("time_min", 20),
                ColumnSpec("time_max", 20),
                ColumnSpec("observed_at", 20),
                ColumnSpec("size_bytes", 12),
                ColumnSpec("sha256", 70),
            ],
            (
                [
                    s["path"],
                    s["format"],
                    s["family"],
                    s["records_stored"],
                    s["records_skipped"],
                    s["time_min"],
                    s["time_max"],
                    s["observed_at"],
                    s["size_bytes"],
                    s["source_sha256"],
                ]
                for s in report.sources
            ),
            kind="sources",
        )
        return wb.close()
