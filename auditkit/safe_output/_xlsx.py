"""A streaming, injection-safe and reproducible XLSX writer on openpyxl.

Every sheet is written in openpyxl's write-only mode, so memory stays flat
however many rows go through; the rows themselves are spooled by openpyxl to
temporary files (in the system temp folder) until :meth:`WorkbookWriter.close`
builds the zip. The package docstring of :mod:`auditkit.safe_output` says
what is and is not reproducible.

Beyond openpyxl's documented API this module relies on three details of
openpyxl 3.1, to re-check on upgrade: ``openpyxl.writer.excel.ExcelWriter``
(to hand it our fixed-timestamp zip and keep our document times), a
cell's ``_style`` array (read from one template cell per style, to skip a
style lookup per cell) and a write-only sheet's ``_writer.cleanup()`` (to
delete spool files on abort).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import os
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Integral, Real
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Self

from auditkit.errors import ConfigError, InternalError
from auditkit.safe_output._files import AtomicFile, FixedTimeZipFile, output_error
from auditkit.safe_output._values import (
    ERROR_LITERALS,
    EXACT_INT_LIMIT,
    is_formula_like,
    naive_utc,
)

# Code points that XML 1.0 forbids (C0 controls other than TAB/LF/CR, lone
# surrogates, U+FFFE/U+FFFF) plus the Unicode non-characters XML discourages
# (U+FDD0-U+FDEF and the last two code points of every plane). openpyxl rejects
# only the C0 part; a surrogate or U+FFFE gives a file it cannot reopen.
_XML_UNSAFE_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(p << 16 | 0xFFFE)}{chr(p << 16 | 0xFFFF)}" for p in range(1, 17))
    + "]"
)
# Not allowed in a sheet name by Excel, or not wanted on a tab: []:*?/\ and
# the XML-legal controls (TAB, LF, CR, DEL, C1).
_TITLE_UNSAFE_RE = re.compile(r"[\[\]:*?/\\\t\n\r\x7f-\x9f]")
_TITLE_MAX = 31
# Excel's first date is 1900-01-01; earlier dates are written as ISO text.
_EXCEL_FIRST_DAY = dt.date(1900, 1, 1)

GREEN = "C6EFCE"
RED = "FFC7CE"
AMBER = "FFEB9C"
GREY = "D9D9D9"
BLUE = "DDEBF7"
SAND = "EFE4D6"

RESULT_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "In Place": GREEN,
        "Not in Place": RED,
        "Not Tested": AMBER,
        "Not Applicable": GREY,
        "No exceptions noted (partial)": BLUE,
        "No automated evidence": SAND,
        "covered": GREEN,
        "partly covered": BLUE,
        "not covered": SAND,
        "exceptions noted": RED,
        "pass": GREEN,
        "fail": RED,
        "excepted": AMBER,
        "needs_input": AMBER,
        "not_applicable": GREY,
        "skip": GREY,
        "error": RED,
    }
)
"""Fill colours (RGB hex) for the candidate results, procedure statuses and item statuses.

