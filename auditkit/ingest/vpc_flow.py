"""AWS VPC Flow Logs (space-separated text), default v2 and custom formats.

With a header line (S3 delivery) the header names the fields, in any order.
Without one the layout is the flow log's ``LogFormat`` when the user supplies
it (``--vpc-fields``); otherwise the first line must fit one published layout
exactly: the default v2 format, or AWS's all-fields v3, v4 or v5 layout (field
count, version number, and the interface id, action and log status where that
layout puts them). Any other headerless layout is refused rather than guessed;
an all-fields layout read this way is reported in the ingest notes.
Parsing is set-based in DuckDB: each line is split and cast in one statement,
and the line number comes from insertion order.
"""

from __future__ import annotations

import re

from auditkit.errors import InputError
from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff
from auditkit.ingest.jsonlines import (
    LINES_TABLE,
    PORT_RANGE,
    int_domain_sql,
    prepare_lines,
)
from auditkit.store import first_row

PARSER_VERSION = "1"

DEFAULT_V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol "
    "packets bytes start end action log-status"
).split()

KNOWN_FIELDS = frozenset(
    DEFAULT_V2
    + """vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id
    sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction
    traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn
    ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name
    ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason resource-type tgw-id
    tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id
    tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id
    tgw-dst-az-id tgw-pair-attachment-id packets-lost-no-route packets-lost-blackhole
    packets-lost-mtu-exceeded packets-lost-ttl-expired""".split()
)

# "All fields through version N", in the order AWS documents them (and its console
# writes them when every field is selected). Usable as --vpc-fields v3|v4|v5.
_V3_EXTRA = "vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr".split()
_V4_EXTRA = "region az-id sublocation-type sublocation-id".split()
_V5_EXTRA = "pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path".split()
PRESETS = {
    "v2": DEFAULT_V2,
    "v3": DEFAULT_V2 + _V3_EXTRA,
    "v4": DEFAULT_V2 + _V3_EXTRA + _V4_EXTRA,
    "v5": DEFAULT_V2 + _V3_EXTRA + _V4_EXTRA + _V5_EXTRA,
}


def resolve_fields(spec: str) -> list[str]:
    """``--vpc-fields``: a preset name (v2..v5) or the LogFormat's field names."""
    text = spec.strip()
    if text in PRESETS:
        return list(PRESETS[text])
    fields = [f.strip().strip("${}") for f in text.replace(",", " ").split() if f.strip()]
    unknown = [f for f in fields if f not in KNOWN_FIELDS]
    if unknown:
        raise InputError(f"unknown VPC flow log field {unknown[0]!r} in --vpc-fields")
    return fields


_ACTIONS = {"ACCEPT", "REJECT", "-"}
_STATUSES = {"OK", "NODATA", "SKIPDATA"}
_ID_RE = re.compile(r"^(eni|vpc|subnet|i|tgw|tgw-attach)-[0-9a-zA-Z]+$")


def _tokens(sniff: Sniff) -> list[str]:
    return sniff.first_line.split()


def is_header(tokens: list[str]) -> bool:
    """A header line: every token is a known VPC flow log field name."""
    return (
        bool(tokens)
        and all(t in KNOWN_FIELDS for t in tokens)
        and ("srcaddr" in tokens or "interface-id" in tokens or "version" in tokens)
    )


def looks_like_record(tokens: list[str]) -> bool:
    """A headerless record: ends in a log status and carries VPC-shaped tokens."""
    if len(tokens) < 4 or not any(t in _STATUSES for t in tokens):
        return False
    return any(_ID_RE.match(t) for t in tokens) or any(t in ("ACCEPT", "REJECT") for t in tokens)


def _matches(sniff: Sniff) -> bool:
    if sniff.shape != "text":
        return False
    tokens = _tokens(sniff)
    return is_header(tokens) or looks_like_record(tokens)


_PROTOCOLS = (
    "CASE {v} WHEN '6' THEN 'tcp' WHEN '17' THEN 'udp' WHEN '1' THEN 'icmp' "
    "WHEN '58' THEN 'icmpv6' WHEN '132' THEN 'sctp' ELSE {v} END"
)
_INTEGER_FIELDS = ("srcport", "dstport", "tcp-flags")
_BIGINT_FIELDS = ("packets", "bytes", "start", "end")
# Every number is a whole number written as such (22.5 is not 23); ports are 0-65535.
_RANGES: dict[str, tuple[int, int | None]] = {"srcport": PORT_RANGE, "dstport": PORT_RANGE}
# A window longer than this (or negative) is implausible: the record is stored as
# written, but it does not widen the file's time range.
MAX_WINDOW_SECONDS = 3600
MAX_EPOCH_SECONDS = 253402300799  # 9999-12-31T23:59:59: later values are stored as NULL


