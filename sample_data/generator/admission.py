"""Admission control and cloud posture: Kyverno, Pod Security labels, Prowler, Security Hub.

After the 2026-08-11 debug-pod incident (GT-13) the platform team rolled out Kyverno and Pod
Security admission labels on 2026-09-01. The exports are snapshots, in folders named after
their date (ingested with --observed-at that date):

- ``policy/2026-09-30/``: the in-scope Namespaces with their Pod Security labels, the Kyverno
  ClusterPolicies, and the policy reports; ``policy/2026-09-15/``: the first policy reports,
  where two audit-mode failures were already present (so they have an age on 2026-09-30).
- ``cloud/2026-09-28/``: Prowler's OCSF scan of the production account and of the development
  account (out of scope), and a Security Hub export of the production account.

Nothing here is random: names, uids and times derive from fixed inputs.
"""

from __future__ import annotations

import json

from .access import kind_list
from .specs import violations
from .util import Output, dt, k8s_yaml, stable_uuid, to_epoch
from .world import WORKLOADS

PROD_ACCOUNT = "111122223333"
DEV_ACCOUNT = "444455556666"
ROLLOUT = "2026-09-01T09:00:00Z"

# Pod Security labels per in-scope namespace (enforce / audit / warn levels). The rollout starts
# with audit and warn only: Kyverno enforces. (The API server keeps recording enforce-policy
# privileged:latest on pod creates, as it does for a namespace without an enforce label.)
PSA = {
    "payments": (None, "restricted", "restricted"),
    "card-vault": (None, "restricted", "restricted"),
    "checkout-web": (None, "restricted", "restricted"),
    "ingress-nginx": (None, "baseline", "baseline"),
    "monitoring": (None, "baseline", None),
    "logging": (None, "baseline", None),
    "falco": (None, "baseline", None),
    "kube-system": (None, None, None),
}
CDE = ("payments", "card-vault")
IN_SCOPE = tuple(PSA)
PRIVILEGED_AGENTS = ["falco", "monitoring", "logging", "kube-system"]
APPROVED = ("registry.northwind.example/* | registry.k8s.io/* | docker.io/library/* | "
            "docker.io/falcosecurity/* | docker.io/fluent/* | docker.io/prom/*")


def _namespace(name: str) -> dict:
    labels = {"kubernetes.io/metadata.name": name}
    if name in CDE:
        labels["pci.northwind.example/zone"] = "cde"
    enforce, audit, warn = PSA[name]
    for mode, level in (("enforce", enforce), ("audit", audit), ("warn", warn)):
        if level:
            labels[f"pod-security.kubernetes.io/{mode}"] = level
            labels[f"pod-security.kubernetes.io/{mode}-version"] = "v1.30"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "creationTimestamp": "2025-03-10T09:00:00Z",
            "labels": labels,
            "name": name,
            "resourceVersion": str(1000 + IN_SCOPE.index(name)),
            "uid": stable_uuid("namespace", name),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def _rule(name: str, action: str | None, match_ns: list[str] | None, exclude_ns: list[str] | None,
          validate: dict) -> dict:
    resources: dict = {"kinds": ["Pod"]}
    if match_ns:
        resources["namespaces"] = match_ns
    rule: dict = {"match": {"any": [{"resources": resources}]}, "name": name}
    if exclude_ns:
        rule["exclude"] = {"any": [{"resources": {"namespaces": exclude_ns}}]}
    if action:
        validate = {"failureAction": action, **validate}
    rule["validate"] = validate
    return rule


def _policy(name: str, category: str, rules: list[dict], action: str | None = None) -> dict:
    spec: dict = {"background": True, "rules": rules}
    if action:
        spec["validationFailureAction"] = action
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {
            "annotations": {"policies.kyverno.io/category": category,
                            "policies.kyverno.io/severity": "high"},
            "creationTimestamp": ROLLOUT,
            "generation": 1,
            "name": name,
            "resourceVersion": str(200000 + len(name)),
            "uid": stable_uuid("kyverno-policy", name),
        },
        "spec": spec,
    }


