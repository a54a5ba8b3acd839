"""Zeek ``conn.log``: the ASCII TSV writer and the JSON writer.

A record is one connection: a data line of the TSV log, or one JSON object
(one per line, or a whole-file object or array). TSV columns are bound by the
``#fields`` line in force, so logs from different Zeek versions (``local_resp``
missing, ``ip_proto`` added) and concatenated or rotated logs that repeat the
header block mid-file (possibly with another layout) are all read correctly;
``#close`` may be missing. ``-`` is unset and ``(empty)`` an empty value (both
as the header's ``#unset_field``/``#empty_field`` say). JSON logs omit unset
fields and may write ``ts`` as epoch seconds or ISO 8601, even within one file.

Mapping: ``conn_state`` REJ is denied; S0, SH, SHR and OTH (no proper
handshake seen) are attempted; every other state is allowed. ``conn_state``
itself goes to ``verdict_raw``; ``history`` goes to ``conn_history`` (the
network checks read from it who opened the connection). Parsing is set-based
in DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from auditkit.errors import InputError
from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff
from auditkit.ingest.jsonlines import (
    LINES_TABLE,
    PORT_RANGE,
    RecordSpec,
    epoch_seconds_sql,
    int_domain_sql,
    load_json_records,
    prepare_json_records,
    strict_int_sql,
    utc_time_sql,
)
from auditkit.store import first_row

PARSER_VERSION = "2"

FIELDS = (
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "history",
    "orig_pkts",
    "resp_pkts",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "_path",
    "_node_name",
    "_system_name",
    "peer_descr",
)
_COUNTS = ("orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes")
_ATTEMPTED = ("S0", "SH", "SHR", "OTH")

Tok = Callable[[str], "str | None"]  # field name -> SQL for its raw text (None: no such column)


def _sum(tok: Tok, a: str, b: str) -> str | None:
    x, y = tok(a), tok(b)
    if x is None and y is None:
        return None
    xs = strict_int_sql(x) if x else "NULL"
    ys = strict_int_sql(y) if y else "NULL"
    return (
        f"CASE WHEN {xs} IS NULL AND {ys} IS NULL THEN NULL "
        f"ELSE coalesce({xs}, 0) + coalesce({ys}, 0) END"
    )


def _time(tok: Tok) -> str:
    ts = tok("ts") or "NULL"
    return f"coalesce({epoch_seconds_sql(ts)}, {utc_time_sql(ts)})"


def _columns(tok: Tok) -> str:
    """The INSERT's SELECT list, given how to read a raw field."""

    def col(name: str) -> str:
        return tok(name) or "NULL"

    start = _time(tok)
    duration = tok("duration")
    end = (
        f"coalesce({start} + to_microseconds(CAST(round(try_cast({duration} AS DOUBLE) "
        f"* 1000000) AS BIGINT)), {start})"
        if duration
        else start
    )
    state = col("conn_state")
    volume = _sum(tok, "orig_ip_bytes", "resp_ip_bytes") or _sum(tok, "orig_bytes", "resp_bytes")
    sensors = [s for s in (tok("_node_name"), tok("_system_name"), tok("peer_descr")) if s]
    return f"""
        ? AS source_sha256,
        locator,
        'zeek-conn' AS flow_format,
        {"coalesce(" + ", ".join(sensors) + ")" if sensors else "NULL"} AS sensor,
        {start} AS start_time,
        {end} AS end_time,
        {col("id.orig_h")} AS src_ip,
        {strict_int_sql(col("id.orig_p"), "INTEGER")} AS src_port,
        {col("id.resp_h")} AS dst_ip,
        {strict_int_sql(col("id.resp_p"), "INTEGER")} AS dst_port,
        lower({col("proto")}) AS protocol,
        {_sum(tok, "orig_pkts", "resp_pkts") or "NULL"} AS packets,
        {volume or "NULL"} AS bytes,
        CASE WHEN {state} IS NULL THEN NULL WHEN {state} = 'REJ' THEN 'denied'
             WHEN {state} IN {_ATTEMPTED} THEN 'attempted' ELSE 'allowed' END AS action,
        {state} AS verdict_raw,
        {col("service")} AS service,
        {col("uid")} AS flow_id,
        {col("history")} AS conn_history
    """


