"""Where catalog SQL runs: a connection on which it can only read, within bounds.

Check and library SQL is untrusted (a user's controls folder). Besides being
exactly one SELECT (:mod:`auditkit.evaluate.sqlguard`), it runs so that it
*cannot* write, whatever it contains:

- on its own cursor (a separate DuckDB connection to the store), inside a
  ``BEGIN TRANSACTION READ ONLY``: DuckDB refuses every write to the store and
  to any attached database in that transaction, ``nextval`` included;
- the tables checks read besides the store (snapshot views, scope, registers,
  library tables) are staged in ``auditkit_stage``, an attached in-memory
  database, so the read-only transaction protects them too; the only thing a
  read-only transaction may still write is the cursor's own TEMP schema, and
  the cursor keeps nothing there but the result being computed;
- the result is moved into the stage database by the engine after the
  transaction ends, and written to the store later, by the engine alone, in
  the run's single write transaction.

This staging database was chosen over attaching the store read-only because
the writer process already has the store open (DuckDB refuses a second handle
on the same file), and over copying the store's tables into an in-memory
database because that would copy every flow and event for each run.

Bounds (``[store]`` in auditkit.toml, see docs/workspace.md): each statement
gets ``check_timeout_seconds`` (default 600) before it is interrupted, and
runs with ``check_memory_limit`` of memory (default: the store's
``memory_limit``) and ``check_temp_limit`` of spill space (default 4GB). A
check that exceeds one fails the run with an error naming the check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from auditkit.errors import CheckExecutionError
from auditkit.evaluate.results import ROWS_TABLE
from auditkit.evaluate.sqlguard import select_problem
from auditkit.store import first_row, lockdown

STAGE_DB = "auditkit_stage"
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_TEMP_LIMIT = "4GB"


@dataclass(frozen=True)
class CheckLimits:
    """Bounds for each catalog SQL statement (None memory: the store's own limit)."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit: str | None = None
    temp_limit: str = DEFAULT_TEMP_LIMIT


class Sandbox:
    """The stage database and the read-only cursor that catalog SQL runs on.

    Use as a context manager around an evaluation; :attr:`con` is the cursor
    (stage first in its search path, then the store).
    """

    def __init__(self, writer: duckdb.DuckDBPyConnection, limits: CheckLimits) -> None:
        self.writer = writer
        self.limits = limits
        row = first_row(writer.execute("SELECT current_database()"))
        self.store_db = str(row[0])
        writer.execute(f"DETACH DATABASE IF EXISTS {STAGE_DB}")
        writer.execute(f"ATTACH ':memory:' AS {STAGE_DB}")
        self.con = writer.cursor()
        self.con.execute(f"USE {STAGE_DB}")
        self.con.execute(f"SET search_path = '{STAGE_DB},{self.store_db}'")
        self._kept = 0

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the cursor, the writer's view of results and the stage database."""
        for sql in (
            f"DROP VIEW IF EXISTS temp.main.{ROWS_TABLE}",
            f"DETACH DATABASE IF EXISTS {STAGE_DB}",
        ):
            try:
                self.writer.execute(sql)
            except duckdb.Error:
                pass
        try:
            self.con.close()
        except duckdb.Error:
            pass

    def lock(self) -> None:
        """Apply the memory and spill bounds, then forbid file access and configuration
        changes for good (a connection locked by an earlier run keeps its bounds)."""
        locked = first_row(self.writer.execute("SELECT current_setting('lock_configuration')"))
        if not (locked and locked[0]):
            if self.limits.memory_limit:
                self.writer.execute(f"SET memory_limit = '{self.limits.memory_limit}'")
            self.writer.execute(f"SET max_temp_directory_size = '{self.limits.temp_limit}'")
        lockdown(self.writer)

    def run(self, label: str, sql: str, params: dict[str, Any], *, path: Path | None) -> int:
        """Run one catalog SELECT read-only into the cursor's result table; return its rows.

        ``label`` names the check (or ``lib/<name>``) in every error.
        """
        problem = select_problem(sql)
        if problem:
            raise CheckExecutionError(label, problem, path=path)
        statement = f"CREATE TEMP TABLE {ROWS_TABLE} AS SELECT * FROM (\n{sql}\n)"
        if len(duckdb.extract_statements(statement)) != 1:
            raise CheckExecutionError(label, "must be exactly one SELECT statement", path=path)
        cur = self.con
        cur.execute(f"DROP TABLE IF EXISTS temp.main.{ROWS_TABLE}")
        timer = threading.Timer(self.limits.timeout_seconds, cur.interrupt)
        cur.execute("BEGIN TRANSACTION READ ONLY")
        timer.start()
        try:
            cur.execute(statement, params)
            cur.execute("COMMIT")
        except duckdb.Error as exc:
            timer.cancel()
            _rollback(cur)
            raise CheckExecutionError(label, self._why(exc), path=path) from None
        finally:
            timer.cancel()
        row = first_row(cur.execute(f"SELECT count(*) FROM temp.main.{ROWS_TABLE}"))
        return int(row[0]) if row else 0

    def _why(self, exc: duckdb.Error) -> str:
        first = str(exc).splitlines()[0]
        if isinstance(exc, duckdb.InterruptException):
            return (
                f"exceeded its time limit of {self.limits.timeout_seconds:g} s and was stopped "
                "(raise [store] check_timeout_seconds in auditkit.toml if it is genuine)"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            memory = self.limits.memory_limit or "the store's memory_limit"
            return (
                f"ran out of memory within its limits ({memory} of memory, "
                f"{self.limits.temp_limit} of spill space; raise [store] check_memory_limit "
                f"or check_temp_limit in auditkit.toml if it is genuine): {first}"
            )
        return first

    def keep(self, name: str) -> str:
        """Move the last result into the stage database as ``name``; return the table's
        qualified name. Runs outside any read-only transaction: the engine writes it."""
        target = f'{STAGE_DB}.main."{name}"'
        self.con.execute(
            f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM temp.main.{ROWS_TABLE}"
        )
        self.con.execute(f"DROP TABLE temp.main.{ROWS_TABLE}")
        return target

    def keep_result(self) -> str:
        """Keep the last check result under a fresh name (see :meth:`keep`)."""
        self._kept += 1
        return self.keep(f"_auditkit_result_{self._kept}")

    def show_to_writer(self, table: str) -> None:
        """Make a kept result the writer's ``ROWS_TABLE`` (a TEMP view, nothing copied)."""
        self.writer.execute(f"CREATE OR REPLACE TEMP VIEW {ROWS_TABLE} AS SELECT * FROM {table}")


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass
