"""Line-oriented input read set-based in DuckDB, keeping exact line numbers.

DuckDB's ``read_json`` hides bad lines (``ignore_errors`` yields NULL rows) and
samples its schema, so instead every line is read as one text column with
``read_csv`` (a delimiter that never splits a line) into a TEMP table whose
insertion-order ``rowid`` is the line number. JSON records are validated with
``json_valid`` and only then transformed with an explicit structure (a key
first seen at line 30,001 is read like any other).

:func:`load_json_records` is the shared loader for JSON-lines formats: one
``INSERT`` transforms and stores the good records; only when the stored count
differs from the number of non-blank lines does a second pass classify the
rest (malformed records, non-records such as log banners) for the error
message or the quarantine.

Three DuckDB behaviours shape the SQL:

- Without a barrier the optimizer pushes the validity filter below the
  projection and re-evaluates ``json_transform`` (or ``string_split``) once per
  referenced field, which made loads 3-5x slower. JSON records are transformed
  in a ``MATERIALIZED`` CTE (computed once, in parallel, spilling to the temp
  directory when large); split lines sit behind ``unnest([...])``, which is
  cheaper for small lists.
- ``OR`` and ``AND`` do not short-circuit, so a function that fails on invalid
  JSON (``json_type``, ``json_transform``) is only ever called inside
  ``CASE WHEN json_valid(...)``.
- ``read_csv`` sizes its buffer at 16 x ``max_line_size`` by default (1 GiB for
  64 MiB lines, or the whole file), so the buffer size is set explicitly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import duckdb

from auditkit.errors import InputError
from auditkit.ingest.base import BadRecord, LoadContext
from auditkit.safeload import loads_json
from auditkit.store import first_row

RAW_TABLE = "_auditkit_lines_raw"
LINES_TABLE = "_auditkit_lines"  # TEMP VIEW (line_no, loc, line); loc is NULL for line files
EXCLUDED_TABLE = "_auditkit_excluded"
MAX_LINE_BYTES = 64 * 1024 * 1024

_CSV_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")
_LOCATOR_LINE_RE = re.compile(r"line:(\d+)")
_DIAGNOSED = 20  # invalid lines whose JSON error is worked out in Python (the rest: "invalid JSON")
_DIAGNOSE_BYTES = 1024 * 1024
# yyjson (DuckDB's parser) accepts NaN/Infinity in any letter case; strict JSON does not.
_NAN_PREFILTER = "line ILIKE '%nan%' OR line ILIKE '%inf%'"
_NAN_PATTERN = r"[:,\[]\s*[-+]?(?i:nan|inf)"


def stage_lines(ctx: LoadContext) -> None:
    """Read the file's lines into ``_auditkit_lines(line_no, loc, line)``.

    Blank lines stay (``line`` NULL) so numbering is exact; a CRLF ending is
    removed. Unreadable input (bad UTF-8, corrupt gzip, a line over 64 MiB)
    is an :class:`InputError` naming the line when DuckDB reports one.
    """
    con = ctx.con
    _drop(con)
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE {RAW_TABLE} AS
            SELECT line FROM read_csv(
                ?, delim = '\\x01', quote = '', escape = '', header = false,
                columns = {{'line': 'VARCHAR'}}, auto_detect = false, strict_mode = false,
                compression = ?, max_line_size = {MAX_LINE_BYTES},
                buffer_size = {2 * MAX_LINE_BYTES})
            """,
            # The open file itself (/proc/self/fd/N): never a path DuckDB could expand as
            # a glob, and the very bytes that were hashed (see auditkit.ingest.source).
            [ctx.source.reader_path, ctx.source.duckdb_compression],
        )
    except duckdb.Error as exc:
        raise read_error(ctx.source.display, exc) from None
    con.execute(
        f"CREATE TEMP VIEW {LINES_TABLE} AS "
        f"SELECT rowid + 1 AS line_no, NULL::VARCHAR AS loc, line FROM {RAW_TABLE}"
    )


