"""Zeek conn.log, TSV and JSON: FORMATS.md section 12 as inline files."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from auditkit.errors import InputError, MalformedRecordsError, UnsupportedFormatError
from tests.ingest.conftest import Ingest

OLD_FIELDS = (
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
    "resp_bytes conn_state local_orig missed_bytes history orig_pkts orig_ip_bytes resp_pkts "
    "resp_ip_bytes tunnel_parents"
).split()
NEW_FIELDS = [*OLD_FIELDS[:13], "local_resp", *OLD_FIELDS[13:], "ip_proto"]


def header(fields: list[str], path: str = "conn", opened: str = "2026-04-01-23-15-49") -> str:
    return (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        f"#path\t{path}\n#open\t{opened}\n#fields\t"
        + "\t".join(fields)
        + "\n#types\t"
        + "\t".join("string" for _ in fields)
        + "\n"
    )


def row(fields: list[str], **values: str) -> str:
    base = {
        "ts": "1780000000.500000",
        "uid": "CjhGID4nQcgTWjvg4c",
        "id.orig_h": "10.0.1.5",
        "id.orig_p": "37604",
        "id.resp_h": "10.9.0.7",
        "id.resp_p": "5432",
        "proto": "tcp",
        "service": "-",
        "duration": "2.25",
        "orig_bytes": "100",
        "resp_bytes": "200",
        "conn_state": "SF",
        "local_orig": "T",
        "local_resp": "T",
        "missed_bytes": "0",
        "history": "ShADadFf",
        "orig_pkts": "4",
        "orig_ip_bytes": "316",
        "resp_pkts": "3",
        "resp_ip_bytes": "356",
        "tunnel_parents": "(empty)",
        "ip_proto": "6",
    }
    base.update(values)
    return "\t".join(base[f] for f in fields) + "\n"


def test_tsv_columns_bound_by_the_fields_line(ingest: Ingest) -> None:
    text = header(OLD_FIELDS) + row(OLD_FIELDS) + "#close\t2026-04-01-23-15-50\n"
    loaded = ingest(text, name="conn.log")
    assert (loaded.result.format, loaded.result.stored) == ("zeek-conn", 1)
    flow = loaded.table("flows")[0]
    assert flow["locator"] == "line:9"
    assert flow["flow_format"] == "zeek-conn"
    assert flow["start_time"] == dt.datetime(2026, 5, 28, 20, 26, 40, 500000)
    assert flow["end_time"] == dt.datetime(2026, 5, 28, 20, 26, 42, 750000)
    assert (flow["src_ip"], flow["src_port"], flow["dst_ip"], flow["dst_port"]) == (
        "10.0.1.5",
        37604,
        "10.9.0.7",
        5432,
    )
    assert (flow["protocol"], flow["packets"], flow["bytes"]) == ("tcp", 7, 672)
    assert (flow["action"], flow["verdict_raw"], flow["service"]) == ("allowed", "SF", None)
    assert flow["flow_id"] == "CjhGID4nQcgTWjvg4c"


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("REJ", "denied"),
        ("S0", "attempted"),
        ("SH", "attempted"),
        ("SHR", "attempted"),
        ("OTH", "attempted"),
        ("SF", "allowed"),
        ("S1", "allowed"),
        ("RSTO", "allowed"),
        ("RSTR", "allowed"),
    ],
)
def test_conn_state_to_action(ingest: Ingest, state: str, action: str) -> None:
    loaded = ingest(header(OLD_FIELDS) + row(OLD_FIELDS, conn_state=state), name="conn.log")
    assert loaded.table("flows")[0]["action"] == action


def test_repeated_header_blocks_with_another_layout_and_no_close(ingest: Ingest) -> None:
    text = (
        header(OLD_FIELDS)
        + row(OLD_FIELDS, uid="A1")
        + "#close\t2026-04-01-23-59-59\n"
        + header(NEW_FIELDS, opened="2026-04-02-00-00-00")  # rotated: newer Zeek, more columns
        + row(NEW_FIELDS, uid="B1", service="ssl", local_resp="F")
        + row(NEW_FIELDS, uid="B2", conn_state="REJ")
    )  # no #close: the log was cut before rotation
    loaded = ingest(text, name="conn.log")
    flows = loaded.table("flows", order="flow_id")
    assert [(f["flow_id"], f["locator"]) for f in flows] == [
        ("A1", "line:9"),
        ("B1", "line:19"),
        ("B2", "line:20"),
    ]
    assert flows[1]["service"] == "ssl"
    assert flows[2]["action"] == "denied"


def test_unset_and_empty_values(ingest: Ingest) -> None:
    text = header(OLD_FIELDS) + row(
        OLD_FIELDS, duration="-", orig_bytes="-", resp_bytes="-", service="(empty)", uid="C9"
    )
    flow = ingest(text, name="conn.log").table("flows")[0]
    assert flow["service"] is None
    assert flow["end_time"] == flow["start_time"]
    assert flow["bytes"] == 672  # the IP byte counts are set


def test_malformed_data_lines_name_their_line(ingest: Ingest) -> None:
    text = (
        header(OLD_FIELDS)
        + row(OLD_FIELDS)
        + row(OLD_FIELDS, ts="yesterday")
        + "\t".join(["1780000000.1", "C1", "10.0.0.1"])
        + "\n"
        + row(OLD_FIELDS, **{"id.resp_p": "99999"})
    )
    with pytest.raises(MalformedRecordsError) as err:
        ingest(text, name="conn.log")
    assert err.value.bad == [
        ("line:10", "ts is not a time: yesterday"),
        ("line:11", "expected 20 fields, found 3"),
        ("line:12", "id.resp_p is not a port: 99999"),
    ]


def test_data_before_the_header_is_malformed(ingest: Ingest) -> None:
    text = header(OLD_FIELDS).replace("#fields", row(OLD_FIELDS).rstrip("\n") + "\n#fields", 1)
    with pytest.raises(MalformedRecordsError, match="line:7: data line before the #fields header"):
        ingest(text + row(OLD_FIELDS), name="conn.log")


def test_other_zeek_logs_are_not_conn(ingest: Ingest) -> None:
    dns = header(["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "query"], path="dns")
    with pytest.raises(UnsupportedFormatError):
        ingest(dns + "1.0\tC1\t10.0.0.1\t53\t10.0.0.2\texample.com\n", name="dns.log")


def test_a_later_block_of_another_log_is_refused(ingest: Ingest) -> None:
    dns = header(["ts", "uid", "id.orig_h", "id.resp_h", "query"], path="dns")
    with pytest.raises(InputError, match="line:16: a Zeek dns log, not conn.log"):
        ingest(header(OLD_FIELDS) + row(OLD_FIELDS) + dns, name="conn.log")


def json_record(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ts": 1780000000.5,
        "uid": "CAcJw21BbVedgFnYH3",
        "id.orig_h": "192.168.86.167",
        "id.orig_p": 38339,
        "id.resp_h": "192.168.86.1",
        "id.resp_p": 53,
        "proto": "udp",
        "service": "dns",
        "duration": 0.076967,
        "orig_bytes": 75,
        "resp_bytes": 178,
        "conn_state": "SF",
        "orig_pkts": 1,
        "orig_ip_bytes": 103,
        "resp_pkts": 1,
        "resp_ip_bytes": 206,
        "tunnel_parents": [],
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


def test_json_epoch_and_iso_ts_in_one_file_and_omitted_fields(ingest: Ingest) -> None:
    records = [
        json_record(),
        json_record(ts="2026-05-28T20:26:41.250000Z", uid="C2", service=..., duration=...),
        json_record(uid="C3", proto="icmp", conn_state="OTH", **{"id.orig_p": 8, "id.resp_p": 0}),
    ]
    loaded = ingest("\n".join(json.dumps(r) for r in records) + "\n", name="conn.json")
    assert loaded.result.format == "zeek-conn"
    first, second, third = loaded.table("flows")
    assert first["start_time"] == dt.datetime(2026, 5, 28, 20, 26, 40, 500000)
    assert first["end_time"] == dt.datetime(2026, 5, 28, 20, 26, 40, 576967)
    assert (first["service"], first["packets"], first["bytes"]) == ("dns", 2, 309)
    assert (
        second["start_time"] == second["end_time"] == dt.datetime(2026, 5, 28, 20, 26, 41, 250000)
    )
    assert second["service"] is None
    assert (third["protocol"], third["action"], third["src_port"]) == ("icmp", "attempted", 8)


def test_json_record_of_another_path_is_malformed(ingest: Ingest) -> None:
    other = {"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1", "_path": "dns", "query": "x"}
    text = json.dumps(json_record(_path="conn")) + "\n" + json.dumps(other) + "\n"
    with pytest.raises(MalformedRecordsError, match=r"line:2: not a conn record \(_path dns\)"):
        ingest(text, name="conn.json")


@pytest.mark.parametrize("declared", ["\\x2c", ","])
def test_separator_header_other_than_tab(ingest: Ingest, declared: str) -> None:
    """Zeek's ASCII writer honours LogAscii::separator and says so in #separator (escaped)."""
    text = (
        f"#separator {declared}\n#set_separator,;\n#empty_field,(empty)\n#unset_field,-\n"
        "#path,conn\n#open,2026-04-01-23-15-49\n#fields," + ",".join(NEW_FIELDS) + "\n"
        "#types,"
        + ",".join("string" for _ in NEW_FIELDS)
        + "\n"
        + row(NEW_FIELDS).replace("\t", ",")
        + row(NEW_FIELDS, uid="C2", conn_state="REJ").replace("\t", ",")
        + "#close,2026-04-02-00-00-00\n"
    )
    loaded = ingest(text, name="conn.csv.log")
    assert loaded.result.format == "zeek-conn"
    rows = loaded.table("flows", order="length(locator), locator")
    assert [(r["locator"], r["flow_id"], r["action"], r["dst_port"]) for r in rows] == [
        ("line:9", "CjhGID4nQcgTWjvg4c", "allowed", 5432),
        ("line:10", "C2", "denied", 5432),
    ]
