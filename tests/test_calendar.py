"""One calendar: the look-back and its windows, for checks and the report alike."""

from __future__ import annotations

import datetime as dt

import pytest

from auditkit.calendar import Window, calendar_rows, horizon, lookback, lookback_start, windows

D = dt.date


def test_quarter_end_gives_the_calendar_quarters() -> None:
    assert windows(D(2026, 9, 30)) == [
        Window(D(2025, 10, 1), D(2025, 12, 31)),
        Window(D(2026, 1, 1), D(2026, 3, 31)),
        Window(D(2026, 4, 1), D(2026, 6, 30)),
        Window(D(2026, 7, 1), D(2026, 9, 30)),
    ]
    assert lookback_start(D(2026, 9, 30)) == D(2025, 10, 1)
    assert lookback(D(2026, 9, 30)) == Window(D(2025, 10, 1), D(2026, 9, 30))


def test_windows_count_back_from_the_day_after_the_as_of_date() -> None:
    # a month end that is not a quarter end: whole months, no 30th/31st drift
    assert windows(D(2026, 11, 30))[0] == Window(D(2025, 12, 1), D(2026, 2, 28))
    assert windows(D(2026, 11, 30))[-1] == Window(D(2026, 9, 1), D(2026, 11, 30))
    # mid-month: windows end on the as-of date and tile the look-back without gaps
    ws = windows(D(2026, 8, 15))
    assert ws[-1] == Window(D(2026, 5, 16), D(2026, 8, 15))
    assert ws[0].start == lookback_start(D(2026, 8, 15)) == D(2025, 8, 16)
    for a, b in zip(ws, ws[1:], strict=False):
        assert a.end_exclusive == b.start
    assert horizon(D(2024, 2, 29)) == D(2024, 3, 1)
    assert lookback_start(D(2024, 2, 29)) == D(2023, 3, 1)
    assert D(2026, 8, 15) in ws[-1] and D(2026, 8, 16) not in ws[-1]


def test_window_lengths_must_divide_the_look_back() -> None:
    with pytest.raises(ValueError):
        windows(D(2026, 9, 30), months=5)
    rows = calendar_rows(D(2026, 9, 30))
    assert {r["months"] for r in rows} == {1, 2, 3, 4, 6, 12}
    quarterly = [
        Window(r["window_start"], r["window_end"])  # type: ignore[arg-type]
        for r in rows
        if r["months"] == 3
    ]
    assert quarterly == windows(D(2026, 9, 30))
    assert [r["window_no"] for r in rows if r["months"] == 1] == list(range(1, 13))
