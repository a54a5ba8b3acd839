"""The expected outcome of every planted scenario, machine-readable.

``expected`` maps a period label to one of:
pass, fail, excepted (an approved, unexpired exception covers it),
not_applicable, out_of_scope, info (evidence exists; no pass/fail of its own).
``diff`` says what a comparison of the 2026-q2 run with the 2026-q3 run should show for
the scenario's items (see DIFF below); ``diff_acceptance`` lists a handful of those in
auditkit's check ids and resource keys. The README's ground-truth table lists the same ids.
"""

from __future__ import annotations

import json

from . import spec_patch
from .specs import violations
from .util import Output
from .world import DEBUG_POD, SANDBOX_PRIV_POD, WORKLOADS

Q3, Q2 = "2026-q3", "2026-q2"


def gt(gid, reqs, title, resource, q3, q2, evidence, detail):
    return {"id": gid, "requirements": reqs, "title": title, "resource": resource,
            "expected": {Q3: q3, Q2: q2}, "evidence": evidence, "detail": detail}


SCANS = "scans/trivy/images/"
AUDIT = "runtime/k8s-audit/"
VPC = "flows/vpc/"
HUB = "flows/hubble/"
ZEEK = "flows/zeek/cde-boundary-conn.2026-08-27.log"
# Access exports are snapshots, one folder per export date (Q3 first, then Q2).
RBAC = ("access/2026-09-30/rbac/prod-eu1-rbac-2026-09-30.yaml",
        "access/2026-06-30/rbac/prod-eu1-rbac-2026-06-30.yaml")
NETPOL = ("access/2026-09-30/networkpolicy/prod-eu1-networkpolicies-2026-09-30.yaml",
          "access/2026-06-30/networkpolicy/prod-eu1-networkpolicies-2026-06-30.yaml")
USERS = ("access/2026-09-30/users.csv", "access/2026-06-30/users.csv")
ATT = "workspace/attestations/"
FALCO = "runtime/falco/"
POLICY = ("policy/2026-09-30/kyverno-clusterpolicies-2026-09-30.yaml",
          "policy/2026-09-30/kyverno-policyreports-2026-09-30.yaml",
          "policy/2026-09-15/kyverno-policyreports-2026-09-15.yaml",
          "policy/2026-09-30/prod-eu1-namespaces-2026-09-30.yaml")
CLOUD = ("cloud/2026-09-28/prowler-output-111122223333-20260928054217.ocsf.json",
         "cloud/2026-09-28/prowler-output-444455556666-20260928061003.ocsf.json",
         "cloud/2026-09-28/securityhub-findings-2026-09-28.json")
RELAY_ADMIN = "runtime/k8s-audit/relay/soc-relay-kube-audit-admin-2026-q3.jsonl"

