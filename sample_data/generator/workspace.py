"""Workspace inputs for the demo: auditkit.toml, approved flows, exceptions, attestations.

These are hand-maintained documents in real life, so they are written as text in
the style a person would use (flow mappings, unquoted dates, comments).
"""

from __future__ import annotations

from datetime import date

from .util import Output, days
from .world import Q2, Q3

TOML = """# Northwind Payments Ltd: auditkit workspace for the {label} assessment.
[organisation]
name = "Northwind Payments Ltd"
entity_type = "service_provider"   # or "merchant"

[period]
start = {start}
end = {end}

[scope]                              # the declared CDE
namespaces = ["payments", "card-vault"]
labels = ["pci.northwind.example/zone=cde"]
cidrs = ["10.20.0.0/16"]
images = ["registry.northwind.example/payments/*"]
connected_namespaces = ["checkout-web", "ingress-nginx", "monitoring", "logging", "falco", "kube-system"]
connected_cidrs = ["10.30.0.0/16"]
internal_cidrs = ["10.0.0.0/8"]
cloud_accounts = ["111122223333"]    # the production AWS account (EKS, VPC, logging)

[paths]
exceptions = "exceptions.yaml"
attestations = "attestations"
approved_flows = "approved-flows.yaml"

# Where images may come from: our registry, the Kubernetes project's, Docker Hub's official
# images and the vendors the platform team approved. Nothing else (docker.io/bitnami...).
[images]
approved_registries = ["registry.northwind.example", "registry.k8s.io", "docker.io/library",
                       "docker.io/falcosecurity", "docker.io/fluent", "docker.io/prom"]

[identities]
developers = ["group:northwind:developers"]          # the developers' group in the identity provider

# Who may receive or read which Secrets of the CDE and connected namespaces.
[[secret_consumers]]
secrets = ["payments/payments-db-credentials", "payments/payments-api-tls"]
principals = ["system:serviceaccount:payments:payments-api"]

[[secret_consumers]]
secrets = ["card-vault/card-vault-db"]
principals = ["system:serviceaccount:card-vault:card-vault", "system:serviceaccount:card-vault:card-vault-db"]

[[secret_consumers]]
secrets = ["card-vault/kek-*", "card-vault/dek-*"]   # key material: the vault only
principals = ["system:serviceaccount:card-vault:card-vault"]

# Entity-specific inputs some checks need (see each check's parameters).
[params.secrets_key_material_access]
key_secrets = ["card-vault/kek-*", "card-vault/dek-*"]   # key-encrypting and data-encrypting keys

[params.cde_store_direct_access]
store_pods = ["card-vault/card-vault-db"]                 # the cardholder-data store
store_addresses = ["10.20.1.46"]                          # card-vault-db-0 (StatefulSet, fixed address)
store_ports = ["5432/tcp"]                                # where it answers queries
store_clients = ["card-vault/card-vault", "payments/payments-api"]   # its application workloads
store_admins = ["group:northwind:dba"]                    # its administrators

[params.inventory_undeclared_namespaces]
out_of_scope_namespaces = ["dev-sandbox", "tools"]        # assessed as out of scope

[params.flow_segmentation_out_of_scope]
out_of_scope_namespaces = ["dev-sandbox", "tools"]
out_of_scope_cidrs = ["10.99.0.0/16"]                     # the development node pool

# Emergency identities kept unused on purpose (their use is reviewed when it happens).
[[break_glass]]
principal = "carol@northwind.example"
justification = "sealed emergency cluster access, used only under the major-incident procedure"
reference = "OPS-RUNBOOK-17"
"""


def _q(v: str) -> str:
    return '"' + v + '"' if ":" in v or v.startswith("*") else v


def _s(v: str) -> str:
    """A block-context string, quoted when a plain scalar would be misread."""
    if ": " in v or " #" in v or v[0] in "*&!|>'\"%@`[]{},?-#":
        return '"' + v.replace('"', '\\"') + '"'
    return v


