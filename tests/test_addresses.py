"""Address text parsed and classified in SQL agrees with Python's ipaddress."""

from __future__ import annotations

import ipaddress

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditkit.evaluate.addresses import NamedRange, classify_sql, parse_sql, stage_ranges

EDGE_CASES = [
    "10.0.0.1", "0.0.0.0", "255.255.255.255", "[::1]", "::", "1::", "::1",
    "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
    "fe80::1%eth0", "2001:DB8::1", "1:2:3:4:5:6:1.2.3.4",
    "010.1.1.1", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1::2::3", ":::", "1:2:3:4:5:6:7:8::",
    "1:2:3:4:5:6:7:8:9", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "12345::", "::ffff:01.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4", "abc", "", " 1.2.3.4", "1.2.3.4 ", "-", "g::1",
]  # fmt: skip


def _python(text: str) -> tuple[int | None, int | None]:
    try:
        addr = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None, None
    return addr.version, int(addr)


def _sql(texts: list[str]) -> dict[str, tuple[int | None, int | None]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE s (ip VARCHAR)")
    con.executemany("INSERT INTO s VALUES (?)", [[t] for t in texts])
    rows = con.execute(parse_sql("SELECT DISTINCT ip FROM s")).fetchall()
    return {ip: (fam, int(v) if v is not None else None) for ip, fam, v in rows}


def test_edge_cases_parse_like_python() -> None:
    got = _sql(EDGE_CASES)
    assert {t: got[t] for t in EDGE_CASES} == {t: _python(t) for t in EDGE_CASES}


_addresses = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).flatmap(
        lambda a: st.sampled_from([str(a), a.exploded, a.compressed.upper(), f"[{a}]"])
    ),
    st.text(alphabet="0123456789abcdef:.[]", max_size=20),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_addresses, min_size=1, max_size=40))
def test_generated_text_parses_like_python(texts: list[str]) -> None:
    got = _sql(texts)
    assert {t: got[t] for t in texts} == {t: _python(t) for t in texts}


@pytest.mark.parametrize(
    ("ip", "zone", "cidr"),
    [
        ("10.20.1.7", "cde", "10.20.0.0/16"),  # CDE wins over the internal range around it
        ("10.20.9.1", "cde", "10.20.0.0/16"),  # ...and over a narrower connected range
        ("10.20.5.1", "cde", "10.20.5.0/24"),  # the narrowest range of the same rank names it
        ("10.99.1.1", "out of scope", "10.99.0.0/16"),
        ("10.8.3.3", "undeclared", "10.0.0.0/8"),
        ("192.0.2.1", "external", None),
        ("2001:db8:1::5", "cde", "2001:db8:1::/48"),
        ("::ffff:10.20.1.7", "external", None),  # an IPv6 address, as ipaddress sees it
        ("not-an-ip", "invalid", None),
    ],
)
def test_classification_takes_the_lowest_rank(ip: str, zone: str, cidr: str | None) -> None:
    con = duckdb.connect()
    stage_ranges(
        con,
        [
            NamedRange("cde", "10.20.0.0/16", 0, "scope.cidrs"),
            NamedRange("cde", "2001:db8:1::/48", 0, "scope.cidrs"),
            NamedRange("cde", "10.20.5.0/24", 0, "scope.cidrs"),
            NamedRange("connected", "10.20.9.0/24", 1, "scope.connected_cidrs"),
            NamedRange("out of scope", "10.99.0.0/16", 2, "params"),
            NamedRange("undeclared", "10.0.0.0/8", 3, "scope.internal_cidrs"),
        ],
    )
    con.execute("CREATE TABLE s AS SELECT ? AS ip", [ip])
    row = con.execute(f"SELECT zone, cidr FROM ({classify_sql('SELECT ip FROM s')})").fetchone()
    assert row == (zone, cidr)