def stage_records(ctx: LoadContext, records: list[tuple[str, str]]) -> None:
    """Stage records of a whole JSON document as ``(locator, json text)`` pairs.

    The same loaders then run on them; ``line_no`` is the record's position
    (1-based) and the locator a JSON pointer such as ``#/items/3``.
    """
    con = ctx.con
    _drop(con)
    con.execute(f"CREATE TEMP TABLE {RAW_TABLE} (line_no BIGINT, loc VARCHAR, line VARCHAR)")
    ctx.insert_rows(
        RAW_TABLE,
        [{"line_no": i + 1, "loc": loc, "line": text} for i, (loc, text) in enumerate(records)],
    )
    con.execute(f"CREATE TEMP VIEW {LINES_TABLE} AS SELECT line_no, loc, line FROM {RAW_TABLE}")


def read_error(display: str, exc: duckdb.Error) -> InputError:
    """Turn a DuckDB reader failure into one line naming the file (and line)."""
    text = str(exc)
    match = _CSV_LINE_RE.search(text)
    location = f"line:{match.group(1)}" if match else None
    lowered = text.lower()
    if "unicode" in lowered or "utf-8" in lowered:
        message = "not UTF-8 text"
    elif "maximum line size" in lowered:
        message = f"line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"
    elif "gzip" in lowered:
        message = "corrupt or truncated gzip data"
    else:
        message = "cannot be read: " + text.splitlines()[0]
    return InputError(message, path=display, location=location)


def prepare_lines(ctx: LoadContext) -> None:
    """``Format.prepare`` for line-oriented formats: stage the lines when the file has them."""
    if ctx.sniff.shape in ("json-lines", "text"):
        stage_lines(ctx)


def prepare_json_records(ctx: LoadContext) -> None:
    """``Format.prepare`` for JSON-record formats: lines, or the items of one document.

    A document is one record (``#``) or, when it is an array, one record per
    item (``#/0``, ``#/1``...).
    """
    if ctx.sniff.shape in ("json-lines", "text"):
        stage_lines(ctx)
        return
    doc = ctx.sniff.document
    items = (
        [(f"#/{i}", item) for i, item in enumerate(doc)] if isinstance(doc, list) else [("#", doc)]
    )
    stage_records(ctx, [(loc, json.dumps(item)) for loc, item in items])


def count_nonblank(con: duckdb.DuckDBPyConnection, where: str = "") -> int:
    """Lines that are not NULL (whitespace-only lines count; the slow path sorts them out)."""
    row = first_row(
        con.execute(f"SELECT count(*) FROM {LINES_TABLE} WHERE line IS NOT NULL {where}")
    )
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class RecordSpec:
    """How one JSON-record format maps onto its table.

    SQL fragments see ``e`` (the record transformed with ``structure``, or
    what ``unwrap`` made of it; NULL when there is no record), ``line`` (the
    JSON text), ``line_no`` and ``locator``; ``problem`` and ``skip`` must
    cope with a NULL ``e``. The first ``?`` in ``columns`` is bound to the
    file's sha256.
    """

    table: str
    structure: dict[str, Any]
    columns: str  # SELECT list for INSERT ... BY NAME
    problem: str  # SQL: why a JSON object is a malformed record (NULL when fine)
    skip: str = "NULL"  # SQL: why a JSON object is not a record at all (NULL when it is)
    banners: bool = False  # lines not starting with '{' are non-records (log text)
    # Optional SELECT over ``parsed`` giving (line_no, locator, line, e) again, for
    # wrappers whose payload is a JSON string or sub-object (materialized as ``rec``).
    unwrap: str | None = None
    stats: str = "count(*), NULL, NULL"  # over the stored rows: count, time_min, time_max


