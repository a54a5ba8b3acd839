"""Every value is checked against its field's domain over the whole file, not only the head.

A port outside 0-65535, a count with a fraction, a number too large for its
column, a NUL byte anywhere: each rejects the file naming the line (exit 2), and
nothing is stored. UTF-16 input is named as such.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.conftest import Ingest, Snapshot, assert_rejected
from tests.adversarial.samples import (
    VPC_HEADER,
    aks_record,
    audit_record,
    eks_s3_line,
    falco_record,
    gke_record,
    hubble_record,
    vpc_line,
    zeek_record,
)
from tests.ingest.test_policy_cloud import asff, ocsf, report

ZEEK_TSV_FIELDS = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto conn_state".split()


def _zeek_tsv(port: str) -> str:
    head = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tconn\n#open\t2026-04-01-23-15-49\n#fields\t" + "\t".join(ZEEK_TSV_FIELDS) + "\n"
        "#types\t" + "\t".join("string" for _ in ZEEK_TSV_FIELDS) + "\n"
    )
    rows = [
        ["1780000000.5", f"C{i}", "10.0.1.5", "37604", "10.9.0.7", p, "tcp", "SF"]
        for i, p in enumerate(["5432", port, "443"])
    ]
    return head + "".join("\t".join(r) + "\n" for r in rows)


def _json_lines(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _raw_json_lines(records: list[dict[str, object]], bad_index: int, raw: str) -> str:
    """JSON lines where one record's marker value is replaced by ``raw`` verbatim."""
    lines = [json.dumps(r) for r in records]
    lines[bad_index] = lines[bad_index].replace('"__RAW__"', raw)
    return "\n".join(lines) + "\n"