def _sel(namespaces: list[str], cidrs: list[str]) -> str:
    parts = []
    if namespaces:
        parts.append("namespaces: [" + ", ".join(namespaces) + "]")
    if cidrs:
        parts.append("cidrs: [" + ", ".join(_q(c) for c in cidrs) + "]")
    return "{" + ", ".join(parts) + "}"


FLOWS = [
    ("F-001", "checkout web calls the payments API",
     (["checkout-web"], ["10.30.0.0/16"]), (["payments"], ["10.20.0.0/16"]), ["8443/tcp"],
     "card-not-present checkout submits payment requests to payments-api",
     "cso@northwind.example", "2026-02-03"),
    ("F-002", "customers reach the public checkout load balancer",
     ([], ["0.0.0.0/0", "::/0"]),
     (["ingress-nginx"], ["203.0.113.10/32", "10.30.100.10/32", "10.30.101.10/32",
                          "2001:db8:4a00:100::10/128"]), ["443/tcp"],
     "public HTTPS checkout service (the only internet-facing service)",
     "cso@northwind.example", "2025-03-20"),
    ("F-003", "load balancer and ingress controller forward to the checkout web tier",
     (["ingress-nginx"], ["10.30.100.10/32", "10.30.101.10/32", "10.30.0.0/16"]),
     (["ingress-nginx", "checkout-web"], ["10.30.0.0/16"]), ["443/tcp", "8080/tcp"],
     "TLS termination and routing to checkout-web and checkout-static",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-004", "payments-api uses the card vault and its database",
     (["payments"], ["10.20.0.0/16"]), (["card-vault"], ["10.20.0.0/16"]),
     ["8200/tcp", "5432/tcp"], "tokenisation calls and card-data store access by the API only",
     "cso@northwind.example", "2025-03-20"),
    ("F-005", "payments-api sends authorisations to the acquirer",
     (["payments"], ["10.20.0.0/16"]), ([], ["198.51.100.10/32"]), ["443/tcp"],
     "card authorisation and settlement with the acquirer (TLS 1.2+, mutual auth)",
     "cso@northwind.example", "2025-03-20"),
    ("F-006", "nodes synchronise time with the designated NTP servers",
     ([], ["10.20.0.0/16", "10.30.0.0/16", "10.99.0.0/16"]),
     ([], ["10.0.0.10/32", "10.0.0.11/32"]), ["123/udp"],
     "PCI DSS 10.6: internal systems use only the designated time servers",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-007", "designated NTP servers use the approved upstream",
     ([], ["10.0.0.10/32", "10.0.0.11/32"]), ([], ["192.0.2.123/32"]), ["123/udp"],
     "only the designated time servers talk to an external, UTC-based source",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-008", "monitoring scrapes metrics",
     (["monitoring"], ["10.30.0.0/16"]),
     (["payments", "card-vault"], ["10.20.0.0/16", "10.30.0.0/16", "10.99.0.0/16"]),
     ["9090/tcp", "9100/tcp"], "Prometheus scrapes workload metrics and node-exporter",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-009", "pods resolve names with cluster DNS",
     ([], ["10.20.0.0/16", "10.30.0.0/16", "10.99.0.0/16"]),
     (["kube-system"], ["10.30.1.53/32", "10.30.2.53/32"]), ["53/udp", "53/tcp"],
     "CoreDNS in kube-system", "head-of-platform@northwind.example", "2025-03-20"),
    ("F-010", "nodes and workloads reach the EKS API endpoint",
     ([], ["10.20.0.0/16", "10.30.0.0/16", "10.99.0.0/16"]),
     ([], ["10.0.1.20/32", "10.0.1.21/32"]), ["443/tcp"],
     "kubelet, controllers and in-cluster clients talk to the private API endpoint",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-011", "nodes ship logs to the CloudWatch Logs endpoint",
     (["logging"], ["10.20.0.0/16", "10.30.0.0/16", "10.99.0.0/16"]), ([], ["10.0.2.50/32"]),
     ["443/tcp"], "Fluent Bit ships container and audit logs to central storage",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-012", "card-vault reads and writes its database",
     (["card-vault"], ["10.20.0.0/16"]), (["card-vault"], ["10.20.0.0/16"]), ["5432/tcp"],
     "the tokenisation service stores encrypted PAN in card-vault-db",
     "cso@northwind.example", "2025-03-20"),
    ("F-013", "payments-api uses its cache",
     (["payments"], ["10.20.0.0/16"]), (["payments"], ["10.20.0.0/16"]), ["6379/tcp"],
     "session and idempotency-key cache (no cardholder data)", "cso@northwind.example",
     "2025-03-20"),
    ("F-014", "engineers on the VPN reach the EKS API endpoint",
     ([], ["10.8.0.0/16"]), ([], ["10.0.1.20/32", "10.0.1.21/32"]), ["443/tcp"],
     "kubectl access through the private API endpoint (OIDC with MFA)",
     "head-of-platform@northwind.example", "2025-03-20"),
    ("F-015", "the EKS control plane reaches the kubelets",
     ([], ["10.0.1.20/32", "10.0.1.21/32"]),
     ([], ["10.20.0.0/16", "10.30.0.0/16", "10.99.0.0/16"]), ["10250/tcp"],
     "exec, logs and port-forward are proxied by the API server to the kubelet",
     "head-of-platform@northwind.example", "2025-03-20"),
]