def _parsed_sql(spec: RecordSpec, where: str, *, valid_only: bool) -> str:
    structure = json.dumps(spec.structure).replace("'", "''")
    transform = f"json_transform(line, '{structure}')"
    if valid_only:  # the WHERE below has already kept only valid JSON
        where += " AND json_valid(line)"
    else:
        transform = f"CASE WHEN json_valid(line) THEN {transform} END"
    rec = f"rec AS MATERIALIZED ({spec.unwrap})" if spec.unwrap else "rec AS (FROM parsed)"
    return f"""
        parsed AS MATERIALIZED (
            SELECT line_no, coalesce(loc, 'line:' || line_no) AS locator, line, {transform} AS e
            FROM {LINES_TABLE}
            WHERE line IS NOT NULL {where}
        ),
        {rec}
    """


def load_json_records(ctx: LoadContext, spec: RecordSpec) -> tuple[int, Any, Any]:
    """Store every good record of the staged lines; classify the rest.

    Returns ``(stored, time_min, time_max)``. Malformed records go to
    ``ctx.reject`` and non-records to ``ctx.skip_non_record``.
    """
    con = ctx.con
    excluded = _reject_nan_lines(ctx)
    where = f"AND line_no NOT IN (SELECT line_no FROM {EXCLUDED_TABLE})" if excluded else ""
    sha = ctx.source.sha256
    row = first_row(
        con.execute(
            f"""
            INSERT INTO {spec.table} BY NAME
            WITH {_parsed_sql(spec, where, valid_only=True)}
            SELECT {spec.columns} FROM rec
            WHERE e IS NOT NULL AND ({spec.problem}) IS NULL AND ({spec.skip}) IS NULL
            """,
            [sha],
        )
    )
    stored = int(row[0]) if row else 0
    if stored != count_nonblank(con, where):
        _classify(ctx, spec, where)
        ctx.bad.sort(key=_line_order)  # NaN lines were found first
    stats = first_row(
        con.execute(f"SELECT {spec.stats} FROM {spec.table} WHERE source_sha256 = ?", [sha])
    )
    return stored, stats[1], stats[2]


def _classify(ctx: LoadContext, spec: RecordSpec, where: str) -> None:
    """The slow path: say why each non-blank line that was not stored was left out."""
    rows = ctx.con.execute(
        f"""
        WITH {_parsed_sql(spec, where, valid_only=False)},
        judged AS (
            SELECT line_no, locator, line,
                CASE WHEN json_valid(line) THEN json_type(line) END AS jtype,
                {spec.skip} AS skip_reason,
                {spec.problem} AS bad_reason,
                e IS NULL AS no_record
            FROM rec
        ),
        problems AS (
            SELECT *, row_number() OVER (ORDER BY line_no) AS n FROM judged
            WHERE jtype IS DISTINCT FROM 'OBJECT' OR skip_reason IS NOT NULL
               OR bad_reason IS NOT NULL OR no_record
        )
        SELECT locator, left(line, 200), jtype, starts_with(ltrim(line), '{{'),
            skip_reason, bad_reason, trim(line) = '',
            CASE WHEN jtype IS NULL AND n <= {_DIAGNOSED} AND length(line) <= {_DIAGNOSE_BYTES}
                 THEN line END
        FROM problems ORDER BY line_no
        """
    ).fetchall()
    for locator, excerpt, jtype, braced, skip_reason, bad_reason, blank, full in rows:
        if jtype != "OBJECT":
            if jtype is None and blank:
                continue
            if spec.banners and not braced:
                ctx.skip_non_record(locator, "not a JSON record (banner or log text)", excerpt)
            elif jtype is None:
                ctx.reject(locator, _json_error(full), excerpt)
            else:
                ctx.reject(locator, f"a JSON {jtype.lower()}, not an object", excerpt)
        elif skip_reason is not None:
            ctx.skip_non_record(locator, skip_reason, excerpt)
        else:
            ctx.reject(locator, bad_reason or "not a record of this format", excerpt)


def _json_error(line: str | None) -> str:
    """Python's description of why ``line`` is not JSON (column included), when known."""
    if line is None:
        return "invalid JSON"
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError):
        pass
    return "invalid JSON"


def _line_order(bad: BadRecord) -> int:
    match = _LOCATOR_LINE_RE.match(bad.locator)
    return int(match.group(1)) if match else 0


