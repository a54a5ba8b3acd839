"""Falco JSON alerts: the variants and gotchas of FORMATS.md section 8, as inline files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest


def alert(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "hostname": "node-a",
        "output": "18:54:19.341081180: Warning Sensitive file opened (file=/etc/shadow)",
        "priority": "Warning",
        "rule": "Read sensitive file untrusted",
        "source": "syscall",
        "tags": ["T1555", "filesystem"],
        "time": "2026-05-07T18:54:19.341081180Z",
        "output_fields": {
            "container.id": "9656db3bb358",
            "container.name": "payments-api",
            "container.image.repository": "registry.example/payments",
            "container.image.tag": "1.4.2",
            "evt.time": 1778180059341081180,
            "fd.name": "/etc/shadow",
            "k8s.ns.name": "payments",
            "k8s.pod.name": "payments-api-7c9",
            "proc.aname[2]": "runc",
            "proc.cmdline": "cat /etc/shadow",
            "user.name": "root",
        },
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


def lines(*docs: dict[str, Any] | str) -> str:
    return "\n".join(d if isinstance(d, str) else json.dumps(d) for d in docs) + "\n"


def test_alert_columns(ingest: Ingest) -> None:
    loaded = ingest(lines(alert(), alert(priority="Critical")), name="falco.jsonl")
    assert loaded.result.format == "falco-json"
    assert loaded.result.family == "runtime"
    first, second = loaded.table("runtime_alerts")
    assert first["locator"] == "line:1"
    assert first["event_time"] == dt.datetime(2026, 5, 7, 18, 54, 19, 341081)
    assert (first["priority"], first["priority_level"]) == ("Warning", 4)
    assert (second["priority"], second["priority_level"]) == ("Critical", 2)
    assert first["rule"] == "Read sensitive file untrusted"
    assert (first["source"], first["hostname"]) == ("syscall", "node-a")
    assert first["tags"] == ["T1555", "filesystem"]
    assert first["container_id"] == "9656db3bb358"
    assert first["container_name"] == "payments-api"
    assert first["image"] == "registry.example/payments:1.4.2"
    assert (first["namespace"], first["pod"]) == ("payments", "payments-api-7c9")
    assert (first["user_name"], first["proc_cmdline"], first["fd_name"]) == (
        "root",
        "cat /etc/shadow",
        "/etc/shadow",
    )
    # Keys with dots and brackets are kept whole, never split into nested objects.
    fields = json.loads(first["output_fields"])
    assert fields["proc.aname[2]"] == "runc"
    assert "proc" not in fields


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("Emergency", 0),
        ("Alert", 1),
        ("Critical", 2),
        ("Error", 3),
        ("Warning", 4),
        ("Notice", 5),
        ("Informational", 6),
        ("Info", 6),
        ("Debug", 7),
        ("WARNING", 4),
    ],
)
def test_priority_levels_follow_syslog(ingest: Ingest, word: str, level: int) -> None:
    loaded = ingest(lines(alert(priority=word), alert()), name="falco.jsonl")
    assert loaded.table("runtime_alerts")[0]["priority_level"] == level


def test_unknown_priority_is_malformed(ingest: Ingest) -> None:
    with pytest.raises(MalformedRecordsError, match="line:2: unknown Falco priority Severe"):
        ingest(lines(alert(), alert(priority="Severe")), name="falco.jsonl")


def test_time_falls_back_to_evt_time_nanoseconds(ingest: Ingest) -> None:
    no_time = alert(time=...)
    loaded = ingest(lines(no_time, alert()), name="falco.jsonl")
    row = loaded.table("runtime_alerts")[0]
    assert row["event_time"] == dt.datetime(2026, 5, 7, 18, 54, 19, 341081)


def test_na_and_null_mean_not_set(ingest: Ingest) -> None:
    fields = {
        "container.id": "<NA>",
        "container.name": None,
        "k8s.ns.name": "<NA>",
        "user.name": None,
        "fd.name": "<NA>",
    }
    loaded = ingest(lines(alert(output_fields=fields), alert()), name="falco.jsonl")
    row = loaded.table("runtime_alerts")[0]
    for column in ("container_id", "container_name", "namespace", "user_name", "fd_name"):
        assert row[column] is None, column


def test_output_tags_and_output_fields_are_optional(ingest: Ingest) -> None:
    bare = alert(output=..., tags=..., output_fields=...)
    loaded = ingest(lines(bare, bare), name="falco.jsonl")
    row = loaded.table("runtime_alerts")[0]
    assert row["output"] is None and row["tags"] is None and row["output_fields"] is None
    assert row["event_time"] == dt.datetime(2026, 5, 7, 18, 54, 19, 341081)


def test_alert_without_any_time_is_malformed(ingest: Ingest) -> None:
    with pytest.raises(MalformedRecordsError, match="line:2: time is missing"):
        ingest(lines(alert(), alert(time=..., output_fields=...)), name="falco.jsonl")


def test_k8saudit_plugin_alert(ingest: Ingest) -> None:
    plugin = alert(
        source="k8s_audit",
        rule="Attach to cluster-admin Role",
        priority="Notice",
        output_fields={
            "ka.target.namespace": "payments",
            "ka.target.resource": "pods",
            "ka.target.name": "payments-api-7c9",
            "ka.user.name": "alice@example.com",
            "ka.verb": "create",
            "evt.time": 1778180059341081180,
        },
    )
    loaded = ingest(lines(plugin, alert()), name="falco.jsonl")
    row = loaded.table("runtime_alerts")[0]
    assert row["source"] == "k8s_audit"
    assert (row["namespace"], row["pod"], row["user_name"]) == (
        "payments",
        "payments-api-7c9",
        "alice@example.com",
    )


def test_banner_lines_are_skipped_counted_and_quarantined(ingest: Ingest) -> None:
    text = (
        "Thu May  7 18:54:00 2026: Falco version: 0.37.1 (x86_64)\n"
        "Thu May  7 18:54:00 2026: Loading rules from file /etc/falco/falco_rules.yaml\n"
        + json.dumps(alert())
        + "\n\n"
        + "Thu May  7 18:54:01 2026: Starting health webserver with threadiness 2\n"
        + json.dumps(alert(priority="Error"))
        + "\n"
    )
    loaded = ingest(text, name="falco-pod.log")
    assert loaded.result.format == "falco-json"
    assert (loaded.result.stored, loaded.result.skipped) == (2, 3)
    assert [r["locator"] for r in loaded.table("runtime_alerts")] == ["line:3", "line:6"]
    quarantined = loaded.rows(
        "SELECT locator, reason, excerpt FROM quarantine "
        f"WHERE source_sha256 = '{loaded.result.sha256}' ORDER BY locator"
    )
    assert [q["locator"] for q in quarantined] == ["line:1", "line:2", "line:5"]
    assert all(q["reason"] == "not a JSON record (banner or log text)" for q in quarantined)
    assert quarantined[0]["excerpt"].endswith("Falco version: 0.37.1 (x86_64)")


def test_malformed_json_line_is_a_malformed_record_not_a_banner(ingest: Ingest) -> None:
    with pytest.raises(MalformedRecordsError, match="line:2: invalid JSON"):
        ingest(lines(alert(), '{"rule": "x", "priority": ', alert()), name="falco.jsonl")


def test_no_final_newline_and_a_single_alert_document(ingest: Ingest) -> None:
    loaded = ingest(json.dumps(alert()) + "\n" + json.dumps(alert()), name="falco.jsonl")
    assert loaded.result.stored == 2
    single = ingest(json.dumps(alert(), indent=2), name="alert.json")
    assert single.result.format == "falco-json"
    assert single.table("runtime_alerts")[0]["locator"] == "#"


def test_json_array_of_alerts(ingest: Ingest) -> None:
    loaded = ingest([alert(), alert(priority="Debug")], name="alerts.json")
    assert [r["locator"] for r in loaded.table("runtime_alerts")] == ["#/0", "#/1"]


def test_gzip_compressed(ingest: Ingest, tmp_path: Any) -> None:
    from auditkit.ingest import IngestOptions, ingest_file

    path = tmp_path / "alerts.bin"
    path.write_bytes(gzip.compress(lines(alert(), alert()).encode()))
    loaded = ingest(lines(alert()), name="seed.jsonl")  # opens the store
    result = ingest_file(loaded.con, path, IngestOptions())
    assert (result.format, result.stored) == ("falco-json", 2)