SCENARIOS = [
    # ---------------------------------------------------------------- vulnerability management
    gt("GT-01", ["6.3.3", "11.3.1"], "critical with a fix left unpatched",
       "registry.northwind.example/payments/payments-api CVE-2026-10231 (libssl3)", "fail", "pass",
       [SCANS + "2026-07-06_payments-api_2.14.0.json",
        SCANS + "2026-09-28_payments-api_2.15.0.json",
        "scans/sarif/2026-09-28_payments-api_2.15.0.sarif"],
       "fix first reported in the 2026-07-06 scan (Status fixed, FixedVersion 3.0.16-1~deb12u1); "
       "still present in 2.15.0 (rolled out 2026-08-20) and in the 2026-09-28 scan; deadline "
       "2026-08-06, 55 days overdue on 2026-09-30. Published 2026-06-24, so no Q2 finding."),
    gt("GT-02", ["6.3.3"], "critical patched within the month", "card-vault CVE-2026-12045 (Go "
       "stdlib)", "pass", "not_applicable",
       [SCANS + "2026-08-04_card-vault_1.8.2.json", SCANS + "2026-08-18_card-vault_1.8.3.json"],
       "fix seen 2026-08-04; 1.8.3 (scan 2026-08-18 lacks it) rolled out 2026-08-19 (audit: "
       "statefulset-controller pod creates with the new digest); 15 days."),
    gt("GT-03", ["6.3.3"], "critical patched within the month",
       "checkout-web CVE-2026-11873 (fast-xml-parser)", "pass", "not_applicable",
       [SCANS + "2026-07-09_checkout-web_4.5.0.json", SCANS + "2026-07-22_checkout-web_4.5.1.json"],
       "fix seen 2026-07-09; 4.5.1 scanned 2026-07-22 without it, rolled out 2026-07-23; 14 days."),
    gt("GT-04", ["6.3.3", "6.3.1"], "critical without a fix (open, not overdue)",
       "payments-api CVE-2026-13310 (libxml2)", "pass", "not_applicable",
       [SCANS + "2026-09-28_payments-api_2.15.0.json"],
       "Status affected, no FixedVersion: risk-ranked and tracked, not a 6.3.3 violation."),
    gt("GT-05", ["6.3.3", "6.3.1"], "critical without a fix in the card data store image",
       "docker.io/library/postgres:16.8 CVE-2026-14477 (libkrb5-3)", "pass", "not_applicable",
       [SCANS + "2026-09-28_postgres_16.8.json", "scans/grype/2026-08-12_postgres_16.8.json"],
       "Trivy Status affected and Grype fix.state not-fixed agree."),
    gt("GT-06", ["6.3.3"], "previous quarter: critical patched after 76 days",
       "docker.io/library/nginx CVE-2026-10877 (libexpat1), checkout-static", "pass", "fail",
       [SCANS + "2026-04-10_nginx_1.27.4.json", SCANS + "2026-06-24_nginx_1.29.0.json"],
       "fix seen 2026-04-10, 1.29.0 rolled out 2026-06-25 (sandbox-web 06-26); resolved "
       "before Q3."),
    gt("GT-07", ["6.3.3"], "previous quarter: critical patched after 69 days",
       "payments-api CVE-2026-10044 (spring-web)", "pass", "fail",
       [SCANS + "2026-04-07_payments-api_2.13.0.json",
        SCANS + "2026-06-14_payments-api_2.14.0.json"],
       "fix seen 2026-04-07; 2.14.0 (without it) rolled out 2026-06-15."),
    gt("GT-08", ["6.3.3", "11.3.1"], "high with a fix still present",
       "payments-api CVE-2026-15520 (jackson-databind)", "fail", "fail",
       [SCANS + "2026-09-28_payments-api_2.15.0.json"],
       "HIGH: not a 6.3.3 case in v4.0.1 (critical only) but 11.3.1 rescans still show a "
       "high-risk finding (fix since 2026-05-06)."),
    gt("GT-09", ["11.3.1"], "CDE image missed a whole quarter of scans",
       "registry.northwind.example/payments/card-vault", "fail", "fail",
       [SCANS], "scans 2026-03-04 then 2026-07-01: none in 2026-04-01..2026-06-30."),
    gt("GT-10", ["11.3.1", "6.3.2", "11.3.1.3"], "running image never scanned",
       "docker.io/library/redis:7.4.2 in payments/payments-cache (since 2026-07-14)", "fail",
       "pass", [SCANS, AUDIT + "2026-q3/"],
       "pod creates carry the 7.4.2 digest; no report for it; last redis scan 2026-05-12 (7.2.5)."),
    gt("GT-11", ["11.3.1"], "every other running image scanned each quarter",
       "payments-api, checkout-web, nginx, postgres, falco, fluent-bit, node-exporter, "
       "prometheus, kubectl, ingress-nginx", "pass", "pass", [SCANS],
       "at least one scan per calendar quarter 2025-Q4..2026-Q3 (the Q2 evaluation's look-back "
       "also needs 2025-Q3, for which there is no data: read that as not tested)."),
    gt("GT-12", ["8.6.2", "3.6.1.2"], "hard-coded credentials in the payments-api repository",
       "deploy/config/application-staging.yaml:14 (AWS access key id); "
       "src/test/resources/tls/acquirer-client.key:1 (private key)", "fail", "not_applicable",
       ["scans/trivy/fs/2026-09-21_payments-api-repo.json"], "Trivy redacts the match with '*'."),
    # ---------------------------------------------------------------- secure configuration
    gt("GT-13", ["2.2.6"], "privileged root debug pod in the CDE", "payments/payments-debug",
       "fail", "not_applicable", [AUDIT + "2026-q3/", FALCO + "2026-q3/"],
       "created by bob 2026-08-11T10:41:12Z (RequestResponse spec: privileged, runAsUser 0, "
       "hostPID), deleted 16:05:40Z; Falco 'Launch Privileged Container'."),
    gt("GT-14", ["2.2.6"], "database container may run as root", "card-vault/card-vault-db",
       "fail", "fail", [AUDIT, "scans/trivy/k8s/"],
       "runAsNonRoot unset and allowPrivilegeEscalation not false (KSV012, KSV001 FAIL)."),
    gt("GT-15", ["2.2.6"], "web tier runs as UID 0 after its exception expired",
       "checkout-web/checkout-web", "fail", "excepted", [AUDIT, "workspace/exceptions.yaml"],
       "EXC-009 (a risk acceptance: excepted, still counted as failing) expired 2026-06-30."),
    gt("GT-16", ["2.2.6"], "privileged/host-access DaemonSets under approved exceptions",
       "falco/falco (EXC-001..004), monitoring/node-exporter (EXC-005, 006), logging/fluent-bit "
       "(EXC-007, 008)",
       "excepted", "excepted", ["workspace/exceptions.yaml", "scans/trivy/k8s/"],
       "each exception lists exactly the settings its workload violates (falco: privileged, "
       "hostPID, hostPath, runAsNonRoot; node-exporter: hostNetwork, hostPID, hostPath; "
       "fluent-bit: hostPath /var/log, runAsUser 0)."),
    gt("GT-17", ["2.2.6"], "hardened workloads",
       "payments-api, payments-cache, card-vault, checkout-static, ingress-nginx-controller, "
       "prometheus", "pass", "pass", [AUDIT, "scans/trivy/k8s/"],
       "Trivy still reports KSV014 (root filesystem not read-only) for some of them; the "
       "catalog treats a writable root filesystem as a warning, not a 2.2.6 failure."),
    gt("GT-18", ["2.2.6"], "privileged pod in the out-of-scope sandbox",
       "dev-sandbox/sandbox-shell", "out_of_scope", "not_applicable", [AUDIT + "2026-q3/"],
       "privileged, hostNetwork, hostPath /; must not be reported as a CDE/connected failure."),
    gt("GT-19", ["2.2.2"], "CDE pods run under a default service account that has a binding",
       "payments/payments-cache (serviceAccountName default; RoleBinding payments-default-edit)",
       "fail", "fail", [*RBAC, AUDIT], ""),
    # ---------------------------------------------------------------- logging and monitoring
    gt("GT-20", ["10.2.1", "10.7.2"], "gap in API audit logging", "prod-eu1 kube-apiserver",
       "fail", "pass", [AUDIT + "2026-q3/"], "no events 2026-08-14T02:00:00Z..09:30:00Z (7.5 h)."),
    gt("GT-21", ["10.7.2", "11.5.1"], "runtime sensor silent on a CDE node",
       "ip-10-20-2-10.eu-west-1.compute.internal", "fail", "pass", [FALCO + "2026-q3/"],
       "no Falco output 2026-08-03T03:30Z..2026-08-08T11:15Z (heartbeats every 12 h elsewhere; "
       "every other node passes). The silence is a failure occurring, for follow-up under "
       "10.7.2; it does not show the anti-malware solution (5.2.1) is missing."),
    gt("GT-22", ["10.5.1", "5.3.4"], "12 months of history retained",
       "audit log, Falco, image scans", "pass", "fail", [AUDIT + "archive/", FALCO + "archive/"],
       "earliest records 2025-10-01; the Q2 evaluation would need 2025-07-01 (not supplied)."),
    gt("GT-23", ["10.4.1"], "daily log review", "SIEM daily review", "fail", "pass",
       [ATT + "log-reviews-2026-q3.yaml", ATT + "log-reviews-2026-q2.yaml"],
       "missing 2026-07-19, 2026-08-14, 2026-09-06."),
    gt("GT-24", ["10.2.1.4"], "failed access attempts are logged", "403 and 401 events", "pass",
       "pass", [AUDIT], "403 with decision forbid; 401 events have an empty user and stage "
       "ResponseStarted."),
    gt("GT-25", ["10.2.1.5", "8.2.4"], "RBAC changes are logged",
       "payments-exec-erin (07-09), temp-debug-kate (07-20, deleted 09-22), secret-reader-dave "
       "(08-12), tmp-admin-henry (09-12, deleted 09-12), aws-auth patch (07-28), "
       "authenticated-view deleted (07-06)", "info", "info", [AUDIT + "2026-q3/"],
       "the RBAC exports of 2026-06-30 and 2026-09-30 differ by exactly these changes: the Q3 "
       "export adds payments-exec-erin and secret-reader-dave and lacks authenticated-view; "
       "temp-debug-kate and tmp-admin-henry are in neither."),
    gt("GT-26", ["10.2.1.7"], "system-level objects created and deleted",
       "namespace perf-test, CRD loadtests.perf.northwind.example (08-03/08-07), CRD "
       "externalsecrets.external-secrets.io (09-09)", "info", "info", [AUDIT + "2026-q3/"], ""),
    gt("GT-27", ["10.7.2", "10.2.1"], "flow-log capture gap", "ENI of ip-10-20-2-10", "fail",
       "pass", [VPC + "2026-q3/"], "SKIPDATA records 2026-08-22T10:00..10:30Z."),
    gt("GT-28", ["11.5.1", "10.4.3"], "incident in a connected workload needs a disposition",
       "checkout-web/checkout-web (2026-09-19)", "fail", "not_applicable",
       [FALCO + "2026-q3/", AUDIT + "2026-q3/", HUB], "Falco Critical 'Drop and execute new binary "
       "in container', then 'Contact K8S API Server From Container'; anonymous 403s from the "
       "pod address; Hubble flow to the API server. No disposition is supplied."),
    gt("GT-29", ["2.2.4", "10.2.1.1"], "interactive shells in CDE containers",
       "payments-api pods (erin 07-17, 09-02; bob 08-11), payments-debug (bob 08-11)", "fail",
       "not_applicable", [FALCO + "2026-q3/", AUDIT + "2026-q3/"], ""),
    # ---------------------------------------------------------------- identities and access
    gt("GT-30", ["8.6.1", "7.2.5"], "service-account token used interactively",
       "system:serviceaccount:payments:payments-api from 10.8.14.37 (kubectl) on 2026-09-16",
       "fail", "pass", [AUDIT + "2026-q3/", AUDIT + "webhook/"],
       "token minted for a payments-api pod (user.extra pod-name) used from the VPN range."),
    gt("GT-31", ["8.3.1", "7.3.1"], "anonymous access", "system:anonymous", "pass", "pass",
       [AUDIT, AUDIT + "relay/"], "all anonymous resource requests are 403; the only allowed "
       "request is GET /version (public-info-viewer), a declared public endpoint - Falco still "
       "raises 'Anonymous Request Allowed'."),
    gt("GT-32", ["8.2.1", "8.2.2", "2.2.2"], "shared bootstrap identity in use",
       "kubernetes-admin (users.csv user_id admin)", "fail", "pass", [AUDIT + "2026-q3/", *USERS],
       "used 2026-07-28 (aws-auth patch) and 2026-09-12 (temporary cluster-admin binding). "
       "Q2: the 2026-06-30 inventory lists the account as disabled (its IAM access keys were "
       "deactivated after the 2026-03 access review) and it made no request in Q2; it was "
       "re-enabled on 2026-07-28 and is active in the 2026-09-30 inventory."),
    gt("GT-33", ["8.2.5"], "leaver still active", "judy@northwind.example", "fail", "pass",
       [*USERS, AUDIT + "2026-q3/", *RBAC], "terminated 2026-08-21, status active, API use on "
       "08-25 and 09-08, live RoleBinding judy-card-vault-view. The 2026-06-30 inventory has no "
       "termination date for her yet (Q2 pass)."),
    gt("GT-34", ["8.2.5"], "leaver properly disabled", "nina@northwind.example", "pass", "pass",
       [*USERS], "disabled, terminated 2026-02-27, no activity after."),
    gt("GT-35", ["8.2.6"], "dormant accounts",
       "leo@northwind.example (last login 2026-05-02), mike@northwind.example (2026-03-11)",
       "fail", "fail", [*USERS], "Q3: both > 90 days. Q2 (as of 2026-06-30): mike fails, leo "
       "passes (59 days). Both inventories carry the same last logins for them."),
    gt("GT-36", ["7.2.5"], "unused service-account grants",
       "payments:report-exporter (last use 2026-04-18), payments:default (never used)", "fail",
       "fail", [*USERS, *RBAC, AUDIT], "Q2 fails on payments:default alone: report-exporter's "
       "secret read was used on 2026-04-18, inside Q2, so it passes in Q2 and fails in Q3."),
    gt("GT-37", ["8.4.2"], "CDE access without MFA",
       "henry@northwind.example (both quarters); ivan@northwind.example (Q2 only)", "fail",
       "fail", [*USERS, AUDIT], "ivan enrolled MFA on 2026-07-02: no MFA in the 2026-06-30 "
       "inventory, MFA in the 2026-09-30 one. kate@northwind.example has no MFA either but only "
       "reached dev-sandbox (every payments request of hers was refused, 403): not a CDE access. "
       "The shared admin has no MFA but none of its requests named a CDE namespace (GT-32)."),
    gt("GT-38", ["7.2.1", "7.2.2"], "over-broad human grants",
       "bob-cluster-admin (used), breakglass-carol (wildcard, never used), secret-reader-dave "
       "(cluster-wide secrets, used), payments-exec-erin (pods/exec in CDE, used), "
       "rbac-manager-henry (escalate/bind/impersonate, used)", "fail", "fail", [*RBAC, AUDIT],
       "use is visible in authorization.k8s.io/reason; breakglass-carol never appears there. "
       "Q2 (2026-06-30 export): payments-exec-erin (created 07-09) and secret-reader-dave "
       "(08-12) do not exist yet; the other three do."),
    gt("GT-39", ["7.2.5"], "over-broad service-account grants",
       "ci-deployer-cluster-admin (used), argocd-manager-role-binding (wildcard, used)", "fail",
       "fail", [*RBAC, AUDIT], ""),
    gt("GT-40", ["7.2.1", "7.2.5"], "properly scoped grants",
       "platform-read, security-view, payments-oncall, card-vault-oncall, card-vault-dba, "
       "developers-edit/-view, payments-api, card-vault-keys, prometheus, falco, fluent-bit-read",
       "pass", "pass", [*RBAC], ""),
    gt("GT-41", ["3.6.1", "3.6.1.3"], "key material read by a non-custodian",
       "card-vault secrets kek-wrapping/dek-primary read by dave (2026-08-20)", "fail", "pass",
       [AUDIT + "2026-q3/"], "the card-vault service account's own reads are expected."),
    gt("GT-42", ["10.2.1.2", "7.2.1"], "privilege escalation through impersonation",
       "henry impersonates bob to list payments secrets (2026-07-30)", "fail", "not_applicable",
       [AUDIT + "2026-q3/"],
       "first attempt as himself is 403; impersonatedUser set on the second."),
    gt("GT-43", ["7.2.6"], "direct access to the card data store",
       "card-vault-db-0 exec: frank (dba, allowed), grace (denied 403)", "pass", "pass",
       [AUDIT], "network path checkout-web -> 5432 is GT-45."),
    # ---------------------------------------------------------------- network
    gt("GT-44", ["1.3.1", "1.2.5"], "approved inbound to the CDE",
       "checkout-web -> payments-api 8443/tcp (F-001)", "pass", "pass", [VPC, HUB, ZEEK], ""),
    gt("GT-45", ["1.3.1", "1.4.4", "7.2.6", "1.2.1"], "connected workload reaches the card data "
       "store directly", "checkout-web -> card-vault-db 10.20.1.46:5432", "fail", "fail",
       [VPC, HUB, ZEEK, *NETPOL], "since 2026-06-12; allowed by NetworkPolicy allow-postgres "
       "(namespaceSelector {}), which replaced the payments-only allow-db-from-payments on "
       "2026-06-08 (audit: ci:deployer delete + create); Hubble FORWARDED with "
       "ingress_allowed_by."),
    gt("GT-46", ["1.3.1", "6.5.3"], "out-of-scope zone reaches the CDE",
       "dev-sandbox 10.99.1.42 -> payments-api 8443 (07-22..07-24); dev node 10.99.1.30 -> "
       "10.20.1.10:10250 (2026-07-21 14:10)", "fail", "pass", [VPC + "2026-q3/", HUB],
       "VPC records ACCEPT (security groups allow it); Hubble shows the pod-level attempt "
       "DROPPED by the payments default deny (positive enforcement evidence); the kubelet "
       "connection is host traffic no NetworkPolicy covers. Observed flows fail 1.3.1 and "
       "are input for the segmentation test; they do not override a current passing "
       "penetration test (11.4.5)."),
    gt("GT-47", ["1.3.2"], "unapproved egress from the CDE to the internet",
       "card-vault pods -> 203.0.113.50:443", "fail", "pass",
       [VPC + "2026-q3/", HUB, ZEEK], "since 2026-07-02 (card-vault 1.8.2); the NAT gateway "
       "custom-format log shows pkt-srcaddr = the pod; card-vault has no egress policy."),
    gt("GT-48", ["1.3.2"], "approved egress to the acquirer", "payments-api -> "
       "198.51.100.10:443 (F-005)", "pass", "pass", [VPC, HUB, ZEEK], ""),
    gt("GT-49", ["10.6.1", "10.6.2"], "time synchronisation",
       "all nodes <-> 10.0.0.10/11 udp/123; NTP servers <-> 192.0.2.123", "pass", "pass",
       [VPC, ZEEK], ""),
    gt("GT-50", ["10.6.2"], "a CDE node uses a non-designated external time source",
       "10.20.1.11 -> 192.0.2.200 udp/123", "fail", "pass", [VPC + "2026-q3/", ZEEK],
       "every 2 h since 2026-08-25."),
    gt("GT-51", ["1.4.1", "1.4.2"], "internet traffic only to the public service",
       "internet -> checkout load balancer 443/tcp (F-002, incl. IPv6); scanner REJECTs", "pass",
       "pass", [VPC], ""),
    gt("GT-52", ["1.2.6", "2.2.7", "1.3.1"], "clear-text admin protocols into the CDE",
       "tools-jump-01 10.30.9.15 -> 10.20.1.10 telnet 23 (08-27, 09-03), ftp 21/20 (08-27)",
       "fail", "pass", [VPC + "2026-q3/", ZEEK], "RDP 3389 attempt REJECTed."),
    gt("GT-53", ["1.2.1", "1.3.1", "1.3.2"], "NetworkPolicy design",
       "payments: default deny ingress+egress (pass); card-vault: ingress-only default deny "
       "(egress open) and allow-postgres from any namespace (fail); checkout-web: no policies "
       "(fail)", "fail", "fail", [*NETPOL], "the other connected namespaces (falco, "
       "ingress-nginx, kube-system, logging, monitoring egress) have no default deny either, in "
       "both exports; monitoring ingress is GT-62."),
    # ---------------------------------------------------------------- attested processes
    gt("GT-54", ["11.4.6"], "segmentation test older than six months (service provider)",
       "SEG-2025-11 (2025-11-20)", "fail", "fail", [ATT + "segmentation-tests.yaml"],
       "would pass the 12-month merchant interval (11.4.5); the allow-postgres change "
       "(2026-06-08) also postdates it."),
    gt("GT-55", ["11.3.2"], "quarterly ASV scans", "ASV scans 2025-10-14, 2026-01-20, 2026-08-11",
       "fail", "fail", [ATT + "asv-scans.yaml"], "no scan in 2026-Q2."),
    gt("GT-56", ["7.2.4", "7.2.5.1"], "six-monthly access reviews", "2026-03-15, 2026-09-10",
       "pass", "pass", [ATT + "access-reviews.yaml"], ""),
    gt("GT-57", ["1.2.7"], "six-monthly NSC reviews", "2025-11-30, 2026-05-28", "pass", "pass",
       [ATT + "nsc-reviews.yaml"], ""),
    gt("GT-58", ["12.5.2.1"], "six-monthly scope confirmation", "2025-12-20, 2026-06-30", "fail",
       "fail", [ATT + "scope-confirmations.yaml"],
       "192 days between the confirmations: the second was due by 2026-06-20 (six months after "
       "2025-12-20), so 12.5.2.1 (service providers, at least every six months) is not met in "
       "either run's 12-month look-back; the annual 12.5.2 is."),
    gt("GT-59", ["1.3.3"], "wireless", "no wireless networks", "not_applicable",
       "not_applicable", [ATT + "not-applicable.yaml"], ""),
    gt("GT-60", ["12.5.1"], "undeclared namespace holding a cluster-admin identity",
       "namespace ci (service account deployer)", "fail", "fail", [*RBAC, AUDIT],
       "ci is neither CDE, connected nor out of scope in auditkit.toml."),
    # ---------------------------------------------------------------- changed between the exports
    gt("GT-61", ["7.2.2", "7.3.3"], "every authenticated identity granted cluster-wide view",
       "ClusterRoleBinding authenticated-view (ClusterRole view to Group system:authenticated)",
       "pass", "fail", [*RBAC, AUDIT + "2026-q3/"],
       "in the 2026-06-30 export (created 2025-06-18); bob deleted it on 2026-07-06 (audit "
       "delete), so the 2026-09-30 export lacks it."),
    gt("GT-62", ["1.2.1", "1.3.1"], "connected namespace given a default deny for ingress",
       "monitoring: NetworkPolicy default-deny-ingress (applied by Argo CD 2026-07-08)", "pass",
       "fail", [*NETPOL, AUDIT + "2026-q3/"],
       "only in the 2026-09-30 export (audit: argocd-manager server-side apply, 201). Egress from "
       "monitoring stays open in both exports (GT-53). Nothing connects to the monitoring pods, "
       "so no recorded flow is affected."),
    gt("GT-63", ["8.2.1", "8.4.2"], "joiner after the previous export",
       "olivia@northwind.example (u1015, created 2026-08-24, MFA, payments on-call)", "pass",
       "not_applicable", [*USERS, AUDIT + "2026-q3/"],
       "absent from the 2026-06-30 inventory; in the 2026-09-30 one with MFA and CDE access "
       "through payments-oncall."),
    # ---------------------------------------------------------------- changed only by patch
    gt("GT-64", ["2.2.6"], "privileged flag added to a connected CronJob by a patch",
       "monitoring/CronJob/rules-check (container promtool)", "fail", "not_applicable",
       [AUDIT + "2026-q3/prod-eu1-audit-2026-09.jsonl.gz"],
       f"created by Argo CD with server-side apply on {spec_patch.CREATED[:10]} (response 201, "
       "hardened); bob's `kubectl patch` (strategic merge) at "
       f"{spec_patch.PATCHED[11:19]}Z adds privileged: true to container promtool. Batch writes "
       "are logged at Request level: no responseObject, and the next run (2026-10-01) is after "
       "the as-of date, so no Job or Pod shows the new template; only applying the patch to the "
       "apply configuration does."),
    # ---------------------------------------------------------------- admission control and images
    gt("GT-65", ["2.2.1", "2.2.6"], "admission control enforces after the Kyverno rollout",
       "namespaces payments, card-vault, checkout-web, ingress-nginx, monitoring, logging, falco",
       "pass", "fail", [*POLICY, AUDIT + "2026-q2/"],
       "Kyverno ClusterPolicies restrict-image-registries and require-image-digest (Enforce, the "
       "seven namespaces) and disallow-privileged-containers (Enforce, not the agent namespaces) "
       "since 2026-09-01; Pod Security labels are audit/warn only. In Q2 the only admission "
       "evidence is the API server's enforce-policy privileged:latest on pod creates: nothing "
       "enforced."),
    gt("GT-66", ["2.2.1", "2.2.6"], "connected namespace without any enforcing admission policy",
       "namespace kube-system", "fail", "fail", [*POLICY],
       "excluded from every Kyverno policy and without Pod Security labels."),
    gt("GT-67", ["2.2.1", "2.2.6"], "workloads failing an audit-mode admission policy for weeks",
       "checkout-web/Deployment/checkout-web, card-vault/StatefulSet/card-vault-db "
       "(require-run-as-nonroot)", "fail", "not_applicable", [*POLICY],
       "failing in the 2026-09-15 and 2026-09-30 reports: 15 days old on 2026-09-30 (the same "
       "specs as GT-14 and GT-15). No policy report exists before 2026-09-15."),
    gt("GT-68", ["2.2.1"], "image from a non-approved registry ran in the CDE",
       "payments/Pod/payments-debug (docker.io/bitnami/kubectl:1.30.2)", "fail", "not_applicable",
       [AUDIT + "2026-q3/", "workspace/auditkit.toml"],
       "docker.io/bitnami is not among [images] approved_registries; the pod ran on 2026-08-11, "
       "before Kyverno's registry policy (which would have refused it)."),
    gt("GT-69", ["2.2.1"], "running images admitted despite a failing admission policy",
       "checkout-web/Deployment/checkout-web, card-vault/StatefulSet/card-vault-db", "fail", "fail",
       [*POLICY, AUDIT + "2026-q3/"],
       "approved registries and digests, but the current reports fail both on "
       "require-run-as-nonroot (audit mode). In Q2 no admission control enforced anything, so "
       "every in-scope image fails there (GT-70)."),
    gt("GT-70", ["2.2.1"], "approved, digest-pinned images under enforced admission control",
       "payments-api, payments-cache, card-vault, checkout-static, ingress-nginx-controller, "
       "prometheus, node-exporter, fluent-bit, falco", "pass", "fail",
       [*POLICY, AUDIT + "2026-q3/", AUDIT + "2026-q2/"],
       "every reference is repo:tag@sha256 from an approved registry; Q2 fails because no "
       "admission control enforced anything before 2026-09-01."),
    # ---------------------------------------------------------------- separation of duties
    gt("GT-71", ["6.5.4"], "developer with exec rights in the CDE used them",
       "erin@northwind.example (RoleBinding payments/payments-exec-erin; sessions 2026-07-17, "
       "2026-09-02)", "fail", "pass", [RBAC[0], AUDIT + "2026-q3/", RELAY_ADMIN],
       "erin is in northwind:developers (declared in [identities] developers). The binding was "
       "created 2026-07-09, after the Q2 export; two exec sessions into payments-api pods, each "
       "logged as ResponseStarted and ResponseComplete and repeated in the AKS relay: two "
       "sessions, not eight lines."),
    gt("GT-72", ["6.5.4"], "developers hold only read access in production",
       "northwind:developers (developers-view, checkout-web), grace@ and kate@northwind.example",
       "pass", "pass", [*RBAC, AUDIT + "2026-q3/"],
       "developers-edit is in the out-of-scope dev-sandbox; grace's exec into card-vault-db was "
       "refused (403, GT-43); kate's requests to CDE namespaces were all refused."),
    # ---------------------------------------------------------------- audit trail
    gt("GT-73", ["10.2.1", "10.2.1.2", "10.2.1.7"], "CDE audit trail lost during the logging gap",
       "payments and card-vault, 2026-08-14", "fail", "pass", [AUDIT + "2026-q3/"],
       "the planted gap (GT-20) leaves container starts, stops and sessions in both CDE "
       "namespaces unrecorded that day; every other CDE namespace-day passes, and every shell "
       "the runtime sensor saw in a CDE pod has its exec request."),
    # ---------------------------------------------------------------- secrets at run time
    gt("GT-74", ["7.2.2"], "people reading CDE Secrets they are not declared consumers of",
       "dave (card-vault/*, card-vault/kek-wrapping, payments/payments-db-credentials), henry "
       "(payments/*), bob (card-vault/card-vault-db)", "fail", "pass",
       [AUDIT + "2026-q3/", "workspace/auditkit.toml"],
       "[[secret_consumers]] names only the workloads' service accounts; the same reads of key "
       "material also fail 3.6.1 (GT-41, GT-42)."),
    gt("GT-75", ["7.2.5"], "service account reading a Secret it is not a declared consumer of",
       "system:serviceaccount:payments:report-exporter read payments/payments-db-credentials "
       "(2026-04-18)", "not_applicable", "fail", [AUDIT + "2026-q2/"],
       "its only read, in Q2 (the grant is GT-36); no read in Q3, so not in Q3's population."),
    gt("GT-76", ["8.6.2", "7.2.5"], "credentials reach workloads only as Secrets of declared "
       "consumers", "in-scope containers' env, payments-db-credentials, card-vault-db", "pass",
       "pass", [AUDIT + "2026-q3/", "workspace/auditkit.toml"],
       "passwords come through secretKeyRef into the declared consumers' pods; VAULT_KEK_SECRET "
       "names a Secret, it does not hold one."),
    # ---------------------------------------------------------------- cloud posture
    gt("GT-77", ["2.2.1", "2.2.6"], "open cloud-posture findings on the production account",
       "EKS prod-eu1 API endpoint public (Prowler, High); S3.8 on northwind-audit-archive "
       "suppressed in Security Hub (High)", "fail", "not_applicable", [*CLOUD],
       "account 111122223333 is declared in [scope] cloud_accounts; a suppression in Security "
       "Hub is not an approved exception. No cloud scan exists before 2026-09-28."),
    gt("GT-78", ["2.2.1", "2.2.6"], "passing or out-of-scope cloud findings",
       "Prowler PASS checks on 111122223333; development account 444455556666; GuardDuty port "
       "probe", "pass", "not_applicable", [*CLOUD],
       "the development account is not declared in scope and CloudTrail.2 (medium, resolved) is "
       "below the minimum severity: neither is in the population; the GuardDuty finding is a "
       "threat, not a configuration finding (not applicable)."),
    gt("GT-79", ["10.2.1"], "AKS kube-audit-admin relay repeats the quarter's events",
       "runtime/k8s-audit/relay/soc-relay-kube-audit-admin-2026-q3.jsonl", "info", "info",
       [RELAY_ADMIN],
       "14 records, properties.log as a JSON object (even lines) or a JSON string (odd lines), "
       "every auditID already in the 2026-q3 log: read into the same table, counted once."),
]

