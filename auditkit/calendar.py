"""Calendar arithmetic shared by every stage (month steps, windows).

The evaluation never reads the wall clock: every date here is derived from the
as-of date and the assessment period, which are bound parameters.
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
