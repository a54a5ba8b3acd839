"""Small valid files of each line format, with a marker value to tell files apart."""

from __future__ import annotations

import json

VPC_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol "
    "packets bytes start end action log-status"
)

# format -> (file suffix, table, column holding the marker)
LINE_FORMATS = {
    "aws-vpc-flow": (".log", "flows", "dst_port"),
    "zeek-conn": (".json", "flows", "dst_port"),
    "hubble-json": (".json", "flows", "dst_port"),
    "k8s-audit": (".jsonl", "k8s_audit_events", "username"),
    "falco-json": (".jsonl", "runtime_alerts", "hostname"),
    # Managed-cluster audit logs: the same table, read through their envelopes.
    "gke-audit": (".jsonl", "k8s_audit_events", "username"),
    "aks-audit": (".jsonl", "k8s_audit_events", "username"),
    "eks-audit-s3": (".log", "k8s_audit_events", "username"),
}


def vpc_line(i: int, dport: int | str = 443, sport: int | str = 40000) -> str:
    return (
        f"2 123456789010 eni-0a1b2c3d4e5f60718 10.0.{i % 250}.7 10.1.0.9 {sport} {dport} 6 "
        f"3 180 {1_780_000_000 + i} {1_780_000_060 + i} ACCEPT OK"
    )


def zeek_record(i: int, port: object = 443) -> dict[str, object]:
    return {
        "ts": 1780000000.5 + i,
        "uid": f"CAcJw21BbVedgFnY{i:02d}",
        "id.orig_h": "10.0.1.5",
        "id.orig_p": 38339,
        "id.resp_h": "10.9.0.7",
        "id.resp_p": port,
        "proto": "tcp",
        "conn_state": "SF",
    }


def hubble_record(i: int, port: object = 443) -> dict[str, object]:
    return {
        "flow": {
            "time": f"2026-06-16T16:52:{i % 60:02d}.136834446Z",
            "verdict": "FORWARDED",
            "IP": {"source": "10.0.2.16", "destination": "10.0.3.7", "ipVersion": "IPv4"},
            "l4": {"TCP": {"source_port": 43210, "destination_port": port}},
            "source": {"namespace": "payments", "pod_name": "api-0"},
            "destination": {"namespace": "cde", "pod_name": "db-0"},
            "Type": "L3_L4",
        },
        "node_name": "node-1",
        "time": f"2026-06-16T16:52:{i % 60:02d}.136834446Z",
    }


def audit_record(i: int, user: str = "alice", code: object = 200) -> dict[str, object]:
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-0000-0000-{i:012d}",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/payments/pods",
        "verb": "get",
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.8.0.5"],
        "objectRef": {"resource": "pods", "namespace": "payments", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": f"2026-07-01T00:{i % 60:02d}:00.000000Z",
        "stageTimestamp": f"2026-07-01T00:{i % 60:02d}:00.000000Z",
    }


def gke_record(i: int, user: str = "alice", code: object = None) -> dict[str, object]:
    """A GKE Cloud Audit Logs entry for a Kubernetes API request (``code``: status.code)."""
    return {
        "insertId": f"gke-{i:08d}",
        "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": user},
            "methodName": "io.k8s.core.v1.pods.get",
            "resourceName": "core/v1/namespaces/payments/pods/api-0",
            "serviceName": "k8s.io",
            "status": {} if code is None else {"code": code},
        },
        "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "c1"}},
        "timestamp": f"2026-07-01T00:{i % 60:02d}:00.000000Z",
    }


def aks_record(i: int, user: str = "alice", code: object = 200) -> dict[str, object]:
    """An AKS diagnostic record whose ``properties.log`` is the Event as a JSON string."""
    return {
        "category": "kube-audit",
        "properties": {"log": json.dumps(audit_record(i, user, code)), "stream": "stdout"},
        "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/"
        "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1",
        "time": f"2026-07-01T00:{i % 60:02d}:00.0000000Z",
    }


def eks_s3_line(i: int, user: str = "alice", code: object = 200) -> str:
    """A CloudWatch Logs S3 export line of an EKS audit Event: ``<time> <Event JSON>``."""
    return f"2026-07-01T00:{i % 60:02d}:00.000Z {json.dumps(audit_record(i, user, code))}"


def falco_record(i: int, host: str = "node-1") -> dict[str, object]:
    return {
        "time": f"2026-05-07T18:54:{i % 60:02d}.341081180Z",
        "rule": "Read sensitive file untrusted",
        "priority": "Warning",
        "source": "syscall",
        "hostname": host,
        "output_fields": {"proc.cmdline": f"cat /etc/shadow {i}", "user.name": "root"},
    }


def marker_value(fmt: str, marker: str) -> object:
    """The value a file made with ``marker`` stores in the format's marker column."""
    if fmt in ("aws-vpc-flow", "zeek-conn", "hubble-json"):
        return {"victim": 443, "decoy": 23}[marker]
    return marker


def sample(fmt: str, count: int, marker: str) -> str:
    """``count`` records of ``fmt`` whose marker column holds ``marker_value(fmt, marker)``."""
    value = marker_value(fmt, marker)
    if fmt == "aws-vpc-flow":
        lines = "".join(vpc_line(i, dport=str(value)) + "\n" for i in range(count))
        return VPC_HEADER + "\n" + lines
    if fmt == "eks-audit-s3":
        return "".join(eks_s3_line(i, user=str(value)) + "\n" for i in range(count))
    make = {
        "zeek-conn": lambda i: zeek_record(i, port=value),
        "hubble-json": lambda i: hubble_record(i, port=value),
        "k8s-audit": lambda i: audit_record(i, user=str(value)),
        "falco-json": lambda i: falco_record(i, host=str(value)),
        "gke-audit": lambda i: gke_record(i, user=str(value)),
        "aks-audit": lambda i: aks_record(i, user=str(value)),
    }[fmt]
    # (JSON lines need at least two records to be read as lines, not as one document.)
    return "".join(json.dumps(make(i)) + "\n" for i in range(count))
