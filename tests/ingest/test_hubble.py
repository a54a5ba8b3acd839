"""Cilium Hubble flows: FORMATS.md section 11 and the field list of Cilium's flow.proto."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest

NODE = "gke-node-1"


def flow(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "time": "2026-06-16T16:52:13.136834446Z",
        "verdict": "FORWARDED",
        "IP": {"source": "10.0.2.16", "destination": "10.0.3.7", "ipVersion": "IPv4"},
        "l4": {"TCP": {"source_port": 43210, "destination_port": 5432, "flags": {"SYN": True}}},
        "source": {
            "ID": 1231,
            "identity": 25339,
            "namespace": "payments",
            "labels": ["k8s:app=api", "k8s:io.kubernetes.pod.namespace=payments"],
            "pod_name": "api-545db77b95-s6jb8",
            "workloads": [{"name": "api", "kind": "Deployment"}],
        },
        "destination": {
            "ID": 88,
            "identity": 4242,
            "namespace": "cde",
            "labels": ["k8s:app=db"],
            "pod_name": "db-0",
        },
        "Type": "L3_L4",
        "node_name": NODE,
        "traffic_direction": "EGRESS",
        "is_reply": False,
        "Summary": "TCP Flags: SYN",
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


def envelope(body: dict[str, Any]) -> dict[str, Any]:
    return {"flow": body, "node_name": NODE, "time": body.get("time", "2026-06-16T16:52:13Z")}


def lines(*docs: dict[str, Any]) -> str:
    return "\n".join(json.dumps(d) for d in docs) + "\n"


def test_envelope_flow_columns(ingest: Ingest) -> None:
    loaded = ingest(lines(envelope(flow()), envelope(flow())), name="hubble.json")
    assert (loaded.result.format, loaded.result.family) == ("hubble-json", "flows")
    row = loaded.table("flows")[0]
    assert row["locator"] == "line:1#/flow"
    assert row["flow_format"] == "hubble"
    assert row["sensor"] == NODE
    assert row["start_time"] == row["end_time"] == dt.datetime(2026, 6, 16, 16, 52, 13, 136834)
    assert (row["src_ip"], row["src_port"], row["dst_ip"], row["dst_port"]) == (
        "10.0.2.16",
        43210,
        "10.0.3.7",
        5432,
    )
    assert (row["protocol"], row["tcp_flags"]) == ("tcp", 2)
    assert (row["action"], row["verdict_raw"], row["direction"]) == (
        "allowed",
        "FORWARDED",
        "egress",
    )
    assert row["is_reply"] is False
    assert (row["src_namespace"], row["src_pod"], row["src_workload"]) == (
        "payments",
        "api-545db77b95-s6jb8",
        "api",
    )
    assert row["src_labels"] == ["k8s:app=api", "k8s:io.kubernetes.pod.namespace=payments"]
    assert (row["dst_namespace"], row["dst_pod"], row["dst_workload"]) == ("cde", "db-0", None)


def test_bare_flow_without_envelope(ingest: Ingest) -> None:
    loaded = ingest(lines(flow(), flow(verdict="DROPPED")), name="flows.json")
    assert loaded.result.format == "hubble-json"
    first, second = loaded.table("flows")
    assert first["locator"] == "line:1"
    assert (second["action"], second["verdict_raw"]) == ("denied", "DROPPED")


def test_dropped_flow_with_drop_reason(ingest: Ingest) -> None:
    dropped = flow(verdict="DROPPED", drop_reason=133, drop_reason_desc="POLICY_DENIED")
    legacy = flow(verdict="DROPPED", drop_reason=181)
    loaded = ingest(lines(envelope(dropped), envelope(legacy)), name="h.json")
    first, second = loaded.table("flows")
    assert (first["action"], first["drop_reason"]) == ("denied", "POLICY_DENIED")
    assert second["drop_reason"] == "181"


@pytest.mark.parametrize(
    ("verdict", "action"),
    [
        ("FORWARDED", "allowed"),
        ("DROPPED", "denied"),
        ("AUDIT", "allowed"),
        ("REDIRECTED", "allowed"),
        ("ERROR", None),
        ("VERDICT_UNKNOWN", None),
    ],
)
def test_verdicts(ingest: Ingest, verdict: str, action: str | None) -> None:
    loaded = ingest(lines(envelope(flow(verdict=verdict)), envelope(flow())), name="h.json")
    assert loaded.table("flows")[0]["action"] == action


def test_reply_flags_absent_means_unknown(ingest: Ingest) -> None:
    both = flow(is_reply=True, reply=True)
    legacy = flow(is_reply=..., reply=True)
    neither = flow(is_reply=...)
    loaded = ingest(lines(*(envelope(f) for f in (both, legacy, neither))), name="h.json")
    assert [r["is_reply"] for r in loaded.table("flows")] == [True, True, None]


def test_reserved_identities_have_no_pod(ingest: Ingest) -> None:
    world = flow(destination={"identity": 2, "labels": ["reserved:world"]})
    loaded = ingest(lines(envelope(world), envelope(flow())), name="h.json")
    row = loaded.table("flows")[0]
    assert row["dst_labels"] == ["reserved:world"]
    assert row["dst_namespace"] is None and row["dst_pod"] is None


def test_udp_icmp_and_l7(ingest: Ingest) -> None:
    udp = flow(l4={"UDP": {"source_port": 5353, "destination_port": 53}})
    icmp = flow(l4={"ICMPv4": {"type": 8}})
    dns = flow(Type="L7", l7={"type": "REQUEST", "dns": {"query": "db.cde.svc."}})
    loaded = ingest(lines(*(envelope(f) for f in (udp, icmp, dns))), name="h.json")
    rows = loaded.table("flows")
    assert [(r["protocol"], r["dst_port"]) for r in rows] == [
        ("udp", 53),
        ("icmp", None),
        ("tcp", 5432),
    ]
    assert rows[2]["service"] == "dns"


def test_policy_attribution_is_kept(ingest: Ingest) -> None:
    policy = [{"name": "allow-api", "namespace": "cde", "kind": "NetworkPolicy"}]
    loaded = ingest(lines(envelope(flow(ingress_allowed_by=policy)), envelope(flow())), name="h")
    row = loaded.table("flows")[0]
    assert json.loads(row["policies"])["ingress_allowed_by"] == policy
    assert loaded.table("flows")[1]["policies"] is None


def test_node_status_and_lost_events_are_counted_non_records(ingest: Ingest) -> None:
    status = {"node_status": {"state_change": "NODE_CONNECTED", "node_names": [NODE]}}
    lost = {
        "lost_events": {"source": "HUBBLE_RING_BUFFER", "num_events_lost": "42", "cpu": 1},
        "node_name": NODE,
        "time": "2026-06-16T16:52:14Z",
    }
    text = lines(envelope(flow()), {**status, "node_name": NODE}, lost, envelope(flow()))
    loaded = ingest(text, name="h.json")
    assert (loaded.result.stored, loaded.result.skipped) == (2, 2)
    quarantined = loaded.rows(
        "SELECT locator, reason FROM quarantine "
        f"WHERE source_sha256 = '{loaded.result.sha256}' ORDER BY locator"
    )
    assert quarantined == [
        {"locator": "line:2", "reason": "Hubble node_status, not a flow"},
        {
            "locator": "line:3",
            "reason": "Hubble lost_events: 42 events lost at HUBBLE_RING_BUFFER (a monitoring gap)",
        },
    ]


def test_flow_without_time_or_with_a_bad_port_is_malformed(ingest: Ingest) -> None:
    no_time = envelope(flow(time=...))
    no_time["time"] = None
    bad_port = envelope(flow(l4={"TCP": {"source_port": 70000, "destination_port": 1}}))
    with pytest.raises(MalformedRecordsError) as err:
        ingest(lines(envelope(flow()), no_time, bad_port), name="h.json")
    assert err.value.bad == [
        ("line:2#/flow", "flow time is missing"),
        ("line:3#/flow", "source port is not a port number (0-65535): 70000"),
    ]


def test_other_json_objects_are_malformed(ingest: Ingest) -> None:
    with pytest.raises(MalformedRecordsError, match="line:2: not a Hubble flow"):
        ingest(lines(envelope(flow()), {"hello": "world"}), name="h.json")
