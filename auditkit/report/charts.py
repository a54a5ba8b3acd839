"""Charts for the report, drawn with matplotlib as inline SVG (text as paths).

Text is converted to paths and the SVG id salt is fixed, so the same data
gives the same bytes and the PDF needs no font for the charts. Every input is
an aggregate (counts per result, per severity, per day): a chart's cost does
not depend on the number of findings. Labels are auditkit's own words, run
ids and dates, never strings from input data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from auditkit.evaluate.rollup import RESULTS
from auditkit.report.data import RequirementView, TrendPoint, VulnAge

RESULT_COLOURS = {
    "In Place": "#2e7d32",
    "Not in Place": "#c62828",
    "No exceptions noted (partial)": "#1565c0",
    "No automated evidence": "#a1887f",
    "Not Applicable": "#9e9e9e",
    "Not Tested": "#f9a825",
}

SEVERITY_COLOURS = {
    "critical": "#7b1fa2",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#9e9e9e",
    "unknown": "#bdbdbd",
}
WIDTH = 3.5  # inches: two charts side by side on A4
HEIGHT = 2.2
AGE_BIN_DAYS = 7
AGE_MAX_DAYS = 182  # older items are counted in the last bin


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _setup() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "path",
            "svg.hashsalt": "auditkit",
            "font.family": "DejaVu Sans",
            "font.size": 7.5,
            "axes.titlesize": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _thousands(ax: Any, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))


def _principal(req_id: str) -> str:
    return req_id.split(".", 1)[0]


def results_by_principal(requirements: Sequence[RequirementView]) -> str:
    """Stacked horizontal bars: per principal requirement (1-12), its requirements by result."""
    plt = _setup()
    groups: dict[str, dict[str, int]] = {}
    for r in requirements:
        bucket = groups.setdefault(_principal(r.id), dict.fromkeys(RESULTS, 0))
        bucket[r.result] = bucket.get(r.result, 0) + 1
    labels = sorted(groups, key=lambda g: (len(g), g))
    height = max(1.4, 0.2 * len(labels) + 0.6)
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    left = [0] * len(labels)
    names = [f"Req. {g}" for g in labels]
    for result in RESULTS:
        values = [groups[g].get(result, 0) for g in labels]
        if not any(values):
            continue
        bars = ax.barh(names, values, left=left, color=RESULT_COLOURS[result], label=result)
        ax.bar_label(
            bars, labels=[str(v) if v else "" for v in values], label_type="center", color="white"
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("requirements")
    _thousands(ax, "x")
    # Legend a fixed distance below the axis label, whatever the chart's height.
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.55 / height),
        ncol=2,
        frameon=False,
        fontsize=6.5,
    )
    return _svg(fig)


def severity_bar(counts: dict[str, int]) -> str:
    """Bar chart: failing items by severity."""
    plt = _setup()
    labels = [k for k in SEVERITY_COLOURS if k != "unknown" or counts.get(k)]
    values = [counts.get(k, 0) for k in labels]
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    bars = ax.bar(labels, values, color=[SEVERITY_COLOURS[k] for k in labels])
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2)
    ax.set_ylabel("items with exceptions noted")
    ax.set_ylim(0, max(values + [1]) * 1.2)
    _thousands(ax)
    return _svg(fig)


def vuln_age_histogram(age: VulnAge) -> str:
    """Histogram of days from fix availability to resolution (or the as-of date).

    Items still present are stacked on items already fixed; a dashed line marks
    the patch window (calendar months, drawn at 30 days a month), so everything
    right of it was fixed late or is overdue.
    """
    plt = _setup()
    bins = list(range(0, AGE_MAX_DAYS + AGE_BIN_DAYS, AGE_BIN_DAYS))
    fixed: list[float] = [0.0] * (len(bins) - 1)
    still_open: list[float] = [0.0] * (len(bins) - 1)
    for days, is_open, items in age.points:
        index = min(max(days, 0), AGE_MAX_DAYS - 1) // AGE_BIN_DAYS
        (still_open if is_open else fixed)[index] += items
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    lefts = bins[:-1]
    ax.bar(lefts, fixed, width=AGE_BIN_DAYS, align="edge", color="#607d8b", label="fixed")
    ax.bar(
        lefts,
        still_open,
        width=AGE_BIN_DAYS,
        align="edge",
        bottom=fixed,
        color="#c62828",
        label="still present at as-of",
    )
    window = 30 * age.window_months
    ax.axvline(window, color="black", linestyle="--", linewidth=0.8)
    top = max([a + b for a, b in zip(fixed, still_open, strict=True)] + [1])
    ax.text(
        window + 2,
        top * 1.12,
        f"{age.window_months}-month window",
        fontsize=6.5,
        va="top",
        rotation=90,
        ha="left",
    )
    ax.set_xlim(0, AGE_MAX_DAYS)
    ax.set_ylim(0, top * 1.15)
    ax.set_xlabel(f"days from fix available to fixed or as-of ({AGE_MAX_DAYS}+ in the last bar)")
    ax.set_ylabel("critical vulnerabilities")
    _thousands(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False, fontsize=6.5)
    return _svg(fig)


def trend_chart(points: Sequence[TrendPoint]) -> str:
    """Stacked bars: requirements per result in each run of the framework, oldest first."""
    plt = _setup()
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    names = [f"run {p.run_id}\n{p.as_of.isoformat()}" for p in points]
    bottom = [0] * len(points)
    for result in RESULTS:
        values = [p.counts.get(result, 0) for p in points]
        if not any(values):
            continue
        ax.bar(names, values, bottom=bottom, color=RESULT_COLOURS[result], label=result)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_ylabel("requirements")
    _thousands(ax)
    ax.tick_params(axis="x", labelsize=6)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False, fontsize=6.5)
    return _svg(fig)


def _month_axis(ax: Any, start: Any, end: Any) -> None:
    import matplotlib.dates as mdates

    ax.set_xlim(start, end)
    ax.xaxis.set_major_locator(mdates.MonthLocator())  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))  # type: ignore[no-untyped-call]
    ax.tick_params(axis="x", labelsize=5.5)
    ax.spines[["top", "right"]].set_visible(False)


def log_coverage_timeline(pe: Any) -> str:
    """One lane per log family: a block per month, filled when the month has records."""
    import datetime as dt

    plt = _setup()
    families = pe.log_families
    fig, ax = plt.subplots(figsize=(2 * WIDTH, 0.45 * len(families) + 0.9))
    for lane, fam in enumerate(families):
        for month, count in zip(pe.months, fam["months"], strict=True):
            nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
            ax.barh(
                lane,
                (nxt - month).days,
                left=month,
                height=0.6,
                color="#2e7d32" if count else "#ef9a9a",
                edgecolor="white",
            )
    ax.axvline(pe.lookback_start, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(families)), [f["family"] for f in families])
    ax.invert_yaxis()
    _month_axis(ax, pe.months[0], pe.as_of + dt.timedelta(days=1))
    ax.set_title("Records per month (green: records present; dashed: start of the 12 months)")
    return _svg(fig)


def scan_timeline(pe: Any) -> str:
    """One lane per repository (numbered as in the table), a dot per scan; windows shaded."""
    import datetime as dt

    plt = _setup()
    repos = pe.scan_repos
    fig, ax = plt.subplots(figsize=(2 * WIDTH, 0.22 * len(repos) + 1.0))
    for index, window in enumerate(pe.windows):
        ax.axvspan(
            window.start,
            window.end + dt.timedelta(days=1),
            color="#eeeeee" if index % 2 else "#f8f8f8",
            zorder=0,
        )
    for lane, repo in enumerate(repos):
        colour = "#c62828" if repo["status"] == "fail" else "#1565c0"
        ax.plot(repo["dates"], [lane] * len(repo["dates"]), "o", markersize=2.5, color=colour)
    ax.set_yticks(range(len(repos)), [str(i + 1) for i in range(len(repos))])
    ax.tick_params(axis="y", labelsize=5.5)
    ax.invert_yaxis()
    _month_axis(ax, pe.windows[0].start, pe.as_of + dt.timedelta(days=1))
    ax.set_title("Image scans per three-month window (red: the check found a window without one)")
    return _svg(fig)


def review_timeline(pe: Any) -> str:
    """Attested activities as dots on the look-back, one lane per kind; daily reviews as ticks."""
    import datetime as dt

    plt = _setup()
    lanes = [(f"{r['label']} ({r['requirement']})", r["dates"]) for r in pe.reviews]
    lanes.append(("daily log reviews (10.4.1)", pe.log_reviews.get("covered_days", [])))
    fig, ax = plt.subplots(figsize=(2 * WIDTH, 0.35 * len(lanes) + 0.9))
    for lane, (_, dates) in enumerate(lanes):
        ax.plot(
            dates,
            [lane] * len(dates),
            "|" if lane == len(lanes) - 1 else "o",
            markersize=4,
            color="#1565c0",
        )
    missing = pe.log_reviews.get("missing", [])
    ax.plot(missing, [len(lanes) - 1] * len(missing), "x", markersize=4, color="#c62828")
    ax.set_yticks(range(len(lanes)), [name for name, _ in lanes])
    ax.invert_yaxis()
    _month_axis(ax, pe.lookback_start - dt.timedelta(days=31), pe.as_of + dt.timedelta(days=1))
    ax.set_title("Attested activities (red crosses: days of the period without a log review)")
    return _svg(fig)
