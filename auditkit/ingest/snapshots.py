"""Exports that describe a moment rather than a period, and the date they were given.

RBAC, NetworkPolicies, other Kubernetes objects (workload snapshots included)
and the user inventory are snapshots: an evaluation as of D uses the latest one
observed on or before D (docs/workspace.md). One ingested without
``--observed-at`` has no date, so every evaluation counts it as in force,
whatever its as-of date: a Q3 export silently becomes Q2's evidence too. A scan
report that does not say when it ran (trivy k8s, some SARIF) is the same: with
no date it counts in no period. Ingest says so for each such file, and which
date each dated one was given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

SNAPSHOT_FAMILIES = ("access", "policy")  # policy: admission-control exports, where ingested


@dataclass(frozen=True)
class DateNote:
    """What ingest says about one file's date."""

    snapshot: bool
    observed_at: list[str]  # every observation date the store holds for the file (ISO dates)
    warning: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (merged into the file's entry of ``ingest --json``)."""
        return {"snapshot": self.snapshot, "observed_at": self.observed_at, "warning": self.warning}


def date_note(
    con: duckdb.DuckDBPyConnection,
    path: str,
    sha256: str | None,
    fmt: str | None,
    family: str | None,
    time_min: dt.datetime | None,
) -> DateNote:
    """The observation dates of an ingested file, and a warning when it has none but needs one."""
    dates: list[str] = []
    if sha256:
        dates = [
            d.isoformat()
            for (d,) in con.execute(
                "SELECT DISTINCT CAST(observed_at AS DATE) AS d FROM ("
                "SELECT observed_at FROM sources WHERE source_sha256 = ? UNION ALL "
                "SELECT observed_at FROM observations WHERE source_sha256 = ?"
                ") WHERE observed_at IS NOT NULL ORDER BY d",
                [sha256, sha256],
            ).fetchall()
        ]
    snapshot = family in SNAPSHOT_FAMILIES
    warning = None
    if snapshot and not dates:
        warning = (
            f"{path}: a snapshot export ({fmt}) with no observation date: every evaluation "
            "counts it as in force, whatever its as-of date, until it is dated; ingest it "
            "again with --observed-at DATE (the day it was exported)"
        )
    elif family == "scans" and time_min is None and not dates:
        warning = (
            f"{path}: the report ({fmt}) does not say when the scan ran, so it counts in no "
            "period until it is dated; ingest it again with --observed-at DATE (the day it ran)"
        )
    return DateNote(snapshot, dates, warning)
