"""Read JSON-lines files with DuckDB, set-based, keeping exact line numbers.

DuckDB's ``read_json`` hides bad lines (``ignore_errors`` yields NULL rows) and
samples its schema, so instead every line is read as one text column with
``read_csv`` (a delimiter that cannot occur in valid JSON), numbered from the
table's insertion order, validated with ``json_valid`` and only then
transformed with an explicit structure.
"""

from __future__ import annotations

import duckdb

from auditkit.ingest.base import LoadContext
from auditkit.store import first_row

LINES_TABLE = "_auditkit_lines"


def stage_lines(ctx: LoadContext) -> int:
    """Load the file's lines into the temp table ``_auditkit_lines(line_no, line)``.

    Returns the number of lines. Blank lines are kept (as NULL) so numbering
    stays exact; callers ignore them.
    """
    con = ctx.con
    con.execute(f"DROP TABLE IF EXISTS {LINES_TABLE}")
    con.execute(
        f"""
        CREATE TEMP TABLE {LINES_TABLE} AS
        SELECT line FROM read_csv(
            ?, delim = '\\x01', quote = '', escape = '', header = false,
            columns = {{'line': 'VARCHAR'}}, auto_detect = false, strict_mode = false,
            compression = ?, max_line_size = 67108864)
        """,
        [str(ctx.source.path), ctx.source.duckdb_compression],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {LINES_TABLE} AS
        SELECT rowid + 1 AS line_no, line FROM {LINES_TABLE}
        """
    )
    row = first_row(con.execute(f"SELECT count(*) FROM {LINES_TABLE}"))
    return int(row[0]) if row else 0


def reject_invalid_lines(ctx: LoadContext, *, allow_non_json_prefix: bool = False) -> None:
    """Record every non-blank line that is not a JSON object as malformed.

    With ``allow_non_json_prefix`` a line that does not start with ``{`` is a
    non-record (a log banner interleaved with the records): skipped and
    counted, not malformed.
    """
    rows = ctx.con.execute(
        f"""
        SELECT line_no, left(line, 200), starts_with(ltrim(line), '{{')
        FROM {LINES_TABLE}
        WHERE line IS NOT NULL AND trim(line) <> ''
          AND (NOT json_valid(line) OR json_type(line) <> 'OBJECT')
        ORDER BY line_no
        """
    ).fetchall()
    for line_no, excerpt, looks_like_json in rows:
        if allow_non_json_prefix and not looks_like_json:
            ctx.skip_non_record(
                f"line:{line_no}", "not a JSON record (banner or log text)", excerpt
            )
        else:
            ctx.reject(f"line:{line_no}", "not a valid JSON object", excerpt)


def prepare_lines(ctx: LoadContext) -> None:
    """``Format.prepare`` for line-oriented formats: stage the lines when the file has them."""
    if ctx.sniff.shape in ("json-lines", "text"):
        stage_lines(ctx)


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Remove every staging table a loader may have left (called after each file)."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE temporary AND table_name LIKE '\\_auditkit\\_%' ESCAPE '\\'"
    ).fetchall():
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
