"""IP addresses classified against CIDR ranges in SQL, for any number of addresses.

Address text is parsed by DuckDB into (family, 128-bit number) with the rules
of Python's ``ipaddress.ip_address`` (after stripping surrounding brackets and
an IPv6 zone such as ``%eth0``): dotted IPv4 without leading zeros; IPv6 with
at most one ``::`` and an optional dotted IPv4 tail. Anything else is
``invalid``. Ranges are turned into (family, first, last) numbers in Python
(there are few) and joined to the addresses with a range join, so a million
distinct addresses never pass through a Python loop.
tests/test_addresses.py compares the parser with ``ipaddress`` on generated text.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

RANGES_TABLE = "_auditkit_ranges"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"


@dataclass(frozen=True)
class NamedRange:
    """A CIDR with the zone it puts addresses in; lower rank wins when ranges overlap."""

    zone: str
    cidr: str
    rank: int
    declared_by: str


def stage_ranges(con: duckdb.DuckDBPyConnection, ranges: Sequence[NamedRange]) -> None:
    """Create the TEMP table of ranges the classification joins against (bad CIDRs: ValueError)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {RANGES_TABLE} (zone VARCHAR, cidr VARCHAR, rank INTEGER, "
        "declared_by VARCHAR, family INTEGER, prefix INTEGER, lo UHUGEINT, hi UHUGEINT)"
    )
    for r in ranges:
        net = ipaddress.ip_network(r.cidr, strict=False)
        con.execute(
            f"INSERT INTO {RANGES_TABLE} VALUES (?, ?, ?, ?, ?, ?, "
            "CAST(? AS UHUGEINT), CAST(? AS UHUGEINT))",
            [
                r.zone,
                str(net),
                r.rank,
                r.declared_by,
                net.version,
                net.prefixlen,
                str(int(net.network_address)),
                str(int(net.broadcast_address)),
            ],
        )


def parse_sql(source: str) -> str:
    """A query over ``source`` (a query with a VARCHAR column ``ip``) adding ``family``
    (4, 6, or NULL when the text is no address) and ``value`` (the address as UHUGEINT)."""
    return rf"""
    WITH a AS (
        SELECT ip, lower(regexp_replace(trim(ip, '[]'), '%[^%]*$', '')) AS t FROM ({source})
    ),
    v4 AS (
        SELECT a.*, regexp_full_match(t, '{_IPV4}') AS is4,
            regexp_extract(t, '[^:]*$') AS tail,
            list_transform(string_split(regexp_extract(t, '[^:]*$'), '.'),
                           lambda x: TRY_CAST(x AS UHUGEINT)) AS o
        FROM a
    ),
    v6 AS (
        SELECT v4.*,
            -- an IPv6 address may end in a dotted IPv4 part: rewrite it as two hex groups
            CASE WHEN NOT is4 AND contains(t, '.') AND regexp_full_match(tail, '{_IPV4}')
                 THEN regexp_replace(t, '[^:]*$', '')
                      || printf('%x:%x', o[1] * 256 + o[2], o[3] * 256 + o[4])
                 ELSE t END AS t6
        FROM v4
    ),
    s AS (
        SELECT v6.*,
            NOT is4 AND regexp_full_match(t6, '[0-9a-f:]+') AND NOT contains(t6, ':::')
                AND length(t6) - length(replace(t6, '::', '')) <= 2 AS maybe6,
            contains(t6, '::') AS compressed,
            CASE WHEN split_part(t6, '::', 1) = '' THEN []::VARCHAR[]
                 ELSE string_split(split_part(t6, '::', 1), ':') END AS head,
            CASE WHEN split_part(t6, '::', 2) = '' THEN []::VARCHAR[]
                 ELSE string_split(split_part(t6, '::', 2), ':') END AS rest
        FROM v6
    ),
    g AS (
        SELECT s.*,
            CASE WHEN NOT maybe6 THEN NULL
                 WHEN compressed THEN list_concat(
                     head,
                     list_transform(range(greatest(0, 8 - len(head) - len(rest))), lambda x: '0'),
                     rest)
                 ELSE string_split(t6, ':') END AS groups
        FROM s
    ),
    ok AS (
        SELECT g.*,
            groups IS NOT NULL AND len(groups) = 8
            AND (NOT compressed OR len(head) + len(rest) <= 7)
            AND list_bool_and(list_transform(groups,
                                             lambda x: regexp_full_match(x, '[0-9a-f]{{1,4}}')))
                AS is6
        FROM g
    )
    SELECT ip,
        CASE WHEN is4 THEN 4 WHEN is6 THEN 6 END AS family,
        CASE WHEN is4 THEN o[1] * 16777216 + o[2] * 65536 + o[3] * 256 + o[4]
             WHEN is6 THEN list_reduce(
                 list_transform(groups, lambda x, i:
                     CAST(TRY_CAST('0x' || x AS INTEGER) AS UHUGEINT)
                     << CAST(16 * (8 - i) AS UHUGEINT)),
                 lambda p, q: p | q)
        END AS value
    FROM ok
    """


def classify_sql(source: str) -> str:
    """A query over ``source`` (column ``ip``) giving each address's zone from the staged ranges.

    Columns: ip, family, value, zone (the lowest-rank matching range's zone; ``external``
    when none matches; ``invalid`` for text that is no address), cidr and declared_by of
    that range (NULL when none).
    """
    return f"""
    WITH p AS ({parse_sql(source)}),
    hits AS (
        SELECT p.ip, arg_min(struct_pack(zone := r.zone, cidr := r.cidr,
                                         declared_by := r.declared_by),
                             (r.rank, -r.prefix)) AS best
        FROM p JOIN {RANGES_TABLE} r
          ON r.family = p.family AND p.value BETWEEN r.lo AND r.hi
        GROUP BY p.ip
    )
    SELECT p.ip, p.family, p.value,
        CASE WHEN p.family IS NULL THEN 'invalid' ELSE coalesce(h.best.zone, 'external') END
            AS zone,
        h.best.cidr AS cidr, h.best.declared_by AS declared_by
    FROM p LEFT JOIN hits h USING (ip)
    """
