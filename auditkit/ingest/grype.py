"""Grype JSON reports (``grype -o json``), every release from 0.7 to current.

A record is one entry of ``matches[]`` or ``ignoredMatches[]`` (one
vulnerability matched to one package); ignored matches are stored with
``suppressed = true`` and the ignore rules that applied. The report's source
(an image, a directory, a file, an SBOM) is one ``scans`` row even when
``matches`` is empty.
"""

from __future__ import annotations

import json
from typing import Any

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    ScanRows,
    as_dict,
    as_float,
    as_list,
    normalize_severity,
    parse_time,
    text_or_none,
)
from auditkit.ingest.trivy import split_image_ref
from auditkit.safeload import pointer

PARSER_VERSION = "1"

_FIX_STATE = {
    "fixed": "fixed",
    "not-fixed": "not_fixed",
    "wont-fix": "wont_fix",
    "unknown": "unknown",
}

_SCAN_KIND = {
    "image": "image",
    "directory": "filesystem",
    "file": "filesystem",
    "sbom": "sbom",
    "sbom-file": "sbom",
}


def _is_grype(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("matches"), list)
        and as_dict(doc.get("descriptor")).get("name") == "grype"
    )


def _best_cvss(entries: list[Any]) -> tuple[float | None, str | None]:
    """The highest-version CVSS entry that has a base score: (score, vector)."""
    best: tuple[float, float, str | None] | None = None
    for entry in entries:
        entry = as_dict(entry)
        score = as_float(as_dict(entry.get("metrics")).get("baseScore"))
        if score is None:
            continue
        version = as_float(entry.get("version")) or 0.0
        vector = text_or_none(entry.get("vector"))
        if best is None or version > best[0]:
            best = (version, score, vector)
    return (best[1], best[2]) if best else (None, None)


def _image_identity(target: dict[str, Any]) -> dict[str, Any]:
    """Image columns from ``source.target`` (the image metadata object)."""
    digests = [d for d in as_list(target.get("repoDigests")) if isinstance(d, str) and d]
    tags = [t for t in as_list(target.get("tags")) if isinstance(t, str) and t]
    user_input = text_or_none(target.get("userInput"))
    named = tags[0] if tags else user_input
    repo, tag, digest = split_image_ref(digests[0] if digests else named)
    if tag is None and named:
        tag = split_image_ref(named)[1]
    return {
        "artifact_name": user_input,
        "image_repo": repo,
        "image_tag": tag,
        "image_digest": digest or text_or_none(target.get("manifestDigest")),
        "image_id": text_or_none(target.get("imageID")),
    }


def _db_built(descriptor: dict[str, Any]) -> Any:
    db = as_dict(descriptor.get("db"))
    # Up to DB schema v5: descriptor.db.built; v6 (grype 0.88+): descriptor.db.status.built.
    return db.get("built") or as_dict(db.get("status")).get("built")


def _ignore_reason(rules: Any) -> str | None:
    rules = as_list(rules)
    if not rules:
        return None
    return "grype ignore rule: " + json.dumps(rules, sort_keys=True, ensure_ascii=False)


def _match_row(match: dict[str, Any], suppressed: bool) -> dict[str, Any]:
    vuln = as_dict(match.get("vulnerability"))
    artifact = as_dict(match.get("artifact"))
    vuln_id = text_or_none(vuln.get("id"))
    related = [as_dict(r) for r in as_list(match.get("relatedVulnerabilities"))]
    aliases: list[str] = []
    for rel in related:
        rel_id = text_or_none(rel.get("id"))
        if rel_id and rel_id != vuln_id and rel_id not in aliases:
            aliases.append(rel_id)
    score, vector = _best_cvss(as_list(vuln.get("cvss")))
    if score is None:  # a GHSA or distro record: the NVD record behind it carries the CVSS
        score, vector = _best_cvss([c for r in related for c in as_list(r.get("cvss"))])
    fix = as_dict(vuln.get("fix"))
    versions = [v for v in as_list(fix.get("versions")) if isinstance(v, str) and v]
    state_raw = text_or_none(fix.get("state"))
    fix_state = _FIX_STATE.get(state_raw or "", "unknown")
    if state_raw is None and versions:
        fix_state = "fixed"
    location = as_dict(next(iter(as_list(artifact.get("locations"))), None))
    return {
        "vuln_id": vuln_id,
        "aliases": aliases or None,
        "target": text_or_none(location.get("path")),
        "pkg_name": text_or_none(artifact.get("name")),
        "pkg_type": text_or_none(artifact.get("type")),
        "pkg_path": None,
        "purl": text_or_none(artifact.get("purl")),
        "installed_version": text_or_none(artifact.get("version")),
        "fixed_version": ", ".join(versions) or None,
        "fix_state": fix_state,
        "status_raw": state_raw,
        "severity": normalize_severity(vuln.get("severity")),
        "severity_raw": text_or_none(vuln.get("severity")),
        "severity_source": text_or_none(vuln.get("namespace")),
        "cvss_score": score,
        "cvss_vector": vector,
        "published_at": None,
        "suppressed": suppressed,
        "suppression": _ignore_reason(match.get("appliedIgnoreRules")) if suppressed else None,
        "title": None,
    }


def _load(ctx: LoadContext) -> LoadStats:
    doc: dict[str, Any] = ctx.sniff.document
    descriptor = as_dict(doc.get("descriptor"))
    rows = ScanRows(
        ctx,
        "grype",
        scanner_version=text_or_none(descriptor.get("version")),
        scanned_at=parse_time(descriptor.get("timestamp")),
    )
    source = as_dict(doc.get("source"))
    source_type = text_or_none(source.get("type")) or "unknown"
    target = source.get("target")
    distro = as_dict(doc.get("distro"))
    fields: dict[str, Any] = {
        # Grype only matches packages against its vulnerability database: every report,
        # an empty matches list included, is a vulnerability scan of its source.
        "scan_classes": ["vuln"],
        "db_built_at": parse_time(_db_built(descriptor)),
        "os_family": text_or_none(distro.get("name")),
        "os_name": text_or_none(distro.get("version")),
    }
    if isinstance(target, dict):  # image metadata
        fields.update(_image_identity(target))
    else:  # a path, a purl, a CPE or "unknown"
        fields["artifact_name"] = text_or_none(target)
    scan_id = rows.scan("#", _SCAN_KIND.get(source_type, "other"), **fields)
    for key, suppressed in (("matches", False), ("ignoredMatches", True)):
        entries = doc.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            ctx.reject("#" + pointer(key), f"{key} is not a list")
            continue
        for index, match in enumerate(entries):
            locator = "#" + pointer(key, index)
            if not isinstance(match, dict) or not isinstance(match.get("vulnerability"), dict):
                ctx.reject(locator, "match without a vulnerability object")
                continue
            rows.add("vulnerabilities", locator, scan_id, **_match_row(match, suppressed))
    return rows.flush()


FORMATS = [
    Format(
        name="grype-json",
        family="scans",
        description="Grype JSON report (grype -o json): matches and ignored matches",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_grype(s.document),
        load=_load,
    ),
]
