"""Row-level reads of a stored run: bounded samples and streamed result rows.

Selection rules shared by the PDF sample, the workbook and OSCAL (so the PDF's
sample is always the head of the workbook's list): items with exceptions noted
(failing) and excepted items are taken most severe first and, within a
severity, by fingerprint. A fingerprint is a sha256, so this is a reproducible
pseudo-random choice, stable across runs, rather than the alphabetical head of
the list. :func:`result_batches` streams rows as Arrow record batches for the
workbook and the evidence files; nothing holds a whole population in Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

FINDING_STATUSES = ("fail", "excepted")  # the items listed as exceptions noted

SEVERITY_RANK_SQL = (
    "CASE r.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
    "WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END"
)
# Evidence JSON (an object written by the engine) as "key: value; key: value",
# keys in the check's own order, null values left out. One parse per row.
DETAILS_SQL = (
    "array_to_string(list_transform(list_filter("
    "map_entries(TRY_CAST(r.evidence AS MAP(VARCHAR, VARCHAR))), "
    "lambda e: e.value IS NOT NULL), lambda e: e.key || ': ' || e.value), '; ')"
)

# Columns of every streamed result row, with their SQL. ``details`` is the
# readable evidence text (workbook); the evidence files carry the evidence as
# the JSON object the engine stored (``EVIDENCE_COLUMNS``).
# ``requirement`` is set when a row evidences one requirement only (NULL: every
# requirement the check maps to).
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("check_id", "r.check_id"),
    ("requirement", "r.requirement"),
    ("resource", "r.resource"),
    ("status", "r.status"),
    ("severity", "r.severity"),
    ("reason", "r.reason"),
    ("fingerprint", "r.fingerprint"),
    ("source_file", "s.path"),
    ("source_sha256", "r.source_sha256"),
    ("locator", "r.locator"),
    ("exception_id", "r.exception_id"),
)
DETAILS_COLUMN = ("details", DETAILS_SQL)


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, args: Sequence[Any]
) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(args))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def item_of(row: dict[str, Any]) -> dict[str, Any]:
    evidence = json.loads(row["evidence"]) if row["evidence"] else {}
    return {
        "resource": row["resource"],
        "status": row["status"],
        "reason": row["reason"],
        "severity": row["severity"],
        "fingerprint": row["fingerprint"],
        "source": row["source_path"],
        "source_sha256": row["source_sha256"],
        "locator": row["locator"],
        "exception_id": row["exception_id"],
        "requirement": row["requirement"],
        "evidence": evidence if isinstance(evidence, dict) else {"value": evidence},
    }


def sample_items(
    con: duckdb.DuckDBPyConnection, run_id: int, check_id: str, status: str, limit: int
) -> list[dict[str, Any]]:
    """The first ``limit`` items of one check and status under the selection rule."""
    rows = fetch_dicts(
        con,
        f"""
        SELECT r.resource, r.status, r.reason, r.severity, r.fingerprint, s.path AS source_path,
               r.source_sha256, r.locator, r.exception_id, r.requirement,
               CAST(r.evidence AS VARCHAR) AS evidence,
               {SEVERITY_RANK_SQL} AS severity_rank
        FROM run_results r LEFT JOIN sources s USING (source_sha256)
        WHERE r.run_id = ? AND r.check_id = ? AND r.status = ?
        ORDER BY severity_rank, r.fingerprint
        LIMIT ?
        """,
        [run_id, check_id, status, limit],
    )
    # Shown most severe first, then by resource, to read like a list.
    items = [item_of(r) | {"_rank": r["severity_rank"]} for r in rows]
    items.sort(key=lambda i: (i["_rank"], i["resource"], i["fingerprint"]))
    for i in items:
        del i["_rank"]
    return items


def exception_items(
    con: duckdb.DuckDBPyConnection, run_id: int, checks: Sequence[Any], limit: int
) -> dict[str, list[dict[str, Any]]]:
    """Per check, at most ``limit`` failing and ``limit`` excepted items (the PDF's order)."""
    return {
        c.id: (sample_items(con, run_id, c.id, "fail", limit) if c.failed else [])
        + (sample_items(con, run_id, c.id, "excepted", limit) if c.excepted else [])
        for c in checks
    }


# -- streaming ---------------------------------------------------------------------


EVIDENCE_COLUMNS: tuple[tuple[str, str], ...] = (
    *BASE_COLUMNS,
    ("evidence", "CAST(r.evidence AS VARCHAR)"),
)


def result_batches(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    columns: Sequence[tuple[str, str]],
    *,
    check_id: str,
    statuses: Sequence[str] | None = None,
    limit: int | None = None,
    pick: str = "findings",
    order: str = "stored",
    batch_size: int = 16_384,
) -> pa.RecordBatchReader:
    """Stream one check's result rows as Arrow batches, every column as text.

    ``order``: ``"stored"`` (as the engine stored them: by resource, without a
    sort), ``"resource"`` or ``"severity"`` (most severe first, then by
    resource). With ``limit`` only that many rows are returned, chosen by
    ``pick``: ``"findings"`` takes the most severe first and then by
    fingerprint (the rule the PDF sample follows); ``"population"`` takes the
    lowest fingerprints (a reproducible pseudo-random sample of the population).
    """
    where = "r.run_id = ? AND r.check_id = ?"
    args: list[Any] = [run_id, check_id]
    if statuses is not None:
        where += " AND list_contains(?, r.status)"
        args.append(list(statuses))
    select = ", ".join(f'CAST({sql} AS VARCHAR) AS "{name}"' for name, sql in columns)
    if order == "severity":
        order_sql = f"ORDER BY {SEVERITY_RANK_SQL}, r.resource, r.fingerprint"
    elif order == "resource":
        order_sql = "ORDER BY r.resource, r.fingerprint"
    else:
        # Stored order: the engine inserts each check's rows sorted by resource, and
        # DuckDB preserves insertion order, so no sort (and no sort memory) is needed.
        order_sql = ""
    if limit is not None:
        # Choose by the narrow keys first (a top-N over row ids, not over whole rows),
        # then read only the chosen rows.
        choose = f"{SEVERITY_RANK_SQL}, r.fingerprint" if pick == "findings" else "r.fingerprint"
        where += (
            f" AND r.rowid IN (SELECT r.rowid FROM run_results r WHERE {where} "
            f"ORDER BY {choose} LIMIT ?)"
        )
        args = [*args, *args, limit]
    sql = f"""
        SELECT {select}
        FROM run_results r LEFT JOIN sources s USING (source_sha256)
        WHERE {where} {order_sql}
    """
    # A relation streams batches straight from the query (a DB-API cursor would
    # copy every row first). DuckDB 2 names the method to_arrow_reader, 1.x
    # fetch_record_batch; both return a RecordBatchReader.
    rel = con.sql(sql, params=args)
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch
    result: pa.RecordBatchReader = reader(batch_size)
    return result


def batch_rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """A record batch as row tuples (one batch at a time, never a whole population)."""
    return list(zip(*(col.to_pylist() for col in batch.columns), strict=True))
