"""Kubernetes audit events: FORMATS.md section 9 shapes and wrappers as inline files."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest


def event(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Request",
        "auditID": "841d3e6d-90d2-43df-8da4-684738bee3d5",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/payments/pods",
        "verb": "create",
        "user": {"username": "alice@example.com", "groups": ["dev", "system:authenticated"]},
        "sourceIPs": ["203.0.113.9", "10.0.0.4"],
        "userAgent": "kubectl/v1.30.2",
        "objectRef": {"resource": "pods", "namespace": "payments", "name": "x", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestObject": {"kind": "Pod", "spec": {}},
        "requestReceivedTimestamp": "2026-03-02T10:00:00.000100Z",
        "stageTimestamp": "2026-03-02T10:00:00.250000Z",
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": 'RBAC: allowed by RoleBinding "dev/payments"',
        },
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


def test_event_columns(ingest: Ingest) -> None:
    text = json.dumps(event()) + "\n" + json.dumps(event(auditID="b")) + "\n"
    loaded = ingest(text, name="audit.log")
    row = loaded.table("k8s_audit_events")[0]
    assert row["locator"] == "line:1"
    assert row["event_time"] == dt.datetime(2026, 3, 2, 10, 0, 0, 250000)
    assert (row["verb"], row["resource"], row["namespace"], row["response_code"]) == (
        "create",
        "pods",
        "payments",
        201,
    )
    assert (row["username"], row["effective_user"], row["source_ip"]) == (
        "alice@example.com",
        "alice@example.com",
        "10.0.0.4",
    )
    assert (row["authz_decision"], row["authz_reason"]) == (
        "allow",
        'RBAC: allowed by RoleBinding "dev/payments"',
    )
    assert json.loads(row["request_object"]) == {"kind": "Pod", "spec": {}}


def test_v1beta1_timestamp_and_impersonation(ingest: Ingest) -> None:
    old = event(
        apiVersion="audit.k8s.io/v1beta1",
        timestamp="2018-10-25T13:58:49Z",
        requestReceivedTimestamp=...,
        stageTimestamp=...,
        impersonatedUser={"username": "system:serviceaccount:ci:deployer"},
    )
    row = ingest(json.dumps(old), name="e.json").table("k8s_audit_events")[0]
    assert row["locator"] == "#"
    assert row["event_time"] == dt.datetime(2018, 10, 25, 13, 58, 49)
    assert row["effective_user"] == "system:serviceaccount:ci:deployer"


def test_event_list_document(ingest: Ingest) -> None:
    doc = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [event(), event()]}
    loaded = ingest(doc, name="batch.json")
    assert [r["locator"] for r in loaded.table("k8s_audit_events")] == ["#/items/0", "#/items/1"]


def test_cloudwatch_message_wrapper(ingest: Ingest) -> None:
    wrapped = {"timestamp": 1772445600000, "message": json.dumps(event())}
    text = json.dumps(wrapped) + "\n" + json.dumps(wrapped | {"timestamp": 1}) + "\n"
    loaded = ingest(text, name="cloudwatch.json")
    assert loaded.result.format == "k8s-audit"
    assert [r["locator"] for r in loaded.table("k8s_audit_events")] == [
        "line:1#/message",
        "line:2#/message",
    ]
    single = ingest(json.dumps(wrapped, indent=2), name="one.json")
    assert single.table("k8s_audit_events")[0]["locator"] == "#/message"


def test_aks_diagnostic_wrapper(ingest: Ingest) -> None:
    record = {"category": "kube-audit", "properties": {"log": json.dumps(event())}}
    text = json.dumps(record) + "\n" + json.dumps(event(auditID="direct")) + "\n"
    rows = ingest(text, name="aks.json").table("k8s_audit_events")
    assert [r["locator"] for r in rows] == ["line:1#/properties/log", "line:2"]


def test_wrapped_payload_that_is_not_json_is_malformed(ingest: Ingest) -> None:
    record = {"category": "kube-audit", "properties": {"log": '{"kind": "Event", "audit'}}
    text = json.dumps(event()) + "\n" + json.dumps(record) + "\n"
    with pytest.raises(MalformedRecordsError) as err:
        ingest(text, name="aks.json")
    assert err.value.bad == [
        ("line:2#/properties/log", "the wrapped audit event is not valid JSON")
    ]


def test_non_events_are_malformed(ingest: Ingest) -> None:
    text = "\n".join(
        json.dumps(d) for d in (event(), event(stage=...), event(kind="Policy"), event(auditID=...))
    )
    with pytest.raises(MalformedRecordsError) as err:
        ingest(text + "\n", name="audit.log")
    assert [reason for _, reason in err.value.bad] == [
        "not a Kubernetes audit Event: stage is missing",
        "not a Kubernetes audit Event: kind is Policy",
        "not a Kubernetes audit Event: auditID is missing",
    ]


def test_secret_request_objects_never_reach_the_store(ingest: Ingest) -> None:
    secret = event(
        objectRef={"resource": "secrets", "namespace": "payments", "name": "db"},
        requestObject={"kind": "Secret", "data": {"password": "aHVudGVyMg=="}},
    )
    token = event(
        auditID="t",
        objectRef={"resource": "serviceaccounts", "subresource": "token", "name": "ci"},
        requestObject={"kind": "TokenRequest"},
    )
    rows = ingest(json.dumps(secret) + "\n" + json.dumps(token) + "\n", name="a").table(
        "k8s_audit_events"
    )
    assert [r["request_object"] for r in rows] == [None, None]


def test_response_object_kept_for_workload_writes_only(ingest: Ingest) -> None:
    stored = {
        "kind": "Deployment",
        "metadata": {"name": "api", "managedFields": [{"manager": "kubectl", "fieldsV1": {}}]},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}},
    }
    events = [
        event(
            auditID="patch",
            verb="patch",
            level="RequestResponse",
            objectRef={"resource": "deployments", "namespace": "p", "name": "api"},
            requestObject={"spec": {"replicas": 3}},
            responseObject=stored,
        ),
        event(
            auditID="scale",
            verb="update",
            level="RequestResponse",
            objectRef={
                "resource": "deployments",
                "namespace": "p",
                "name": "api",
                "subresource": "scale",
            },
            responseObject={"kind": "Scale", "spec": {"replicas": 0}},
        ),
        event(
            auditID="status",
            verb="patch",
            level="RequestResponse",
            objectRef={"resource": "pods", "namespace": "p", "name": "x", "subresource": "status"},
            responseObject={"kind": "Pod", "spec": {}},
        ),
        event(
            auditID="cm",
            verb="update",
            level="RequestResponse",
            objectRef={"resource": "configmaps", "namespace": "p", "name": "c"},
            responseObject={"kind": "ConfigMap", "data": {"k": "v"}},
        ),
    ]
    loaded = ingest("".join(json.dumps(e) + "\n" for e in events), name="audit.log")
    got = {r["audit_id"]: r["response_object"] for r in loaded.table("k8s_audit_events")}
    kept = json.loads(got["patch"])
    assert kept["metadata"] == {"name": "api"}  # managedFields dropped, the rest as returned
    assert kept["spec"] == stored["spec"]
    assert json.loads(got["scale"]) == {"kind": "Scale", "spec": {"replicas": 0}}
    assert got["status"] is None and got["cm"] is None
