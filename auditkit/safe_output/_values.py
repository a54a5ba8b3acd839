"""Value rules shared by the CSV and XLSX writers."""

from __future__ import annotations

import datetime as dt

# OWASP "CSV Injection": a cell that starts with one of these is taken as a
# formula by Excel, LibreOffice or Google Sheets (at once, on edit, or after
# an export round trip).
FORMULA_STARTS = frozenset("=+-@\t\r")

# Excel error literals: typed into a cell they become error values.
ERROR_LITERALS = frozenset(
    ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA")
)

# Excel shows and keeps 15 significant digits; larger integers are stored as
# text so no digit is lost (an account or card-like number stays exact).
EXACT_INT_LIMIT = 10**15


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula."""
    return bool(text) and text[0] in FORMULA_STARTS


def naive_utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime converted to UTC without tzinfo; naive ones are taken as UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=None)
    return value.astimezone(dt.UTC).replace(tzinfo=None)