def _problem_checks(tok: Tok) -> list[str]:
    """``WHEN ... THEN 'reason'`` clauses shared by TSV and JSON."""
    ts = tok("ts") or "NULL"
    checks = [
        f"WHEN {ts} IS NULL THEN 'ts is unset'",
        f"WHEN {_time(tok)} IS NULL THEN 'ts is not a time: ' || {ts}",
    ]
    for name in ("id.orig_h", "id.resp_h"):
        checks.append(f"WHEN {tok(name) or 'NULL'} IS NULL THEN '{name} is unset'")
    for name in ("id.orig_p", "id.resp_p"):
        port = tok(name)
        if port:
            checks.append(
                f"WHEN NOT {int_domain_sql(port, *PORT_RANGE, 'INTEGER')} "
                f"THEN '{name} is not a port: ' || {port}"
            )
    for name in _COUNTS:
        sql = tok(name)
        if sql:
            checks.append(
                f"WHEN NOT {int_domain_sql(sql, 0, None)} THEN '{name} is not a count: ' || {sql}"
            )
    duration = tok("duration")
    if duration:
        checks.append(
            f"WHEN {duration} IS NOT NULL AND try_cast({duration} AS DOUBLE) IS NULL "
            f"THEN 'duration is not a number: ' || {duration}"
        )
    return checks


# -- JSON ------------------------------------------------------------------------


def _json_tok(name: str) -> str:
    return f"e['{name}']"


JSON_SPEC = RecordSpec(
    table="flows",
    structure={name: "VARCHAR" for name in FIELDS},
    columns=_columns(_json_tok),
    problem="CASE "
    + " ".join(
        [
            "WHEN e['_path'] IS NOT NULL AND NOT starts_with(e['_path'], 'conn') "
            "THEN 'not a conn record (_path ' || e['_path'] || ')'",
            *_problem_checks(_json_tok),
        ]
    )
    + " END",
    stats="count(*), min(start_time), max(end_time)",
)


# -- TSV -------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """One header block's reading instructions."""

    fields: tuple[str, ...]
    separator: str
    empty: str
    unset: str