POLICIES = [
    ("restrict-image-registries", "validate-registries", "Supply Chain Security", "Enforce",
     list(IN_SCOPE[:-1]), None,
     {"message": "images must come from an approved registry",
      "pattern": {"spec": {"containers": [{"image": APPROVED}]}}}),
    ("require-image-digest", "check-digest", "Supply Chain Security", "Enforce",
     list(IN_SCOPE[:-1]), None,
     {"message": "images must be pinned by digest",
      "pattern": {"spec": {"containers": [{"image": "*@sha256:*"}]}}}),
    ("disallow-privileged-containers", "privileged-containers",
     "Pod Security Standards (Baseline)", "Enforce", None, PRIVILEGED_AGENTS,
     {"message": "Privileged mode is disallowed.",
      "pattern": {"spec": {"containers": [{"=(securityContext)": {"=(privileged)": "false"}}]}}}),
    ("require-run-as-nonroot", "run-as-non-root", "Pod Security Standards (Restricted)", "Audit",
     None, PRIVILEGED_AGENTS,
     {"message": "Running as root is not allowed.",
      "anyPattern": [{"spec": {"securityContext": {"runAsNonRoot": True}}}]}),
]


def _policies() -> list[dict]:
    return [_policy(name, category, [_rule(rule, action, match, exclude, body)])
            for name, rule, category, action, match, exclude, body in POLICIES]


def _applies(policy: tuple, namespace: str) -> bool:
    _, _, _, _, match, exclude, _ = policy
    return (match is None or namespace in match) and namespace not in (exclude or [])


def _report(workload, stamp: str) -> dict:
    seconds = to_epoch(dt(stamp))
    results = []
    for policy in POLICIES:
        name, rule, category, _, _, _, body = policy
        if not _applies(policy, workload.namespace):
            continue
        # require-run-as-nonroot (audit mode) fails specs that may run as root (GT-14, GT-15)
        failed = name == "require-run-as-nonroot" and bool(
            {"runAsUser 0", "runAsNonRoot unset"} & set(violations(workload.security)))
        result = {
            "category": category,
            "message": (f"validation error: {body['message']} rule autogen-{rule} failed at path "
                        "/spec/template/spec/securityContext/runAsNonRoot/") if failed
            else f"validation rule 'autogen-{rule}' passed.",
            "policy": name,
            "result": "fail" if failed else "pass",
            "rule": f"autogen-{rule}",
            "scored": True,
            "severity": "high" if failed else "medium",
            "source": "kyverno",
            "timestamp": {"nanos": 0, "seconds": seconds},
        }
        results.append(result)
    summary = {"error": 0, "fail": sum(r["result"] == "fail" for r in results),
               "pass": sum(r["result"] == "pass" for r in results), "skip": 0, "warn": 0}
    uid = stable_uuid("workload", workload.namespace, workload.name)
    api = "batch/v1" if workload.kind in ("Job", "CronJob") else "apps/v1"
    return {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {
            "creationTimestamp": stamp,
            "labels": {"app.kubernetes.io/managed-by": "kyverno"},
            "name": uid,
            "namespace": workload.namespace,
            "ownerReferences": [{"apiVersion": api, "kind": workload.kind,
                                 "name": workload.name, "uid": uid}],
            "resourceVersion": str(300000 + seconds % 100000),
            "uid": stable_uuid("policyreport", workload.namespace, workload.name, stamp),
        },
        "results": results,
        "scope": {"apiVersion": api, "kind": workload.kind, "name": workload.name,
                  "namespace": workload.namespace, "uid": uid},
        "summary": summary,
    }


def _reports(stamp: str) -> list[dict]:
    return [_report(w, stamp) for w in WORKLOADS]


def write_policy(out: Output) -> None:
    """The admission-control exports (see the module docstring)."""
    namespaces = [_namespace(n) for n in IN_SCOPE]
    out.write_text("policy/2026-09-30/prod-eu1-namespaces-2026-09-30.yaml",
                   k8s_yaml(kind_list(namespaces)), "k8s-yaml-list", len(namespaces),
                   note="kubectl get namespace <the 8 in-scope namespaces> -o yaml: Pod Security "
                        "labels")
    policies = _policies()
    out.write_text("policy/2026-09-30/kyverno-clusterpolicies-2026-09-30.yaml",
                   k8s_yaml(kind_list(policies)), "kyverno-clusterpolicy-list", len(policies),
                   note="kubectl get clusterpolicies -o yaml (Kyverno 1.12)")
    for date, stamp in (("2026-09-15", "2026-09-15T05:00:00Z"),
                        ("2026-09-30", "2026-09-30T05:00:00Z")):
        reports = _reports(stamp)
        out.write_text(f"policy/{date}/kyverno-policyreports-{date}.yaml",
                       k8s_yaml(kind_list(reports)), "wgpolicyk8s-policyreport-list",
                       sum(len(r["results"]) for r in reports),
                       note="kubectl get policyreports -A -o yaml; one report per workload")