# What `auditkit diff` (or any comparison of the 2026-q2 run with the 2026-q3 run) should show
# for each scenario's items. A finding is an item that fails; the vocabulary:
#   new: fails in Q3, did not fail in Q2 (passed, was excepted, not applicable or absent)
#   resolved: failed in Q2, does not fail in Q3 (passes, or is no longer in the population)
#   persisting: fails in both runs
#   unchanged-pass: fails in neither run (not in the diff's findings)
#   unchanged-excepted: excepted in both runs (not in the diff's findings)
#   info: evidence only, no finding of its own
DIFF_VOCABULARY = ["new", "resolved", "persisting", "unchanged-pass", "unchanged-excepted",
                   "info"]
N, R, P, U, E, I = DIFF_VOCABULARY  # noqa: E741


def dif(change: str, *items: tuple[str, str], note: str = "", summary: str = "") -> dict:
    """``change``: the scenario's overall result; ``items``: (item, change) where they differ;
    ``summary``: the README's one-line wording when the items differ."""
    out: dict = {"change": change}
    if summary:
        out["summary"] = summary
    if items:
        out["items"] = [{"item": item, "change": c} for item, c in items]
    if note:
        out["note"] = note
    return out


DIFF = {
    "GT-01": dif(N), "GT-02": dif(U), "GT-03": dif(U), "GT-04": dif(U), "GT-05": dif(U),
    "GT-06": dif(R), "GT-07": dif(R), "GT-08": dif(P),
    "GT-09": dif(P, ("card-vault: a scan in every quarter of the look-back (2026-Q2 missed)", P),
                 ("card-vault: scanned in the three months before the as-of date", R),
                 note="the missing 2026-Q2 scans are a finding in both runs; Q3's scans (from "
                      "2026-07-01) make the image recently scanned again",
                 summary="persisting (3-month recency resolved)"),
    "GT-10": dif(N), "GT-11": dif(U),
    "GT-12": dif(N, ("AWS access key id, application-staging.yaml:14", N),
                 ("private key, acquirer-client.key:1", N)),
    "GT-13": dif(N, ("payments-debug privileged", N), ("payments-debug host PID", N),
                 ("payments-debug runs as root", N)),
    "GT-14": dif(P, ("card-vault-db may run as root", P),
                 ("card-vault-db allows privilege escalation", P)),
    "GT-15": dif(N, note="excepted in Q2 (EXC-009 valid until 2026-06-30), failing in Q3"),
    "GT-16": dif(E), "GT-17": dif(U),
    "GT-18": dif(U, note="out of scope: never in a CDE/connected population"),
    "GT-19": dif(P), "GT-20": dif(N), "GT-21": dif(N),
    "GT-22": dif(R, note="Q2's look-back needs history from 2025-07-01; Q3's from 2025-10-01, "
                         "where the archive starts"),
    "GT-23": dif(N), "GT-24": dif(U), "GT-25": dif(I), "GT-26": dif(I), "GT-27": dif(N),
    "GT-28": dif(N), "GT-29": dif(N), "GT-30": dif(N), "GT-31": dif(U),
    "GT-32": dif(N, note="Q2: disabled and unused (no finding); Q3: active and used"),
    "GT-33": dif(N), "GT-34": dif(U),
    "GT-35": dif(P, ("mike@northwind.example", P), ("leo@northwind.example", N),
                 summary="mike persisting; leo new"),
    "GT-36": dif(P, ("payments:default", P), ("payments:report-exporter", N),
                 summary="payments:default persisting; report-exporter new"),
    "GT-37": dif(P, ("henry@northwind.example", P), ("ivan@northwind.example", R),
                 ("kate@northwind.example", U),
                 note="kate never reached a CDE namespace (all refused), so she is in neither "
                      "population",
                 summary="henry persisting; ivan resolved"),
    "GT-38": dif(P, ("bob-cluster-admin", P), ("breakglass-carol", P), ("rbac-manager-henry", P),
                 ("secret-reader-dave", N), ("payments-exec-erin", N),
                 note="a usage-based review also shows permissions of bob-cluster-admin and "
                      "rbac-manager-henry unused in Q2 but used in Q3 (exec, secrets, pod "
                      "create, bind, impersonate) as resolved: usage, not a removal",
                 summary="persisting; secret-reader-dave and payments-exec-erin new"),
    "GT-39": dif(P, ("ci-deployer-cluster-admin", P), ("argocd-manager-role-binding", P)),
    "GT-40": dif(U), "GT-41": dif(N), "GT-42": dif(N), "GT-43": dif(U), "GT-44": dif(U),
    "GT-45": dif(P, note="the same connection in both quarters: it should keep its identity "
                         "across the runs"),
    "GT-46": dif(N), "GT-47": dif(N), "GT-48": dif(U), "GT-49": dif(U), "GT-50": dif(N),
    "GT-51": dif(U), "GT-52": dif(N),
    "GT-53": dif(P, ("card-vault ingress", P), ("card-vault egress", P),
                 ("checkout-web ingress", P), ("checkout-web egress", P),
                 ("payments ingress", U), ("payments egress", U),
                 summary="persisting (payments unchanged-pass)"),
    "GT-54": dif(P),
    "GT-55": dif(P, note="the missing 2026-Q2 scan fails in both; the Q2 run's 2025-Q3 window "
                         "leaves the Q3 look-back"),
    "GT-56": dif(U), "GT-57": dif(U), "GT-58": dif(P), "GT-59": dif(U), "GT-60": dif(P),
    "GT-61": dif(R),
    "GT-62": dif(R, ("monitoring ingress", R), ("monitoring egress", P),
                 summary="resolved (monitoring egress persisting, GT-53)"),
    "GT-63": dif(U, note="a new population item that passes: not a finding in either run"),
    "GT-64": dif(N),
    "GT-65": dif(R), "GT-66": dif(P), "GT-67": dif(N), "GT-68": dif(N), "GT-69": dif(P),
    "GT-70": dif(R, note="Q2 has no admission control, so every image fails there"),
    "GT-71": dif(N), "GT-72": dif(U), "GT-73": dif(N), "GT-74": dif(N),
    "GT-75": dif(R, note="no read in Q3: the item leaves the population"),
    "GT-76": dif(U),
    "GT-77": dif(N, note="Q2's cloud check is not tested (no cloud scan before 2026-09-28): "
                         "auditkit diff lists these items as first tested"), "GT-78": dif(U), "GT-79": dif(I),
}

