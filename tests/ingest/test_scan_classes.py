"""What each report shows it examined (scans.scan_classes): the one input to "was this a
vulnerability scan", from the report itself, per format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ingest.conftest import Ingest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "scans"


def _classes(ingest: Ingest, doc: Any) -> list[list[str] | None]:
    loaded = ingest(doc)
    return [r["scan_classes"] for r in loaded.table("scans")]


def _trivy(results: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "SchemaVersion": 2,
        "CreatedAt": "2026-07-01T00:00:00Z",
        "ArtifactName": "registry.example.test/pay/api:1.4",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.8"}},
    }
    if results is not None:
        doc["Results"] = results
    return doc


def test_trivy_clean_os_result_is_a_vulnerability_scan(ingest: Ingest) -> None:
    # Trivy writes an os-pkgs Result for a detected OS even when nothing is found.
    clean = [{"Target": "api (debian 12.8)", "Class": "os-pkgs", "Type": "debian"}]
    assert _classes(ingest, _trivy(clean)) == [["os-pkgs"]]


def test_trivy_report_without_results_shows_nothing(ingest: Ingest) -> None:
    assert _classes(ingest, _trivy(None)) == [[]]


def test_trivy_classes_and_classless_results(ingest: Ingest) -> None:
    results = [
        {"Target": "Dockerfile", "Class": "config", "Type": "dockerfile"},
        {"Target": "app/.env", "Class": "secret"},
        {"Target": "OS Packages", "Class": "license-file"},
        {
            "Target": "requirements.txt",
            "Type": "pip",
            "Vulnerabilities": None,
        },  # early v2: no Class
    ]
    assert _classes(ingest, _trivy(results)) == [["config", "license", "secret", "vuln"]]


def test_trivy_k8s_misconfiguration_entry_names_an_image_but_is_config_only(
    ingest: Ingest,
) -> None:
    doc = {
        "SchemaVersion": 2,
        "ClusterName": "prod",
        "Resources": [
            {
                "Namespace": "payments",
                "Kind": "Deployment",
                "Name": "cache",
                "Metadata": {"RepoTags": ["docker.io/library/redis:7.4.2"]},
                "Results": [
                    {"Target": "Deployment/cache", "Class": "config", "Type": "kubernetes"}
                ],
            }
        ],
    }
    loaded = ingest(doc)
    (scan,) = loaded.table("scans")
    assert (scan["scan_kind"], scan["image_repo"], scan["scan_classes"]) == (
        "image",
        "docker.io/library/redis",
        ["config"],
    )


def test_grype_is_always_a_vulnerability_scan(ingest: Ingest) -> None:
    doc = {
        "matches": [],
        "source": {"type": "image", "target": {"userInput": "redis:7.4.2"}},
        "descriptor": {"name": "grype", "version": "0.92.2"},
    }
    assert _classes(ingest, doc) == [["vuln"]]


@pytest.mark.parametrize(
    ("extra", "want"),
    [
        ({}, ["sbom"]),
        ({"vulnerabilities": []}, ["sbom", "vuln"]),
    ],
)
def test_cyclonedx_needs_a_vulnerabilities_array(
    ingest: Ingest, extra: dict[str, Any], want: list[str]
) -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {"component": {"type": "container", "name": "redis"}},
        "components": [{"type": "library", "name": "libssl3", "version": "3.0.15"}],
        **extra,
    }
    assert _classes(ingest, doc) == [want]


@pytest.mark.parametrize(
    ("rel", "want"),
    [
        (
            "trivy-json/trivy-spring4shell-jre8-multi-result.json",
            ["custom", "lang-pkgs", "os-pkgs"],
        ),
        ("trivy-json/trivy-alpine-39-skip-no-results.json", []),
        ("trivy-json/dd-misconfigs-and-secrets-fs.json", ["config", "lang-pkgs", "secret"]),
        ("trivy-json/dd-legacy-null.json", ["vuln"]),
        ("grype-json/grype-empty-presenter.json", ["vuln"]),
        ("grype-sarif/grype-image.sarif", ["vuln"]),
        ("sarif/dd-dockle-0.3.15.sarif", ["config"]),
        ("spdx/dd-syft-one-vuln.spdx.json", ["sbom"]),
        ("cyclonedx/trivy-fluentd-short-vulns.cdx.json", ["sbom", "vuln"]),
    ],
)
def test_corpus_reports(ingest: Ingest, rel: str, want: list[str]) -> None:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"corpus not present at {CORPUS}")
    assert _classes(ingest, path.read_text(encoding="utf-8")) == [want]
