"""The PDF does not grow with the findings; the workbook shares its budget fairly."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from auditkit.evaluate.catalog import load_catalog
from auditkit.pack.build import report_context
from auditkit.report.data import SAMPLE_PER_CHECK, load_run
from auditkit.report.limits import PackLimits, WorkbookPlan, fair_share
from auditkit.report.pdf import render_html, render_pdf
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.conftest import EXTRA_CHECK, Built, add_bulk

RUN_TABLES = ("run_checks", "run_results", "run_requirements", "run_exceptions", "run_attestations")


def _copy_run(ws: Path, source: int, target: int) -> None:
    with open_store(Workspace(ws), write=True) as con:
        con.execute(
            "INSERT INTO runs SELECT ? AS run_id, * EXCLUDE (run_id) FROM runs WHERE run_id = ?",
            [target, source],
        )
        for table in RUN_TABLES:
            con.execute(
                f"INSERT INTO {table} SELECT ? AS run_id, * EXCLUDE (run_id) FROM {table} "
                "WHERE run_id = ?",
                [target, source],
            )


@pytest.fixture(scope="module")
def ws(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workspace with run 3 (+200 findings) and run 4 (+5,000 findings)."""
    copy = tmp_path_factory.mktemp("bounded") / "ws"
    shutil.copytree(built.ws, copy)
    for run_id, extra in ((3, 200), (4, 5_000)):
        _copy_run(copy, 2, run_id)
        add_bulk(copy, run_id, EXTRA_CHECK, "user:more-", extra)
    return copy


def _render(ws: Path, run_id: int, out: Path) -> tuple[int, int]:
    workspace = Workspace(ws)
    with open_store(workspace, write=False) as con:
        report = load_run(con, run_id, load_catalog(workspace.config.controls_dirs))
    limits = PackLimits()
    context = report_context(
        report,
        WorkbookPlan.for_run(report, limits),
        limits,
        dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        "0" * 64,
        "1" * 64,
    )
    html = render_html("report.html.j2", context)
    render_pdf(html, out, source_date_epoch=1_790_000_000)
    from pyhanko.pdf_utils.reader import PdfFileReader

    with out.open("rb") as fh:
        pages = len(PdfFileReader(fh).root["/Pages"]["/Kids"])
    return pages, len(html)


def test_pdf_size_does_not_grow_with_the_findings(ws: Path, tmp_path: Path) -> None:
    small = _render(ws, 3, tmp_path / "small.pdf")
    large = _render(ws, 4, tmp_path / "large.pdf")
    assert small[0] == large[0]  # pages
    assert abs(small[1] - large[1]) < 0.02 * small[1]  # HTML characters
    size_small = (tmp_path / "small.pdf").stat().st_size
    size_large = (tmp_path / "large.pdf").stat().st_size
    assert abs(size_small - size_large) < 0.05 * size_small


def test_trend_never_shows_later_runs(ws: Path) -> None:
    workspace = Workspace(ws)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2)
        latest = load_run(con, 4)
    assert [p.run_id for p in report.trend] == [1, 2]
    assert [p.run_id for p in latest.trend] == [1, 2, 3, 4]


def test_sample_and_vulnerability_age_come_from_sql(ws: Path) -> None:
    workspace = Workspace(ws)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 4, load_catalog(workspace.config.controls_dirs))
    check = report.checks[EXTRA_CHECK]
    assert check.failed > 5_000
    assert len(check.sample) == SAMPLE_PER_CHECK
    assert report.vuln_age is not None
    assert report.vuln_age.items >= 2
    assert report.vuln_age.open_overdue >= 1 and report.vuln_age.resolved_late >= 1


def test_fair_share_gives_small_checks_everything() -> None:
    assert fair_share({"a": 5, "b": 10}, 100) == {"a": 5, "b": 10}
    assert fair_share({"a": 5, "b": 1_000, "c": 1_000}, 105) == {"a": 5, "b": 50, "c": 50}
    assert fair_share({"a": 0, "b": 7}, 3) == {"a": 0, "b": 3}
    shares = fair_share({f"c{i}": 1_000_000 for i in range(7)}, 100_000)
    assert sum(shares.values()) <= 100_000 and min(shares.values()) == 14_285


def test_plan_states_what_is_listed(built: Built) -> None:
    workspace = Workspace(built.ws)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2)
    roomy = WorkbookPlan.for_run(report, PackLimits())
    assert not roomy.findings.capped and not roomy.population.capped
    assert "every failing and excepted item" in roomy.statements()[0]
    tight = WorkbookPlan.for_run(
        report, PackLimits(findings_sheet_rows=10, population_sheet_rows=20)
    )
    assert tight.findings.capped and tight.findings.listed_rows <= 10
    assert tight.population.listed_rows <= 20
    assert "evidence/<check>/exceptions_noted.csv" in tight.statements()[0]
    assert "evidence/<check>/population.csv" in tight.statements()[1]


def test_capped_sheets_list_the_pdf_sample_first(ws: Path, tmp_path: Path) -> None:
    import warnings

    from openpyxl import load_workbook

    from auditkit.report.workbook import write_workbook

    workspace = Workspace(ws)
    limits = PackLimits(findings_sheet_rows=300, population_sheet_rows=200)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 4, load_catalog(workspace.config.controls_dirs))
        plan = WorkbookPlan.for_run(report, limits)
        result = write_workbook(con, report, tmp_path / "w.xlsx", dt.datetime(2026, 10, 1), plan)
    assert result.rows["Exceptions noted"] == plan.findings.listed_rows <= 300
    assert result.rows["Population"] == plan.population.listed_rows <= 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = load_workbook(tmp_path / "w.xlsx", read_only=True)
    rows = book["Exceptions noted"].iter_rows(values_only=True)
    header = list(next(rows))
    check_col, resource_col = header.index("check_id"), header.index("resource")
    listed = {row[resource_col] for row in rows if row[check_col] == EXTRA_CHECK}
    summary = " ".join(str(v) for row in book["Summary"].iter_rows(values_only=True) for v in row)
    book.close()
    assert {item["resource"] for item in report.checks[EXTRA_CHECK].sample} <= listed
    sheet = "The Exceptions noted sheet lists"
    assert f"{sheet} 300 of" in summary or f"{sheet} 2" in summary
    assert "evidence/<check>/exceptions_noted.csv" in summary