# The acceptance test of a run comparison, in auditkit's terms (check id and resource key):
# `auditkit diff` of the 2026-q2 run (as of 2026-06-30) and the 2026-q3 run (as of 2026-09-30)
# over this data, with every check of the catalog evaluated, must list each finding below with
# the change given; "absent" items must not be listed as findings at all.
DIFF_ACCEPTANCE = [
    # (scenario, check, resource, change)
    ("GT-01", "vuln_critical_patch_window",
     "registry.northwind.example/payments/payments-api CVE-2026-10231 libssl3", N),
    ("GT-06", "vuln_critical_patch_window", "nginx CVE-2026-10877 libexpat1", R),
    ("GT-07", "vuln_critical_patch_window",
     "registry.northwind.example/payments/payments-api CVE-2026-10044 "
     "org.springframework:spring-web", R),
    ("GT-13", "workload_privileged_containers", "payments/Pod/payments-debug:payments-debug", N),
    ("GT-14", "workload_runs_as_root", "card-vault/StatefulSet/card-vault-db:card-vault-db", P),
    ("GT-15", "workload_runs_as_root", "checkout-web/Deployment/checkout-web:checkout-web", N),
    ("GT-19", "rbac_default_sa_grants",
     "RoleBinding/payments/payments-default-edit -> "
     "ServiceAccount:system:serviceaccount:payments:default", P),
    ("GT-20", "audit_log_continuity", "audit-log 2026-08-14", N),
    ("GT-30", "sa_interactive_use",
     "system:serviceaccount:payments:payments-api via kubectl from 10.8.14.37", N),
    ("GT-32", "users_shared_generic_accounts", "user:admin", N),
    ("GT-33", "users_terminated_still_active", "user:u1010", N),
    ("GT-34", "users_terminated_still_active", "user:u1014", "absent"),
    ("GT-35", "users_inactive_accounts", "user:u1012", N),
    ("GT-35", "users_inactive_accounts", "user:u1013", P),
    ("GT-36", "rbac_privileged_grants_unused",
     "RoleBinding/payments/report-exporter -> "
     "ServiceAccount:system:serviceaccount:payments:report-exporter", N),
    ("GT-37", "users_mfa_for_cde_access", "user:u1008", P),
    ("GT-37", "users_mfa_for_cde_access", "user:u1009", R),
    ("GT-37", "users_mfa_for_cde_access", "user:u1011", "absent"),
    ("GT-38", "rbac_cluster_admin_bindings",
     "ClusterRoleBinding/bob-cluster-admin -> User:bob@northwind.example", P),
    ("GT-38", "rbac_broad_secrets_read",
     "ClusterRoleBinding/secret-reader-dave -> User:dave@northwind.example", N),
    ("GT-38", "rbac_wildcard_grants", "ClusterRole/northwind-breakglass", P),
    ("GT-39", "rbac_cluster_admin_bindings",
     "ClusterRoleBinding/ci-deployer-cluster-admin -> "
     "ServiceAccount:system:serviceaccount:ci:deployer", P),
    ("GT-53", "netpol_cde_default_deny", "card-vault ingress", P),
    ("GT-53", "netpol_cde_default_deny", "card-vault egress", P),
    ("GT-61", "rbac_authenticated_group_bindings",
     "ClusterRoleBinding/authenticated-view -> Group:system:authenticated", R),
    ("GT-62", "netpol_cde_default_deny", "monitoring ingress", R),
    ("GT-64", "workload_privileged_containers", spec_patch.RESOURCE, N),
    ("GT-65", "admission_policy_enforced", "namespace payments", R),
    ("GT-66", "admission_policy_enforced", "namespace kube-system", P),
    ("GT-67", "admission_policy_enforced",
     "result kyverno require-run-as-nonroot/autogen-run-as-non-root Deployment "
     "checkout-web/checkout-web", N),
    ("GT-68", "images_approved_sources", "payments/Pod/payments-debug:payments-debug", N),
    ("GT-69", "images_approved_sources", "card-vault/StatefulSet/card-vault-db:card-vault-db", P),
    ("GT-70", "images_approved_sources", "payments/Deployment/payments-api:payments-api", R),
    ("GT-71", "sod_developers_production", "activity erin@northwind.example", N),
    ("GT-71", "sod_developers_production",
     "grant RoleBinding/payments/payments-exec-erin -> User:erin@northwind.example", N),
    ("GT-72", "sod_developers_production", "activity grace@northwind.example", "absent"),
    ("GT-73", "audit_container_lifecycle_logged", "audit-trail payments 2026-08-14", N),
    ("GT-74", "secrets_runtime_handling", "read dave@northwind.example card-vault/kek-wrapping", N),
    ("GT-75", "secrets_runtime_handling",
     "read system:serviceaccount:payments:report-exporter payments/payments-db-credentials", R),
]