def approved_flows_yaml() -> str:
    out = ["# Northwind Payments Ltd: approved data flows (the register behind PCI DSS 1.2.4 "
           "and 1.2.5).", "# Owner: security architecture. Reviewed with the NSC rule sets.",
           "flows:"]
    for fid, desc, src, dst, ports, need, by, on in FLOWS:
        out += [f"  - id: {fid}",
                f"    description: {_s(desc)}",
                f"    source: {_sel(*src)}",
                f"    destination: {_sel(*dst)}",
                "    ports: [" + ", ".join(f'"{p}"' for p in ports) + "]",
                f"    business_need: {_s(need)}",
                f"    approved_by: {by}",
                f"    approved_on: {on}"]
    return "\n".join(out) + "\n"


WORKSHEET_FALCO = """    compensating_control:
      constraints: the runtime sensor must load a kernel probe and read every container's processes
      definition: the Falco DaemonSet runs privileged, in the host PID namespace, as root, with host paths mounted read-only
      objective: a compromised sensor must not become a path into the CDE nodes
      identified_risk: a vulnerable or tampered sensor image would run with node-level privileges
      validation: image pinned by digest and scanned monthly; namespace writable only by the platform leads and Argo CD
      maintenance: reviewed with the six-monthly access review; expires with the next Falco major upgrade
"""
WORKSHEET_NODE = """    compensating_control:
      constraints: node-exporter reads host process, network and filesystem metrics
      definition: runs as nobody (65534) with a read-only root filesystem; host paths mounted read-only
      objective: host access limited to reading metrics
      identified_risk: a compromised exporter could read host process information
      validation: image pinned by digest and scanned monthly; only port 9100 reachable, from Prometheus
      maintenance: reviewed with the six-monthly NSC review
"""
WORKSHEET_FLUENT = """    compensating_control:
      constraints: Fluent Bit must read every container's log files on the node
      definition: runs as root with /var/log mounted; root filesystem read-only; no privilege escalation
      objective: log shipping without write access to the host
      identified_risk: a compromised shipper could read other workloads' logs
      validation: image pinned by digest and scanned monthly; egress only to the logs endpoint
      maintenance: reviewed with the six-monthly access review
"""


def _exception(eid: str, check: str, kind: str, resource: str, why: str, approved_on: str,
               expires: str, worksheet: str = "") -> str:
    return (f"  - id: {eid}\n    check: {check}\n    kind: {kind}\n"
            f'    match: {{resource: "{resource}"}}\n    justification: {why}\n'
            f"    approved_by: cso@northwind.example\n    approved_on: {approved_on}\n"
            f'    expires: {expires}\n    requirement: "2.2.6"\n' + worksheet)


