"""Grype, SARIF, CycloneDX and SPDX: the variants and quirks of FORMATS.md, as inline files."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from auditkit.errors import MalformedRecordsError
from tests.ingest.conftest import Ingest

# -- Grype --------------------------------------------------------------------------


def grype_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "matches": [
            {
                "vulnerability": {
                    "id": "GHSA-v6rh-hp5x-86rv",
                    "namespace": "github:python",
                    "severity": "High",
                    "cvss": [],
                    "fix": {"versions": ["3.2.10"], "state": "fixed"},
                },
                "relatedVulnerabilities": [
                    {
                        "id": "CVE-2021-44420",
                        "cvss": [
                            {"version": "2.0", "vector": "AV:N", "metrics": {"baseScore": 7.5}},
                            {
                                "version": "3.1",
                                "vector": "CVSS:3.1/X",
                                "metrics": {"baseScore": 7.3},
                            },
                        ],
                    }
                ],
                "artifact": {
                    "name": "Django",
                    "version": "3.2.9",
                    "type": "python",
                    "purl": "pkg:pypi/Django@3.2.9",
                    "locations": [{"path": "/site-packages/Django.dist-info/METADATA"}],
                },
            }
        ],
        "source": {
            "type": "image",
            "target": {
                "userInput": "registry.example.test/pay/api:1.4",
                "imageID": "sha256:" + "1" * 64,
                "manifestDigest": "sha256:" + "2" * 64,
                "tags": ["registry.example.test/pay/api:1.4"],
                "repoDigests": ["registry.example.test/pay/api@sha256:" + "3" * 64],
            },
        },
        "distro": {"name": "debian", "version": "12", "idLike": ["debian"]},
        "descriptor": {"name": "grype", "version": "0.80.0", "timestamp": "2026-03-01T10:00:00Z"},
    }
    doc.update(overrides)
    return doc


def test_grype_ghsa_aliases_cvss_from_related_and_image_identity(ingest: Ingest) -> None:
    loaded = ingest(grype_doc())
    assert (loaded.result.format, loaded.result.stored) == ("grype-json", 1)
    (vuln,) = loaded.table("vulnerabilities")
    assert vuln["vuln_id"] == "GHSA-v6rh-hp5x-86rv"
    assert vuln["aliases"] == ["CVE-2021-44420"]
    assert (vuln["cvss_score"], vuln["cvss_vector"]) == (7.3, "CVSS:3.1/X")  # newest version
    assert (vuln["fix_state"], vuln["fixed_version"]) == ("fixed", "3.2.10")
    assert (vuln["severity"], vuln["severity_raw"]) == ("high", "High")
    assert vuln["locator"] == "#/matches/0" and vuln["suppressed"] is False
    (scan,) = loaded.table("scans")
    assert scan["scan_kind"] == "image"
    assert (scan["image_repo"], scan["image_tag"]) == ("registry.example.test/pay/api", "1.4")
    assert scan["image_digest"] == "sha256:" + "3" * 64  # the registry digest, not the manifest
    assert scan["scanned_at"] == dt.datetime(2026, 3, 1, 10, 0)


@pytest.mark.parametrize("id_like", ["", ["debian"], None])
def test_grype_distro_id_like_string_or_list(ingest: Ingest, id_like: Any) -> None:
    doc = grype_doc(distro={"name": "debian", "version": "10", "idLike": id_like})
    loaded = ingest(doc)
    assert loaded.result.stored == 1
    assert loaded.table("scans")[0]["os_family"] == "debian"


def test_grype_ignored_matches_are_suppressed_with_their_rule(ingest: Ingest) -> None:
    doc = grype_doc()
    ignored = dict(doc["matches"][0])
    ignored["appliedIgnoreRules"] = [{"vulnerability": "GHSA-v6rh-hp5x-86rv"}]
    doc["ignoredMatches"] = [ignored]
    rows = ingest(doc).table("vulnerabilities")
    assert [(r["locator"], r["suppressed"]) for r in rows] == [
        ("#/ignoredMatches/0", True),
        ("#/matches/0", False),
    ]
    assert "GHSA-v6rh-hp5x-86rv" in rows[0]["suppression"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [("not-fixed", "not_fixed"), ("wont-fix", "wont_fix"), ("unknown", "unknown"), ("", "unknown")],
)
def test_grype_fix_states(ingest: Ingest, state: str, expected: str) -> None:
    doc = grype_doc()
    doc["matches"][0]["vulnerability"]["fix"] = {"versions": [], "state": state}
    assert ingest(doc).table("vulnerabilities")[0]["fix_state"] == expected


def test_grype_directory_source_and_v6_db_status(ingest: Ingest) -> None:
    descriptor = {
        "name": "grype",
        "version": "0.90.0",
        "timestamp": "",
        "db": {"status": {"built": "2026-02-27T04:12:00Z", "schemaVersion": "v6.0.2"}},
    }
    doc = grype_doc(source={"type": "directory", "target": "/src"}, descriptor=descriptor)
    (scan,) = ingest(doc).table("scans")
    assert (scan["scan_kind"], scan["artifact_name"], scan["image_repo"]) == (
        "filesystem",
        "/src",
        None,
    )
    assert scan["scanned_at"] is None  # "" means not reported
    assert scan["db_built_at"] == dt.datetime(2026, 2, 27, 4, 12)


def test_grype_empty_report_still_records_the_scan(ingest: Ingest) -> None:
    loaded = ingest(grype_doc(matches=[]))
    assert loaded.result.stored == 0
    assert len(loaded.table("scans")) == 1


def test_detection_never_uses_the_file_name(ingest: Ingest) -> None:
    assert ingest(grype_doc(), name="report.sarif").result.format == "grype-json"
    assert ingest(sarif_doc(), name="grype.json").result.format == "sarif"
    assert ingest(cdx_doc(), name="sbom.spdx.json").result.format == "cyclonedx-json"


# -- SARIF --------------------------------------------------------------------------


def sarif_doc(*runs: dict[str, Any]) -> dict[str, Any]:
    if not runs:
        runs = (
            {
                "tool": {"driver": {"name": "Dockle", "rules": [{"id": "CIS-DI-0010"}]}},
                "results": [{"ruleId": "CIS-DI-0010", "message": {"text": "ENV key found"}}],
            },
        )
    return {"version": "2.1.0", "runs": list(runs)}


def test_sarif_result_without_locations_or_level(ingest: Ingest) -> None:
    loaded = ingest(sarif_doc())
    assert (loaded.result.format, loaded.result.stored) == ("sarif", 1)
    (row,) = loaded.table("config_findings")
    assert row["target"] is None
    assert (row["severity"], row["severity_raw"]) == ("medium", "warning")  # absent level = warning
    assert (row["status"], row["message"]) == ("fail", "ENV key found")
    assert loaded.table("scans")[0]["scanner"] == "dockle"


def test_sarif_security_severity_beats_level_and_routes_vulnerabilities(ingest: Ingest) -> None:
    run = {
        "tool": {
            "driver": {
                "name": "Trivy",
                "version": "0.50.0",
                "rules": [
                    {
                        "id": "CVE-2024-0001",
                        "name": "OsPackageVulnerability",
                        "properties": {"security-severity": "9.8", "cvssv3_baseScore": 9.8},
                    }
                ],
            }
        },
        "results": [
            {
                "ruleId": "CVE-2024-0001",
                "ruleIndex": 0,
                "level": "error",
                "message": {
                    "text": "Package: openssl\nInstalled Version: 3.0.1\n"
                    "Vulnerability CVE-2024-0001\nSeverity: CRITICAL\nFixed Version: 3.0.2"
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "library/app", "uriBaseId": "ROOTPATH"}
                        }
                    }
                ],
            }
        ],
        "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///scan/"}},
        "properties": {
            "imageName": "registry.example.test/pay/api:1.4",
            "imageID": "sha256:" + "1" * 64,
            "repoDigests": ["registry.example.test/pay/api@sha256:" + "4" * 64],
            "repoTags": ["registry.example.test/pay/api:1.4"],
        },
    }
    loaded = ingest(sarif_doc(run))
    (vuln,) = loaded.table("vulnerabilities")
    assert (vuln["severity"], vuln["severity_raw"], vuln["severity_source"]) == (
        "critical",
        "9.8",
        "security-severity",
    )
    assert (vuln["vuln_id"], vuln["pkg_name"], vuln["installed_version"]) == (
        "CVE-2024-0001",
        "openssl",
        "3.0.1",
    )
    assert (vuln["fixed_version"], vuln["fix_state"], vuln["cvss_score"]) == ("3.0.2", "fixed", 9.8)
    assert vuln["target"] == "file:///scan/library/app"  # resolved through originalUriBaseIds
    (scan,) = loaded.table("scans")
    assert (scan["scan_kind"], scan["image_repo"], scan["image_tag"]) == (
        "image",
        "registry.example.test/pay/api",
        "1.4",
    )
    assert scan["image_digest"] == "sha256:" + "4" * 64


def test_sarif_grype_rule_id_carries_the_package(ingest: Ingest) -> None:
    rule = {
        "id": "GHSA-aaaa-bbbb-cccc-left-pad",
        "help": {"text": "Package: left-pad\nVersion: 1.0.0\nFix Version: \nType: npm"},
        "properties": {"security-severity": "5.0", "purls": ["pkg:npm/left-pad@1.0.0"]},
    }
    run = {
        "tool": {"driver": {"name": "grype", "rules": [rule]}},
        "results": [{"ruleId": rule["id"], "level": "warning", "message": {"text": "found"}}],
    }
    (vuln,) = ingest(sarif_doc(run)).table("vulnerabilities")
    assert (vuln["vuln_id"], vuln["pkg_name"], vuln["pkg_type"]) == (
        "GHSA-aaaa-bbbb-cccc",
        "left-pad",
        "npm",
    )
    assert (vuln["purl"], vuln["fixed_version"], vuln["fix_state"]) == (
        "pkg:npm/left-pad@1.0.0",
        None,
        "unknown",
    )


def test_sarif_suppressions_extensions_secrets_and_empty_runs(ingest: Ingest) -> None:
    checkov = {
        "tool": {
            "driver": {"name": "checkov", "rules": []},
            "extensions": [{"name": "policies", "rules": [{"id": "CKV_K8S_1", "name": "r"}]}],
        },
        "results": [
            {
                "ruleId": "CKV_K8S_1",
                "rule": {"id": "CKV_K8S_1", "index": 0, "toolComponent": {"index": 0}},
                "level": "note",
                "message": {"text": "waived"},
                "suppressions": [{"kind": "external", "justification": "risk accepted RA-7"}],
            },
            {
                "ruleId": "CKV_K8S_1",
                "message": {"text": "pending"},
                "suppressions": [{"kind": "inSource", "status": "underReview"}],
            },
        ],
    }
    gitleaks = {
        "tool": {"driver": {"name": "gitleaks", "rules": [{"id": "aws-access-token"}]}},
        "results": [
            {
                "ruleId": "aws-access-token",
                "message": {"text": "AKIA... detected"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "deploy/env"},
                            "region": {"startLine": 7, "snippet": {"text": "AKIAXXXXXXXX"}},
                        }
                    }
                ],
            }
        ],
    }
    empty = {"tool": {"driver": {"name": "KICS"}}, "results": []}
    loaded = ingest(sarif_doc(checkov, gitleaks, empty))
    assert loaded.result.stored == 3
    configs = loaded.table("config_findings")
    assert [(r["status"], r["title"]) for r in configs] == [("exception", "r"), ("fail", "r")]
    assert configs[0]["suppression"] == "external risk accepted RA-7"
    (secret,) = loaded.table("secret_findings")
    assert (secret["target"], secret["start_line"], secret["masked_match"]) == (
        "deploy/env",
        7,
        None,
    )
    assert secret["suppressed"] is False
    assert [s["scanner"] for s in loaded.table("scans")] == ["checkov", "gitleaks", "kics"]


def test_sarif_result_without_rule_id_is_malformed(ingest: Ingest) -> None:
    run = {"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "?"}}]}
    with pytest.raises(MalformedRecordsError, match="runs/0/results/0"):
        ingest(sarif_doc(run))


# -- CycloneDX ----------------------------------------------------------------------


def cdx_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {
            "timestamp": "2026-04-01T08:00:00+02:00",
            "tools": {"components": [{"name": "trivy", "version": "0.60.0"}]},
            "component": {
                "bom-ref": "root",
                "type": "container",
                "name": "registry.example.test/pay/api:1.4",
                "properties": [
                    {"name": "aquasecurity:trivy:ImageID", "value": "sha256:" + "1" * 64}
                ],
            },
        },
        "components": [
            {
                "bom-ref": "os",
                "type": "operating-system",
                "name": "debian",
                "version": "12",
                "components": [
                    {
                        "bom-ref": "pkg:deb/debian/bash@5.2?distro=debian-12",
                        "type": "library",
                        "name": "bash",
                        "version": "5.2",
                        "purl": "pkg:deb/debian/bash@5.2?distro=debian-12",
                        "licenses": [{"license": {"id": "GPL-3.0-only"}}],
                    }
                ],
            }
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2026-0001",
                "source": {"name": "debian"},
                "ratings": [
                    {
                        "source": {"name": "nvd"},
                        "score": 9.8,
                        "severity": "critical",
                        "method": "CVSSv31",
                    },
                    {"source": {"name": "debian"}, "severity": "low"},
                    {"source": {"name": "FIRST"}, "score": 0.4, "method": "other"},
                ],
                "published": "2026-01-02T00:00:00Z",
                "affects": [{"ref": "pkg:deb/debian/bash@5.2?distro=debian-12"}, {"ref": "root"}],
            }
        ],
    }
    doc.update(overrides)
    return doc


def test_cyclonedx_ratings_priority_affects_index_and_nested_components(ingest: Ingest) -> None:
    loaded = ingest(cdx_doc())
    assert loaded.result.stored == 4  # 2 components (one nested) + 1 vulnerability x 2 affects
    packages = loaded.table("sbom_packages")
    assert [(p["locator"], p["name"]) for p in packages] == [
        ("#/components/0", "debian"),
        ("#/components/0/components/0", "bash"),
    ]
    assert packages[1]["license"] == "GPL-3.0-only" and packages[1]["pkg_type"] == "deb"
    vulns = loaded.table("vulnerabilities")
    assert [(v["locator"], v["pkg_name"]) for v in vulns] == [
        ("#/vulnerabilities/0/affects/0", "bash"),
        ("#/vulnerabilities/0/affects/1", "registry.example.test/pay/api:1.4"),
    ]
    # The vulnerability's own source (debian) decides the severity; the CVSS score is kept.
    assert (vulns[0]["severity"], vulns[0]["severity_source"]) == ("low", "debian")
    assert (vulns[0]["cvss_score"], vulns[0]["published_at"]) == (9.8, dt.datetime(2026, 1, 2))
    (scan,) = loaded.table("scans")
    assert (scan["scanner"], scan["scanner_version"], scan["scan_kind"]) == (
        "trivy",
        "0.60.0",
        "image",
    )
    assert scan["image_id"] == "sha256:" + "1" * 64
    assert scan["scanned_at"] == dt.datetime(2026, 4, 1, 6, 0)


def test_cyclonedx_14_tools_array_unnamed_ratings_and_vex(ingest: Ingest) -> None:
    vuln = {
        "id": "CVE-2021-44228",
        "source": {"name": "nvd:cpe"},
        "ratings": [{"severity": "critical"}, {"score": 10.0, "method": "CVSSv31", "vector": "V"}],
        "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
        "affects": [{"ref": "urn:cdx:other-bom/1#lib"}],
    }
    meta = {"tools": [{"vendor": "anchore", "name": "grype", "version": "0.41.0"}]}
    loaded = ingest(
        cdx_doc(specVersion="1.4", metadata=meta, components=[], vulnerabilities=[vuln])
    )
    (row,) = loaded.table("vulnerabilities")
    assert (row["severity"], row["severity_raw"], row["cvss_score"]) == (
        "critical",
        "critical",
        10.0,
    )
    assert (row["suppressed"], row["analysis_state"]) == (True, "not_affected")
    assert (row["pkg_name"], row["target"]) == (None, "urn:cdx:other-bom/1#lib")  # unresolved ref
    assert loaded.table("scans")[0]["scanner"] == "grype"


def test_cyclonedx_pure_sbom_stores_packages_only(ingest: Ingest) -> None:
    doc = cdx_doc()
    del doc["vulnerabilities"]
    loaded = ingest(doc)
    assert loaded.result.stored == 2
    assert loaded.table("vulnerabilities") == []


# -- SPDX ---------------------------------------------------------------------------


@pytest.mark.parametrize("category", ["PACKAGE-MANAGER", "PACKAGE_MANAGER"])
def test_spdx_packages_purl_and_described_root(ingest: Ingest, category: str) -> None:
    doc = {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "app",
        "creationInfo": {"created": "2026-05-01T00:00:00Z", "creators": ["Tool: syft-1.20.0"]},
        "packages": [
            {"SPDXID": "SPDXRef-root", "name": "app-image"},
            {
                "SPDXID": "SPDXRef-p1",
                "name": "zlib",
                "versionInfo": "1.3",
                "supplier": "Organization: zlib",
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "Zlib",
                "externalRefs": [
                    {
                        "referenceCategory": category,
                        "referenceType": "purl",
                        "referenceLocator": "pkg:apk/alpine/zlib@1.3",
                    }
                ],
            },
        ],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-root",
            }
        ],
    }
    loaded = ingest(doc, name="bom.cdx.json")
    assert (loaded.result.format, loaded.result.stored) == ("spdx-json", 1)
    (pkg,) = loaded.table("sbom_packages")
    assert (pkg["purl"], pkg["pkg_type"], pkg["license"], pkg["supplier"]) == (
        "pkg:apk/alpine/zlib@1.3",
        "apk",
        "Zlib",
        "zlib",
    )
    (scan,) = loaded.table("scans")
    assert (scan["scanner"], scan["scanner_version"], scan["artifact_name"]) == (
        "syft",
        "1.20.0",
        "app-image",
    )
    assert scan["scanned_at"] == dt.datetime(2026, 5, 1)