def _unescape(value: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _blocks(ctx: LoadContext) -> list[tuple[int, Layout]]:
    """(line of the #fields header, layout) for every header block, in file order."""
    separator, empty, unset, path = "\t", "(empty)", "-", "conn"
    blocks: list[tuple[int, Layout]] = []
    rows = ctx.con.execute(
        f"SELECT line_no, line FROM {LINES_TABLE} WHERE starts_with(line, '#') ORDER BY line_no"
    ).fetchall()
    for line_no, line in rows:
        if line.startswith("#separator"):
            separator = _unescape(line[len("#separator") :].strip(" ")) or "\t"
            continue
        name, _, rest = line[1:].partition(separator)
        values = rest.split(separator) if rest else []
        if name == "empty_field" and values:
            empty = values[0]
        elif name == "unset_field" and values:
            unset = values[0]
        elif name == "path" and values:
            path = values[0]
        elif name == "fields":
            where = f"line:{line_no}"
            if not path.startswith("conn"):
                raise InputError(
                    f"a Zeek {path} log, not conn.log", path=ctx.source.display, location=where
                )
            missing = [f for f in ("ts", "id.orig_h", "id.resp_h") if f not in values]
            if missing:
                raise InputError(
                    f"#fields has no {missing[0]} column; not a Zeek conn.log",
                    path=ctx.source.display,
                    location=where,
                )
            blocks.append((line_no, Layout(tuple(values), separator, empty, unset)))
    if not blocks:
        raise InputError("Zeek log without a #fields header line", path=ctx.source.display)
    return blocks


def _tsv_tok(layout: Layout) -> Tok:
    def tok(name: str) -> str | None:
        if name not in layout.fields:
            return None
        i = layout.fields.index(name) + 1
        return f"nullif(nullif(f[{i}], {_sql_str(layout.unset)}), {_sql_str(layout.empty)})"

    return tok


def _load_tsv(ctx: LoadContext) -> LoadStats:
    con = ctx.con
    blocks = _blocks(ctx)
    sha = ctx.source.sha256
    data = "line IS NOT NULL AND NOT starts_with(line, '#')"
    # Data before the first header cannot be bound to any column.
    first = blocks[0][0]
    for line_no, excerpt in con.execute(
        f"SELECT line_no, left(line, 200) FROM {LINES_TABLE} "
        f"WHERE {data} AND trim(line) <> '' AND line_no < {first} ORDER BY line_no"
    ).fetchall():
        ctx.reject(f"line:{line_no}", "data line before the #fields header", excerpt)
    bounds = [start for start, _ in blocks] + [2**62]
    by_layout: dict[Layout, list[tuple[int, int]]] = {}
    for index, (start, layout) in enumerate(blocks):
        by_layout.setdefault(layout, []).append((start, bounds[index + 1]))
    stored = 0
    for layout, ranges in by_layout.items():
        where = (
            data
            + " AND ("
            + " OR ".join(f"line_no > {lo} AND line_no < {hi}" for lo, hi in ranges)
            + ")"
        )
        tok = _tsv_tok(layout)
        split = (
            f"SELECT line_no, 'line:' || line_no AS locator, line, "
            f"unnest([string_split(line, {_sql_str(layout.separator)})]) AS f "
            f"FROM {LINES_TABLE} WHERE {where}"
        )
        validity = (
            f"CASE WHEN len(f) <> {len(layout.fields)} "
            f"THEN 'expected {len(layout.fields)} fields, found ' || len(f) "
            + " ".join(_problem_checks(tok))
            + " END"
        )
        row = first_row(
            con.execute(
                f"INSERT INTO flows BY NAME SELECT {_columns(tok)} FROM ({split}) "
                f"WHERE {validity} IS NULL",
                [sha],
            )
        )
        inserted = int(row[0]) if row else 0
        stored += inserted
        expected = first_row(con.execute(f"SELECT count(*) FROM {LINES_TABLE} WHERE {where}"))
        if expected and inserted != int(expected[0]):
            for locator, reason, excerpt in con.execute(
                f"SELECT locator, why, left(line, 200) FROM "
                f"(SELECT locator, line_no, line, {validity} AS why FROM ({split})) "
                "WHERE why IS NOT NULL AND trim(line) <> '' ORDER BY line_no"
            ).fetchall():
                ctx.reject(locator, reason, excerpt)
    row = first_row(
        con.execute(
            "SELECT min(start_time), max(end_time) FROM flows WHERE source_sha256 = ?", [sha]
        )
    )
    return LoadStats(
        stored=stored, time_min=row[0] if row else None, time_max=row[1] if row else None
    )


# -- detection and loading -------------------------------------------------------


def is_conn_record(obj: object) -> bool:
    """A Zeek JSON conn record: ``ts``, ``uid``, ``id.orig_h`` and conn's ``conn_state``/_path."""
    return (
        isinstance(obj, dict)
        and "ts" in obj
        and "uid" in obj
        and "id.orig_h" in obj
        and (obj.get("_path", "conn") == "conn" and ("conn_state" in obj or "_path" in obj))
    )


def _tsv_header_is_conn(head: str) -> bool:
    """The header block's #path/#fields, split on the #separator the first line declares."""
    path, fields = None, []
    separator = "\t"
    for line in head.splitlines()[:50]:
        if line.startswith("#separator"):
            separator = _unescape(line[len("#separator") :].strip(" ")) or "\t"
        elif line.startswith("#path"):
            path = line[5:].strip().lstrip(separator).strip()
        elif line.startswith("#fields"):
            fields = [f.strip() for f in line[7:].split(separator) if f.strip()]
            break
    if not fields or "ts" not in fields or "id.orig_h" not in fields:
        return False
    return path.startswith("conn") if path else "conn_state" in fields


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "text":
        return sniff.first_line.startswith("#separator") and _tsv_header_is_conn(sniff.head)
    if sniff.shape == "json-lines":
        return is_conn_record(sniff.first_record)
    if sniff.shape == "json-document":
        doc = sniff.document
        if isinstance(doc, list):
            return bool(doc) and is_conn_record(doc[0])
        return is_conn_record(doc)
    return False


def _load(ctx: LoadContext) -> LoadStats:
    if ctx.sniff.shape == "text":
        return _load_tsv(ctx)
    stored, time_min, time_max = load_json_records(ctx, JSON_SPEC)
    return LoadStats(stored=stored, time_min=time_min, time_max=time_max)


FORMATS = [
    Format(
        name="zeek-conn",
        family="flows",
        description="Zeek conn.log, TSV (columns bound by #fields) or JSON",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("text", "json-lines", "json-document"),
        prepare=prepare_json_records,
    )
]