BAD_NUMBER = -1  # marks a token that is not a number (valid ones are never negative)
BAD_TIME = "TIMESTAMP '0001-01-01'"  # likewise for start/end (valid ones are >= 1970)
BAD_FORMAT = "malformed"  # flow_format of a line with the wrong number of fields


def _field_sql(fields: list[str], *, mark_bad: bool = False) -> dict[str, str]:
    """Our column -> SQL expression over ``f`` (the list of tokens).

    With ``mark_bad`` a malformed value is stored as a marker (``BAD_NUMBER``,
    ``BAD_TIME``, ``BAD_FORMAT``, or the raw word in verdict_raw/log_status)
    instead of being filtered out first, so :func:`_marked_sql` can find it.
    """

    def tok(name: str) -> str | None:
        if name not in fields:
            return None
        return f"nullif(f[{fields.index(name) + 1}], '-')"

    def parsed(name: str) -> tuple[str, str] | None:
        """(token text, its number parsed once in the source projection; see _numbers_sql)."""
        t = tok(name)
        return (t, f"n{fields.index(name) + 1}") if t else None

    def num(name: str) -> str:
        both = parsed(name)
        if not both:
            return "NULL"
        t, n = both
        exact = f"CAST({n} AS VARCHAR) = {t}"  # 22.5 parses as 23: not the same text
        if mark_bad:
            low, high = _RANGES.get(name, (0, None))
            within = f"{n} BETWEEN {low} AND {high}" if high is not None else f"{n} >= {low}"
            return (
                f"CASE WHEN {t} IS NULL THEN NULL WHEN {exact} AND {within} THEN {n} "
                f"ELSE {BAD_NUMBER} END"
            )
        return f"CASE WHEN {exact} THEN {n} END"

    def ts(name: str) -> str:
        both = parsed(name)
        if not both:
            return "NULL"
        t, n = both
        bad = (
            f"WHEN {t} IS NOT NULL AND NOT coalesce(CAST({n} AS VARCHAR) = {t} AND {n} >= 0, "
            f"false) THEN {BAD_TIME} "
            if mark_bad
            else f"WHEN CAST({n} AS VARCHAR) <> {t} THEN NULL "
        )
        return f"CASE {bad}WHEN {n} <= {MAX_EPOCH_SECONDS} THEN make_timestamp({n} * 1000000) END"

    action = tok("action")
    proto = tok("protocol")
    return {
        "flow_format": (
            f"CASE WHEN len(f) = {len(fields)} AND f[1] <> '' THEN 'aws-vpc-flow' "
            f"ELSE '{BAD_FORMAT}' END"
            if mark_bad
            else "'aws-vpc-flow'"
        ),
        "sensor": tok("interface-id") or "NULL",
        "start_time": ts("start"),
        "end_time": ts("end"),
        "src_ip": tok("srcaddr") or "NULL",
        "src_port": num("srcport"),
        "dst_ip": tok("dstaddr") or "NULL",
        "dst_port": num("dstport"),
        "protocol": _PROTOCOLS.format(v=proto) if proto else "NULL",
        "packets": num("packets"),
        "bytes": num("bytes"),
        "action": (
            f"CASE {action} WHEN 'ACCEPT' THEN 'allowed' WHEN 'REJECT' THEN 'denied' END"
            if action
            else "NULL"
        ),
        "verdict_raw": action or "NULL",
        "log_status": tok("log-status") or "NULL",
        "direction": tok("flow-direction") or "NULL",
        "account_id": tok("account-id") or "NULL",
        "interface_id": tok("interface-id") or "NULL",
        "vpc_id": tok("vpc-id") or "NULL",
        "subnet_id": tok("subnet-id") or "NULL",
        "instance_id": tok("instance-id") or "NULL",
        "pkt_src_ip": tok("pkt-srcaddr") or "NULL",
        "pkt_dst_ip": tok("pkt-dstaddr") or "NULL",
        "tcp_flags": num("tcp-flags"),
    }


_NUMBER_COLUMNS = {
    "srcport": "src_port",
    "dstport": "dst_port",
    "packets": "packets",
    "bytes": "bytes",
    "tcp-flags": "tcp_flags",
}


def _marked_sql(fields: list[str]) -> str:
    """SQL over stored ``flows`` rows: true for a row that carries a malformed marker."""
    marks = [f"flow_format = '{BAD_FORMAT}'"]
    marks += [f"{col} < 0" for name, col in _NUMBER_COLUMNS.items() if name in fields]
    marks += [
        f"{col} < TIMESTAMP '1970-01-01'"
        for name, col in (("start", "start_time"), ("end", "end_time"))
        if name in fields
    ]
    if "action" in fields:
        marks.append("verdict_raw NOT IN ('ACCEPT', 'REJECT')")
    if "log-status" in fields:
        marks.append("coalesce(log_status NOT IN ('OK', 'NODATA', 'SKIPDATA'), true)")
    return " OR ".join(marks)