# --------------------------------------------------------------------------- cloud posture

CLUSTER_ARN = f"arn:aws:eks:eu-west-1:{PROD_ACCOUNT}:cluster/prod-eu1"
PROWLER_CHECKS = [
    # (event_code, title, severity, status, resource type, resource uid, PCI-4.0 requirements)
    ("eks_cluster_not_publicly_accessible", "EKS cluster API endpoint is not publicly accessible",
     "High", "FAIL", "AwsEksCluster", CLUSTER_ARN, ["1.3.1", "1.4.1"]),
    ("eks_control_plane_logging_all_types_enabled", "EKS control plane logging is enabled for "
     "all log types", "Medium", "PASS", "AwsEksCluster", CLUSTER_ARN, ["10.2.1"]),
    ("cloudtrail_multi_region_enabled", "CloudTrail is enabled in every region", "High", "PASS",
     "AwsCloudTrailTrail", f"arn:aws:cloudtrail:eu-west-1:{PROD_ACCOUNT}:trail/org-trail",
     ["10.2.1", "10.3.3"]),
    ("iam_root_mfa_enabled", "The root account has MFA enabled", "Critical", "PASS", "Other",
     f"arn:aws:iam::{PROD_ACCOUNT}:root", ["8.4.1"]),
    ("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
     "No security group allows SSH from the internet", "High", "PASS", "AwsEc2SecurityGroup",
     f"arn:aws:ec2:eu-west-1:{PROD_ACCOUNT}:security-group/sg-0c1d2e3f4a5b6c7d8", ["1.3.1"]),
]
DEV_CHECKS = [
    ("ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
     "No security group allows SSH from the internet", "High", "FAIL", "AwsEc2SecurityGroup",
     f"arn:aws:ec2:eu-west-1:{DEV_ACCOUNT}:security-group/sg-0a9b8c7d6e5f4a3b2", ["1.3.1"]),
]
SCAN_TIME = "2026-09-28T05:42:17.318902"


def _ocsf(account: str, check: tuple) -> dict:
    code, title, severity, status, rtype, uid, pci = check
    name = uid.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    detail = f"{title}: {'not met' if status == 'FAIL' else 'met'} for {name}."
    return {
        "message": detail,
        "metadata": {"event_code": code, "product": {"name": "Prowler", "uid": "prowler",
                                                     "vendor_name": "Prowler",
                                                     "version": "5.10.2"},
                     "profiles": ["cloud", "datetime"], "tenant_uid": "", "version": "1.5.0"},
        "severity_id": {"Critical": 5, "High": 4, "Medium": 3, "Low": 2}[severity],
        "severity": severity,
        "status": "New",
        "status_code": status,
        "status_detail": detail,
        "status_id": 1,
        "unmapped": {"related_url": "", "categories": ["cluster-security"], "depends_on": [],
                     "related_to": [], "additional_urls": [], "notes": "",
                     "compliance": {"PCI-4.0": pci, "CIS-3.0": ["5.4.2"]}},
        "activity_name": "Create",
        "activity_id": 1,
        "finding_info": {"created_time": to_epoch(dt(SCAN_TIME[:19])),
                         "created_time_dt": SCAN_TIME, "desc": title + ".",
                         "product_uid": "prowler", "title": title, "types": [],
                         "uid": f"prowler-aws-{code}-{account}-eu-west-1-{name}"},
        "resources": [{"cloud_partition": "aws", "region": "eu-west-1", "data": {"details": ""},
                       "group": {"name": code.split("_", 1)[0]}, "labels": [], "name": name,
                       "type": rtype, "uid": uid}],
        "category_name": "Findings",
        "category_uid": 2,
        "class_name": "Detection Finding",
        "class_uid": 2004,
        "cloud": {"account": {"name": "northwind-prod" if account == PROD_ACCOUNT
                              else "northwind-dev", "type": "AWS Account", "type_id": 10,
                              "uid": account, "labels": []},
                  "org": {"name": "", "uid": ""}, "provider": "aws", "region": "eu-west-1"},
        "remediation": {"desc": f"Bring {name} in line: {title.lower()}.", "references": []},
        "risk_details": "",
        "time": to_epoch(dt(SCAN_TIME[:19])),
        "time_dt": SCAN_TIME,
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
    }


