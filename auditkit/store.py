"""The DuckDB store: one file per workspace, single writer, schema in ``auditkit/schema``.

All DDL lives in the ``schema/*.sql`` files and is applied here; every other
module reads and writes through the connections this module opens. Values are
always bound; identifiers come only from our own code and catalog.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import tomli_w

from auditkit.errors import InternalError, WorkspaceBusyError, WorkspaceError
from auditkit.workspace import CONFIG_NAME, Scope, Workspace, default_config, load_config

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SCHEMA_VERSION = "1"

_PID_RE = re.compile(r"PID (\d+)")


def first_row(result: duckdb.DuckDBPyConnection) -> Any:
    """The first row of a result, fetching the rest so the connection is free again.

    DuckDB refuses some operations (``register``) while a result is
    unfinished, and ``fetchone()`` leaves it unfinished.
    """
    rows = result.fetchall()
    return rows[0] if rows else None


def schema_statements() -> list[str]:
    """The DDL, in file order."""
    statements: list[str] = []
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        statements.append(path.read_text(encoding="utf-8"))
    return statements


def _connect(ws: Workspace, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    ws.tmp_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": ws.config.memory_limit,
        "temp_directory": str(ws.tmp_dir),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if ws.config.threads:
        config["threads"] = ws.config.threads
    try:
        return duckdb.connect(str(ws.db_path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            match = _PID_RE.search(text)
            raise WorkspaceBusyError(ws.root, int(match.group(1)) if match else None) from None
        raise WorkspaceError(
            f"cannot open the store: {text.splitlines()[0]}", path=ws.db_path
        ) from None
    except duckdb.Error as exc:
        raise WorkspaceError(
            f"cannot open the store: {str(exc).splitlines()[0]}", path=ws.db_path
        ) from None


def create_store(ws: Workspace) -> None:
    """Create the DuckDB file and apply the schema (idempotent)."""
    con = _connect(ws, read_only=False)
    try:
        apply_schema(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Apply every schema file; record the schema version."""
    for ddl in schema_statements():
        con.execute(ddl)
    con.execute("INSERT OR REPLACE INTO schema_meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])


@contextmanager
def open_store(ws: Workspace, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the workspace store under the workspace lock.

    Writers hold the lock exclusively; readers share it and open DuckDB
    read-only. The connection is checkpointed and closed on exit.
    """
    if not ws.db_path.exists() and not write:
        raise WorkspaceError(
            "the workspace has no data yet; run 'auditkit ingest' first", path=ws.root
        )
    with ws.lock(exclusive=write):
        con = _connect(ws, read_only=not write)
        try:
            has_meta = first_row(
                con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_meta'")
            )
            version = (
                first_row(con.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'"))
                if has_meta and has_meta[0]
                else None
            )
            if version is None or version[0] != SCHEMA_VERSION:
                if not write:
                    raise WorkspaceError(
                        "the store's schema is out of date; run a writing command "
                        "(e.g. 'auditkit ingest') to upgrade it",
                        path=ws.db_path,
                    )
                apply_schema(con)
            elif write:
                apply_schema(con)  # CREATE ... IF NOT EXISTS: picks up new tables
            yield con
            if write:
                con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise InternalError(f"store error: {str(exc).splitlines()[0]}") from exc
        finally:
            con.close()


def rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """ROLLBACK, ignoring "no transaction is active".

    A COMMIT that fails (a full disk) has already ended the transaction; a
    second error from the ROLLBACK must not replace the real cause.
    """
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def lockdown(con: duckdb.DuckDBPyConnection) -> None:
    """Forbid file and network access for the rest of this connection's life.

    Called before running check SQL (which may come from a user's folder) so
    that no query can read files outside the store.
    """
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def init_workspace(
    root: Path,
    *,
    organisation: str,
    entity_type: str,
    period_start: dt.date,
    period_end: dt.date,
    scope: Scope | None = None,
    force: bool = False,
) -> Workspace:
    """Create ``root/auditkit.toml`` and the empty store."""
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / CONFIG_NAME
    if config_path.exists() and not force:
        raise WorkspaceError(f"{CONFIG_NAME} already exists (use --force to overwrite)", path=root)
    doc = default_config(organisation, entity_type, period_start, period_end, scope)
    text = (
        "# auditkit workspace configuration; see docs/workspace.md for every key.\n"
        + tomli_w.dumps(doc)
    )
    tmp = config_path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, config_path)
    load_config(config_path)  # validate what we wrote
    ws = Workspace(root)
    with ws.lock():
        create_store(ws)
    return ws