def _checks(fields: list[str]) -> list[tuple[str, str]]:
    """(condition a well-formed split line ``f`` meets, reason when it does not), in order."""
    n = len(fields)
    checks = [
        (f"len(f) = {n}", f"'expected {n} fields, found ' || len(f)"),
        ("f[1] <> ''", "'the line starts with a space'"),
    ]
    for i, name in enumerate(fields, start=1):
        if name in _INTEGER_FIELDS or name in _BIGINT_FIELDS:
            sql_type = "INTEGER" if name in _INTEGER_FIELDS else "BIGINT"
            low, high = _RANGES.get(name, (0, None))
            what = "a port number (0-65535)" if name in _RANGES else "a number"
            checks.append(
                (
                    f"(f[{i}] = '-' OR {int_domain_sql(f'f[{i}]', low, high, sql_type)})",
                    f"'{name} is not {what}: ' || f[{i}]",
                )
            )
        elif name == "action":
            checks.append((f"f[{i}] IN ('ACCEPT', 'REJECT', '-')", f"'unknown action ' || f[{i}]"))
        elif name == "log-status":
            checks.append(
                (f"f[{i}] IN ('OK', 'NODATA', 'SKIPDATA')", f"'unknown log-status ' || f[{i}]")
            )
    return checks


def _valid_sql(fields: list[str]) -> str:
    """The fast path's filter: every check holds (NULL counts as failing)."""
    return " AND ".join(cond for cond, _ in _checks(fields))


def _validity_sql(fields: list[str]) -> str:
    """A SQL CASE giving the reason a split line is malformed (NULL when fine)."""
    whens = " ".join(
        f"WHEN NOT coalesce({cond}, false) THEN {reason}" for cond, reason in _checks(fields)
    )
    return f"CASE {whens} END"


def _inferred_layout(tokens: list[str]) -> str | None:
    """The all-fields preset (v3..v5) a headerless first line fits exactly, or None.

    The count must match, the version must be the layout's own, and the tokens
    that have a fixed shape must sit where the layout puts them.
    """
    for name in ("v3", "v4", "v5"):
        layout = PRESETS[name]
        if len(tokens) != len(layout) or tokens[0] != name[1:]:
            continue
        at = dict(zip(layout, tokens, strict=True))
        shaped = (
            at["interface-id"].startswith("eni-")
            and at["action"] in _ACTIONS
            and at["log-status"] in _STATUSES
            and (at["vpc-id"] == "-" or at["vpc-id"].startswith("vpc-"))
            and (at["subnet-id"] == "-" or at["subnet-id"].startswith("subnet-"))
            and (at["type"] in ("-", "IPv4", "IPv6", "EFA"))
        )
        if shaped and (name == "v3" or at["region"] == "-" or "-" in at["region"]):
            return name
    return None


def _layout(
    ctx: LoadContext, fields: list[str] | None
) -> tuple[list[str], int, str | None, str | None]:
    """(field names, line number of the header or 0, header text or None, a note or None)."""
    tokens = _tokens(ctx.sniff)
    if is_header(tokens):
        row = first_row(
            ctx.con.execute(
                f"SELECT min(line_no) FROM {LINES_TABLE} "
                "WHERE line IS NOT NULL AND trim(line) <> '' AND line_no <= 10000"
            )
        )
        return tokens, int(row[0]) if row and row[0] else 1, ctx.sniff.first_line.strip(), None
    if fields:
        return fields, 0, None, None
    if len(tokens) == len(DEFAULT_V2) and tokens[0] == "2":
        return DEFAULT_V2, 0, None, None
    inferred = _inferred_layout(tokens)
    if inferred is not None:
        note = (
            f"headerless flow log read as AWS's all-fields {inferred} layout: its "
            f"{len(tokens)} fields, version {tokens[0]}, interface id, action and log status "
            f"fit it exactly; pass --vpc-fields if the flow log's LogFormat differs"
        )
        return PRESETS[inferred], 0, None, note
    hint = next(
        (
            f" (its {len(tokens)} fields match the all-fields {name} layout: --vpc-fields {name})"
            for name, layout in PRESETS.items()
            if len(layout) == len(tokens) and tokens[0] == name[1:]
        ),
        "",
    )
    raise InputError(
        f"headerless VPC flow log with {len(tokens)} fields is not the default v2 format; "
        f"pass the flow log's LogFormat with --vpc-fields 'version interface-id ...'{hint}",
        path=ctx.source.display,
        location="line:1",
    )


def _split(data: str) -> str:
    """The data lines with their tokens ``f``; ``unnest([...])`` stops the optimizer
    from pushing a filter on ``f`` below it (and splitting once per reference)."""
    return (
        f"SELECT line_no, line, unnest([string_split(line, ' ')]) AS f "
        f"FROM {LINES_TABLE} WHERE {data}"
    )


