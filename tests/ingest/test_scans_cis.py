"""kube-bench and kubescape: shapes, statuses and resource identity, as small inline files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest


def control(
    node_type: str = "node", statuses: tuple[str, ...] = ("PASS", "FAIL")
) -> dict[str, Any]:
    results = [
        {
            "test_number": f"4.1.{i + 1}",
            "test_desc": f"check {i + 1}",
            "audit": "stat -c %a /etc/kubernetes/kubelet.conf",
            "status": status,
            "scored": i == 0,
            "actual_value": "permissions=777\n" if status == "FAIL" else "",
            "expected_result": "bitmask '644'",
            "remediation": "chmod 644 /etc/kubernetes/kubelet.conf",
        }
        for i, status in enumerate(statuses)
    ]
    return {
        "id": "4",
        "version": "1.5",
        "text": "Worker Node Security Configuration",
        "node_type": node_type,
        "tests": [{"section": "4.1", "desc": "files", "results": results}],
    }


def test_kube_bench_bare_array(ingest: Ingest) -> None:
    loaded = ingest([control()])
    assert (loaded.result.format, loaded.result.stored) == ("kube-bench-json", 2)
    rows = loaded.table("config_findings")
    assert [(r["rule_id"], r["status"], r["status_raw"], r["scored"]) for r in rows] == [
        ("4.1.1", "pass", "PASS", True),
        ("4.1.2", "fail", "FAIL", False),
    ]
    assert rows[1]["actual_value"] == "permissions=777\n"
    assert rows[1]["expected_result"] == "bitmask '644'"
    assert rows[0]["locator"] == "#/0/tests/0/results/0"
    (scan,) = loaded.table("scans")
    assert (scan["scan_kind"], scan["node_type"], scan["benchmark_version"]) == (
        "cis-benchmark",
        "node",
        "1.5",
    )
    assert scan["scanner"] == "kube-bench"


def test_kube_bench_object_with_totals_warn_and_info(ingest: Ingest) -> None:
    doc = {
        "Controls": [control("master", ("WARN", "INFO")), control("etcd", ())],
        "Totals": {"total_pass": 0, "total_fail": 0, "total_warn": 1, "total_info": 1},
    }
    loaded = ingest(doc)
    assert loaded.result.stored == 2
    assert [r["status"] for r in loaded.table("config_findings")] == ["warn", "info"]
    assert [s["node_type"] for s in loaded.table("scans")] == ["master", "etcd"]  # etcd: no results


def test_kube_bench_concatenated_runs(ingest: Ingest) -> None:
    first = json.dumps({"Controls": [control("master")], "Totals": {}}, indent=1)
    second = json.dumps([control("node", ("FAIL",))], indent=1)
    loaded = ingest(first + "\n" + second + "\n")
    assert (loaded.result.format, loaded.result.stored) == ("kube-bench-json", 3)
    second_line = first.count("\n") + 2
    locators = [r["locator"] for r in loaded.table("config_findings")]
    assert locators == [
        "line:1#/Controls/0/tests/0/results/0",
        "line:1#/Controls/0/tests/0/results/1",
        f"line:{second_line}#/0/tests/0/results/0",
    ]


def test_kube_bench_unknown_status_is_malformed(ingest: Ingest) -> None:
    with pytest.raises(MalformedRecordsError, match="unknown status"):
        ingest([control(statuses=("MAYBE",))])


def kubescape_doc(**overrides: Any) -> dict[str, Any]:
    deployment = "path=1/api=apps/v1//Deployment/web"
    pod = "/v1/payments/Pod/api-0"
    doc: dict[str, Any] = {
        "clusterName": "prod-eu",
        "generationTime": "0001-01-01T00:00:00Z",
        "metadata": {"scanMetadata": {"kubescapeVersion": "v3.0.3"}},
        "summaryDetails": {
            "controls": {
                "C-0055": {"name": "Linux hardening", "scoreFactor": 4},
                "C-0057": {"name": "Privileged container", "scoreFactor": 8},
            }
        },
        "resources": [
            {
                "resourceID": deployment,
                "object": {"kind": "Deployment", "metadata": {"name": "web"}},
            }
        ],
        "results": [
            {
                "resourceID": deployment,
                "controls": [
                    {
                        "controlID": "C-0055",
                        "name": "Linux hardening",
                        "status": {"status": "failed"},
                        "rules": [
                            {
                                "name": "linux-hardening",
                                "paths": [{"fixPath": {"path": "spec.seccomp", "value": "X"}}],
                            }
                        ],
                    },
                    {
                        "controlID": "C-0057",
                        "name": "Privileged container",
                        "status": {"status": "passed", "subStatus": "w/exceptions"},
                    },
                ],
            },
            {
                "resourceID": pod,
                "controls": [{"controlID": "C-0057", "status": {"status": "skipped"}}],
            },
        ],
    }
    doc.update(overrides)
    return doc


def test_kubescape_statuses_severity_and_identity(ingest: Ingest) -> None:
    loaded = ingest(kubescape_doc())
    assert (loaded.result.format, loaded.result.stored) == ("kubescape-json", 3)
    rows = loaded.table("config_findings")
    summary = [(r["rule_id"], r["status"], r["status_raw"], r["severity"]) for r in rows]
    assert summary == [
        ("C-0055", "fail", "failed", "medium"),
        ("C-0057", "exception", "passed/w/exceptions", "high"),
        ("C-0057", "warn", "skipped", "high"),
    ]
    assert rows[0]["message"] == "fix: spec.seccomp = X"
    assert (rows[2]["k8s_namespace"], rows[2]["k8s_kind"], rows[2]["k8s_name"]) == (
        "payments",
        "Pod",
        "api-0",
    )
    scans = loaded.table("scans")
    assert [(s["k8s_kind"], s["k8s_name"], s["cluster_name"]) for s in scans] == [
        ("Deployment", "web", "prod-eu"),
        ("Pod", "api-0", "prod-eu"),
    ]
    assert all(s["scanned_at"] is None for s in scans)  # Go zero time = not reported
    assert scans[0]["scanner_version"] == "v3.0.3"
