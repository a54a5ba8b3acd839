"""The DuckDB store: one file per workspace, single writer, schema in ``auditkit/schema``.

All DDL lives in the ``schema/*.sql`` files and is applied here; every other
module reads and writes through the connections this module opens. Values are
always bound; identifiers come only from our own code and catalog.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import stat
import tempfile
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


def _spill_dir(ws: Workspace) -> Path:
    """This process's own DuckDB temp folder (mode 0700), removed when the store closes.

    Inside the workspace's temp folder when it can be written (spill of a killed
    process is removed by the next command that gets the lock alone), else (a
    read-only workspace) in the system's temp folder.
    """
    try:
        ws.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _private(ws.tmp_dir, 0o700)
        return Path(tempfile.mkdtemp(prefix=f"spill-{os.getpid()}-", dir=ws.tmp_dir))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="auditkit-spill-"))


def _private(path: Path, mode: int) -> None:
    """Set ``mode`` on a file or folder we own, when it is looser (best effort)."""
    try:
        st = path.stat()
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != mode:
            path.chmod(mode)
    except OSError:
        pass


def _connect(
    ws: Workspace, *, read_only: bool, temp_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": ws.config.memory_limit,
        "temp_directory": str(temp_dir or ws.tmp_dir),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        # Ingest hands DuckDB /proc/self/fd/N, and descriptor numbers are reused from
        # file to file: nothing read may be served from a cache keyed by that name.
        "enable_external_file_cache": False,
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


@contextmanager
def _private_files() -> Iterator[None]:
    """Files DuckDB creates meanwhile (the store, its WAL) are readable by the owner only:
    the store holds personal data (user inventories, audit events)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def create_store(ws: Workspace) -> None:
    """Create the DuckDB file (mode 0600) and apply the schema (idempotent)."""
    spill = _spill_dir(ws)
    try:
        with _private_files():
            con = _connect(ws, read_only=False, temp_dir=spill)
            try:
                apply_schema(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
        _private(ws.db_path, 0o600)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


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
    with ws.lock(exclusive=write), contextlib.ExitStack() as stack:
        spill = _spill_dir(ws)
        stack.callback(shutil.rmtree, spill, True)
        if write:
            stack.enter_context(_private_files())
            for path in (ws.db_path, Path(f"{ws.db_path}.wal")):
                _private(path, 0o600)  # a store made before stores were private
        con = _connect(ws, read_only=not write, temp_dir=spill)
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