QUIRKS = [
    "audit: some requests have a RequestReceived line before ResponseComplete (same auditID); "
    "exec sessions have ResponseStarted and ResponseComplete (code 101); 401 events have "
    "user {} and no annotations",
    "audit: webhook/siem-webhook-batch-2026-09-16.json (EventList) and relay/*.jsonl (AKS "
    "diagnostic wrapper, properties.log is a JSON string) repeat events of the main log",
    "audit: relay/soc-relay-kube-audit-admin-2026-q3.jsonl (AKS kube-audit-admin) mixes "
    "properties.log as a JSON object and as a JSON string in one file",
    "audit: pod creates carry pod-security.kubernetes.io/enforce-policy privileged:latest "
    "(no enforce label): Pod Security decided, but enforced nothing",
    "policy: Kyverno 1.12 reports, one per workload (scope, no resources[]); autogen- rules",
    "cloud: Prowler OCSF 1.5 (time_dt naive, read as UTC); Security Hub get-findings output",
    "audit: requestURI query strings are written with \\u0026 (Go HTML escaping)",
    "audit: sourceIPs sometimes holds two entries; only the last is the real peer",
    "falco: captures/*.log starts with 12 non-JSON banner lines and repeats two metrics "
    "snapshots of the monthly file",
    "falco: 'Falco internal: metrics snapshot' records are heartbeats (source internal)",
    "vpc: NODATA and SKIPDATA records carry '-' in address/port/count/action fields; a few "
    "records are IPv6",
    "vpc: the custom-format NAT gateway file has a header line and version 5 fields in a "
    "non-default order",
    "hubble: captures/*.json holds bare Flow objects (no {flow, node_name, time} wrapper)",
    "trivy: FixedVersion of Go stdlib findings is a comma-separated list",
    "trivy k8s: produced with --include-non-failures, so PASS entries are present",
]


