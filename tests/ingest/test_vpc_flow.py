"""AWS VPC Flow Logs: FORMATS.md section 10 as inline files."""

from __future__ import annotations

import datetime as dt

import pytest

from auditkit.errors import InputError, MalformedRecordsError
from tests.ingest.conftest import Ingest

V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
)


def v2(
    src_port: str = "20641", action: str = "ACCEPT", start: str = "1780000000", **kw: str
) -> str:
    fields = {
        "version": "2",
        "account": "123456789010",
        "eni": "eni-1235b8ca123456789",
        "src": "10.0.1.5",
        "dst": "10.9.0.7",
        "sport": src_port,
        "dport": "5432",
        "proto": "6",
        "packets": "20",
        "bytes": "4249",
        "start": start,
        "end": "1780000060",
        "action": action,
        "status": "OK",
    }
    fields.update(kw)
    return " ".join(fields.values())


def test_v2_with_header(ingest: Ingest) -> None:
    loaded = ingest(V2 + "\n" + v2() + "\n" + v2(action="REJECT", proto="17") + "\n", name="v.log")
    assert (loaded.result.format, loaded.result.family) == ("aws-vpc-flow", "flows")
    first, second = loaded.table("flows")
    assert first["locator"] == "line:2"
    assert first["start_time"] == dt.datetime(2026, 5, 28, 20, 26, 40)
    assert first["end_time"] == dt.datetime(2026, 5, 28, 20, 27, 40)
    assert (first["src_ip"], first["src_port"], first["dst_ip"], first["dst_port"]) == (
        "10.0.1.5",
        20641,
        "10.9.0.7",
        5432,
    )
    assert (first["protocol"], first["packets"], first["bytes"]) == ("tcp", 20, 4249)
    assert (first["action"], first["verdict_raw"], first["log_status"]) == (
        "allowed",
        "ACCEPT",
        "OK",
    )
    assert (first["sensor"], first["interface_id"], first["account_id"]) == (
        "eni-1235b8ca123456789",
        "eni-1235b8ca123456789",
        "123456789010",
    )
    assert (second["action"], second["protocol"]) == ("denied", "udp")
    assert loaded.result.time_min == dt.datetime(2026, 5, 28, 20, 26, 40)


@pytest.mark.parametrize(
    ("number", "name"), [("6", "tcp"), ("17", "udp"), ("1", "icmp"), ("58", "icmpv6"), ("47", "47")]
)
def test_protocol_numbers(ingest: Ingest, number: str, name: str) -> None:
    loaded = ingest(v2(proto=number) + "\n", name="v.log")
    assert loaded.table("flows")[0]["protocol"] == name


def test_headerless_default_v2_nodata_skipdata_and_ipv6(ingest: Ingest) -> None:
    text = (
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n"
        "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n"
        + v2(src="2001:db8:1234:a100::1", dst="2001:db8:1234:a102::2")
    )  # no final newline
    rows = ingest(text, name="v.log").table("flows")
    assert [(r["log_status"], r["action"], r["src_ip"]) for r in rows] == [
        ("NODATA", None, None),
        ("SKIPDATA", None, None),
        ("OK", "allowed", "2001:db8:1234:a100::1"),
    ]


def test_presets_v3_to_v5(ingest: Ingest) -> None:
    v5 = (
        v2(version="5")
        + " vpc-09676f97 subnet-02d645 i-0a1ad77 19 IPv4 89.160.20.156 10.200.0.80"
        + " us-east-1 use1-az5 - - AMAZON CLOUDFRONT ingress 1"
    )
    row = ingest(v5 + "\n", name="v.log", vpc_fields="v5").table("flows")[0]
    assert (row["vpc_id"], row["subnet_id"], row["instance_id"], row["tcp_flags"]) == (
        "vpc-09676f97",
        "subnet-02d645",
        "i-0a1ad77",
        19,
    )
    assert (row["pkt_src_ip"], row["pkt_dst_ip"], row["direction"]) == (
        "89.160.20.156",
        "10.200.0.80",
        "ingress",
    )
    # Without --vpc-fields, a line that fits the all-fields v5 layout exactly is read as one,
    # and the ingest says so.
    inferred = ingest(v5.replace("use1-az5", "use1-az6") + "\n", name="v.log")
    assert inferred.table("flows")[0]["direction"] == "ingress"
    assert "all-fields v5 layout" in inferred.result.notes[0]
    # 29 fields but another version, or a token out of place: not guessed.
    with pytest.raises(InputError, match="match the all-fields v5 layout: --vpc-fields v5"):
        ingest(v5.replace(" vpc-09676f97", " 10.0.0.1") + " \n", name="w.log")
    with pytest.raises(InputError, match="is not the default v2 format"):
        ingest("4" + v5[1:] + "\n", name="x.log")


