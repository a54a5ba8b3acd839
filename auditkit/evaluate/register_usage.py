"""How each register entry fared in a run: exceptions and approved flows that took effect,
matched nothing, or were not in force on the as-of date.

A typo in an exception's ``match.resource`` or in an approved flow's CIDR
silently does nothing; an expired exception silently stops applying. The run
records every entry's state so ``auditkit evaluate`` can list the ones that
need attention, with the file and entry (JSON pointer) to fix:

- exceptions (``run_exceptions``, written by ``results.record_exceptions``):
  ``applied``, ``unmatched`` (with why: no such item, the item is not failing,
  the check was not tested or not evaluated), ``expired``, ``not yet approved``;
- approved flows (``run_approved_flows``): ``applied`` (observed connections
  in the period were attributed to it), ``unmatched``, ``not yet approved``
  (``approved_on`` after the as-of date: it approves nothing in this run), or
  ``not assessed`` when the catalog has no ``flow_edges`` library.

A connection several approved flows cover is attributed to the lowest flow id,
as the network checks report it (``flow_edges.matched_flow``), so an entry
that another entry entirely shadows is listed as unmatched.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import duckdb

from auditkit.evaluate.registers import ApprovedFlow, Registers
from auditkit.store import first_row

FLOW_EDGES = "flow_edges"  # the shared library whose matched_flow attributes connections
NEEDS_ATTENTION = ("unmatched", "expired", "not yet approved", "not assessed")


def in_force(flow: ApprovedFlow, as_of: dt.date) -> bool:
    """An approved flow approves traffic on ``as_of`` (approved then; undated ones count)."""
    return flow.approved_on is None or flow.approved_on <= as_of


def approved_flows_in_force(registers: Registers, as_of: dt.date) -> Registers:
    """The registers with only the approved flows in force on ``as_of`` (for staging)."""
    return replace(
        registers, approved_flows=[f for f in registers.approved_flows if in_force(f, as_of)]
    )


def unmatched_exception_why(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    check_id: str,
    resource: str | None,
    fingerprint: str | None,
) -> str:
    """Why an exception in force matched no failing item of its check in this run."""
    check = first_row(
        con.execute(
            "SELECT state, reason FROM run_checks WHERE run_id = ? AND check_id = ?",
            [run_id, check_id],
        )
    )
    if check is None:
        return f"check {check_id} is not evaluated by this run's framework"
    if check[0] == "not_tested":
        return f"check {check_id} was not tested: {check[1]}"
    item = first_row(
        con.execute(
            "SELECT status FROM run_results WHERE run_id = ? AND check_id = ? "
            "AND (resource = ? OR fingerprint = ?) LIMIT 1",
            [run_id, check_id, resource, fingerprint],
        )
    )
    what = f"resource key {resource!r}" if resource is not None else "this fingerprint"
    if item is None:
        return f"no item of check {check_id} has {what} (see 'auditkit results --check {check_id}')"
    return f"the item with {what} is {item[0]}, so there is nothing to except"


def _edges_table(con: duckdb.DuckDBPyConnection) -> str | None:
    """The qualified name of the staged flow_edges library table, if it has matched_flow."""
    row = first_row(
        con.execute(
            "SELECT database_name, schema_name FROM duckdb_columns() "
            "WHERE table_name = ? AND column_name = 'matched_flow' "
            "ORDER BY database_name = 'temp' DESC LIMIT 1",
            [FLOW_EDGES],
        )
    )
    if row is None:
        return None
    return f'"{row[0]}"."{row[1]}"."{FLOW_EDGES}"'


def record_approved_flows(
    con: duckdb.DuckDBPyConnection, run_id: int, registers: Registers, as_of: dt.date
) -> None:
    """Store each approved flow's state in ``run_approved_flows`` (inside the run's transaction)."""
    edges = _edges_table(con)
    counts: dict[str, int] = {}
    total = 0
    if edges is not None:
        counts = {
            str(flow_id): int(n)
            for flow_id, n in con.execute(
                f"SELECT matched_flow, count(*) FROM {edges} "
                "WHERE matched_flow IS NOT NULL GROUP BY matched_flow"
            ).fetchall()
        }
        row = first_row(con.execute(f"SELECT count(*) FROM {edges}"))
        total = int(row[0]) if row else 0
    for flow in registers.approved_flows:
        matched = counts.get(flow.id, 0)
        if not in_force(flow, as_of):
            state = "not yet approved"
            why = f"approved on {flow.approved_on}, after the as-of date: it approves nothing here"
            matched = 0
        elif edges is None:
            state, why = "not assessed", f"the catalog has no {FLOW_EDGES} library to match against"
        elif matched:
            state, why = "applied", f"{matched} observed connection(s) in the period"
        elif total == 0:
            state, why = "unmatched", "no allowed connection was observed in the period"
        else:
            state = "unmatched"
            why = (
                f"none of the {total} connection(s) observed in the period was attributed to it "
                "(a connection several approved flows cover counts for the lowest id)"
            )
        detail = {
            "source_file": flow.source_file,
            "locator": flow.locator,
            "description": flow.description,
            "approved_on": flow.approved_on.isoformat() if flow.approved_on else None,
            "why": why,
        }
        con.execute(
            "INSERT INTO run_approved_flows VALUES (?, ?, ?, ?, ?)",
            [run_id, flow.id, state, matched, json.dumps(detail)],
        )


def register_entries(con: duckdb.DuckDBPyConnection, run_id: int) -> list[dict[str, Any]]:
    """Every exception and approved flow of a stored run with its state, file and entry."""
    out: list[dict[str, Any]] = []
    for exc_id, check_id, state, matched, detail in con.execute(
        "SELECT exception_id, check_id, state, matched, detail FROM run_exceptions "
        "WHERE run_id = ? ORDER BY exception_id",
        [run_id],
    ).fetchall():
        d = json.loads(detail)
        out.append(_entry("exceptions", exc_id, check_id, state, matched, d))
    has_flows = first_row(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'run_approved_flows' "
            "AND database_name <> 'temp'"
        )
    )
    if has_flows and has_flows[0]:
        for flow_id, state, matched, detail in con.execute(
            "SELECT flow_id, state, matched, detail FROM run_approved_flows "
            "WHERE run_id = ? ORDER BY flow_id",
            [run_id],
        ).fetchall():
            out.append(_entry("approved flows", flow_id, None, state, matched, json.loads(detail)))
    return out


def _entry(
    register: str,
    entry_id: str,
    check_id: str | None,
    state: str,
    matched: int,
    detail: dict[str, Any],
) -> dict[str, Any]:
    why = detail.get("why") or ""
    if not why and state == "expired":
        why = f"expired on {detail.get('expires')}"
    elif not why and state == "not yet approved":
        why = f"approved on {detail.get('approved_on')}, after the as-of date"
    return {
        "register": register,
        "id": entry_id,
        "file": detail.get("source_file") or "",
        "entry": detail.get("locator") or "",
        "check": check_id,
        "state": state,
        "items": matched,
        "why": why,
        "needs_attention": state in NEEDS_ATTENTION,
    }