CASES = {
    # name: (file name, content, location, reason)
    "vpc-port-70000": (
        "vpc.log",
        VPC_HEADER + "\n" + vpc_line(1) + "\n" + vpc_line(2, dport=70000) + "\n",
        "line:3",
        "dstport",
    ),
    "vpc-port-fraction": (
        "vpc.log",
        VPC_HEADER + "\n" + vpc_line(1, sport="22.5") + "\n" + vpc_line(2) + "\n",
        "line:2",
        "srcport",
    ),
    "vpc-bytes-fraction": (
        "vpc.log",
        VPC_HEADER + "\n" + vpc_line(1) + "\n" + vpc_line(2).replace(" 3 180 ", " 3 180.5 ") + "\n",
        "line:3",
        "bytes",
    ),
    "zeek-tsv-port-fraction": ("conn.log", _zeek_tsv("22.5"), "line:10", "id.resp_p"),
    "zeek-tsv-port-70000": ("conn.log", _zeek_tsv("70000"), "line:10", "id.resp_p"),
    "zeek-json-port-fraction": (
        "conn.json",
        _raw_json_lines([zeek_record(0), zeek_record(1, port="__RAW__")], 1, "22.5"),
        "line:2",
        "id.resp_p",
    ),
    "hubble-port-1e400": (
        "hubble.json",
        _raw_json_lines([hubble_record(0), hubble_record(1, port="__RAW__")], 1, "1e400"),
        "line:2#/flow",
        "port",
    ),
    "hubble-port-huge-integer": (
        "hubble.json",
        _raw_json_lines(
            [hubble_record(0), hubble_record(1, port="__RAW__")], 1, "99999999999999999999999"
        ),
        "line:2#/flow",
        "port",
    ),
    "hubble-port-fraction": (
        "hubble.json",
        _raw_json_lines([hubble_record(0), hubble_record(1, port="__RAW__")], 1, "22.5"),
        "line:2#/flow",
        "port",
    ),
    "hubble-port-70000": (
        "hubble.json",
        _json_lines([hubble_record(0), hubble_record(1, port=70000)]),
        "line:2#/flow",
        "port",
    ),
    "audit-code-fraction": (
        "audit.jsonl",
        _raw_json_lines([audit_record(0), audit_record(1, code="__RAW__")], 1, "200.5"),
        "line:2",
        "responseStatus.code",
    ),
    # Managed-cluster audit logs: the outcome codes as their envelopes carry them. Read
    # through the envelope's structure, 7.5 became 8 (429) and "abc" NULL, i.e. success.
    "gke-status-code-fraction": (
        "gke.jsonl",
        _json_lines([gke_record(0), gke_record(1, code=7.5)]),
        "line:2",
        "protoPayload.status.code",
    ),
    "gke-status-code-text": (
        "gke.jsonl",
        _json_lines([gke_record(0), gke_record(1, code="abc")]),
        "line:2",
        "protoPayload.status.code",
    ),
    "gke-response-code-fraction": (
        "gke.jsonl",
        _json_lines(
            [
                gke_record(0),
                {
                    **gke_record(1, code=7),
                    "protoPayload": {
                        **gke_record(1, code=7)["protoPayload"],  # type: ignore[dict-item]
                        "response": {"kind": "Status", "status": "Failure", "code": 403.5},
                    },
                },
            ]
        ),
        "line:2",
        "protoPayload.response.code",
    ),
    "aks-code-fraction": (
        "aks.jsonl",
        _json_lines([aks_record(0), aks_record(1, code=200.5)]),
        "line:2#/properties/log",
        "responseStatus.code",
    ),
    "eks-s3-code-fraction": (
        "eks.log",
        eks_s3_line(0) + "\n" + eks_s3_line(1, code=200.5) + "\n",
        "line:2",
        "responseStatus.code",
    ),
    # Cloud findings: a time that is no time dropped the finding from the period, and a
    # normalised severity outside 0-100 ranked it below (or above) the threshold.
    "asff-normalized-150": (
        "asff.json",
        json.dumps({"Findings": [asff(), asff(Severity={"Normalized": 150})]}),
        "#/Findings/1",
        "Severity.Normalized",
    ),
    "asff-normalized-text": (
        "asff.json",
        json.dumps({"Findings": [asff(), asff(Severity={"Normalized": "high-ish"})]}),
        "#/Findings/1",
        "Severity.Normalized",
    ),
    "asff-updated-at-not-a-time": (
        "asff.json",
        json.dumps({"Findings": [asff(), asff(UpdatedAt="last tuesday")]}),
        "#/Findings/1",
        "UpdatedAt",
    ),
    "policy-report-result-timestamp": (
        "reports.json",
        json.dumps(
            report(
                results=[
                    {**report()["results"][0], "timestamp": {"seconds": 1790575211}},
                    {**report()["results"][0], "timestamp": {"seconds": "soon"}},
                ]
            )
        ),
        "#/results/1/timestamp",
        "timestamp is not a time",
    ),
    "policy-report-creation-timestamp": (
        "reports.json",
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    report(),
                    report(metadata={**report()["metadata"], "creationTimestamp": "2026-02-30"}),
                ],
            }
        ),
        "#/items/1/metadata/creationTimestamp",
        "creationTimestamp is not a time",
    ),
    "ocsf-time-not-a-time": (
        "prowler.ocsf.json",
        json.dumps([ocsf(), ocsf(time_dt="2026-13-45T99:00:00")]),
        "#/1",
        "time_dt",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_value_outside_its_domain_rejects_the_file(
    case: str, ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    name, content, location, reason = CASES[case]
    path = tmp_path / name
    path.write_text(content)
    before = counts()
    line = assert_rejected(ingest(path), path, location=location, reason=reason)
    assert "malformed record" in line
    assert counts() == before


def test_values_at_the_edges_of_their_domain_are_stored(ingest: Ingest, tmp_path: Path) -> None:
    path = tmp_path / "vpc.log"
    path.write_text(
        VPC_HEADER + "\n" + vpc_line(1, dport=0, sport=65535) + "\n" + vpc_line(2) + "\n"
    )
    result = ingest(path, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["files"][0]["records_stored"] == 2


# -- NUL bytes and UTF-16 ----------------------------------------------------------------------


def _big_vpc(nul_at_line: int | None, lines: int = 3000) -> bytes:
    rows = [vpc_line(i).encode() for i in range(lines)]
    if nul_at_line is not None:
        rows[nul_at_line - 2] = rows[nul_at_line - 2].replace(b"eni-", b"eni-\x00")
    return VPC_HEADER.encode() + b"\n" + b"\n".join(rows) + b"\n"


def test_nul_byte_beyond_the_head_of_a_text_file(
    ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "vpc.log"
    data = _big_vpc(2900)
    assert data.index(b"\x00") > 64 * 1024
    path.write_bytes(data)
    before = counts()
    assert_rejected(ingest(path), path, location="line:2900", reason="NUL byte")
    assert counts() == before


def test_nul_byte_beyond_the_head_of_json_lines(
    ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    records = [json.dumps(falco_record(i)).encode() for i in range(1000)]
    records[800] = records[800].replace(b"node-1", b"node\x001")  # raw NUL inside a string
    path = tmp_path / "falco.jsonl"
    path.write_bytes(b"\n".join(records) + b"\n")
    assert path.read_bytes().index(b"\x00") > 64 * 1024
    before = counts()
    assert_rejected(ingest(path), path, location="line:801", reason="NUL byte")
    assert counts() == before


def test_nul_byte_beyond_the_head_of_a_csv_document(
    ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    rows = [f"u-{i},User {i},human,active,true,2026-09-28T09:00:00Z" for i in range(4000)]
    rows[3500] = rows[3500].replace("User", "Us\x00er")
    path = tmp_path / "users.csv"
    path.write_text("user_id,name,type,status,mfa,last_login\n" + "\n".join(rows) + "\n")
    assert path.read_bytes().index(b"\x00") > 64 * 1024
    before = counts()
    assert_rejected(ingest(path), path, location="line:3502", reason="NUL byte")
    assert counts() == before


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_is_named_as_such(
    codec: str, bom: bool, ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    text = VPC_HEADER + "\n" + vpc_line(1) + "\n"
    data = text.encode(codec)
    if bom:
        data = ("\ufeff").encode(codec) + data
    path = tmp_path / "vpc.log"
    path.write_bytes(data)
    before = counts()
    line = assert_rejected(ingest(path), path, reason="UTF-16")
    assert "NUL" not in line and "UTF-8" in line
    assert counts() == before


@pytest.mark.parametrize(
    "name, content",
    [
        ("conn.json", _json_lines([zeek_record(0), zeek_record(1, port="7" * 100_000 + "x")])),
        ("vpc.log", VPC_HEADER + "\n" + vpc_line(1, dport="9" * 100_000) + "\n"),
        ("gke.jsonl", _json_lines([gke_record(0), gke_record(1, code="A" * 100_000)])),
    ],
    ids=["zeek-json", "vpc", "gke"],
)
def test_an_out_of_domain_value_is_quoted_only_in_part(
    name: str, content: str, ingest: Ingest, tmp_path: Path
) -> None:
    """The reason quotes the value, but a 100,000-character value does not reach the terminal
    (or the JSON error) whole."""
    path = tmp_path / name
    path.write_text(content)
    result = ingest(path, "--json")
    assert result.code == 2
    assert len(result.out) + len(result.err) < 4_000, len(result.out) + len(result.err)
    line = assert_rejected(ingest(path), path, reason="malformed record")
    assert len(line) < 1_000, len(line)
