"""Calendar arithmetic shared by every stage: month steps, the look-back, the windows.

The evaluation never reads the wall clock: every date here is derived from the
as-of date and the assessment period, which are bound parameters.

One calendar for checks, the engine and the report (docs/results.md, "Periods"):

- the **evaluation date** is the as-of date, or the period end when that is
  earlier (:func:`evaluation_date`); the functions below take it as ``as_of``;
- the **horizon** is the day after it; every span ends there (exclusive), so
  the evaluation date itself is always inside;
- the **look-back** of periodic requirements is the 12 calendar months before
  the horizon: as of 30 September 2026 it is 1 October 2025 to 30 September
  2026, whatever the assessment period is;
- its **windows** are consecutive spans of ``months`` calendar months counted
  back from the horizon (four quarterly windows by default). When the as-of
  date is the last day of a calendar quarter, the quarterly windows are the
  four calendar quarters ending on it.

Checks read the same windows from the staged table ``calendar_windows`` and
the look-back start from ``$lookback_start``; the report draws them from
:func:`windows`. Nothing else defines a window.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

LOOKBACK_MONTHS = 12
QUARTER_MONTHS = 3
# Window lengths staged for checks: every whole divisor of the 12-month look-back.
WINDOW_LENGTHS = (1, 2, 3, 4, 6, 12)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Window:
    """A span of days: ``start`` and ``end`` both included."""

    start: dt.date
    end: dt.date

    @property
    def end_exclusive(self) -> dt.date:
        """The day after ``end``."""
        return self.end + dt.timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


def evaluation_date(as_of: dt.date, period_end: dt.date) -> dt.date:
    """The day evidence is judged up to: the as-of date, or the period end if that is earlier.

    An as-of date after the period is the day the assessment is made; the look-back and its
    windows still end with the period.
    """
    return min(as_of, period_end)


def horizon(as_of: dt.date) -> dt.date:
    """The day after the as-of date: where every span of the calendar ends (exclusive)."""
    return as_of + dt.timedelta(days=1)


def lookback_start(as_of: dt.date, months: int = LOOKBACK_MONTHS) -> dt.date:
    """First day of the look-back: ``months`` calendar months before the horizon."""
    return add_months(horizon(as_of), -months)


def lookback(as_of: dt.date, months: int = LOOKBACK_MONTHS) -> Window:
    """The look-back as a window ending on the as-of date."""
    return Window(lookback_start(as_of, months), as_of)


def windows(
    as_of: dt.date, months: int = QUARTER_MONTHS, lookback_months: int = LOOKBACK_MONTHS
) -> list[Window]:
    """Consecutive windows of ``months`` calendar months filling the look-back, oldest first."""
    if months <= 0 or lookback_months % months:
        raise ValueError(f"a {months}-month window does not divide {lookback_months} months")
    end = horizon(as_of)
    out: list[Window] = []
    for k in range(1, lookback_months // months + 1):
        start = add_months(end, -months * k)
        stop = add_months(end, -months * (k - 1))
        out.append(Window(start, stop - dt.timedelta(days=1)))
    return list(reversed(out))


def calendar_rows(as_of: dt.date) -> list[dict[str, object]]:
    """Rows of the ``calendar_windows`` table staged for checks.

    One row per window length in :data:`WINDOW_LENGTHS` and window:
    ``months``, ``window_no`` (1 = oldest), ``window_start``, ``window_end``
    (the last day, included).
    """
    return [
        {"months": months, "window_no": index, "window_start": w.start, "window_end": w.end}
        for months in WINDOW_LENGTHS
        for index, w in enumerate(windows(as_of, months), start=1)
    ]
