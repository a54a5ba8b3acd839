"""workbook.xlsx: every input value is inert text, byte-exact or visibly changed and counted."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from auditkit.safe_output._xlsx import RED
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.conftest import HOSTILE_CHECK, LONG_TEXT, XML_ILLEGAL, Built

pytestmark = pytest.mark.slow

SHEETS = (
    "Summary",
    "Requirements",
    "Procedures",
    "Checks",
    "Exceptions noted",
    "Population",
    "Changes",
    "Exception changes",
    "Gap analysis",
    "Samples",
    "Timeliness",
    "Timeliness summary",
    "Exceptions register",
    "Attestations",
    "Evidence references",
    "Evidence sources",
    "Write log",
)


def _load(path: Path) -> Any:
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_workbook(path)


@pytest.fixture(scope="module")
def book(built: Built) -> Any:
    return _load(built.out / "workbook.xlsx")


def _rows(sheet: Any) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def db(built: Built, sql: str, *args: Any) -> Any:
    with open_store(Workspace(built.ws), write=False) as con:
        return con.execute(sql, list(args)).fetchall()


def test_sheets_in_order_with_frozen_header_and_filter(book: Any) -> None:
    assert tuple(book.sheetnames) == SHEETS
    for name in SHEETS:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref, name


def test_no_cell_is_a_formula(built: Built, book: Any) -> None:
    with zipfile.ZipFile(built.out / "workbook.xlsx") as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name)
                assert not re.search(rb"<f[ >]", xml), name
                assert b't="e"' not in xml, name  # no error cells (#N/A stays text)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)


def test_hostile_values_are_byte_exact(built: Built, book: Any) -> None:
    findings = [r for r in _rows(book["Exceptions noted"]) if r["check_id"] == HOSTILE_CHECK]
    reasons = {r["reason"] for r in findings}
    resources = {r["resource"] for r in findings}
    for i, text in enumerate(built.hostile):
        # Byte-exact, except C0 controls XML cannot hold (ESC here): U+FFFD, counted.
        expected = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", text)
        assert expected in reasons, repr(text)
        assert f"{expected} #{i}" in resources, repr(text)
    # Formula-like strings carry a quote prefix so Excel keeps them as text on edit.
    header = [c.value for c in book["Exceptions noted"][1]]
    col = header.index("reason")
    by_reason = {}
    for row in book["Exceptions noted"].iter_rows(min_row=2):
        by_reason[row[col].value] = row[col]
    for text in ('=HYPERLINK("http://127.0.0.1/x","click")', '+cmd|" /C calc"!A0', "@SUM(1,2)"):
        cell = by_reason[text]
        assert cell.data_type == "s" and cell.quotePrefix, text


def test_illegal_xml_characters_are_replaced_and_counted(built: Built, book: Any) -> None:
    reasons = {r["reason"] for r in _rows(book["Exceptions noted"])}
    expected = XML_ILLEGAL.replace("\x00", "\ufffd").replace("\x0b", "\ufffd")
    expected = expected.replace("\ufffe", "\ufffd")
    assert expected in reasons
    log = {r["sheet"]: r["rows"] for r in _rows(book["Write log"])}
    assert log["(characters replaced by U+FFFD)"] >= 3


def test_long_cells_are_truncated_visibly_and_counted(built: Built, book: Any) -> None:
    reasons = [r["reason"] for r in _rows(book["Exceptions noted"]) if r["resource"] == "long text"]
    assert len(reasons) == 1
    cell = reasons[0]
    assert len(cell) <= 32_767
    assert cell.startswith("L" * 1000)
    assert f"[truncated: {len(LONG_TEXT)} chars, sha256 " in cell
    assert built.pack.workbook_truncated_cells >= 1
    log = {r["sheet"]: r["rows"] for r in _rows(book["Write log"])}
    assert log["(cells truncated at 32,767 characters)"] == built.pack.workbook_truncated_cells


def test_results_are_coloured(book: Any) -> None:
    sheet = book["Requirements"]
    header = [c.value for c in sheet[1]]
    col = header.index("result")
    for row in sheet.iter_rows(min_row=2):
        if row[col].value == "Not in Place":
            assert row[col].fill.fgColor.rgb.endswith(RED)
            return
    pytest.fail("no Not in Place requirement to look at")


def test_row_counts_match_the_database_with_pandas(built: Built) -> None:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = pd.read_excel(built.out / "workbook.xlsx", sheet_name=None, dtype=str)
    findings = db(
        built,
        "SELECT count(*) FROM run_results WHERE run_id = 2 AND status IN ('fail', 'excepted')",
    )[0][0]
    population = db(built, "SELECT count(*) FROM run_results WHERE run_id = 2")[0][0]
    assert len(frames["Exceptions noted"]) == findings
    assert len(frames["Population"]) == population
    assert (
        len(frames["Requirements"])
        == db(built, "SELECT count(*) FROM run_requirements WHERE run_id = 2")[0][0]
    )
    assert (
        len(frames["Checks"]) == db(built, "SELECT count(*) FROM run_checks WHERE run_id = 2")[0][0]
    )
    assert (
        len(frames["Exceptions register"])
        == db(built, "SELECT count(*) FROM run_exceptions WHERE run_id = 2")[0][0]
    )
    assert (
        len(frames["Attestations"])
        == db(built, "SELECT count(*) FROM run_attestations WHERE run_id = 2")[0][0]
    )
    # The Checks sheet says how many rows each check lists; they add up.
    checks = frames["Checks"]
    assert checks["exceptions_listed"].astype(int).sum() == findings
    assert checks["population_listed"].astype(int).sum() == population
    # Every finding keeps its provenance columns.
    for column in ("fingerprint", "resource", "reason", "source_sha256", "locator"):
        assert column in frames["Exceptions noted"].columns


def test_summary_states_what_the_sheets_list(book: Any) -> None:
    summary = {r["item"]: r["value"] for r in _rows(book["Summary"]) if r["item"]}
    assert summary["Organisation"] == "Mini Test Payments"
    assert "claimed" in " ".join(str(k) for k in summary)
    assert "every failing and excepted item" in " ".join(
        str(r["value"]) for r in _rows(book["Summary"]) if r["item"] == "Rows listed"
    )


def test_exception_worksheet_is_readable_text(book: Any) -> None:
    rows = _rows(book["Exceptions register"])
    assert rows and rows[0]["exception_id"] == "EXC-CC-1"
    assert rows[0]["worksheet: definition"] == "session recording and dual control on every use"
    assert rows[0]["worksheet: constraints"].startswith("=HYPERLINK(")  # text, not a formula


def test_findings_details_are_readable(book: Any) -> None:
    rows = _rows(book["Exceptions noted"])
    details = [r["details"] for r in rows if r["check_id"] != HOSTILE_CHECK]
    assert any(d and "days_overdue: " in d for d in details)
    assert not any(d and d.startswith("{") for d in details)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_the_same_counts(built: Built, tmp_path: Path) -> None:
    import csv

    exe = _soffice()
    assert exe is not None
    profile = tmp_path / "profile"
    subprocess.run(
        [
            exe,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path),
            str(built.out / "workbook.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    counts = {}
    for path in tmp_path.glob("workbook-*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            counts[path.stem.removeprefix("workbook-")] = sum(1 for _ in csv.reader(fh)) - 1
    findings = db(
        built,
        "SELECT count(*) FROM run_results WHERE run_id = 2 AND status IN ('fail', 'excepted')",
    )[0][0]
    assert counts["Exceptions noted"] == findings
