"""How much of a run each pack output holds, decided once and stated in every output.

The evidence files (``evidence/<check>/``) always hold every item. The PDF
holds summaries and at most ``sample_per_check`` failing (and excepted) items
per check. The workbook is what an assessor opens in Excel: its Exceptions
noted sheet lists every such item up to ``findings_sheet_rows`` and its Population
sheet every tested item up to ``population_sheet_rows``; past a budget the
rows are shared fairly between checks (a check with fewer items than its
share lists them all, the rest is split among the larger ones), and the
Summary sheet, the Checks sheet and the PDF say so, check by check.

Why these numbers: a write-only openpyxl sheet costs about 100 microseconds a
row at our width (measured in bench/README.md), so a million-row sheet alone
takes over a minute and gives a 100+ MB workbook that Excel opens slowly; the
pack must stay under a minute for a million exceptions noted. The
budgets are parameters (:class:`PackLimits`) for callers that need more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditkit.report.data import SAMPLE_PER_CHECK, RunReport

FINDINGS_SHEET_ROWS = 100_000
POPULATION_SHEET_ROWS = 50_000
PDF_TEXT_CHARS = 500
# The evidence browser (index.html) lists the Findings sheet's items, and these
# others; measured in bench/README.md (a page of ~100,000 items is ~60 MB and
# opens in a few seconds; the browser then filters it interactively).
BROWSER_OTHER_PER_CHECK = 200
BROWSER_TEXT_CHARS = 2_000
BROWSER_EVIDENCE_CHARS = 8_000
BROWSER_CHANGES_PER_KIND = 2_000


@dataclass(frozen=True)
class PackLimits:
    """Bounds for the PDF, the workbook and the browser page (evidence files: never bounded).

    ``sheet_max_rows`` is the row limit per physical sheet, header included,
    after which a sheet continues on ``"<title> (2)"``; ``None`` means
    Excel's own limit (1,048,576). Tests lower it to exercise the rollover.
    """

    sample_per_check: int = SAMPLE_PER_CHECK
    findings_sheet_rows: int = FINDINGS_SHEET_ROWS
    population_sheet_rows: int = POPULATION_SHEET_ROWS
    sheet_max_rows: int | None = None
    pdf_text_chars: int = PDF_TEXT_CHARS
    browser_other_per_check: int = BROWSER_OTHER_PER_CHECK
    browser_text_chars: int = BROWSER_TEXT_CHARS
    browser_evidence_chars: int = BROWSER_EVIDENCE_CHARS
    browser_changes_per_kind: int = BROWSER_CHANGES_PER_KIND


def fair_share(counts: Mapping[str, int], budget: int) -> dict[str, int]:
    """Split ``budget`` rows between keys: small ones get all they have, the rest share.

    Deterministic (ties broken by key). When the counts fit, every key gets its count.
    """
    out: dict[str, int] = {}
    remaining = max(0, budget)
    items = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    for i, (key, count) in enumerate(items):
        share = remaining // (len(items) - i)
        take = min(max(0, count), share)
        out[key] = take
        remaining -= take
    return {k: out[k] for k in counts}


@dataclass(frozen=True)
class SheetPlan:
    """Rows a workbook sheet lists per check, against the rows that exist."""

    listed: dict[str, int]
    total: dict[str, int]
    budget: int

    @property
    def listed_rows(self) -> int:
        """Rows the sheet holds over all checks."""
        return sum(self.listed.values())

    @property
    def total_rows(self) -> int:
        """Rows that exist over all checks (all of them are in the evidence files)."""
        return sum(self.total.values())

    @property
    def capped(self) -> bool:
        """True when at least one check lists fewer rows than it has."""
        return self.listed_rows < self.total_rows

    def limit(self, check_id: str) -> int | None:
        """The LIMIT for one check's query, or None when it lists everything."""
        listed = self.listed.get(check_id, 0)
        return None if listed >= self.total.get(check_id, 0) else listed


@dataclass(frozen=True)
class WorkbookPlan:
    """What the Exceptions noted and Population sheets list."""

    findings: SheetPlan
    population: SheetPlan
    limits: PackLimits

    @classmethod
    def for_run(cls, report: RunReport, limits: PackLimits) -> WorkbookPlan:
        """Share the budgets between the checks that stored result rows."""
        listed = [c for c in report.checks.values() if c.rows]
        findings = {c.id: c.finding_rows for c in listed}
        population = {c.id: c.rows for c in listed}
        return cls(
            findings=SheetPlan(
                fair_share(findings, limits.findings_sheet_rows),
                findings,
                limits.findings_sheet_rows,
            ),
            population=SheetPlan(
                fair_share(population, limits.population_sheet_rows),
                population,
                limits.population_sheet_rows,
            ),
            limits=limits,
        )

    def statements(self) -> list[str]:
        """One sentence per sheet on what it lists; the same text in the workbook and the PDF."""
        f, p = self.findings, self.population
        out = []
        if f.capped:
            out.append(
                f"The Exceptions noted sheet lists {f.listed_rows:,} of {f.total_rows:,} failing "
                f"and excepted items (budget {f.budget:,} rows, shared fairly between checks; "
                "within a check the most severe first, then a reproducible pseudo-random choice "
                "by fingerprint). Every one is in evidence/<check>/exceptions_noted.csv and "
                ".parquet."
            )
        else:
            out.append(
                "The Exceptions noted sheet lists every failing and excepted item "
                f"({f.total_rows:,})."
            )
        if p.capped:
            out.append(
                f"The Population sheet lists {p.listed_rows:,} of {p.total_rows:,} tested items "
                f"(budget {p.budget:,} rows, shared fairly between checks; within a check the "
                "items with the lowest fingerprints, a reproducible pseudo-random sample). The "
                "complete population of every check is in evidence/<check>/population.csv and "
                ".parquet."
            )
        else:
            out.append(f"The Population sheet lists every tested item ({p.total_rows:,}).")
        return out