def _reject_nan_lines(ctx: LoadContext) -> bool:
    """Reject lines holding NaN/Infinity (or, among those, other strict-JSON faults).

    A cheap substring filter and a regex find candidates; Python's strict
    parser decides. Returns True when some lines were excluded.
    """
    con = ctx.con
    candidates = con.execute(
        f"""
        SELECT line_no, coalesce(loc, 'line:' || line_no), line FROM {LINES_TABLE}
        WHERE line IS NOT NULL AND ({_NAN_PREFILTER})
          AND regexp_matches(line, '{_NAN_PATTERN}') AND json_valid(line)
        ORDER BY line_no
        """
    ).fetchall()
    bad: list[int] = []
    for line_no, locator, line in candidates:
        try:
            loads_json(line, source=ctx.source.display)
        except InputError as exc:
            ctx.reject(locator, exc.message, line)
            bad.append(line_no)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {EXCLUDED_TABLE} (line_no BIGINT)")
    if bad:
        con.executemany(f"INSERT INTO {EXCLUDED_TABLE} VALUES (?)", [[n] for n in bad])
    return bool(bad)


def strict_int_sql(text: str, sql_type: str = "BIGINT") -> str:
    """SQL: the integer written in ``text`` (a VARCHAR), or NULL when ``text`` is not
    exactly an integer of ``sql_type``.

    ``try_cast('22.5' AS INTEGER)`` is 23 and a number too large for the type
    is NULL: neither may pass for a value of the file. The integer must read
    back as the very text it came from (no fraction, exponent, sign or leading
    zero), so nothing is rounded, wrapped or quietly dropped.
    """
    cast = f"try_cast({text} AS {sql_type})"
    return f"CASE WHEN CAST({cast} AS VARCHAR) = {text} THEN {cast} END"


def int_domain_sql(text: str, low: int | None, high: int | None, sql_type: str = "BIGINT") -> str:
    """SQL: true when ``text`` is NULL or an exact integer within ``[low, high]``."""
    value = strict_int_sql(text, sql_type)
    if low is not None and high is not None:
        test = f"{value} BETWEEN {low} AND {high}"
    elif low is not None or high is not None:
        test = f"{value} >= {low}" if low is not None else f"{value} <= {high}"
    else:
        test = f"{value} IS NOT NULL"
    return f"({text} IS NULL OR coalesce({test}, false))"


PORT_RANGE = (0, 65535)


def utc_time_sql(expr: str) -> str:
    """SQL turning an RFC 3339 string into a naive UTC TIMESTAMP (NULL when invalid).

    Offsets are honoured; a string without one is read as UTC (the ingest
    session runs with ``TimeZone = 'UTC'``). The common ``...Z`` form is cast
    straight to TIMESTAMP, which skips the time-zone library.
    """
    return (
        f"CASE WHEN ends_with({expr}, 'Z') THEN try_cast({expr} AS TIMESTAMP) "
        f"ELSE try_cast({expr} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END"
    )


def epoch_seconds_sql(expr: str) -> str:
    """SQL turning epoch seconds (integer or fraction, as text or number) into a TIMESTAMP.

    Values outside years 1..9999 give NULL instead of an error.
    """
    seconds = f"try_cast({expr} AS DOUBLE)"
    return (
        f"CASE WHEN {seconds} BETWEEN -62135596800 AND 253402300799 "
        f"THEN make_timestamp(CAST(round({seconds} * 1000000) AS BIGINT)) END"
    )


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP VIEW IF EXISTS {LINES_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Remove every staging view and table a loader may have left (called after each file)."""
    for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() "
        "WHERE temporary AND view_name LIKE '\\_auditkit\\_%' ESCAPE '\\'"
    ).fetchall():
        con.execute(f'DROP VIEW IF EXISTS "{name}"')
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE temporary AND table_name LIKE '\\_auditkit\\_%' ESCAPE '\\'"
    ).fetchall():
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
