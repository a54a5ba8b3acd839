"""A stored run's items, read back for ``auditkit results``: read-only, streamed, filtered.

One row per check item (``run_results``) with its status, reason, resource key,
the file and record it leads to, every supporting record when the check lists
more than one, and the evidence references of the run when the store has them.
Rows come from DuckDB in batches (``fetchmany``), each already serialised to a
JSON object by DuckDB for ``--json``, so a run with a million items is listed
in constant memory.

What depends on other parts of the store is named here, once:

- ``SUPPORTING_RECORDS``: the evidence columns in which a check lists every
  record behind an item (e.g. each VPC, Hubble and Zeek record of one
  connection), shown after the item's own source record;
- ``EVIDENCE_REFS``: the stable references (``EV-0042``) of the run's evidence
  sets, read from ``run_evidence`` when the store has that table: the check's
  population and the item's source file. Without the table the columns are
  left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from auditkit.errors import NotFoundError, UserError
from auditkit.store import first_row

STATUSES = ("fail", "excepted", "pass", "not_applicable")
SUPPORTING_RECORDS = ("supporting_records",)
#: output column -> (run_evidence.kind, the run_results column that is its key)
EVIDENCE_REFS = {
    "evidence_ref": ("check population", "check_id"),
    "source_ref": ("source file", "source_sha256"),
}
BATCH = 5000
#: DuckDB's buffer pool while items are listed: the ORDER BY spills to the workspace's temp
#: folder beyond it, so the listing's memory does not grow with the run (as for the pack).
LISTING_DUCKDB_MEMORY = "512MB"
_HEX = re.compile(r"^[0-9a-f]{64}$")

#: (name, SQL) of every output column except the evidence references, in order.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "r.run_id"),
    ("check_id", "r.check_id"),
    ("status", "r.status"),
    ("resource", "r.resource"),
    ("reason", "r.reason"),
    ("severity", "r.severity"),
    ("requirement", "r.requirement"),
    ("exception_id", "r.exception_id"),
    ("fingerprint", "r.fingerprint"),
    ("source_file", "s.path"),
    ("source_sha256", "r.source_sha256"),
    ("locator", "r.locator"),
    (
        "supporting_records",
        "nullif(list_concat("
        + ", ".join(
            f"coalesce(TRY_CAST(r.evidence -> '$.{c}' AS VARCHAR[]), [])"
            for c in SUPPORTING_RECORDS
        )
        + ", []::VARCHAR[]), [])",
    ),
    ("evidence", "r.evidence"),
)


@dataclass(frozen=True)
class ItemQuery:
    """Which items: a run (None: the latest), and optional check, requirement and statuses."""

    run_id: int | None = None
    check_id: str | None = None
    requirement: str | None = None
    statuses: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(frozen=True)
class Selection:
    """A resolved query: the run, the output columns and the SQL pieces that list its items."""

    run_id: int
    columns: tuple[tuple[str, str], ...]  # (name, SQL expression)
    column_args: tuple[Any, ...]  # values the column expressions bind
    body: str  # FROM ... WHERE ...
    args: tuple[Any, ...]  # values the body binds
    order: str
    limit: int | None

    @property
    def names(self) -> tuple[str, ...]:
        """The output column names, in order."""
        return tuple(name for name, _ in self.columns)

    def sql(self, select: str) -> str:
        """The ordered, limited query selecting ``select`` over the items."""
        limit = f" LIMIT {int(self.limit)}" if self.limit is not None else ""
        return f"SELECT {select} {self.body} ORDER BY {self.order}{limit}"


def bound_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Cap DuckDB's memory for this (command-scoped, read-only) connection while listing."""
    try:
        con.execute(f"SET memory_limit = '{LISTING_DUCKDB_MEMORY}'")
    except duckdb.Error:
        pass  # a locked configuration keeps its own limit


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = first_row(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]
        )
    )
    return bool(row and row[0])