EXCEPTIONS = (
    "# Time-boxed, approved deviations (schema: docs/registers.md). Resources are the\n"
    "# workload:container keys the hardening checks report.\n"
    "exceptions:\n"
    + _exception("EXC-001", "workload_privileged_containers", "compensating_control",
                 "falco/DaemonSet/falco:falco", "the runtime sensor loads a kernel probe",
                 "2025-03-10", "2027-03-10", WORKSHEET_FALCO)
    + _exception("EXC-002", "workload_host_namespaces", "compensating_control",
                 "falco/DaemonSet/falco:falco", "the runtime sensor watches host processes",
                 "2025-03-10", "2027-03-10", WORKSHEET_FALCO)
    + _exception("EXC-003", "workload_sensitive_host_paths", "compensating_control",
                 "falco/DaemonSet/falco:falco", "the runtime sensor reads /proc, /etc, /boot and "
                 "the containerd socket", "2025-03-10", "2027-03-10", WORKSHEET_FALCO)
    + _exception("EXC-004", "workload_runs_as_root", "compensating_control",
                 "falco/DaemonSet/falco:falco", "the runtime sensor needs root to load its probe",
                 "2025-03-10", "2027-03-10", WORKSHEET_FALCO)
    + _exception("EXC-005", "workload_host_namespaces", "compensating_control",
                 "monitoring/DaemonSet/node-exporter:node-exporter",
                 "node-exporter reads host network and process metrics", "2025-03-10",
                 "2027-03-10", WORKSHEET_NODE)
    + _exception("EXC-006", "workload_sensitive_host_paths", "compensating_control",
                 "monitoring/DaemonSet/node-exporter:node-exporter",
                 "node-exporter reads /proc, /sys and the root filesystem (read-only)",
                 "2025-03-10", "2027-03-10", WORKSHEET_NODE)
    + _exception("EXC-007", "workload_runs_as_root", "compensating_control",
                 "logging/DaemonSet/fluent-bit:fluent-bit",
                 "Fluent Bit reads container logs owned by root", "2025-03-10", "2027-03-10",
                 WORKSHEET_FLUENT)
    + _exception("EXC-008", "workload_sensitive_host_paths", "compensating_control",
                 "logging/DaemonSet/fluent-bit:fluent-bit",
                 "Fluent Bit reads /var/log on every node", "2025-03-10", "2027-03-10",
                 WORKSHEET_FLUENT)
    + _exception("EXC-009", "workload_runs_as_root", "risk_acceptance",
                 "checkout-web/Deployment/checkout-web:checkout-web",
                 "legacy image runs as root until the 4.x base image migration", "2025-12-15",
                 "2026-06-30")
)


def _att_list(items: list[dict], header: str) -> str:
    out = [header, "attestations:"]
    for item in items:
        first = True
        for key, value in item.items():
            prefix = "  - " if first else "    "
            first = False
            if isinstance(value, dict):
                inner = ", ".join(f"{k}: {v}" for k, v in value.items())
                out.append(f"{prefix}{key}: {{{inner}}}")
            elif isinstance(value, bool):
                out.append(f"{prefix}{key}: {'true' if value else 'false'}")
            elif key == "requirement":
                out.append(f'{prefix}{key}: "{value}"')
            elif isinstance(value, str) and (": " in value or value.startswith(("*", "#"))):
                out.append(f'{prefix}{key}: "{value}"')
            else:
                out.append(f"{prefix}{key}: {value}")
    return "\n".join(out) + "\n"


LOG_REVIEW_MISSING_Q3 = ["2026-07-19", "2026-08-14", "2026-09-06"]
REVIEWERS = ["dave@northwind.example", "secops-oncall@northwind.example"]


