"""CSV output safe against formula injection (OWASP CSV Injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from numbers import Real
from typing import TextIO

from auditkit.errors import InternalError
from auditkit.safe_output._files import AtomicFile, output_error
from auditkit.safe_output._values import is_formula_like, naive_utc

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def csv_cell(value: object) -> str:
    """Return the text for one CSV cell, defused for spreadsheets.

    A string that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a
    leading ``'`` (OWASP CSV Injection guidance); other strings are returned
    unchanged. ``None`` is ``""``; bools and numbers are their plain text and
    are never prefixed (``-5`` stays ``-5``); datetimes are ISO 8601, aware
    ones converted to naive UTC; any other object goes through ``str()`` and
    is then treated as a string.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if is_formula_like(value) else value
    if isinstance(value, bool | Real | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return naive_utc(value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return csv_cell(str(value))


def _csv_value(value: object) -> object:
    # Numbers go to the csv module as numbers (it formats them itself);
    # everything else becomes defused text. Exact str first: it is nearly every
    # cell, and the ABC isinstance checks below cost more than the defusing.
    if type(value) is str:
        text = "'" + value if is_formula_like(value) else value
    elif isinstance(value, Real | Decimal):
        return value
    else:
        text = csv_cell(value)
    if not text.isascii() and _SURROGATE_RE.search(text) is not None:
        # A lone surrogate cannot be written as UTF-8.
        text = _SURROGATE_RE.sub("\ufffd", text)
    return text


def write_csv(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> int:
    r"""Write ``columns`` then ``rows`` to ``path`` as CSV; return the data row count.

    UTF-8 without BOM, ``\n`` line endings, and the csv module's
    ``QUOTE_NONNUMERIC`` quoting: every string field is quoted (so commas,
    quotes, CR and LF inside a value round-trip) and numbers are written
    bare. Every string cell goes through :func:`csv_cell`; numbers stay numbers;
    ``None`` is an empty field; a lone surrogate becomes U+FFFD. A row with
    more cells than ``columns`` raises :class:`~auditkit.errors.InternalError`;
    a shorter row is padded with empty fields. The file is replaced atomically:
    on any error the previous file, if any, is left untouched.
    """
    out = AtomicFile(path)
    try:
        text = io.TextIOWrapper(out.file, encoding="utf-8", newline="")
        count = _write_rows(text, columns, rows, out.path)
        text.flush()
        text.detach()
    except OSError as exc:
        out.abort()
        raise output_error(out.path, exc) from exc
    except BaseException:
        out.abort()
        raise
    out.commit()
    return count


def write_csv_stream(
    stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """Write ``columns`` then ``rows`` as CSV to an open text stream (e.g. stdout), row by row.

    The same cells as :func:`write_csv` (formulas defused, strings quoted, numbers bare);
    nothing is buffered beyond the stream's own buffer, so any number of rows can be written.
    Returns the data row count.
    """
    return _write_rows(stream, columns, rows, getattr(stream, "name", "<stream>"))


def _write_rows(
    text: TextIO, columns: Sequence[str], rows: Iterable[Sequence[object]], where: object
) -> int:
    width = len(columns)
    count = 0
    # QUOTE_NONNUMERIC: every string is quoted, numbers are bare. With
    # minimal quoting and a "\n" terminator, Python 3.11 leaves a field
    # holding a CR unquoted, and readers then split the record there.
    writer = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([_csv_value(c) for c in columns])
    for row in rows:
        if len(row) > width:
            raise InternalError(
                f"row {count + 1} has {len(row)} cells for {width} columns", path=str(where)
            )
        cells = [_csv_value(v) for v in row]
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        writer.writerow(cells)
        count += 1
    return count
