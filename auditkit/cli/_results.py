"""``auditkit results``: a stored run's items, read-only."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import typer

from auditkit.cli._common import EXIT_OK, WorkspaceOpt, print_table, result_style, say, workspace
from auditkit.errors import UserError
from auditkit.history.items import (
    STATUSES,
    ItemQuery,
    bound_memory,
    count_items,
    iter_json,
    iter_rows,
    not_tested,
    select_items,
)
from auditkit.safe_output import write_csv_stream
from auditkit.store import open_store

TABLE_LIMIT = 200


def _statuses(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or []:
        out += [v.strip().replace("-", "_") for v in value.split(",") if v.strip()]
    return tuple(dict.fromkeys(out))


def _record(row: dict[str, Any]) -> str:
    where = row["locator"] or ""
    if row["source_file"]:
        sep = "" if where.startswith("#") else " "
        where = f"{row['source_file']}{sep}{where}"
    groups = len(row["supporting_records"] or [])
    return where + (f" (and records in {groups - 1} more file(s): --json)" if groups > 1 else "")


def _csv_rows(rows: Iterator[Sequence[Any]], names: Sequence[str]) -> Iterator[list[Any]]:
    records = names.index("supporting_records")
    for row in rows:
        cells = list(row)
        if cells[records] is not None:
            cells[records] = "\n".join(cells[records])
        yield cells


def _stdout_gone() -> None:
    """The reader closed the pipe (e.g. `| head`): stop quietly, as other tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""

    @app.command("results")
    def results(
        run: Annotated[
            int | None, typer.Option("--run", help="Run id (default: the latest run).")
        ] = None,
        check: Annotated[str | None, typer.Option("--check", help="Only this check.")] = None,
        requirement: Annotated[
            str | None,
            typer.Option("--requirement", help="Only the items that evidence this requirement."),
        ] = None,
        status: Annotated[
            list[str] | None,
            typer.Option(
                "--status",
                help=f"Only these statuses ({', '.join(STATUSES)}); repeat or comma-separate.",
            ),
        ] = None,
        limit: Annotated[
            int | None,
            typer.Option(
                "--limit",
                min=0,
                help=f"At most this many items (table default: {TABLE_LIMIT}; "
                "--json and --csv: all).",
            ),
        ] = None,
        json_out: Annotated[
            bool,
            typer.Option(
                "--json",
                help="Stream a JSON array on stdout, one item object per line (any run size).",
            ),
        ] = False,
        csv_out: Annotated[
            bool, typer.Option("--csv", help="Stream CSV on stdout (formulas defused).")
        ] = False,
        workspace_dir: WorkspaceOpt = None,
    ) -> None:
        """List a stored run's items: status, reason, resource key, the record each leads to.

        Read-only: opens the store read-only and never writes to it. Items are ordered
        by check, then fail, excepted, pass, not_applicable, then resource key.

        Example: auditkit results --check flow_cde_inbound_unapproved --status fail
        """
        if json_out and csv_out:
            raise UserError("choose one of --json and --csv")
        query = ItemQuery(
            run_id=run,
            check_id=check,
            requirement=requirement,
            statuses=_statuses(status),
            limit=(limit or None)
            if limit is not None
            else (None if json_out or csv_out else TABLE_LIMIT),
        )
        ws = workspace(workspace_dir)
        with open_store(ws, write=False) as con:
            bound_memory(con)
            selection = select_items(con, query)
            skipped = not_tested(con, selection, query)
            try:
                if json_out:
                    _write_json(iter_json(con, selection))
                elif csv_out:
                    write_csv_stream(
                        sys.stdout,
                        selection.names,
                        _csv_rows(iter_rows(con, selection), selection.names),
                    )
                    sys.stdout.flush()
                else:
                    total = count_items(con, selection)
                    _print(selection.run_id, selection.names, list(iter_rows(con, selection)))
                    shown = min(total, query.limit) if query.limit is not None else total
                    if shown < total:
                        say(
                            f"{shown} of {total} item(s) shown; --limit 0 for all, "
                            "or --json / --csv to stream them"
                        )
                    else:
                        say(f"{total} item(s) in run {selection.run_id}")
            except BrokenPipeError:
                _stdout_gone()
        for check_id, reason in skipped:
            say(f"{check_id} was not tested in run {selection.run_id}: {reason}")


def _write_json(items: Iterator[str]) -> None:
    """A JSON array, one item per line: '[', then '{...},' lines, then ']'."""
    out = sys.stdout
    out.write("[")
    first = True
    for item in items:
        out.write("\n" if first else ",\n")
        out.write(item)
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()


def _print(run_id: int, names: Sequence[str], rows: list[Sequence[Any]]) -> None:
    docs = [dict(zip(names, row, strict=True)) for row in rows]
    refs = [n for n in ("evidence_ref", "source_ref") if n in names]
    print_table(
        f"Run {run_id}: items",
        ["check", "status", "resource", "reason", "record", *refs],
        [
            [d["check_id"], d["status"], d["resource"], d["reason"], _record(d)]
            + [d[r] for r in refs]
            for d in docs
        ],
        styles={1: result_style},
    )