def workload_hardening() -> dict[str, list[str]]:
    """namespace/workload -> the 2.2.6 settings its pod spec violates (empty: hardened)."""
    out = {f"{w.namespace}/{w.name}": violations(w.security) for w in WORKLOADS}
    out[f"{DEBUG_POD['namespace']}/{DEBUG_POD['name']}"] = violations("debug")
    out[f"{SANDBOX_PRIV_POD['namespace']}/{SANDBOX_PRIV_POD['name']}"] = violations("sandbox")
    out[f"{spec_patch.NAMESPACE}/{spec_patch.NAME}"] = ["privileged"]  # GT-64, after the patch
    return dict(sorted(out.items()))


def diff_summary(gid: str) -> str:
    """The README's one-line Q2 -> Q3 diff column for a scenario."""
    return DIFF[gid].get("summary", DIFF[gid]["change"])


def scenarios() -> list[dict]:
    out = []
    for sc in SCENARIOS:
        sc = dict(sc)
        sc["diff"] = DIFF[sc["id"]]
        out.append(sc)
    return out


def write(out: Output, counts: dict) -> None:
    assert set(DIFF) == {sc["id"] for sc in SCENARIOS}
    assert {sc for sc, _, _, _ in DIFF_ACCEPTANCE} <= set(DIFF)
    doc = {
        "generator": "sample_data/generate.py",
        "organisation": "Northwind Payments Ltd",
        "periods": {Q3: {"start": "2026-07-01", "end": "2026-09-30"},
                    Q2: {"start": "2026-04-01", "end": "2026-06-30"}},
        "access_snapshots": {Q2: "access/2026-06-30/", Q3: "access/2026-09-30/"},
        "expected_values": ["pass", "fail", "excepted", "not_applicable", "out_of_scope",
                            "info"],
        "diff_values": DIFF_VOCABULARY,
        "scenarios": scenarios(),
        "diff_acceptance": {
            "before": {"period": Q2, "as_of": "2026-06-30", "access_snapshot": "2026-06-30"},
            "after": {"period": Q3, "as_of": "2026-09-30", "access_snapshot": "2026-09-30"},
            "note": "auditkit check ids and resource keys; 'absent': not a finding in the diff",
            "findings": [{"scenario": sc, "check": check, "resource": resource,
                          "change": change}
                         for sc, check, resource, change in DIFF_ACCEPTANCE],
        },
        "workload_hardening": workload_hardening(),
        "format_quirks": QUIRKS,
        "counts": counts,
    }
    out.write_text("ground-truth/scenarios.json", json.dumps(doc, indent=2) + "\n",
                   "ground-truth-json", len(SCENARIOS))
