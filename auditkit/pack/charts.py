"""Charts for the report, drawn with matplotlib as inline SVG (text as paths).

Text is converted to paths and the SVG id salt is fixed, so the same data
gives the same bytes and the PDF needs no font for the charts.
"""

from __future__ import annotations

import io
from typing import Any

RESULT_COLOURS = {
    "In Place": "#2e7d32",
    "Not in Place": "#c62828",
    "Not Tested": "#f9a825",
    "Not Applicable": "#9e9e9e",
}
SEVERITY_COLOURS = {
    "critical": "#7b1fa2",
    "high": "#c62828",
    "medium": "#ef6c00",
    "low": "#f9a825",
    "info": "#9e9e9e",
    "unknown": "#bdbdbd",
}


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
            "font.size": 9,
        }
    )
    return plt


def results_bar(counts: dict[str, int]) -> str:
    """Horizontal bar chart: requirements per result."""
    plt = _setup()
    labels = list(RESULT_COLOURS)
    values = [counts.get(k, 0) for k in labels]
    fig, ax = plt.subplots(figsize=(6.0, 1.9))
    bars = ax.barh(labels, values, color=[RESULT_COLOURS[k] for k in labels])
    ax.invert_yaxis()
    ax.bar_label(bars, padding=3)
    ax.set_xlabel("requirements")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(values + [1]) * 1.15)
    return _svg(fig)


def severity_bar(counts: dict[str, int]) -> str:
    """Bar chart: open findings by severity."""
    plt = _setup()
    labels = [k for k in SEVERITY_COLOURS if k != "unknown" or counts.get(k)]
    values = [counts.get(k, 0) for k in labels]
    fig, ax = plt.subplots(figsize=(6.0, 1.9))
    bars = ax.bar(labels, values, color=[SEVERITY_COLOURS[k] for k in labels])
    ax.bar_label(bars, padding=2)
    ax.set_ylabel("failing items")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(0, max(values + [1]) * 1.2)
    return _svg(fig)
