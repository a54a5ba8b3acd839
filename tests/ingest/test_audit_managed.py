"""Managed-cluster audit logs (FORMATS.md sections 18-20) as their providers write them.

GKE Cloud Audit Logs entries (JSON lines, a ``gcloud logging read --format=json`` array, the
default YAML stream), AKS diagnostic records (``properties.log`` as a JSON string and as an
object, ``kube-audit`` and ``kube-audit-admin``), EKS audit events through CloudWatch Logs
(``filter-log-events`` output, a decoded subscription payload, an S3 export), and files that
mix them with native Events line by line. Admission annotations become admission_results.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest

PSA_DENIED = (
    'pods "debug" is forbidden: violates PodSecurity "restricted:latest": privileged '
    '(container "shell" must not set securityContext.privileged=true)'
)

AUDIT_VIOLATION = (
    'would violate PodSecurity "restricted:latest": runAsNonRoot != true '
    '(pod or container "api" must set securityContext.runAsNonRoot=true)'
)


def native(audit_id: str = "0c6b2f7e-1d11-4a55-9d1e-6f7f0a1b2c3d", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": audit_id,
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/payments/pods/payments-api-7d9c/exec?command=sh",
        "verb": "create",
        "user": {"username": "erin@northwind.example", "groups": ["northwind:developers"]},
        "sourceIPs": ["10.8.14.52"],
        "userAgent": "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350",
        "objectRef": {
            "resource": "pods",
            "namespace": "payments",
            "name": "payments-api-7d9c",
            "apiVersion": "v1",
            "subresource": "exec",
        },
        "responseStatus": {"metadata": {}, "code": 101},
        "requestReceivedTimestamp": "2026-08-03T10:00:00.000100Z",
        "stageTimestamp": "2026-08-03T10:04:00.000200Z",
        "annotations": {"authorization.k8s.io/decision": "allow"},
    }
    doc.update(fields)
    return doc


def gke(
    method: str = "io.k8s.core.v1.pods.create",
    resource: str = "core/v1/namespaces/payments/pods/debug",
    *,
    status: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    insert_id: str = "5a1d6c0e-8b5f-4f0e-b7a1-3c3f3e0d9a01",
    **payload: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "insertId": insert_id,
        "labels": labels
        if labels is not None
        else {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "access granted by IAM permissions.",
        },
        "logName": "projects/northwind-gke/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {"first": True, "id": insert_id, "last": True, "producer": "k8s.io"},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": "erin@northwind.example"},
            "authorizationInfo": [{"granted": True, "permission": method, "resource": resource}],
            "methodName": method,
            "requestMetadata": {
                "callerIp": "203.0.113.7",
                "callerSuppliedUserAgent": "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350",
            },
            "resourceName": resource,
            "serviceName": "k8s.io",
            "status": status if status is not None else {},
        },
        "receiveTimestamp": "2026-08-03T10:00:01.184224105Z",
        "resource": {
            "labels": {
                "cluster_name": "pay-gke-ew1",
                "location": "europe-west1",
                "project_id": "northwind-gke",
            },
            "type": "k8s_cluster",
        },
        "timestamp": "2026-08-03T10:00:00.512345Z",
    }
    entry["protoPayload"].update(payload)
    return entry


def aks(event: dict[str, Any], *, as_object: bool = False, category: str = "kube-audit") -> dict:
    return {
        "category": category,
        "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
        "properties": {
            "log": event if as_object else json.dumps(event, separators=(",", ":")) + "\n",
            "pod": "kube-apiserver-869d7bb754-kkg69",
            "stream": "stdout",
        },
        "resourceId": "/SUBSCRIPTIONS/5F3C2B1A-0D4E-4C8B-9A71-2E6D0B9C4F13/RESOURCEGROUPS/PAY/"
        "PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PAY-AKS-WEU",
        "time": "2026-08-03T10:04:00.0000000Z",
    }


def lines(*docs: dict[str, Any]) -> str:
    return "\n".join(json.dumps(d, separators=(",", ":")) for d in docs) + "\n"


def test_gke_entries_map_onto_the_audit_columns(ingest: Ingest) -> None:
    create = gke(
        request={"@type": "core.k8s.io/v1.Pod", "kind": "Pod", "spec": {"containers": []}},
        response={"@type": "core.k8s.io/v1.Pod", "kind": "Pod"},
    )
    exec_ = gke(
        "io.k8s.core.v1.pods.exec.create",
        "core/v1/namespaces/payments/pods/payments-api-7d9c/exec",
        insert_id="b2",
    )
    binding = gke(
        "io.k8s.authorization.rbac.v1.clusterrolebindings.delete",
        "rbac.authorization.k8s.io/v1/clusterrolebindings/authenticated-view",
        insert_id="b3",
    )
    namespace = gke("io.k8s.core.v1.namespaces.create", "core/v1/namespaces/perf", insert_id="b4")
    loaded = ingest(lines(create, exec_, binding, namespace), name="gke.jsonl")
    rows = loaded.table("k8s_audit_events")
    assert [r["locator"] for r in rows] == ["line:1", "line:2", "line:3", "line:4"]
    pod, ex, crb, ns = rows
    assert (pod["verb"], pod["api_group"], pod["api_version"], pod["resource"]) == (
        "create",
        "",
        "v1",
        "pods",
    )
    assert (pod["namespace"], pod["name"], pod["subresource"], pod["response_code"]) == (
        "payments",
        "debug",
        None,
        200,
    )
    assert pod["event_time"] == dt.datetime(2026, 8, 3, 10, 0, 0, 512345)
    assert (pod["username"], pod["principal_email"], pod["source_ip"]) == (
        "erin@northwind.example",
        "erin@northwind.example",
        "203.0.113.7",
    )
    assert (pod["provider"], pod["cluster"], pod["log_category"]) == (
        "gke",
        "pay-gke-ew1",
        "cloudaudit.googleapis.com/activity",
    )
    assert pod["provider_resource"] == (
        "projects/northwind-gke/locations/europe-west1/clusters/pay-gke-ew1"
    )
    assert pod["authz_decision"] == "allow"
    assert json.loads(pod["request_object"])["kind"] == "Pod"
    assert (ex["resource"], ex["subresource"], ex["name"]) == ("pods", "exec", "payments-api-7d9c")
    assert (crb["api_group"], crb["resource"], crb["namespace"], crb["name"]) == (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        None,
        "authenticated-view",
    )
    assert (ns["resource"], ns["namespace"], ns["name"]) == ("namespaces", None, "perf")


def test_gke_denials_keep_the_http_status_and_the_admission_decision(ingest: Ingest) -> None:
    denied = gke(
        status={"code": 7, "message": PSA_DENIED},
        labels={
            "authorization.k8s.io/decision": "allow",
            "pod-security.kubernetes.io/enforce-policy": "restricted:latest",
        },
        response={
            "@type": "core.k8s.io/v1.Status",
            "apiVersion": "v1",
            "code": 403,
            "kind": "Status",
            "message": PSA_DENIED,
            "reason": "Forbidden",
            "status": "Failure",
        },
    )
    anonymous = gke(
        "io.k8s.get",
        "readyz",
        status={"code": 16},
        labels={},
        insert_id="c2",
    )
    anonymous["protoPayload"]["authorizationInfo"] = [{"granted": False}]
    loaded = ingest(lines(denied, anonymous), name="gke-denied.jsonl")
    first, second = loaded.table("k8s_audit_events")
    assert (first["response_code"], first["authz_decision"]) == (403, "allow")
    assert (second["response_code"], second["resource"], second["request_uri"]) == (
        401,
        None,
        "/readyz",
    )
    assert second["authz_decision"] == "forbid"
    admission = loaded.table("admission_results")
    assert [(a["engine"], a["policy"], a["result"], a["action"]) for a in admission] == [
        ("pod-security", "restricted:latest", "fail", "enforce")
    ]
    assert admission[0]["message"] == PSA_DENIED
    assert (admission[0]["resource_kind"], admission[0]["resource_namespace"]) == (
        "Pod",
        "payments",
    )


def test_gke_array_and_yaml_stream_and_other_resource_types(ingest: Ingest) -> None:
    cluster_op = gke("google.container.v1.ClusterManager.UpdateCluster", "projects/p/zones/z")
    cluster_op["resource"] = {"type": "gke_cluster", "labels": {"cluster_name": "pay-gke-ew1"}}
    cluster_op["protoPayload"]["serviceName"] = "container.googleapis.com"
    array = ingest([gke(), cluster_op], name="gcloud.json")
    assert (array.result.stored, array.result.skipped) == (1, 1)
    assert array.table("k8s_audit_events")[0]["locator"] == "#/0"
    assert array.table("quarantine")[0]["locator"] == "#/1"
    assert "gke_cluster" in array.table("quarantine")[0]["reason"]
    yaml_text = (
        "---\n" + json.dumps(gke(insert_id="y1")) + "\n---\n" + json.dumps(gke(insert_id="y2"))
    )
    stream = ingest(yaml_text, name="gcloud-read.yaml")
    assert [r["locator"] for r in stream.table("k8s_audit_events")] == ["doc:1#", "doc:2#"]
    assert stream.result.format == "k8s-audit"


def test_aks_log_as_string_and_as_object_in_one_file(ingest: Ingest) -> None:
    oid_user = {
        "username": "erin@northwind.example",
        "groups": ["6c1f0d0e-0000-4000-8000-00000000dev1", "system:authenticated"],
        "extra": {"oid": ["9b2e4a6c-1f3d-4e5a-8b7c-0d1e2f3a4b5c"]},
    }
    loaded = ingest(
        lines(
            aks(native("a1", user=oid_user)),
            aks(native("a2", user=oid_user), as_object=True, category="kube-audit-admin"),
        ),
        name="aks.jsonl",
    )
    string_row, object_row = loaded.table("k8s_audit_events")
    for row in (string_row, object_row):
        assert row["locator"].endswith("#/properties/log")
        assert row["principal_object_id"] == "9b2e4a6c-1f3d-4e5a-8b7c-0d1e2f3a4b5c"
        assert (row["provider"], row["cluster"]) == ("aks", "PAY-AKS-WEU")
        assert row["event_time"] == dt.datetime(2026, 8, 3, 10, 4, 0, 200)
    assert (string_row["log_category"], object_row["log_category"]) == (
        "kube-audit",
        "kube-audit-admin",
    )


def test_mixed_native_aks_and_gke_lines(ingest: Ingest) -> None:
    """The first line is native, so the fast path starts; the other lines still load."""
    loaded = ingest(
        lines(native("n1"), aks(native("n2"), as_object=True), gke(insert_id="g3")),
        name="siem-export.jsonl",
    )
    assert (loaded.result.stored, loaded.result.skipped) == (3, 0)
    providers = [r["provider"] for r in loaded.table("k8s_audit_events")]
    assert providers == ["kubernetes", "aks", "gke"]


def test_eks_cloudwatch_shapes(ingest: Ingest) -> None:
    iam_user = {
        "username": "arn:aws:iam::111122223333:role/platform-admin",
        "uid": "aws-iam-authenticator:111122223333:AROAEXAMPLEROLEID",
        "groups": ["system:authenticated"],
        "extra": {
            "accessKeyId": ["ASIAEXAMPLEKEY"],
            "arn": ["arn:aws:sts::111122223333:assumed-role/platform-admin/bob"],
            "canonicalArn": ["arn:aws:iam::111122223333:role/platform-admin"],
            "principalId": ["AROAEXAMPLEROLEID"],
            "sessionName": ["bob"],
        },
    }
    message = json.dumps(native("e1", user=iam_user), separators=(",", ":"))
    filtered = {
        "events": [
            {
                "logStreamName": "kube-apiserver-audit-4f1c2d",
                "timestamp": 1785751440000,
                "message": message,
                "ingestionTime": 1785751441000,
                "eventId": "38241785751440000",
            }
        ],
        "searchedLogStreams": [],
    }
    one = ingest(filtered, name="filter-log-events.json")
    row = one.table("k8s_audit_events")[0]
    assert row["locator"] == "#/events/0/message"
    assert (row["provider"], row["log_category"]) == ("eks", "kube-apiserver-audit-4f1c2d")
    assert row["principal_arn"] == "arn:aws:iam::111122223333:role/platform-admin"
    subscription = {
        "messageType": "DATA_MESSAGE",
        "owner": "111122223333",
        "logGroup": "/aws/eks/prod-eu1/cluster",
        "logStream": "kube-apiserver-audit-4f1c2d",
        "subscriptionFilters": ["audit-to-siem"],
        "logEvents": [
            {"id": "1", "timestamp": 1785751440000, "message": message},
            {"id": "2", "timestamp": 1785751440001, "message": json.dumps(native("e2"))},
        ],
    }
    two = ingest(subscription, name="firehose-record.json")
    rows = two.table("k8s_audit_events")
    assert [r["locator"] for r in rows] == ["#/logEvents/0/message", "#/logEvents/1/message"]
    assert {(r["cluster"], r["provider_resource"]) for r in rows} == {
        ("prod-eu1", "/aws/eks/prod-eu1/cluster")
    }
    control = ingest(
        {
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logEvents": [],
        },
        name="control.json",
    )
    assert (control.result.stored, control.result.skipped) == (0, 1)
    export = "".join(
        f"2026-08-03T10:04:00.{i:03d}Z {json.dumps(native(f'x{i}'), separators=(',', ':'))}\n"
        for i in range(2)
    )
    three = ingest(export, name="000000.gz.txt")
    assert [r["audit_id"] for r in three.table("k8s_audit_events")] == ["x0", "x1"]
    assert three.table("k8s_audit_events")[0]["locator"] == "line:1"


def test_admission_annotations_become_results(ingest: Ingest) -> None:
    created = native(
        "p1",
        verb="create",
        requestURI="/api/v1/namespaces/payments/pods",
        objectRef={
            "resource": "pods",
            "namespace": "payments",
            "name": "api-1",
            "apiVersion": "v1",
        },
        responseStatus={"code": 201},
        annotations={
            "authorization.k8s.io/decision": "allow",
            "pod-security.kubernetes.io/enforce-policy": "baseline:latest",
            "pod-security.kubernetes.io/audit-violations": AUDIT_VIOLATION,
        },
    )
    vap = native(
        "p2",
        verb="create",
        objectRef={
            "resource": "deployments",
            "namespace": "payments",
            "name": "api",
            "apiGroup": "apps",
            "apiVersion": "v1",
        },
        responseStatus={"code": 201},
        annotations={
            "validation.policy.admission.k8s.io/validation_failure": json.dumps(
                [
                    {
                        "message": "images must come from registry.northwind.example",
                        "policy": "approved-registries",
                        "binding": "approved-registries-cde",
                        "expressionIndex": 0,
                        "validationActions": ["Audit"],
                    }
                ]
            )
        },
    )
    refused = native(
        "p3",
        verb="create",
        objectRef={"resource": "pods", "namespace": "payments", "apiVersion": "v1"},
        requestObject={"metadata": {"generateName": "redis-"}},
        level="Request",
        responseStatus={
            "code": 400,
            "status": "Failure",
            "message": 'admission webhook "validate.kyverno.svc-fail" denied the request: '
            "policy payments/restrict-image-registries for resource violation",
        },
    )
    exempt = native(
        "p4",
        objectRef={
            "resource": "pods",
            "namespace": "kube-system",
            "name": "kube-proxy-x",
            "apiVersion": "v1",
        },
        responseStatus={"code": 201},
        annotations={"pod-security.kubernetes.io/exempt": "namespace"},
    )
    loaded = ingest(lines(created, vap, aks(refused, as_object=True), exempt), name="adm.jsonl")
    got = sorted(
        (a["audit_id"], a["engine"], a["policy"], a["rule"], a["result"], a["action"])
        for a in loaded.table("admission_results")
    )
    assert got == [
        ("p1", "pod-security", "baseline:latest", None, "pass", "enforce"),
        ("p1", "pod-security", "restricted:latest", None, "fail", "audit"),
        (
            "p2",
            "validating-admission-policy",
            "approved-registries",
            "approved-registries-cde",
            "fail",
            "audit",
        ),
        ("p3", "kyverno", "validate.kyverno.svc-fail", None, "fail", "enforce"),
        ("p4", "pod-security", "exempt", "namespace", "skip", "exempt"),
    ]
    by_id = {a["audit_id"]: a for a in loaded.table("admission_results")}
    assert by_id["p3"]["locator"] == "line:3#/properties/log"
    assert by_id["p3"]["resource_name"] == "redis-"
    assert by_id["p2"]["resource_api_version"] == "apps/v1"


def test_bad_wrapped_records_name_their_location(ingest: Ingest) -> None:
    broken = aks(native("ok"))
    broken["properties"]["log"] = '{"kind":"Event","auditID":'
    with pytest.raises(MalformedRecordsError) as err:
        ingest(lines(aks(native("ok")), broken), name="aks-bad.jsonl")
    assert "line:2#/properties/log" in err.value.one_line()
    no_id = copy.deepcopy(gke())
    del no_id["insertId"]
    del no_id["operation"]
    with pytest.raises(MalformedRecordsError) as err2:
        ingest(lines(gke(), no_id), name="gke-bad.jsonl")
    assert "line:2" in err2.value.one_line()