def log_reviews(start: date, end: date, missing: list[str]) -> list[dict]:
    out = []
    for i, day in enumerate(days(start, end)):
        iso = day.isoformat()
        if iso in missing:
            continue
        out.append({"id": f"LR-{iso}", "requirement": "10.4.1", "kind": "log_review",
                    "date": iso, "performed_by": REVIEWERS[i % 2],
                    "evidence": f"SIEM-REVIEW-{iso.replace('-', '')}", "result": "pass"})
    return out


def write_all(out: Output) -> None:
    base = "workspace"
    out.write_text(f"{base}/auditkit.toml",
                   TOML.format(label="2026-Q3", start=Q3[0], end=Q3[1]), "auditkit-toml", 1)
    out.write_text(f"{base}/auditkit-2026-q2.toml",
                   TOML.format(label="previous-quarter (2026-Q2)", start=Q2[0], end=Q2[1]),
                   "auditkit-toml", 1, note="same workspace, previous quarter, for comparison")
    out.write_text(f"{base}/approved-flows.yaml", approved_flows_yaml(), "approved-flows-yaml",
                   len(FLOWS))
    out.write_text(f"{base}/exceptions.yaml", EXCEPTIONS, "exceptions-yaml", 9)
    att = f"{base}/attestations"
    q3 = log_reviews(Q3[0], Q3[1], LOG_REVIEW_MISSING_Q3)
    out.write_text(f"{att}/log-reviews-2026-q3.yaml",
                   _att_list(q3, "# Daily security-log reviews (SIEM), 2026-Q3."),
                   "attestations-yaml", len(q3))
    q2 = log_reviews(Q2[0], Q2[1], [])
    out.write_text(f"{att}/log-reviews-2026-q2.yaml",
                   _att_list(q2, "# Daily security-log reviews (SIEM), 2026-Q2."),
                   "attestations-yaml", len(q2))
    singles = {
        "access-reviews.yaml": ("# User and system account access recertifications.", [
            {"id": "AR-2025-09", "requirement": "7.2.4", "kind": "access_review",
             "period": {"start": "2025-03-01", "end": "2025-08-31"}, "date": "2025-09-20",
             "performed_by": "bob@northwind.example", "evidence": "ACCESS-REVIEW-2025-H2",
             "result": "pass"},
            {"id": "AR-2026-03", "requirement": "7.2.4", "kind": "access_review",
             "period": {"start": "2025-09-01", "end": "2026-02-28"}, "date": "2026-03-15",
             "performed_by": "bob@northwind.example", "evidence": "ACCESS-REVIEW-2026-H1",
             "result": "pass", "notes": "management sign-off by the CSO on 2026-03-18"},
            {"id": "AR-2026-09", "requirement": "7.2.4", "kind": "access_review",
             "period": {"start": "2026-03-01", "end": "2026-08-31"}, "date": "2026-09-10",
             "performed_by": "bob@northwind.example", "evidence": "ACCESS-REVIEW-2026-H2",
             "result": "pass",
             "notes": "management sign-off by the CSO on 2026-09-14; leaver judy still listed"},
            {"id": "SAR-2026-03", "requirement": "7.2.5.1", "kind": "access_review",
             "date": "2026-03-15", "performed_by": "henry@northwind.example",
             "evidence": "SYSTEM-ACCOUNT-REVIEW-2026-H1", "result": "pass"},
            {"id": "SAR-2026-09", "requirement": "7.2.5.1", "kind": "access_review",
             "date": "2026-09-10", "performed_by": "henry@northwind.example",
             "evidence": "SYSTEM-ACCOUNT-REVIEW-2026-H2", "result": "pass"},
        ]),
        "asv-scans.yaml": ("# External vulnerability scans by the approved scanning vendor. "
                           "No passing scan was obtained in 2026-Q2.", [
            {"id": "ASV-2025-Q4", "requirement": "11.3.2", "kind": "asv_scan",
             "date": "2025-10-14", "performed_by": "Clearline Scanning Services (ASV)",
             "evidence": "ASV-AOSC-2025-10-14.pdf", "result": "pass"},
            {"id": "ASV-2026-Q1", "requirement": "11.3.2", "kind": "asv_scan",
             "date": "2026-01-20", "performed_by": "Clearline Scanning Services (ASV)",
             "evidence": "ASV-AOSC-2026-01-20.pdf", "result": "pass"},
            {"id": "ASV-2026-Q3", "requirement": "11.3.2", "kind": "asv_scan",
             "date": "2026-08-11", "performed_by": "Clearline Scanning Services (ASV)",
             "evidence": "ASV-AOSC-2026-08-11.pdf", "result": "pass"},
        ]),
        "segmentation-tests.yaml": ("# Segmentation penetration tests of the CDE boundary.", [
            {"id": "SEG-2025-11", "requirement": "11.4.6", "kind": "segmentation_test",
             "date": "2025-11-20", "performed_by": "Harbour Security Testing Ltd (independent)",
             "evidence": "PT-2025-117 segmentation report", "result": "pass",
             "notes": "segments tested: cde-dev, cde-tools, cde-general"},
        ]),
        "nsc-reviews.yaml": ("# Six-monthly reviews of the network security control rule sets.", [
            {"id": "NSC-2025-11", "requirement": "1.2.7", "kind": "nsc_review",
             "date": "2025-11-30", "performed_by": "carol@northwind.example",
             "evidence": "REV-2025-NSC-2", "result": "pass"},
            {"id": "NSC-2026-05", "requirement": "1.2.7", "kind": "nsc_review",
             "date": "2026-05-28", "performed_by": "carol@northwind.example",
             "evidence": "REV-2026-NSC-1", "result": "pass",
             "notes": "prod-eu1 NetworkPolicies and VPC security groups"},
        ]),
        "scope-confirmations.yaml": ("# PCI DSS scope confirmations (12.5.2 / 12.5.2.1).", [
            {"id": "SCOPE-2025-12", "requirement": "12.5.2.1", "kind": "scope_confirmation",
             "date": "2025-12-20", "performed_by": "cso@northwind.example",
             "evidence": "SCOPE-2025-H2", "result": "pass"},
            {"id": "SCOPE-2026-06", "requirement": "12.5.2.1", "kind": "scope_confirmation",
             "date": "2026-06-30", "performed_by": "cso@northwind.example",
             "evidence": "SCOPE-2026-H1", "result": "pass"},
        ]),
        "not-applicable.yaml": ("# Requirements confirmed not applicable.", [
            {"id": "NA-1.3.3", "requirement": "1.3.3", "kind": "scope_confirmation",
             "date": "2026-06-30", "performed_by": "cso@northwind.example",
             "evidence": "SCOPE-2026-H1 section 4 (wireless)", "not_applicable": True,
             "justification": "no wireless networks connect to the CDE"},
        ]),
        "tra-reviews.yaml": ("# Targeted risk analyses that set flexible frequencies.", [
            # One analysis document covers three requirements: one attestation per requirement.
            {"id": f"TRA-2026-02/{req}", "requirement": req, "kind": "targeted_risk_analysis",
             "date": "2026-02-10", "performed_by": "cso@northwind.example",
             "evidence": "TRA-2026-02", "result": "pass"}
            for req in ("7.2.5.1", "10.4.2.1", "11.3.1.1")
        ]),
        "anti-malware.yaml": ("# The assessor's acceptance of the runtime sensor as the "
                              "anti-malware mechanism.", [
            {"id": "AM-2026-03", "requirement": "5.2.1", "kind": "anti_malware_acceptance",
             "date": "2026-03-02", "performed_by": "QSA (Lindqvist & Hale Assurance)",
             "evidence": "Falco continuous behavioural analysis (5.3.2)", "result": "pass"},
        ]),
    }
    for name, (header, items) in singles.items():
        out.write_text(f"{att}/{name}", _att_list(items, header), "attestations-yaml",
                       len(items))
