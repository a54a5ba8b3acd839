"""One sanitizer per output: terminal, SIEM record, CSV and XLSX.

Scan results and logs carry strings written by whoever controlled the
scanned system. Before such a string reaches an output it goes through the
sanitizer for that output, and only that one:

* terminal: :func:`terminal_text` escapes control and bidi characters;
* SIEM records: :func:`siem_text` (and the DuckDB macro :data:`SIEM_TEXT_MACRO`)
  escape the same characters as ``\\uXXXX`` so no value splits or forges a log line;
* CSV: :func:`csv_cell` / :func:`write_csv` / :func:`write_csv_stream` defuse
  formula starts (OWASP);
* XLSX: :class:`WorkbookWriter` writes strings as text cells, replaces
  code points XML cannot carry, truncates over-long cells visibly and rolls
  over to continuation sheets, counting every change in its ``stats``.

openpyxl is imported only when a :class:`WorkbookWriter` is created.

Reproducibility of the XLSX output: with the same ``created`` datetime (or
``SOURCE_DATE_EPOCH``) and the same rows, two writes give identical bytes.
openpyxl would otherwise vary in two places: ``docProps/core.xml``
(``created`` at ``Workbook()``, ``modified`` at save) and the zip member
timestamps (the time of writing, and the spool file's mtime for sheets).
Both are fixed here: the document times come from ``created``, and every
zip member is stamped 1980-01-01 00:00 with fixed attributes. What remains
outside our control is the environment: the openpyxl version (named in
``docProps/app.xml`` and deciding the XML), lxml, and zlib (the compressed
bytes).

Known limits of the XLSX text cells: the text ``_x000D_`` (an OOXML escape)
is stored as written, so openpyxl and pandas read it back byte-exact but
Excel displays it as the escaped character; C1 controls and bidi controls
are valid XML and are kept (they are shown escaped only by
:func:`terminal_text`).
"""

from __future__ import annotations

from auditkit.safe_output._csvfile import csv_cell, write_csv, write_csv_stream
from auditkit.safe_output._siem import SIEM_TEXT_MACRO, siem_text
from auditkit.safe_output._terminal import terminal_text
from auditkit.safe_output._xlsx import (
    RESULT_COLOURS,
    ColumnSpec,
    SheetStats,
    WorkbookStats,
    WorkbookWriter,
)

__all__ = [
    "RESULT_COLOURS",
    "SIEM_TEXT_MACRO",
    "ColumnSpec",
    "SheetStats",
    "WorkbookStats",
    "WorkbookWriter",
    "csv_cell",
    "siem_text",
    "terminal_text",
    "write_csv",
    "write_csv_stream",
]