def test_explicit_log_format_in_any_order(ingest: Ingest) -> None:
    fmt = "${version} ${interface-id} ${account-id} ${srcaddr} ${dstaddr} ${action} ${log-status}"
    line = "3 eni-33333333333333333 123456789010 10.20.33.164 10.40.2.236 REJECT OK"
    row = ingest(line + "\n", name="v.log", vpc_fields=fmt).table("flows")[0]
    assert (row["interface_id"], row["account_id"], row["action"]) == (
        "eni-33333333333333333",
        "123456789010",
        "denied",
    )
    with pytest.raises(InputError, match="unknown VPC flow log field 'colour'"):
        ingest(line + " \n", name="w.log", vpc_fields="version colour")


def test_custom_header_in_any_order(ingest: Ingest) -> None:
    text = (
        "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr\n"
        "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5\n"
    )
    row = ingest(text, name="nat.log").table("flows")[0]
    assert (row["instance_id"], row["dst_ip"], row["pkt_dst_ip"]) == (
        None,
        "10.0.0.220",
        "203.0.113.5",
    )


def test_implausible_windows_are_stored_but_do_not_widen_the_time_range(ingest: Ingest) -> None:
    text = (
        V2
        + "\n"
        + v2(start="164000066")  # truncated upstream: 1975, decades before its end
        + "\n"
        + v2(start="99999999999999")  # beyond year 9999: no timestamp, no crash
        + "\n"
        + v2(start="1780000030")
        + "\n"
    )
    loaded = ingest(text, name="v.log")
    rows = loaded.table("flows")
    assert rows[0]["start_time"] == dt.datetime(1975, 3, 14, 3, 34, 26)
    assert rows[1]["start_time"] is None
    assert loaded.result.stored == 3
    assert loaded.result.time_min == dt.datetime(2026, 5, 28, 20, 27, 10)
    assert loaded.result.time_max == dt.datetime(2026, 5, 28, 20, 27, 40)


def test_malformed_lines_are_named(ingest: Ingest) -> None:
    text = "\n".join(
        [
            V2,
            v2(),
            v2(src_port="http"),
            v2(action="ALLOW"),
            v2() + " extra",
            v2(status="FINE"),
            v2(packets="-3"),
        ]
    )
    with pytest.raises(MalformedRecordsError) as err:
        ingest(text + "\n", name="v.log")
    assert err.value.bad == [
        ("line:3", "srcport is not a port number (0-65535): http"),
        ("line:4", "unknown action ALLOW"),
        ("line:5", "expected 14 fields, found 15"),
        ("line:6", "unknown log-status FINE"),
        ("line:7", "packets is not a number: -3"),
    ]


def test_blank_lines_crlf_and_a_repeated_header(ingest: Ingest) -> None:
    text = "\r\n" + V2 + "\r\n" + v2() + "\r\n\r\n" + V2 + "\r\n" + v2(src_port="1") + "\r\n"
    loaded = ingest(text, name="v.log")
    assert [r["locator"] for r in loaded.table("flows")] == ["line:3", "line:6"]


def test_skip_bad_records_stores_each_good_line_once(ingest: Ingest) -> None:
    text = "\n".join([V2, v2(), v2(bytes="lots"), v2(src_port="1"), v2(src_port="2")]) + "\n"
    loaded = ingest(text, name="v.log", skip_bad_records=True)
    assert (loaded.result.stored, loaded.result.skipped) == (3, 1)
    assert [r["locator"] for r in loaded.table("flows")] == ["line:2", "line:4", "line:5"]
    quarantined = loaded.rows(
        f"SELECT locator, reason FROM quarantine WHERE source_sha256 = '{loaded.result.sha256}'"
    )
    assert quarantined == [{"locator": "line:3", "reason": "bytes is not a number: lots"}]


def test_whitespace_lines_are_ignored_and_a_leading_space_counts_as_a_field(ingest: Ingest) -> None:
    header = "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"
    record = "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5"
    loaded = ingest(header + "\n" + record + "\n     \n" + record + "\n", name="nat.log")
    assert [r["locator"] for r in loaded.table("flows")] == ["line:2", "line:4"]
    with pytest.raises(MalformedRecordsError, match="line:3: expected 6 fields, found 7"):
        ingest(header + "\n" + record + "\n " + record + "\n", name="nat2.log")