def _numbers_sql(fields: list[str]) -> str:
    """Each numeric token parsed once (``n<position>``): the field expressions test and
    use it several times, and DuckDB does not share a repeated cast inside a CASE."""
    parts = [
        f"try_cast(nullif(f[{i}], '-') AS {'INTEGER' if name in _INTEGER_FIELDS else 'BIGINT'}) "
        f"AS n{i}"
        for i, name in enumerate(fields, start=1)
        if name in _INTEGER_FIELDS or name in _BIGINT_FIELDS
    ]
    return ", ".join(["f", *parts])


def _insert(
    ctx: LoadContext, layout: list[str], data: str, params: list[str], *, careful: bool
) -> int:
    """INSERT the data lines into ``flows``; careful: only those passing every check."""
    select = ",\n".join(
        f"{expr} AS {col}" for col, expr in _field_sql(layout, mark_bad=not careful).items()
    )
    split = (
        f"({_split(data)}) WHERE {_valid_sql(layout)}"
        if careful
        else f"(SELECT line_no, string_split(line, ' ') AS f FROM {LINES_TABLE} WHERE {data})"
    )
    source = f"(SELECT line_no, {_numbers_sql(layout)} FROM {split})"
    row = first_row(
        ctx.con.execute(
            f"""
            INSERT INTO flows BY NAME
            SELECT ? AS source_sha256, 'line:' || line_no AS locator, {select}
            FROM {source}
            """,
            [ctx.source.sha256, *params],
        )
    )
    return int(row[0]) if row else 0


def load_with_fields(ctx: LoadContext, fields: list[str] | None) -> LoadStats:
    """Load the file; ``fields`` overrides the layout of a headerless file.

    The first INSERT stores every line, with markers in place of malformed
    values (no per-line filter, which cost as much as the rest of the load);
    a columnar scan for markers follows. Only when it finds one is the file's
    insert undone and repeated with every check as a filter, and each
    malformed line named. A header line repeated later (concatenated S3 objects)
    is skipped like the first.
    """
    layout, header_line, header, note = _layout(ctx, fields)
    unknown = [f for f in layout if f not in KNOWN_FIELDS]
    if unknown:
        raise InputError(f"unknown VPC flow log field {unknown[0]!r}", path=ctx.source.display)
    con = ctx.con
    data = f"line IS NOT NULL AND line_no > {header_line}"
    params: list[str] = []
    if header is not None:
        data += " AND line <> ?"
        params.append(header)
    sha = ctx.source.sha256
    expected = first_row(con.execute(f"SELECT count(*) FROM {LINES_TABLE} WHERE {data}", params))
    # Optimistic pass: store every data line, marking malformed values, with no filter;
    # then one cheap columnar look for markers. This is the common, clean case.
    stored = _insert(ctx, layout, data, params, careful=False)
    marked = first_row(
        con.execute(
            f"SELECT count(*) FROM flows WHERE source_sha256 = ? AND ({_marked_sql(layout)})",
            [sha],
        )
    )
    if marked and marked[0]:
        # Careful pass: undo, store only well-formed lines, name what is wrong with the rest.
        con.execute("DELETE FROM flows WHERE source_sha256 = ?", [sha])
        stored = _insert(ctx, layout, data, params, careful=True)
        if expected and stored != int(expected[0]):
            for line_no, reason, excerpt in con.execute(
                f"""
                SELECT line_no, why, left(line, 200) FROM (
                    SELECT line_no, line, {_validity_sql(layout)} AS why FROM ({_split(data)})
                )
                WHERE why IS NOT NULL AND trim(line) <> '' ORDER BY line_no
                """,
                params,
            ).fetchall():
                ctx.reject(f"line:{line_no}", reason, excerpt)
    sane = (
        "start_time IS NOT NULL AND end_time IS NOT NULL AND end_time >= start_time "
        f"AND end_time - start_time <= INTERVAL {MAX_WINDOW_SECONDS} SECOND"
    )
    row = first_row(
        con.execute(
            f"SELECT min(start_time) FILTER (WHERE {sane}), max(end_time) FILTER (WHERE {sane}) "
            "FROM flows WHERE source_sha256 = ?",
            [sha],
        )
    )
    stats = LoadStats(stored=stored, notes=[note] if note else [])
    if row:
        stats.time_min, stats.time_max = row[0], row[1]
    return stats


def _load(ctx: LoadContext) -> LoadStats:
    spec = ctx.options.get("vpc_fields")
    return load_with_fields(ctx, resolve_fields(spec) if spec else None)


FORMATS = [
    Format(
        name="aws-vpc-flow",
        family="flows",
        description="AWS VPC Flow Logs: default v2 (no header) or any field order with a header",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("text",),
        prepare=prepare_lines,
    )
]
