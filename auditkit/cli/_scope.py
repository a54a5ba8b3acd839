"""``auditkit scope suggest|check``: the declared scope against what the data shows."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from auditkit.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    JsonOpt,
    WorkspaceOpt,
    print_json,
    print_table,
    say,
    workspace,
)
from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.inventory import Inventory, Item, build_inventory
from auditkit.evaluate.scope_fragment import toml_fragment
from auditkit.store import open_store
from auditkit.workspace import Workspace

KINDS = ("namespace", "namespace label", "workload label", "address range", "image")
STATUS_STYLE = {"cde": "bold", "undeclared": "bold red", "external": "dim", "mixed": "yellow"}


def _inventory(ws: Workspace) -> Inventory:
    catalog = load_catalog(ws.config.controls_dirs)
    # Writable like evaluate: the snapshot views are staged in an in-memory stage database
    # attached to the connection, which DuckDB refuses on a read-only one. Nothing is written.
    with open_store(ws, write=True) as con:
        return build_inventory(con, ws.config, catalog)


def _doc(inv: Inventory, fragment: str | None) -> dict[str, object]:
    summary: dict[str, dict[str, int]] = {}
    for item in inv.items:
        kind = summary.setdefault(item.kind, {})
        kind[item.status] = kind.get(item.status, 0) + 1
    doc: dict[str, object] = {
        "period": {"start": inv.period_start.isoformat(), "as_of": inv.as_of.isoformat()},
        "ok": not inv.blocking,
        "undeclared": len(inv.blocking),
        "summary": summary,
        "items": [i.to_json() for i in inv.items],
        "notes": inv.notes,
    }
    if fragment is not None:
        doc["toml"] = fragment
    return doc


def _tables(items: list[Item]) -> None:
    for kind in KINDS:
        rows = [i for i in items if i.kind == kind]
        if not rows:
            continue
        print_table(
            f"{kind}s",
            [kind, "status", "declared by", "seen in", "count", "note"],
            [[i.name, i.status, i.declared_by, i.seen_in, i.count, i.note] for i in rows],
            styles={1: lambda v: STATUS_STYLE.get(str(v), "")},
        )


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    scope_app = typer.Typer(
        help="The declared CDE scope against what the stored data shows.", no_args_is_help=True
    )
    app.add_typer(scope_app, name="scope")

    @scope_app.command("suggest")
    def suggest(
        toml_only: Annotated[
            bool, typer.Option("--toml", help="Print only the TOML fragment to paste.")
        ] = False,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """List the namespaces, labels, address ranges and images the data of the period shows,
        each CDE, connected, out of scope or undeclared, and a TOML fragment to paste.

        Read-only. Nothing undeclared is placed for you: the fragment lists it commented out.

        Example: auditkit scope suggest --toml > scope.toml
        """
        ws = workspace(workspace_dir)
        inv = _inventory(ws)
        fragment = toml_fragment(inv, ws.config)
        if json_out:
            print_json(_doc(inv, fragment))
            return
        if toml_only:
            sys.stdout.write(fragment)
            return
        _tables(inv.items)
        for note in inv.notes:
            say(f"note: {note}")
        say(
            f"{len(inv.blocking)} observed item(s) undeclared; "
            "TOML to paste into auditkit.toml (also: auditkit scope suggest --toml):"
        )
        sys.stdout.write("\n" + fragment)

    @scope_app.command("check")
    def check(workspace_dir: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
        """Exit 1 while anything the data of the period shows is undeclared (0 when all is).

        Undeclared: a namespace that holds something, an address range inside the
        entity's internal_cidrs, an image running only in undeclared namespaces. With
        no data for the period at all it exits 1 too: nothing was checked.

        Example: auditkit scope check && auditkit evaluate
        """
        ws = workspace(workspace_dir)
        inv = _inventory(ws)
        empty = (
            f"no namespace, address or image is on record for {inv.period_start} to {inv.as_of}: "
            "nothing to check the scope against; ingest the period's data first"
        )
        if json_out:
            doc = _doc(inv, None)
            doc["items"] = [i.to_json() for i in inv.blocking]
            if not inv.observed:
                doc["ok"], doc["reason"] = False, empty
            print_json(doc)
        elif not inv.observed:
            say(f"scope check: {empty}")
        elif inv.blocking:
            _tables(inv.blocking)
            say(
                f"{len(inv.blocking)} observed item(s) undeclared: "
                "see 'auditkit scope suggest' for where they were seen and a TOML fragment"
            )
        else:
            say(
                f"scope check: everything the data of {inv.period_start} to {inv.as_of} shows "
                "is declared CDE, connected or out of scope"
            )
        raise typer.Exit(EXIT_CHECK_FAILED if inv.blocking or not inv.observed else EXIT_OK)
