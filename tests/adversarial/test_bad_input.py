"""No silent loss: each hostile input has one expected outcome through the real CLI.

A rejection exits 2 with exactly one ``error:`` line naming the file (and the
line or JSON pointer where there is one), never a traceback, and stores
nothing: every data table keeps its row count.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.adversarial.conftest import Ingest, Snapshot, assert_rejected

VPC_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol "
    "packets bytes start end action log-status"
)


def vpc_line(i: int) -> str:
    return (
        f"2 123456789010 eni-0a1b2c3d4e5f60718 10.0.{i % 250}.7 10.1.0.9 {1024 + i % 60000} 443 6 "
        f"3 180 {1_780_000_000 + i} {1_780_000_060 + i} ACCEPT OK"
    )


def falco_line(i: int, **fields: object) -> str:
    alert: dict[str, object] = {
        "time": f"2026-05-07T18:54:{i % 60:02d}.341081180Z",
        "rule": "Read sensitive file untrusted",
        "priority": "Warning",
        "source": "syscall",
        "hostname": "node-1",
        "output_fields": {"proc.cmdline": f"cat /etc/shadow {i}", "user.name": "root"},
    }
    alert.update(fields)
    return json.dumps(alert)


@pytest.fixture
def seeded(ingest: Ingest, tmp_path: Path, counts: Snapshot) -> dict[str, int]:
    """A workspace that already holds one good file; returns the table counts."""
    good = tmp_path / "seed.log"
    good.write_text(VPC_HEADER + "\n" + "\n".join(vpc_line(i) for i in range(5)) + "\n")
    assert ingest(good).code == 0
    before = counts()
    assert before["flows"] == 5
    return before


def reject(
    ingest: Ingest,
    counts: Snapshot,
    before: dict[str, int],
    path: Path,
    *,
    location: str | None = None,
    reason: str = "",
    options: tuple[str, ...] = (),
) -> str:
    result = ingest(path, *options)
    line = assert_rejected(result, path, location=location, reason=reason)
    assert counts() == before
    return line


# -- empty and unreadable files ------------------------------------------------------


def test_empty_file(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    reject(ingest, counts, seeded, path, reason="empty file")


def test_whitespace_only_file(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "blank.log"
    path.write_bytes(b" \n\n\t  \r\n   \n")
    reject(ingest, counts, seeded, path, reason="only whitespace")


def test_truncated_json_document(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    doc = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": []}
    text = json.dumps(doc, indent=2)
    path = tmp_path / "events.json"
    path.write_text(text[: len(text) - 4])  # cut inside the closing brackets
    reject(ingest, counts, seeded, path, location="line:4", reason="invalid JSON")


def test_truncated_last_json_line(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "falco.jsonl"
    path.write_text(falco_line(1) + "\n" + falco_line(2) + "\n" + falco_line(3)[:57])
    reject(ingest, counts, seeded, path, location="line:3", reason="invalid JSON")


def test_binary_garbage(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(random.Random(7).randbytes(8192))
    reject(ingest, counts, seeded, path, reason="not")  # binary data / not UTF-8 text


def test_corrupt_gzip(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "flows.log.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + random.Random(1).randbytes(2000))
    reject(ingest, counts, seeded, path, reason="gzip")


def test_gzip_truncated_after_the_head(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    body = VPC_HEADER + "\n" + "\n".join(vpc_line(i) for i in range(20_000)) + "\n"
    data = gzip.compress(body.encode())
    path = tmp_path / "flows.gz"
    path.write_bytes(data[: len(data) * 2 // 3])  # detection reads the head fine; the load fails
    reject(ingest, counts, seeded, path, reason="gzip")


def test_empty_gzip(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "nothing.gz"
    path.write_bytes(gzip.compress(b""))
    reject(ingest, counts, seeded, path, reason="decompresses to nothing")


def test_gzip_of_garbage(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "garbage.gz"
    path.write_bytes(gzip.compress(random.Random(3).randbytes(4096)))
    reject(ingest, counts, seeded, path, reason="not")


def test_gzip_is_detected_by_magic_not_name(ingest: Ingest, tmp_path: Path) -> None:
    path = tmp_path / "flows.txt"  # no .gz suffix
    path.write_bytes(gzip.compress((VPC_HEADER + "\n" + vpc_line(1) + "\n").encode()))
    result = ingest(path)
    assert result.code == 0, result.err
    assert "aws-vpc-flow" in result.out


# -- encodings ----------------------------------------------------------------------------


def test_non_utf8_byte_in_a_json_line(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "falco.jsonl"
    bad = falco_line(2).encode().replace(b"root", b"r\xffot")
    path.write_bytes(falco_line(1).encode() + b"\n" + bad + b"\n" + falco_line(3).encode() + b"\n")
    reject(ingest, counts, seeded, path, location="line:2", reason="not UTF-8")


def test_non_utf8_byte_in_a_json_line_beyond_the_sniffed_head(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    lines = [falco_line(i).encode() for i in range(1, 3001)]
    lines[2499] = lines[2499].replace(b"root", b"r\xc3\x28t")  # invalid 2-byte sequence
    path = tmp_path / "falco.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    reject(ingest, counts, seeded, path, location="line:2500", reason="not UTF-8")


def test_non_utf8_byte_in_a_vpc_log(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "vpc.log"
    rows = [vpc_line(i).encode() for i in range(1, 4)]
    rows[1] = rows[1].replace(b"eni-", b"en\xe9-")  # Latin-1 e-acute
    path.write_bytes(VPC_HEADER.encode() + b"\n" + b"\n".join(rows) + b"\n")
    reject(ingest, counts, seeded, path, location="line:3", reason="not UTF-8")


# -- hostile JSON and YAML ------------------------------------------------------------


def test_json_nested_100000_deep(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"kind": "List", "items": ' + "[" * 100_000 + "]" * 100_000 + "}")
    reject(ingest, counts, seeded, path, reason="nested too deeply")


def test_json_line_nested_100000_deep_is_one_malformed_record(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "falco.jsonl"
    deep = '{"rule": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text(falco_line(1) + "\n" + deep + "\n" + falco_line(3) + "\n")
    reject(ingest, counts, seeded, path, location="line:2", reason="malformed")


def test_yaml_alias_bomb(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", 'a0: &a0 ["lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    reject(ingest, counts, seeded, path, location="line:5", reason="aliases are not accepted")


def test_yaml_duplicate_keys(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "role.yaml"
    path.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n"
        "rules:\n- apiGroups: ['']\n  resources: ['pods']\n  verbs: ['get']\n  verbs: ['*']\n"
    )
    reject(ingest, counts, seeded, path, location="line:9", reason="duplicate key 'verbs'")


def test_json_duplicate_keys(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "role.json"
    path.write_text(
        '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",'
        ' "metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"],'
        ' "verbs": ["get"], "verbs": ["*"]}]}'
    )
    reject(ingest, counts, seeded, path, location="#/rules/0", reason="duplicate key 'verbs'")


def test_nan_in_a_json_document(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "alert.json"
    path.write_text(falco_line(1).replace('"syscall"', "NaN"))
    reject(ingest, counts, seeded, path, reason="NaN is not valid JSON")


def test_nan_in_a_json_line(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    lines = [falco_line(i) for i in range(1, 6)]
    lines[3] = lines[3].replace('"syscall"', "NaN")  # DuckDB's parser would accept it
    path = tmp_path / "falco.jsonl"
    path.write_text("\n".join(lines) + "\n")
    reject(ingest, counts, seeded, path, location="line:4", reason="NaN is not valid JSON")


def test_unrecognised_file_lists_the_supported_formats(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,colour,size\n1,red,3\n2,blue,4\n")
    line = reject(ingest, counts, seeded, path, reason="unrecognised content")
    assert "supported formats:" in line
    for name in ("aws-vpc-flow", "falco-json", "hubble-json", "k8s-audit", "zeek-conn"):
        assert name in line


# -- one bad record among good ones ------------------------------------------------------


def _one_bad_line(tmp_path: Path) -> Path:
    lines = [falco_line(i) for i in range(1, 101)]
    lines[49] = lines[49][:-10]  # line 50: cut short
    path = tmp_path / "falco.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_bad_json_line_rejects_the_file_naming_the_line(
    ingest: Ingest, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    line = reject(ingest, counts, seeded, _one_bad_line(tmp_path), location="line:50")
    assert "1 malformed record" in line and "--skip-bad-records" in line


def test_one_bad_json_line_with_skip_bad_records_is_quarantined(
    ingest: Ingest, ws: Workspace, counts: Snapshot, seeded: dict[str, int], tmp_path: Path
) -> None:
    path = _one_bad_line(tmp_path)
    result = ingest(path, "--skip-bad-records")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert f"skipped {path}:line:50: invalid JSON" in result.err
    row = next(ln for ln in result.out.splitlines() if "falco-json" in ln)
    assert "99" in row and "│ 1 " in row  # stored and skipped counts
    after = counts()
    assert after["runtime_alerts"] == seeded["runtime_alerts"] + 99
    assert after["quarantine"] == seeded["quarantine"] + 1
    with open_store(ws, write=False) as con:
        quarantined = con.execute(
            "SELECT q.locator, q.reason, s.records_stored, s.records_skipped "
            "FROM quarantine q JOIN sources s USING (source_sha256)"
        ).fetchall()
        lines = con.execute("SELECT locator FROM runtime_alerts ORDER BY event_time").fetchall()
    assert quarantined[0][0] == "line:50"
    assert quarantined[0][1].startswith("invalid JSON")
    assert quarantined[0][2:] == (99, 1)
    assert ("line:50",) not in lines and len(lines) == 99


def test_key_first_seen_at_line_30001_is_kept(
    ingest: Ingest, ws: Workspace, tmp_path: Path
) -> None:
    lines = [falco_line(i) for i in range(1, 30_001)]
    lines.append(
        falco_line(
            30_001,
            tags=["mitre_credential_access"],
            output_fields={"fd.name": "/etc/shadow", "k8s.ns.name": "payments"},
        )
    )
    path = tmp_path / "falco.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = ingest(path)
    assert result.code == 0, result.err
    with open_store(ws, write=False) as con:
        row = con.execute(
            "SELECT tags, fd_name, namespace FROM runtime_alerts WHERE locator = 'line:30001'"
        ).fetchall()
        total = con.execute("SELECT count(*) FROM runtime_alerts").fetchall()[0][0]
    assert row == [(["mitre_credential_access"], "/etc/shadow", "payments")]
    assert total == 30_001


# -- many files, and the JSON report ---------------------------------------------------------


def test_directory_of_10000_files(ingest: Ingest, ws: Workspace, tmp_path: Path) -> None:
    """10,000 tiny files in 100 folders: 20 distinct exports, each copied 500 times.

    Every file is walked, hashed and reported; the copies are "already present"
    (one transaction per distinct file keeps this to seconds).
    """
    root = tmp_path / "exports"
    contents = [
        (VPC_HEADER + "\n" + vpc_line(i) + "\n" + vpc_line(i + 1000) + "\n").encode()
        for i in range(20)
    ]
    for n in range(10_000):
        folder = root / f"d{n % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"flows-{n:05d}.log").write_bytes(contents[n % 20])
    result = ingest(root, "--json")
    assert result.code == 0, result.err[-500:]
    report = json.loads(result.out)
    assert len(report["files"]) == 10_000
    statuses = [f["status"] for f in report["files"]]
    assert statuses.count("stored") == 20
    assert statuses.count("already present") == 9_980
    assert report["rejected"] == 0
    with open_store(ws, write=False) as con:
        assert con.execute("SELECT count(*) FROM sources").fetchall()[0][0] == 20
        assert con.execute("SELECT count(*) FROM flows").fetchall()[0][0] == 40


def test_ingest_json_output_shape(ingest: Ingest, tmp_path: Path) -> None:
    good = tmp_path / "good.log"
    good.write_text(VPC_HEADER + "\n" + vpc_line(1) + "\n")
    bad = tmp_path / "empty.log"
    bad.write_text("")
    result = ingest(good, bad, "--json")
    assert result.code == 2
    assert "Traceback" not in result.err and "error:" not in result.err  # the error is in the JSON
    report = json.loads(result.out)
    assert set(report) == {"files", "stored", "skipped", "rejected", "files_skipped"}
    assert (report["stored"], report["skipped"], report["rejected"]) == (1, 0, 1)
    first, second = report["files"]
    assert set(first) == {
        "path",
        "sha256",
        "format",
        "family",
        "status",
        "records_stored",
        "records_skipped",
        "time_min",
        "time_max",
        "observation_recorded",
        "notes",
        "error",
        "snapshot",
        "observed_at",
        "warning",
    }
    assert (first["snapshot"], first["observed_at"], first["warning"]) == (False, [], None)
    assert first["format"] == "aws-vpc-flow" and first["status"] == "stored"
    assert first["time_min"] == "2026-05-28T20:26:41Z"
    assert second["status"] == "rejected" and second["error"] == f"{bad}: empty file"
