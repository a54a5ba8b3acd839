"""Admission policies and reports, and cloud-posture findings, as the tools write them.

FORMATS.md sections 21-24: Kyverno/OpenReports policy reports (one per resource with ``scope``,
or aggregated with ``resources[]``), ``kubectl get -o yaml`` lists, Gatekeeper constraints with
their audit status, Kyverno policies and ValidatingAdmissionPolicy bindings; Prowler OCSF and
Security Hub ASFF findings.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import yaml

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest


def report(**fields: Any) -> dict[str, Any]:
    """A Kyverno 1.11+ PolicyReport as `kubectl get policyreport -o yaml` prints it."""
    doc: dict[str, Any] = {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {
            "creationTimestamp": "2026-09-28T06:00:11Z",
            "labels": {"app.kubernetes.io/managed-by": "kyverno"},
            "name": "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
            "namespace": "payments",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "payments-cache",
                    "uid": "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
                }
            ],
            "resourceVersion": "918273",
            "uid": "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
        },
        "results": [
            {
                "category": "Best Practices",
                "message": "validation error: images must come from registry.northwind.example. "
                "rule validate-registries failed at path /spec/template/spec/containers/0/image/",
                "policy": "restrict-image-registries",
                "result": "fail",
                "rule": "validate-registries",
                "scored": True,
                "severity": "high",
                "source": "kyverno",
                "timestamp": {"nanos": 0, "seconds": 1790575211},
            },
            {
                "category": "Pod Security Standards (Restricted)",
                "message": "validation rule 'run-as-non-root' passed.",
                "policy": "require-run-as-nonroot",
                "properties": {"controlsJSON": '[{"ID":"runAsNonRoot"}]'},
                "result": "pass",
                "rule": "run-as-non-root",
                "scored": True,
                "severity": "medium",
                "source": "kyverno",
                "timestamp": {"nanos": -5000, "seconds": 1790575211},
            },
        ],
        "scope": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "payments-cache",
            "namespace": "payments",
            "uid": "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        },
        "summary": {"error": 0, "fail": 1, "pass": 1, "skip": 0, "warn": 0},
    }
    doc.update(fields)
    return doc


def test_kubectl_list_of_policy_reports(ingest: Ingest) -> None:
    listing = {"apiVersion": "v1", "items": [report()], "kind": "List", "metadata": {}}
    loaded = ingest(yaml.safe_dump(listing, sort_keys=False), name="policyreports.yaml")
    assert (loaded.result.format, loaded.result.family) == ("admission-policy", "policy")
    rows = loaded.table("admission_results")
    assert [r["locator"] for r in rows] == ["doc:1#/items/0/results/0", "doc:1#/items/0/results/1"]
    fail, ok = rows
    assert (fail["engine"], fail["policy"], fail["rule"], fail["result"], fail["severity"]) == (
        "kyverno",
        "restrict-image-registries",
        "validate-registries",
        "fail",
        "high",
    )
    assert (fail["resource_kind"], fail["resource_namespace"], fail["resource_name"]) == (
        "Deployment",
        "payments",
        "payments-cache",
    )
    assert fail["result_time"] == dt.datetime(2026, 9, 28, 6, 0, 11)
    assert ok["result_time"] == dt.datetime(2026, 9, 28, 6, 0, 10, 999995)
    assert fail["report_time"] == dt.datetime(2026, 9, 28, 6, 0, 11)
    assert json.loads(ok["properties"]) == {"controlsJSON": '[{"ID":"runAsNonRoot"}]'}
    assert loaded.result.notes == []


def test_aggregated_report_resources_and_summary_mismatch(ingest: Ingest) -> None:
    old = report(
        scope=None,
        summary={"pass": 0, "fail": 3},
        results=[
            {
                "policy": "disallow-privileged-containers",
                "rule": "privileged-containers",
                "result": "fail",
                "resources": [
                    {"apiVersion": "v1", "kind": "Pod", "name": "a", "namespace": "payments"},
                    {"apiVersion": "v1", "kind": "Pod", "name": "b", "namespace": "payments"},
                ],
                "source": "kyverno",
            },
            {"policy": "cve", "source": "Trivy", "severity": "critical"},
        ],
    )
    del old["scope"]
    old["metadata"].pop("ownerReferences")
    loaded = ingest(json.dumps(old), name="polr.json")
    rows = loaded.table("admission_results", order="length(locator), locator")
    assert [(r["locator"], r["resource_name"], r["result"]) for r in rows] == [
        ("#/results/1", None, "unknown"),
        ("#/results/0/resources/0", "a", "fail"),
        ("#/results/0/resources/1", "b", "fail"),
    ]
    assert rows[0]["engine"] == "trivy"
    assert "summary (fail 3) differs from its results (fail 1, unknown 1)" in loaded.result.notes[0]


def test_gatekeeper_constraints_kyverno_policies_and_bindings(ingest: Ingest) -> None:
    constraint = {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "K8sAllowedRepos",
        "metadata": {"name": "prod-repos", "creationTimestamp": "2026-07-01T09:00:00Z"},
        "spec": {
            "enforcementAction": "dryrun",
            "match": {
                "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
                "namespaces": ["payments", "card-*"],
                "excludedNamespaces": ["kube-system"],
            },
            "parameters": {"repos": ["registry.northwind.example/"]},
        },
        "status": {
            "auditTimestamp": "2026-09-28T05:00:00Z",
            "totalViolations": 3,
            "violations": [
                {
                    "enforcementAction": "dryrun",
                    "group": "",
                    "kind": "Pod",
                    "message": "container <redis> has an invalid image repo <redis:7.4.2>",
                    "name": "payments-cache-5d8f7-abcde",
                    "namespace": "payments",
                    "version": "v1",
                },
                {
                    "enforcementAction": "dryrun",
                    "group": "apps",
                    "kind": "Deployment",
                    "message": "container <redis> has an invalid image repo",
                    "name": "payments-cache",
                    "namespace": "payments",
                    "version": "v1",
                },
            ],
        },
    }
    kyverno = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "disallow-privileged-containers"},
        "spec": {
            "validationFailureAction": "Enforce",
            "validationFailureActionOverrides": [{"action": "Audit", "namespaces": ["falco"]}],
            "rules": [
                {
                    "name": "privileged-containers",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "exclude": {"any": [{"resources": {"namespaces": ["kube-system"]}}]},
                    "validate": {"message": "no privileged", "pattern": {}},
                },
                {
                    "name": "host-namespaces",
                    "match": {
                        "any": [
                            {
                                "resources": {
                                    "kinds": ["Pod"],
                                    "namespaceSelector": {
                                        "matchLabels": {"pci.northwind.example/zone": "cde"}
                                    },
                                }
                            }
                        ]
                    },
                    "validate": {"failureAction": "Audit", "pattern": {}},
                },
                {"name": "add-labels", "mutate": {"patchStrategicMerge": {}}},
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "approved-registries-cde"},
        "spec": {
            "policyName": "approved-registries",
            "validationActions": ["Deny", "Audit"],
            "matchResources": {
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": ["payments", "card-vault"],
                        }
                    ]
                }
            },
        },
    }
    text = "\n---\n".join(
        yaml.safe_dump(d, sort_keys=False) for d in (constraint, kyverno, binding)
    )
    loaded = ingest("---\n" + text, name="admission.yaml")
    policies = {(p["name"], p["rule"]): p for p in loaded.table("admission_policies")}
    gk = policies[("prod-repos", None)]
    assert (gk["engine"], gk["kind"], gk["action"], gk["action_raw"]) == (
        "gatekeeper",
        "K8sAllowedRepos",
        "dryrun",
        "dryrun",
    )
    assert (gk["match_namespaces"], gk["exclude_namespaces"], gk["match_kinds"]) == (
        ["payments", "card-*"],
        ["kube-system"],
        ["Pod"],
    )
    assert (gk["total_violations"], gk["listed_violations"]) == (3, 2)
    assert "reports 3 violations but lists 2" in loaded.result.notes[0]
    priv = policies[("disallow-privileged-containers", "privileged-containers")]
    assert (priv["action"], priv["match_namespaces"], priv["exclude_namespaces"]) == (
        "enforce",
        None,
        ["kube-system"],
    )
    assert json.loads(priv["namespace_overrides"])[0]["action"] == "Audit"
    host = policies[("disallow-privileged-containers", "host-namespaces")]
    assert (host["action"], host["selector_unresolved"]) == ("audit", True)
    assert ("disallow-privileged-containers", "add-labels") not in policies
    vap = policies[("approved-registries-cde", "approved-registries")]
    assert (vap["action"], vap["action_raw"], vap["match_namespaces"]) == (
        "enforce",
        "Deny+Audit",
        ["payments", "card-vault"],
    )
    violations = loaded.table("admission_results")
    assert [(v["resource_api_version"], v["resource_kind"], v["action"]) for v in violations] == [
        ("v1", "Pod", "dryrun"),
        ("apps/v1", "Deployment", "dryrun"),
    ]
    assert violations[0]["locator"] == "doc:1#/status/violations/0"
    assert violations[0]["report_name"] == "K8sAllowedRepos/prod-repos"
    assert loaded.result.stored == 2 + 4  # violations + constraint, 2 Kyverno rules, binding


def test_openreports_and_mixed_files(ingest: Ingest) -> None:
    openreport = report(apiVersion="openreports.io/v1alpha1", kind="Report")
    assert ingest(openreport, name="r.json").result.stored == 2
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}
    mixed = ingest({"apiVersion": "v1", "kind": "List", "items": [report(), namespace]})
    assert mixed.result.format == "kubernetes-objects"  # export admission objects on their own


def test_malformed_report_names_its_location(ingest: Ingest) -> None:
    with pytest.raises(MalformedRecordsError) as err:
        ingest(report(results={"policy": "x"}), name="bad.json")
    assert "#/results: results is not a list" in err.value.one_line()


def ocsf(**fields: Any) -> dict[str, Any]:
    """A Prowler 5.x json-ocsf finding for AWS."""
    doc: dict[str, Any] = {
        "message": "EKS cluster prod-eu1 has its API endpoint publicly accessible.",
        "metadata": {
            "event_code": "eks_cluster_not_publicly_accessible",
            "product": {
                "name": "Prowler",
                "uid": "prowler",
                "vendor_name": "Prowler",
                "version": "5.10.2",
            },
            "profiles": ["cloud", "datetime"],
            "version": "1.5.0",
        },
        "severity_id": 4,
        "severity": "High",
        "status": "New",
        "status_code": "FAIL",
        "status_detail": "EKS cluster prod-eu1 has its API endpoint publicly accessible.",
        "status_id": 1,
        "unmapped": {
            "compliance": {"PCI-4.0": ["1.3.1", "1.4.1"], "CIS-1.5": ["5.4.2"]},
        },
        "activity_name": "Create",
        "finding_info": {
            "created_time": 1790575211,
            "created_time_dt": "2026-09-28T06:00:11.123456",
            "desc": "Ensure the EKS API endpoint is not public.",
            "title": "EKS cluster endpoint is not publicly accessible",
            "uid": "prowler-aws-eks_cluster_not_publicly_accessible-111122223333-eu-west-1-"
            "prod-eu1",
        },
        "resources": [
            {
                "cloud_partition": "aws",
                "region": "eu-west-1",
                "group": {"name": "eks"},
                "name": "prod-eu1",
                "type": "AwsEksCluster",
                "uid": "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu1",
            }
        ],
        "class_name": "Detection Finding",
        "class_uid": 2004,
        "cloud": {
            "account": {"name": "northwind-prod", "type": "AWS Account", "uid": "111122223333"},
            "provider": "aws",
            "region": "eu-west-1",
        },
        "remediation": {"desc": "Restrict the public endpoint.", "references": []},
        "time": 1790575211,
        "time_dt": "2026-09-28T06:00:11.123456",
        "type_uid": 200401,
    }
    doc.update(fields)
    return doc


def test_prowler_ocsf(ingest: Ingest) -> None:
    muted = ocsf(status="Suppressed", status_code="PASS", severity="Critical")
    loaded = ingest([ocsf(), muted], name="prowler-output-111122223333-20260928.ocsf.json")
    first, second = loaded.table("cloud_findings")
    assert (first["source_format"], first["product"], first["check_id"]) == (
        "prowler-ocsf",
        "Prowler",
        "eks_cluster_not_publicly_accessible",
    )
    assert (first["status"], first["severity"], first["account_id"], first["region"]) == (
        "fail",
        "high",
        "111122223333",
        "eu-west-1",
    )
    assert first["resource_id"] == "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu1"
    assert first["pci_requirements"] == ["PCI-4.0 1.3.1", "PCI-4.0 1.4.1"]
    assert first["last_seen"] == dt.datetime(2026, 9, 28, 6, 0, 11, 123456)
    assert (second["status"], second["suppressed"], second["severity"]) == (
        "pass",
        True,
        "critical",
    )


def asff(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": "arn:aws:securityhub:eu-west-1:111122223333:security-control/EKS.1/finding/1a2b",
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        "ProductName": "Security Hub",
        "CompanyName": "AWS",
        "Region": "eu-west-1",
        "GeneratorId": "security-control/EKS.1",
        "AwsAccountId": "111122223333",
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "FirstObservedAt": "2026-07-02T08:00:00.000Z",
        "LastObservedAt": "2026-09-28T08:00:00.000Z",
        "CreatedAt": "2026-07-02T08:00:00.000Z",
        "UpdatedAt": "2026-09-28T08:00:00.000Z",
        "Severity": {"Label": "HIGH", "Normalized": 70, "Original": "HIGH"},
        "Title": "EKS cluster endpoints should not be publicly accessible",
        "Resources": [
            {
                "Type": "AwsEksCluster",
                "Id": "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu1",
                "Partition": "aws",
                "Region": "eu-west-1",
            }
        ],
        "Compliance": {
            "Status": "FAILED",
            "SecurityControlId": "EKS.1",
            "RelatedRequirements": ["PCI DSS v4.0.1/1.4.4", "NIST.800-53.r5 AC-21"],
            "AssociatedStandards": [{"StandardsId": "standards/pci-dss/v/4.0.1"}],
        },
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    }
    doc.update(fields)
    return doc


def test_security_hub_get_findings(ingest: Ingest) -> None:
    archived = asff(Id="x2", RecordState="ARCHIVED", Workflow={"Status": "RESOLVED"})
    threat = asff(
        Id="x3",
        Types=["TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"],
        Severity={"Normalized": 92},
        ProductName="GuardDuty",
    )
    del threat["Compliance"]
    loaded = ingest({"Findings": [asff(), archived, threat], "NextToken": "abc"}, name="sh.json")
    rows = loaded.table("cloud_findings")
    assert [r["locator"] for r in rows] == ["#/Findings/0", "#/Findings/1", "#/Findings/2"]
    control, closed, detection = rows
    assert (control["check_id"], control["status"], control["finding_kind"]) == (
        "EKS.1",
        "fail",
        "configuration",
    )
    assert control["pci_requirements"] == ["PCI DSS v4.0.1/1.4.4"]
    assert (closed["record_state"], closed["workflow_status"]) == ("ARCHIVED", "RESOLVED")
    assert (detection["status"], detection["severity"], detection["finding_kind"]) == (
        "fail",
        "critical",
        "threat",
    )
    bare = ingest([asff(Id="y1")], name="batch-import.json")
    assert bare.table("cloud_findings")[0]["locator"] == "#/0"
    with pytest.raises(MalformedRecordsError) as err:
        ingest({"findings": [asff(), {"SchemaVersion": "2018-10-08"}]}, name="broken.json")
    assert "#/findings/1: not an ASFF finding (no Id)" in err.value.one_line()