def select_items(con: duckdb.DuckDBPyConnection, query: ItemQuery) -> Selection:
    """Check the query against the stored runs and build the SQL; errors name what is missing."""
    bad = sorted(set(query.statuses) - set(STATUSES))
    if bad:
        raise UserError(f"unknown status {bad[0]!r}; use one of {', '.join(STATUSES)}")
    if query.run_id is None:
        row = first_row(con.execute("SELECT max(run_id) FROM runs"))
        if row is None or row[0] is None:
            raise NotFoundError("no run is stored yet; run 'auditkit evaluate' first")
        run_id = int(row[0])
    else:
        run_id = query.run_id
        if first_row(con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id])) is None:
            raise NotFoundError(f"no run {run_id}; see 'auditkit runs list'")
    where: list[str] = ["r.run_id = ?"]
    args: list[Any] = [run_id]
    if query.check_id is not None:
        known = first_row(
            con.execute(
                "SELECT 1 FROM run_checks WHERE run_id = ? AND check_id = ?",
                [run_id, query.check_id],
            )
        )
        if known is None:
            raise NotFoundError(
                f"run {run_id} did not evaluate a check {query.check_id!r}; "
                "see 'auditkit controls list'"
            )
        where.append("r.check_id = ?")
        args.append(query.check_id)
    if query.requirement is not None:
        known = first_row(
            con.execute(
                "SELECT 1 FROM run_requirements WHERE run_id = ? AND requirement = ?",
                [run_id, query.requirement],
            )
        )
        if known is None:
            raise NotFoundError(f"run {run_id} has no requirement {query.requirement!r}")
        # Rows naming one requirement count only towards it (docs/checks.md).
        where.append(
            "r.check_id IN (SELECT unnest(checks) FROM run_requirements "
            "WHERE run_id = ? AND requirement = ?) AND (r.requirement IS NULL OR r.requirement = ?)"
        )
        args += [run_id, query.requirement, query.requirement]
    if query.statuses:
        where.append(f"r.status IN ({', '.join('?' * len(query.statuses))})")
        args += list(query.statuses)
    columns = list(_COLUMNS)
    # A row about a register entry (an attestation) points at the register file by its digest.
    digests = first_row(
        con.execute("SELECT registers -> '$.digests' FROM runs WHERE run_id = ?", [run_id])
    )
    registers = json.loads(digests[0]) if digests and digests[0] else {}
    files = [(p, sha) for p, sha in (registers or {}).items() if _HEX.match(str(sha))]
    if files:
        cases = " ".join(f"WHEN '{sha}' THEN ?" for _, sha in files)
        columns[columns.index(("source_file", "s.path"))] = (
            "source_file",
            f"coalesce(s.path, CASE r.source_sha256 {cases} END)",
        )
    joins = ["LEFT JOIN sources s ON s.source_sha256 = r.source_sha256"]
    if _has_table(con, "run_evidence"):
        for n, (name, (kind, key)) in enumerate(EVIDENCE_REFS.items()):
            joins.append(
                f"LEFT JOIN run_evidence e{n} ON e{n}.run_id = r.run_id "
                f"AND e{n}.kind = '{kind}' AND e{n}.key = r.{key}"
            )
            columns.append((name, f"e{n}.ref"))
    order = (
        "r.check_id, CASE r.status "
        + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATUSES))
        + " ELSE 9 END, r.resource"
    )
    body = f"FROM run_results r {' '.join(joins)} WHERE {' AND '.join(where)}"
    return Selection(
        run_id, tuple(columns), tuple(p for p, _ in files), body, tuple(args), order, query.limit
    )


def count_items(con: duckdb.DuckDBPyConnection, selection: Selection) -> int:
    """How many items the selection holds (ignoring its limit)."""
    row = first_row(con.execute(f"SELECT count(*) {selection.body}", list(selection.args)))
    return int(row[0]) if row else 0


def iter_rows(con: duckdb.DuckDBPyConnection, selection: Selection) -> Iterator[Sequence[Any]]:
    """The selected items as tuples in ``selection.names`` order, fetched in batches."""
    select = ", ".join(f"{expr} AS {name}" for name, expr in selection.columns)
    cursor = con.execute(selection.sql(select), [*selection.column_args, *selection.args])
    while batch := cursor.fetchmany(BATCH):
        yield from batch


def iter_json(con: duckdb.DuckDBPyConnection, selection: Selection) -> Iterator[str]:
    """The selected items, each one JSON object built by DuckDB, fetched in batches."""
    fields = ", ".join(f"{name} := {expr}" for name, expr in selection.columns)
    cursor = con.execute(
        selection.sql(f"to_json(struct_pack({fields}))"),
        [*selection.column_args, *selection.args],
    )
    while batch := cursor.fetchmany(BATCH):
        for (text,) in batch:
            yield str(text)


def not_tested(con: duckdb.DuckDBPyConnection, selection: Selection, query: ItemQuery) -> list[Any]:
    """(check id, reason) of the selected checks that were not tested: they have no items."""
    sql = "SELECT check_id, reason FROM run_checks WHERE run_id = ? AND state = 'not_tested'"
    args: list[Any] = [selection.run_id]
    if query.check_id is not None:
        sql += " AND check_id = ?"
        args.append(query.check_id)
    if query.requirement is not None:
        sql += (
            " AND check_id IN (SELECT unnest(checks) FROM run_requirements "
            "WHERE run_id = ? AND requirement = ?)"
        )
        args += [selection.run_id, query.requirement]
    return con.execute(sql + " ORDER BY check_id", args).fetchall()
