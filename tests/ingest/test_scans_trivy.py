"""Trivy JSON gaps found against the corpus and current Trivy source, as small inline files."""

from __future__ import annotations

from typing import Any

from tests.ingest.conftest import Ingest

VULN = {
    "VulnerabilityID": "CVE-2026-1000",
    "PkgName": "openssl",
    "InstalledVersion": "3.0.1",
    "FixedVersion": "3.0.2",
    "Status": "fixed",
    "Severity": "CRITICAL",
    "SeveritySource": "nvd",
}


def report(**result: Any) -> dict[str, Any]:
    return {
        "SchemaVersion": 2,
        "CreatedAt": "2026-03-01T00:00:00Z",
        "ArtifactName": "registry.example.test/pay/api:1.4",
        "ArtifactType": "container_image",
        "Metadata": {"RepoTags": ["registry.example.test/pay/api:1.4"]},
        "Results": [{"Target": "api (debian 12)", "Class": "os-pkgs", "Type": "debian", **result}],
    }


def test_modified_findings_are_kept_as_suppressed(ingest: Ingest) -> None:
    modified = [
        {
            "Type": "vulnerability",
            "Status": "not_affected",
            "Statement": "vulnerable_code_not_in_execute_path",
            "Source": "openvex.json",
            "Finding": dict(VULN, VulnerabilityID="CVE-2026-2000"),
        },
        {
            "Type": "misconfiguration",
            "Status": "ignored",
            "Source": ".trivyignore",
            "Finding": {"ID": "DS002", "Title": "root user", "Severity": "HIGH", "Status": "FAIL"},
        },
        {
            "Type": "secret",
            "Status": "ignored",
            "Source": ".trivyignore",
            "Finding": {"RuleID": "github-pat", "Severity": "CRITICAL", "Match": "GH=****"},
        },
        {"Type": "license", "Status": "ignored", "Finding": {"Name": "GPL-3.0"}},
    ]
    loaded = ingest(report(Vulnerabilities=[VULN], ExperimentalModifiedFindings=modified))
    assert loaded.result.stored == 4  # the licence finding is not stored (nor are Licenses)
    vulns = loaded.table("vulnerabilities")
    assert [(v["vuln_id"], v["suppressed"], v["analysis_state"]) for v in vulns] == [
        ("CVE-2026-2000", True, "not_affected"),
        ("CVE-2026-1000", False, None),
    ]
    assert vulns[0]["locator"] == "#/Results/0/ExperimentalModifiedFindings/0"
    assert (
        vulns[0]["suppression"] == "not_affected; vulnerable_code_not_in_execute_path; openvex.json"
    )
    assert vulns[1]["severity_source"] == "nvd"
    (misconfig,) = loaded.table("config_findings")
    assert (misconfig["status"], misconfig["status_raw"]) == ("exception", "FAIL")
    (secret,) = loaded.table("secret_findings")
    assert (secret["suppressed"], secret["suppression"]) == (True, "ignored; .trivyignore")


def test_misconfiguration_statuses_are_kept(ingest: Ingest) -> None:
    misconfigs = [
        {"ID": "DS001", "Status": "PASS", "Severity": "LOW"},
        {"AVDID": "AVD-DS-0002", "ID": "DS002", "Status": "FAIL", "Severity": "HIGH"},
        {"ID": "DS005", "Status": "EXCEPTION", "Severity": "LOW"},
        {"ID": "DS006", "Severity": "LOW"},  # releases before Status reported failures only
    ]
    rows = ingest(report(Misconfigurations=misconfigs)).table("config_findings")
    assert [(r["rule_id"], r["status"]) for r in rows] == [
        ("DS001", "pass"),
        ("AVD-DS-0002", "fail"),
        ("DS005", "exception"),
        ("DS006", "fail"),
    ]


def test_current_k8s_report_with_image_metadata_and_errors(ingest: Ingest) -> None:
    doc = {
        "SchemaVersion": 2,
        "ClusterName": "prod-eu",
        "Resources": [
            {
                "Namespace": "payments",
                "Kind": "Deployment",
                "Name": "api",
                "Metadata": {
                    "ImageID": "sha256:" + "1" * 64,
                    "RepoDigests": ["registry.example.test/pay/api@sha256:" + "2" * 64],
                    "RepoTags": ["registry.example.test/pay/api:1.4"],
                    "OS": {"Family": "debian", "Name": "12.5"},
                },
                "Results": [
                    {
                        "Target": "registry.example.test/pay/api:1.4 (debian 12.5)",
                        "Class": "os-pkgs",
                        "Vulnerabilities": [VULN],
                    }
                ],
            },
            {
                "Namespace": "payments",
                "Kind": "Deployment",
                "Name": "worker",
                "Error": "unable to pull image: unauthorized",
            },
            {"Kind": "ClusterRole", "Name": "admin", "Results": [{"Target": "ClusterRole/admin"}]},
        ],
    }
    loaded = ingest(doc)
    assert (loaded.result.format, loaded.result.stored) == ("trivy-k8s-json", 1)
    scans = {s["k8s_name"]: s for s in loaded.table("scans")}
    api = scans["api"]
    assert (api["scan_kind"], api["image_repo"], api["image_tag"]) == (
        "image",
        "registry.example.test/pay/api",
        "1.4",
    )
    assert api["image_digest"] == "sha256:" + "2" * 64 and api["os_name"] == "12.5"
    assert (api["cluster_name"], api["k8s_namespace"]) == ("prod-eu", "payments")
    worker = scans["worker"]
    assert (worker["scan_kind"], worker["scan_error"]) == (
        "k8s-resource",
        "unable to pull image: unauthorized",
    )
    assert scans["admin"]["k8s_namespace"] is None


def test_clean_k8s_report_without_resources_is_recognised(ingest: Ingest) -> None:
    loaded = ingest({"SchemaVersion": 2, "ClusterName": "prod-eu"})
    assert (loaded.result.format, loaded.result.stored) == ("trivy-k8s-json", 0)


def test_values_of_unexpected_json_types_are_coerced_not_fatal(ingest: Ingest) -> None:
    odd = dict(VULN, PkgName=123, Title={"en": "t"}, InstalledVersion=True)
    odd["CVSS"] = {"nvd": {"V3Score": 9, "V3Vector": "CVSS:3.1/X"}}
    other = dict(VULN, CVSS={"nvd": {"V3Score": 7.5}}, PublishedDate=5)
    loaded = ingest(report(Vulnerabilities=[odd, other]))
    first, second = loaded.table("vulnerabilities")
    assert (first["pkg_name"], first["title"], first["installed_version"]) == (
        "123",
        '{"en": "t"}',
        "true",
    )
    assert (first["cvss_score"], second["cvss_score"]) == (9.0, 7.5)