Keys match case-insensitively, so ``PASS`` and ``pass`` get the same colour."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a sheet.

    ``name`` is the header text. ``width`` is in Excel character units (None:
    wide enough for the header, between 10 and 60). ``colours`` maps a cell's
    string value (case-insensitive) to a solid fill colour as RGB hex, e.g.
    :data:`RESULT_COLOURS`.
    """

    name: str
    width: float | None = None
    colours: Mapping[str, str] | None = None


@dataclass
class SheetStats:
    """What one :meth:`WorkbookWriter.add_sheet` call wrote.

    ``rows`` counts data rows (headers excluded) over all ``parts``, which are
    ``(physical sheet title, data rows)`` pairs in order: the first sheet and
    then its continuation sheets.
    """

    title: str
    kind: str
    rows: int = 0
    parts: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class WorkbookStats:
    """Counters for a whole workbook; every lossy change is counted here."""

    sheets: list[SheetStats] = field(default_factory=list)
    cells_truncated: int = 0
    chars_replaced: int = 0


def _utf16_len(text: str) -> int:
    # Excel counts UTF-16 code units; a character outside the BMP takes two.
    return len(text.encode("utf-16-le")) // 2


def _source_date_epoch() -> dt.datetime | None:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return None
    try:
        return dt.datetime.fromtimestamp(int(raw), dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a Unix time in seconds, got {raw!r}") from exc


def _clean_title(title: str) -> str:
    text = _TITLE_UNSAFE_RE.sub("_", _XML_UNSAFE_RE.sub("_", title)).strip()
    return text or "Sheet"


def _fit_title(base: str, suffix: str) -> str:
    text = base[: _TITLE_MAX - len(suffix)].rstrip() + suffix
    # Excel refuses a name that starts or ends with an apostrophe, and
    # reserves "History".
    if text.startswith("'"):
        text = "_" + text[1:]
    if text.endswith("'"):
        text = text[:-1] + "_"
    if text.casefold() == "history":
        text = text[:-1] + "_"
    return text


class WorkbookWriter:
    """Write an XLSX workbook whose every cell is inert data.

    Use as a context manager: the file appears at ``path`` (temporary file in
    the same folder, fsync, ``os.replace``) only when the ``with`` block ends
    without an exception; otherwise nothing is written::

        with WorkbookWriter(out, created=as_of) as book:
            book.add_sheet("Findings", columns, rows)
        book.stats.cells_truncated

    ``created`` sets the document's created and modified times (default:
    ``SOURCE_DATE_EPOCH`` when set, else the wall clock). Given the same
    ``created`` and data, two writes produce identical bytes.
    ``max_rows`` (rows per sheet, header included) defaults to the class
    attribute, which is Excel's limit.
    """

    max_rows: int = 1_048_576
    max_cell_chars: int = 32_767

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        created: dt.datetime | None = None,
        creator: str = "auditkit",
        max_rows: int | None = None,
    ) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import Cell
        from openpyxl.styles import Font

        self.path = Path(path)
        self.max_rows = self.max_rows if max_rows is None else max_rows
        if self.max_rows < 2:
            raise InternalError(f"max_rows must be at least 2, got {self.max_rows}")
        when = created or _source_date_epoch() or dt.datetime.now(dt.UTC)
        self.created = naive_utc(when).replace(microsecond=0)
        self.creator = creator
        self.stats = WorkbookStats()
        self._titles: set[str] = set()
        self._book: Any = Workbook(write_only=True)
        self._bold: Any = Font(bold=True)
        self._fills: dict[str, Any] = {}
        self._styles: dict[tuple[bool, int | None, bool], Any] = {}
        self._cell_class: Any = Cell
        self._closed = False
        self._out = AtomicFile(path)

    # -- context manager -------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- public API ------------------------------------------------------

    def add_sheet(
        self,
        title: str,
        columns: Sequence[ColumnSpec],
        rows: Iterable[Sequence[object]],
        *,
        kind: str = "table",
    ) -> SheetStats:
        """Stream ``rows`` into a new sheet (and continuation sheets) and return its stats.

        ``title`` is cleaned (``[]:*?/\\`` and control characters become
        ``_``), cut to 31 characters and made unique (a clash gets ``" #2"``,
        ``" #3"``...; Excel compares titles case-insensitively). The header row is bold
        and frozen, an auto-filter covers the used range, and columns get
        their :class:`ColumnSpec` widths and colours. When a sheet reaches
        ``max_rows`` (header included) the rows go on in ``"<title> (2)"``,
        ``"<title> (3)"``..., each with the same header. ``kind`` is a free
        label kept in the stats (e.g. ``"findings"``, ``"evidence"``,
        ``"summary"``) for whoever describes the workbook.

        Cell values: ``None`` is an empty cell; strings are always text cells
        (see :mod:`auditkit.safe_output`); bools, numbers, dates, datetimes
        (converted to naive UTC), times and timedeltas keep their types,
        except values Excel would alter silently (integers of 16 or more
        digits, NaN/infinity, dates before 1900, times with a time zone),
        which are written as text; other objects go through ``str()``.
        """
        if self._closed:
            raise InternalError("add_sheet() after the workbook was closed", path=self.path)
        width = len(columns)
        if width == 0:
            raise InternalError(f"sheet {title!r} has no columns", path=self.path)
        base = _clean_title(title)
        sheet = SheetStats(title=self._unique_title(base, ""), kind=kind)
        self.stats.sheets.append(sheet)
        colours = [self._colour_fills(c.colours) for c in columns]
        per_part = self.max_rows - 1
        ws = self._start_part(sheet.title, columns)
        in_part = 0
        try:
            for row in rows:
                if in_part == per_part:
                    self._finish_part(ws, sheet, width, in_part)
                    suffix = f" ({len(sheet.parts) + 1})"
                    ws = self._start_part(self._unique_title(base, suffix), columns)
                    in_part = 0
                if len(row) > width:
                    raise InternalError(
                        f"sheet {sheet.title!r}: row {sheet.rows + in_part + 1} has "
                        f"{len(row)} cells for {width} columns",
                        path=self.path,
                    )
                ws.append([self._cell(ws, v, colours[i]) for i, v in enumerate(row)])
                in_part += 1
        except BaseException:
            self.abort()
            raise
        self._finish_part(ws, sheet, width, in_part)
        return sheet

    def close(self) -> WorkbookStats:
        """Build the zip and move it into place; return :attr:`stats`.

        Idempotent. Raises :class:`~auditkit.errors.InternalError` when no
        sheet was added (Excel cannot open a workbook without sheets) and
        :class:`~auditkit.errors.UserError` when the file cannot be written.
        """
        if self._closed:
            return self.stats
        if not self.stats.sheets:
            self.abort()
            raise InternalError("a workbook needs at least one sheet", path=self.path)
        from openpyxl.writer.excel import ExcelWriter

        self._closed = True
        props = self._book.properties
        props.creator = self.creator
        props.lastModifiedBy = None
        props.created = self.created
        props.modified = self.created
        try:
            archive = FixedTimeZipFile(self._out.file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
            ExcelWriter(self._book, archive).save()  # closes the archive
        except OSError as exc:
            self.abort()
            raise output_error(self._out.path, exc) from exc
        except BaseException:
            self.abort()
            raise
        self._out.commit()
        return self.stats

    def abort(self) -> None:
        """Give up: remove the temporary files and leave ``path`` as it was.

        :meth:`add_sheet` calls it itself when its rows raise, so the writer
        cannot be used after a failed sheet.
        """
        if self._closed and self._out.done:
            return
        self._closed = True
        self._out.abort()
        for ws in self._book.worksheets:
            # Finish each sheet's XML stream (an abandoned one raises inside
            # lxml when it is garbage collected) and delete its spool file;
            # openpyxl would otherwise delete it only at interpreter exit.
            with contextlib.suppress(Exception):
                if not ws.closed:
                    ws.close()
            with contextlib.suppress(Exception):
                ws._writer.cleanup()

    # -- sheets ----------------------------------------------------------

    def _unique_title(self, base: str, suffix: str) -> str:
        # A clash (two sheets cleaned to the same title) adds " #2", " #3"...
        # so that " (2)" always means a continuation sheet.
        n = 1
        while True:
            candidate = _fit_title(base, suffix if n == 1 else f"{suffix} #{n}")
            if candidate.casefold() not in self._titles:
                self._titles.add(candidate.casefold())
                return candidate
            n += 1

    def _colour_fills(self, colours: Mapping[str, str] | None) -> dict[str, Any] | None:
        if not colours:
            return None
        from openpyxl.styles import PatternFill

        fills: dict[str, Any] = {}
        for value, rgb in colours.items():
            if rgb not in self._fills:
                try:
                    self._fills[rgb] = PatternFill(fill_type="solid", fgColor=rgb, bgColor=rgb)
                except (TypeError, ValueError) as exc:
                    raise InternalError(f"fill colour {rgb!r} is not RGB hex") from exc
            fills[value.casefold()] = self._fills[rgb]
        return fills

    def _start_part(self, title: str, columns: Sequence[ColumnSpec]) -> Any:
        from openpyxl.utils import get_column_letter

        ws = self._book.create_sheet(title)
        for i, spec in enumerate(columns, 1):
            width = spec.width if spec.width is not None else min(60, max(10, len(spec.name) + 4))
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"  # before the first row: the view is written first
        header = []
        for spec in columns:
            header.append(self._string(ws, spec.name, None, bold=True))
        ws.append(header)
        return ws

    def _finish_part(self, ws: Any, sheet: SheetStats, width: int, rows: int) -> None:
        from openpyxl.utils import get_column_letter

        ws.auto_filter.ref = f"A1:{get_column_letter(width)}{rows + 1}"
        ws.close()  # writes the sheet's tail (auto-filter) to openpyxl's spool file
        sheet.parts.append((ws.title, rows))
        sheet.rows += rows

    # -- cells -----------------------------------------------------------

    def _cell(self, ws: Any, value: object, fills: dict[str, Any] | None) -> Any:
        """The value or cell object to hand to openpyxl for ``value``."""
        kind = type(value)
        if kind is str:
            return self._string(ws, value, fills)  # type: ignore[arg-type]
        if value is None or kind is bool:
            return value
        if kind is int or isinstance(value, Integral):
            as_int = int(value)  # type: ignore[call-overload]
            if -EXACT_INT_LIMIT < as_int < EXACT_INT_LIMIT:
                return value
            return self._string(ws, str(as_int), fills)
        if kind is float or isinstance(value, Real):
            number: Any = value
            return value if math.isfinite(number) else self._string(ws, str(value), fills)
        if isinstance(value, Decimal):
            return value if value.is_finite() else self._string(ws, str(value), fills)
        if isinstance(value, dt.datetime):
            stamp = naive_utc(value)
            if stamp.date() < _EXCEL_FIRST_DAY:
                return self._string(ws, stamp.isoformat(), fills)
            return stamp
        if isinstance(value, dt.date):
            return (
                value if value >= _EXCEL_FIRST_DAY else self._string(ws, value.isoformat(), fills)
            )
        if isinstance(value, dt.time):
            return value if value.tzinfo is None else self._string(ws, value.isoformat(), fills)
        if isinstance(value, dt.timedelta):
            return value
        return self._string(ws, str(value), fills)

    def _string(
        self, ws: Any, value: str, fills: dict[str, Any] | None, *, bold: bool = False
    ) -> Any:
        text = value
        if _XML_UNSAFE_RE.search(text) is not None:
            text, replaced = _XML_UNSAFE_RE.subn("\ufffd", text)
            self.stats.chars_replaced += replaced
        if len(text) > self.max_cell_chars // 2 and _utf16_len(text) > self.max_cell_chars:
            text = self._truncate(value, text)
            self.stats.cells_truncated += 1
        return self._text_cell(ws, text, fills, bold=bold)

    def _text_cell(
        self, ws: Any, text: str, fills: dict[str, Any] | None, *, bold: bool = False
    ) -> Any:
        """A text cell for ``text`` (already XML-clean and short enough).

        Excel would turn a formula-like or error-like string into a formula
        or an error value when the cell is edited or re-imported; the quote
        prefix keeps it text. A string that needs neither a prefix nor a
        style is handed to openpyxl as is: for a str that does not start
        with ``=`` and is not an error literal, openpyxl's own inference gives
        the text type ``"s"``, and skipping a cell object per value keeps the
        writer near openpyxl's plain speed.
        """
        quote = is_formula_like(text) or text in ERROR_LITERALS
        fill = fills.get(text.casefold()) if fills is not None else None
        if not (quote or bold or fill is not None):
            return text
        cell = self._cell_class(ws, 1, 1, text, self._style_array(ws, quote, fill, bold))
        cell.data_type = "s"  # never a formula ("=..."), never an error ("#N/A")
        return cell

    def _style_array(self, ws: Any, quote: bool, fill: Any, bold: bool) -> Any:
        # Setting a style attribute on a cell looks the style up by hashing it,
        # which dominates a styled cell's cost; build each combination once
        # on a template cell and give new cells a copy of its style array.
        key = (quote, None if fill is None else id(fill), bold)
        array = self._styles.get(key)
        if array is None:
            template = self._cell_class(ws, 1, 1)
            template.quotePrefix = quote
            if fill is not None:
                template.fill = fill
            if bold:
                template.font = self._bold
            array = self._styles[key] = template._style
        return array

    def _truncate(self, original: str, text: str) -> str:
        digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()
        marker = f"…[truncated: {len(original)} chars, sha256 {digest}]"
        keep = max(0, self.max_cell_chars - _utf16_len(marker))
        head = text.encode("utf-16-le")[: 2 * keep].decode("utf-16-le", "ignore")
        return head + marker