def _asff(control: str, title: str, label: str, status: str | None, workflow: str,
          rtype: str, rid: str, types: list[str], product: str = "Security Hub",
          note: str = "") -> dict:
    finding_id = (f"arn:aws:securityhub:eu-west-1:{PROD_ACCOUNT}:security-control/{control}/"
                  f"finding/{stable_uuid('securityhub', control, rid)}")
    doc: dict = {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": f"arn:aws:securityhub:eu-west-1::product/aws/"
                      f"{'guardduty' if product == 'GuardDuty' else 'securityhub'}",
        "ProductName": product,
        "CompanyName": "AWS",
        "Region": "eu-west-1",
        "GeneratorId": f"security-control/{control}",
        "AwsAccountId": PROD_ACCOUNT,
        "Types": types,
        "FirstObservedAt": "2026-07-03T02:11:09.512Z",
        "LastObservedAt": "2026-09-28T02:11:09.512Z",
        "CreatedAt": "2026-07-03T02:11:09.512Z",
        "UpdatedAt": "2026-09-28T02:11:41.204Z",
        "Severity": {"Label": label, "Original": label},
        "Title": title,
        "Description": title + ".",
        "Resources": [{"Type": rtype, "Id": rid, "Partition": "aws", "Region": "eu-west-1"}],
        "Workflow": {"Status": workflow},
        "WorkflowState": "NEW" if workflow == "NEW" else "IN_PROGRESS",
        "RecordState": "ACTIVE",
    }
    if note:
        doc["Note"] = {"Text": note, "UpdatedBy": "carol@northwind.example",
                       "UpdatedAt": "2026-08-02T10:15:00.000Z"}
    if status:
        doc["Compliance"] = {"Status": status, "SecurityControlId": control,
                             "RelatedRequirements": ["PCI DSS v4.0.1/10.5.1"],
                             "AssociatedStandards": [{"StandardsId":
                                                      "standards/pci-dss/v/4.0.1"}]}
        doc["ProductFields"] = {"ControlId": control,
                                "StandardsArn": "arn:aws:securityhub:::standards/pci-dss/v/4.0.1"}
    return doc


def write_cloud(out: Output) -> None:
    """The cloud-posture exports (see the module docstring)."""
    prod = [_ocsf(PROD_ACCOUNT, c) for c in PROWLER_CHECKS]
    out.write_text(f"cloud/2026-09-28/prowler-output-{PROD_ACCOUNT}-20260928054217.ocsf.json",
                   json.dumps(prod, indent=2) + "\n", "prowler-ocsf", len(prod),
                   note="prowler aws --output-formats json-ocsf, production account")
    dev = [_ocsf(DEV_ACCOUNT, c) for c in DEV_CHECKS]
    out.write_text(f"cloud/2026-09-28/prowler-output-{DEV_ACCOUNT}-20260928061003.ocsf.json",
                   json.dumps(dev, indent=2) + "\n", "prowler-ocsf", len(dev),
                   note="development account: not in scope")
    findings = [
        _asff("S3.8", "S3 general purpose buckets should block public access", "HIGH", "FAILED",
              "SUPPRESSED", "AwsS3Bucket", "arn:aws:s3:::northwind-audit-archive",
              ["Software and Configuration Checks/Industry and Regulatory Standards"],
              note="accepted by the platform team: bucket policy denies public reads"),
        _asff("CloudTrail.2", "CloudTrail should have encryption at-rest enabled", "MEDIUM",
              "PASSED", "RESOLVED", "AwsCloudTrailTrail",
              f"arn:aws:cloudtrail:eu-west-1:{PROD_ACCOUNT}:trail/org-trail",
              ["Software and Configuration Checks/Industry and Regulatory Standards"]),
        _asff("GuardDuty", "EC2 instance i-0f3e2d1c0b9a8f7e6 is being probed on port 443 from "
              "a known scanner", "HIGH", None, "NEW", "AwsEc2Instance",
              f"arn:aws:ec2:eu-west-1:{PROD_ACCOUNT}:instance/i-0f3e2d1c0b9a8f7e6",
              ["TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort"], product="GuardDuty"),
    ]
    out.write_text("cloud/2026-09-28/securityhub-findings-2026-09-28.json",
                   json.dumps({"Findings": findings}, indent=2) + "\n", "asff", len(findings),
                   note="aws securityhub get-findings, production account")
