"""auditkit.safe_output: one sanitizer per output (security notes items 5-7)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import os
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest

from auditkit.errors import InternalError, UserError
from auditkit.safe_output import (
    RESULT_COLOURS,
    ColumnSpec,
    WorkbookWriter,
    csv_cell,
    terminal_text,
    write_csv,
)

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://127.0.0.1/x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "#N/A",
    "=cmd",
    "=",
    "#DIV/0!",
]
CREATED = dt.datetime(2024, 5, 1, 12, 30, 0)
REPO = Path(__file__).resolve().parents[1]


def _load(path: Path) -> Any:
    from openpyxl import load_workbook

    return load_workbook(path)


def _sheet_xml(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")}


def _assert_no_formula(path: Path) -> None:
    for name, xml in _sheet_xml(path).items():
        assert b"<f>" not in xml and b"<f " not in xml, name
    for ws in _load(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate


# -- terminal ------------------------------------------------------------


def test_terminal_text_escapes_every_control_and_bidi_character() -> None:
    every = "".join(chr(c) for c in range(0x30000))
    out = terminal_text(every)
    bidi = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    for ch in out:
        assert unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp"), hex(ord(ch))
        assert ch not in bidi, hex(ord(ch))
    assert "\x1b" not in terminal_text("\x1b[2J\x1b]0;pwned\x07")


def test_terminal_text_shows_escapes_and_keeps_printable_text() -> None:
    assert terminal_text("a\x1b[31mb") == "a\\x1b[31mb"
    assert terminal_text("ok\rEVIL\x08\x00\x9b") == "ok\\x0dEVIL\\x08\\x00\\x9b"
    assert terminal_text("line1\nline2\tx") == "line1\\x0aline2\\x09x"
    assert terminal_text("evil\u202etxt.exe\u2066") == "evil\\u202etxt.exe\\u2066"
    assert terminal_text("\ud800") == "\\ud800"
    printable = "Zürich, 東京, café — naïve ✓ 😀 C:\\temp"
    assert terminal_text(printable) == printable
    assert terminal_text(None) == ""
    assert terminal_text(42) == "42"


# -- CSV -----------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cell_prefixes_formula_starts(value: str) -> None:
    expected = "'" + value if value[0] in "=+-@\t\r" else value
    assert csv_cell(value) == expected


def test_csv_cell_leaves_other_values_alone() -> None:
    assert csv_cell("plain") == "plain"
    assert csv_cell("") == ""
    assert csv_cell(None) == ""
    assert csv_cell(-5) == "-5"
    assert csv_cell(1.5) == "1.5"
    assert csv_cell(True) == "True"
    aware = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert csv_cell(aware) == "2024-01-01T10:00:00"


def test_write_csv_round_trips_through_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    rows: list[list[object]] = [[v, i, None] for i, v in enumerate(HOSTILE)]
    rows.append(['comma, "quote"\nnewline', -1.5, "é"])
    rows.append(["short"])
    count = write_csv(path, ["value", "n", "extra"], rows)
    assert count == len(rows)
    raw = path.read_bytes()
    assert b"\r\n" not in raw
    lines = raw.decode("utf-8").split("\n")
    assert lines[0] == '"value","n","extra"'
    assert lines[4] == '"\'-2+3",3,""'  # strings quoted, numbers bare
    with path.open(newline="", encoding="utf-8") as fh:
        back = list(csv.reader(fh))
    assert back[0] == ["value", "n", "extra"]
    for i, value in enumerate(HOSTILE, 1):
        assert back[i] == [csv_cell(value), str(i - 1), ""]
        assert back[i][0].removeprefix("'") == value
    assert back[-2] == ['comma, "quote"\nnewline', "-1.5", "é"]
    assert back[-1] == ["short", "", ""]
    assert os.listdir(tmp_path) == ["out.csv"]


def test_write_csv_failure_leaves_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(InternalError, match="3 cells for 2 columns"):
        write_csv(path, ["a", "b"], [[1, 2], [1, 2, 3]])
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]


# -- XLSX ----------------------------------------------------------------


def test_hostile_strings_stay_text_and_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xlsx"
    with WorkbookWriter(path, created=CREATED) as book:
        book.add_sheet(
            "Findings", [ColumnSpec("value"), ColumnSpec("n")], [[v, 1] for v in HOSTILE]
        )
    _assert_no_formula(path)
    ws = _load(path)["Findings"]
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == HOSTILE
    for c in cells:
        assert c.data_type == "s"
        assert c.quotePrefix, repr(c.value)
    assert book.stats.sheets[0].rows == len(HOSTILE)
    assert book.stats.chars_replaced == 0 and book.stats.cells_truncated == 0


def test_value_types_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "types.xlsx"
    aware = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    row = [
        "text",
        3,
        2.5,
        True,
        None,
        aware,
        dt.date(2024, 2, 29),
        decimal.Decimal("1.25"),
        10**15,
        float("nan"),
        dt.date(1899, 12, 31),
        -(10**16),
    ]
    cols = [ColumnSpec(f"c{i}") for i in range(len(row))]
    with WorkbookWriter(path, created=CREATED) as book:
        book.add_sheet("Types", cols, [row])
    got = [c.value for c in next(_load(path)["Types"].iter_rows(min_row=2))]
    assert got[:5] == ["text", 3, 2.5, True, None]
    assert got[5] == dt.datetime(2024, 1, 1, 17, 0)  # naive UTC
    assert got[6] == dt.datetime(2024, 2, 29)
    assert got[7] == 1.25
    # Values Excel would change silently are kept as text.
    assert got[8:] == ["1000000000000000", "nan", "1899-12-31", "-10000000000000000"]


def test_illegal_xml_characters_are_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "illegal.xlsx"
    bad = "a\x00b\x1bc\x0bd\ufffee\uffff\ud800f\udfff\ufdd0\U0001fffe"
    with WorkbookWriter(path, created=CREATED) as book:
        book.add_sheet("S", [ColumnSpec("v")], [[bad], ["tab\tlf\ncr\r ok"]])
    assert book.stats.chars_replaced == 9
    ws = _load(path)["S"]
    assert ws["A2"].value == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd\ufffdf\ufffd\ufffd\ufffd"
    assert ws["A3"].value == "tab\tlf\ncr\r ok"


def test_long_cell_is_truncated_with_marker_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "long.xlsx"
    long_text = "x" * 39_999 + "y"
    wide = "😀" * 20_000  # 20,000 characters, 40,000 UTF-16 units
    with WorkbookWriter(path, created=CREATED) as book:
        book.add_sheet("S", [ColumnSpec("v")], [[long_text], [wide], ["x" * 32_767]])
    assert book.stats.cells_truncated == 2
    ws = _load(path)["S"]
    digest = hashlib.sha256(long_text.encode()).hexdigest()
    got = ws["A2"].value
    assert got.endswith(f"…[truncated: 40000 chars, sha256 {digest}]")
    assert got.startswith("x" * 1000)
    assert len(got) == 32_767
    got_wide = ws["A3"].value
    assert "[truncated: 20000 chars" in got_wide
    assert len(got_wide.encode("utf-16-le")) // 2 <= 32_767
    assert ws["A4"].value == "x" * 32_767


def test_rollover_splits_rows_and_keeps_the_count(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "roll.xlsx"
    cols = [ColumnSpec("id"), ColumnSpec("result", colours=RESULT_COLOURS)]
    rows = ([i, "pass" if i % 2 else "fail"] for i in range(10))
    with WorkbookWriter(path, created=CREATED, max_rows=4) as book:
        stats = book.add_sheet("Findings", cols, rows, kind="findings")
        book.add_sheet("Summary", cols, [])
    assert stats.rows == 10 and stats.kind == "findings"
    assert stats.parts == [
        ("Findings", 3),
        ("Findings (2)", 3),
        ("Findings (3)", 3),
        ("Findings (4)", 1),
    ]
    wb = _load(path)
    assert wb.sheetnames == ["Findings", "Findings (2)", "Findings (3)", "Findings (4)", "Summary"]
    ids = []
    for title, n in stats.parts:
        ws = wb[title]
        header = list(ws.iter_rows(max_row=1))[0]
        assert [c.value for c in header] == ["id", "result"]
        assert all(c.font.bold for c in header)
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:B{n + 1}"
        assert ws.max_row == n + 1 <= 4
        ids += [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert ids == list(range(10))
    frames = pd.read_excel(path, sheet_name=None)
    assert sum(len(frames[t]) for t, _ in stats.parts) == 10
    assert len(frames["Summary"]) == 0
    assert wb["Summary"].auto_filter.ref == "A1:B1"


def test_columns_widths_and_result_colours(tmp_path: Path) -> None:
    path = tmp_path / "style.xlsx"
    cols = [ColumnSpec("finding", width=42), ColumnSpec("result", colours=RESULT_COLOURS)]
    rows = [
        ["a", "In Place"],
        ["b", "Not in Place"],
        ["c", "not tested"],
        ["d", "FAIL"],
        ["e", "?"],
    ]
    with WorkbookWriter(path, created=CREATED) as book:
        book.add_sheet("ROC", cols, rows)
    ws = _load(path)["ROC"]
    assert ws.column_dimensions["A"].width == 42
    assert ws.column_dimensions["B"].width == 10
    fills = [ws.cell(r, 2).fill for r in range(2, 7)]
    assert [f.fgColor.rgb[-6:] for f in fills[:4]] == ["C6EFCE", "FFC7CE", "FFEB9C", "FFC7CE"]
    assert fills[4].fill_type is None
    assert ws.cell(1, 2).fill.fill_type is None


def test_sheet_titles_are_cleaned_short_and_unique(tmp_path: Path) -> None:
    path = tmp_path / "titles.xlsx"
    col = [ColumnSpec("v")]
    with WorkbookWriter(path, created=CREATED) as book:
        titles = [
            book.add_sheet(t, col, [["x"]]).title
            for t in [
                "a[b]:c*d?e/f\\g",
                "A_B__C_D_E_F_G",
                "'quoted'",
                "x" * 40,
                "x" * 40,
                "history",
            ]
        ]
    assert titles[0] == "a_b__c_d_e_f_g"
    assert titles[1] == "A_B__C_D_E_F_G #2"
    assert titles[2] == "_quoted_"
    assert titles[3] == "x" * 31
    assert titles[4] == "x" * 28 + " #2"
    assert titles[5] == "histor_"
    assert _load(path).sheetnames == titles


def test_same_datetime_gives_identical_bytes(tmp_path: Path) -> None:
    def write(path: Path, created: dt.datetime) -> bytes:
        with WorkbookWriter(path, created=created, max_rows=3) as book:
            book.add_sheet("F", [ColumnSpec("v", colours=RESULT_COLOURS)], [[v] for v in HOSTILE])
            book.add_sheet("G", [ColumnSpec("t")], [[CREATED], [1.5], ["pass"]])
        return path.read_bytes()

    first = write(tmp_path / "a.xlsx", CREATED)
    assert write(tmp_path / "b.xlsx", CREATED) == first
    assert write(tmp_path / "c.xlsx", CREATED + dt.timedelta(seconds=1)) != first
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    assert core.count("2024-05-01T12:30:00Z") == 2
    assert ">auditkit<" in core


def test_identical_bytes_across_processes(tmp_path: Path) -> None:
    script = (
        "import datetime as dt, sys\n"
        "from auditkit.safe_output import ColumnSpec, RESULT_COLOURS, WorkbookWriter\n"
        "with WorkbookWriter(sys.argv[1], created=dt.datetime(2024, 5, 1)) as b:\n"
        "    b.add_sheet('F', [ColumnSpec('v', colours=RESULT_COLOURS), ColumnSpec('n')],\n"
        "                [['=1', 1], ['pass', 2.5], ['fail', None], ['-x', True]])\n"
    )
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"p{seed}.xlsx"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_source_date_epoch_is_the_default_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    with WorkbookWriter(tmp_path / "a.xlsx") as book:
        book.add_sheet("S", [ColumnSpec("v")], [])
    assert book.created == dt.datetime(2023, 11, 14, 22, 13, 20)
    assert _load(tmp_path / "a.xlsx").properties.created == book.created


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    from openpyxl.worksheet._writer import ALL_TEMP_FILES  # openpyxl's spool files

    spooled = len(ALL_TEMP_FILES)
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"previous")
    with pytest.raises(InternalError, match="row 2 has 2 cells for 1 columns"):
        with WorkbookWriter(path, created=CREATED) as book:
            book.add_sheet("S", [ColumnSpec("v")], [["ok"], ["a", "b"]])
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["book.xlsx"]
    assert len(ALL_TEMP_FILES) == spooled
    with pytest.raises(InternalError, match="at least one sheet"):
        with WorkbookWriter(tmp_path / "empty.xlsx", created=CREATED):
            pass
    assert os.listdir(tmp_path) == ["book.xlsx"]


def test_importing_the_package_does_not_import_openpyxl() -> None:
    code = "import sys, auditkit.safe_output; print('openpyxl' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_unwritable_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="missing/out.xlsx: cannot write output file"):
        WorkbookWriter(tmp_path / "missing" / "out.xlsx", created=CREATED)
    with pytest.raises(UserError, match="cannot write output file"):
        write_csv(tmp_path / "missing" / "out.csv", ["a"], [])
