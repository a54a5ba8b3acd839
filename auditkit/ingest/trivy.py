"""Trivy JSON reports: image/filesystem (SchemaVersion 2), ``trivy k8s``, legacy array and ``null``.

Records are findings: vulnerabilities, misconfigurations and secrets. Each
scanned target (an image, a folder, a Kubernetes resource) becomes a ``scans``
row even when it has no findings, so "scanned and clean" is distinguishable
from "never scanned".
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    ScanRows,
    as_dict,
    as_list,
    as_str_list,
    first_present,
    normalize_severity,
    parse_time,
)
from auditkit.safeload import pointer

PARSER_VERSION = "1"

_STATUS_TO_FIX = {
    "fixed": "fixed",
    "affected": "not_fixed",
    "under_investigation": "not_fixed",
    "will_not_fix": "wont_fix",
    "fix_deferred": "not_fixed",
    "end_of_life": "wont_fix",
    "not_affected": "not_affected",
    "unknown": "unknown",
}


_K8S_SECTIONS = ("Resources", "Findings", "Vulnerabilities", "Misconfigurations")
_MODIFIED = "ExperimentalModifiedFindings"  # findings suppressed by VEX or an ignore file


def _is_trivy_report(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "SchemaVersion" in doc
        and any(k in doc for k in ("ArtifactName", "ArtifactType", "Results"))
        and "ClusterName" not in doc
    )


def _is_trivy_k8s(doc: Any) -> bool:
    # A clean current-source report is {SchemaVersion, ClusterName}: Resources is omitempty.
    return (
        isinstance(doc, dict)
        and "ClusterName" in doc
        and any(k in doc for k in (*_K8S_SECTIONS, "SchemaVersion"))
    )


def _is_legacy(doc: Any) -> bool:
    if doc is None:
        return True  # a clean scan by Trivy < 0.20 was the literal null
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(isinstance(i, dict) and "Target" in i for i in doc)
        and any("Vulnerabilities" in i or "Type" in i for i in doc)
    )


_Obj = dict[str, Any]
_obj = as_dict

# A Result without Class (early SchemaVersion 2, legacy): its class from the findings it carries.
_FINDING_CLASS = (
    ("Vulnerabilities", "vuln"),
    ("Misconfigurations", "config"),
    ("Secrets", "secret"),
    ("Licenses", "license"),
)
_MODIFIED_CLASS = {"vulnerability": "vuln", "misconfiguration": "config", "secret": "secret"}


def scan_classes(results: Any) -> list[str]:
    """What a Trivy report shows was examined for one target, sorted: each Result's ``Class``
    (os-pkgs and lang-pkgs mean package vulnerability detection ran, even when the Result lists
    no vulnerability), else the kinds of finding the Result carries. A report without Results
    shows nothing: Trivy does not record which scanners ran."""
    found: set[str] = set()
    for result in as_list(results):
        result = _obj(result)
        cls = result.get("Class")
        if isinstance(cls, str) and cls:
            found.add("license" if cls == "license-file" else cls.lower())
            continue
        found.update(name for key, name in _FINDING_CLASS if key in result)
        for mod in as_list(result.get(_MODIFIED)):
            name = _MODIFIED_CLASS.get(str(_obj(mod).get("Type") or "").lower())
            if name:
                found.add(name)
    return sorted(found)


class _Where(NamedTuple):
    """Where a finding sits: its scan, Result target, Result and Kubernetes resource."""

    scan_id: str
    target: Any
    result: _Obj
    k8s: _Obj


def split_image_ref(ref: str | None) -> tuple[str | None, str | None, str | None]:
    """Split ``registry/repo:tag@sha256:...`` into (repo, tag, digest)."""
    if not ref:
        return None, None, None
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    return ref or None, tag, digest


def _fix_state(vuln: dict[str, Any]) -> str:
    status = vuln.get("Status")
    if isinstance(status, str) and status in _STATUS_TO_FIX:
        return _STATUS_TO_FIX[status]
    # Older releases have no Status: a non-empty FixedVersion means a fix exists.
    return "fixed" if vuln.get("FixedVersion") else "unknown"


def _cvss(vuln: dict[str, Any]) -> tuple[float | None, str | None]:
    cvss = vuln.get("CVSS")
    if not isinstance(cvss, dict):
        return None, None
    preferred = [vuln.get("SeveritySource"), "nvd", "redhat", "ghsa"]
    order = [s for s in preferred if isinstance(s, str) and s in cvss] + sorted(
        k for k in cvss if k not in preferred
    )
    for source in order:
        entry = cvss.get(source)
        if not isinstance(entry, dict):
            continue
        for score_key, vector_key in (
            ("V40Score", "V40Vector"),
            ("V3Score", "V3Vector"),
            ("V2Score", "V2Vector"),
        ):
            score = entry.get(score_key)
            if isinstance(score, int | float) and not isinstance(score, bool):
                vector = entry.get(vector_key)
                return float(score), vector if isinstance(vector, str) else None
    return None, None


class _Collector(ScanRows):
    """A file's Trivy rows: ``vulns``/``misconfigs``/``secrets`` are the ScanRows tables."""

    def __init__(self, ctx: LoadContext, scanned_at: dt.datetime | None, version: str | None):
        super().__init__(ctx, "trivy", scanner_version=version, scanned_at=scanned_at)
        self.vulns = self.rows.setdefault("vulnerabilities", [])
        self.misconfigs = self.rows.setdefault("config_findings", [])
        self.secrets = self.rows.setdefault("secret_findings", [])

    def results(
        self, scan_id: str, results: Any, base: tuple[str | int, ...], k8s: dict[str, Any]
    ) -> None:
        if results is None:
            return
        if not isinstance(results, list):
            self.ctx.reject("#" + pointer(*base), "Results is not a list")
            return
        for r_index, result in enumerate(results):
            where = (*base, r_index)
            if not isinstance(result, dict):
                self.ctx.reject("#" + pointer(*where), "result is not an object")
                continue
            at = _Where(scan_id, result.get("Target"), result, k8s)
            for kind, rows, builder in (
                ("Vulnerabilities", self.vulns, self._vuln),
                ("Misconfigurations", self.misconfigs, self._misconfig),
                ("Secrets", self.secrets, self._secret),
            ):
                items = result.get(kind)
                if items is None:
                    continue
                if not isinstance(items, list):
                    self.ctx.reject("#" + pointer(*where, kind), f"{kind} is not a list")
                    continue
                for i, item in enumerate(items):
                    loc = "#" + pointer(*where, kind, i)
                    if not isinstance(item, dict):
                        self.ctx.reject(loc, "finding is not an object")
                        continue
                    row = builder(item, loc, at)
                    if row is not None:
                        rows.append(row)
            for i, mod in enumerate(as_list(result.get(_MODIFIED))):
                self._modified(mod, "#" + pointer(*where, _MODIFIED, i), at)

    def _modified(self, mod: Any, loc: str, at: _Where) -> None:
        """A suppressed finding: stored like the others, marked suppressed (or exception)."""
        if not isinstance(mod, dict) or not isinstance(mod.get("Finding"), dict):
            self.ctx.reject(loc, "modified finding without a Finding object")
            return
        kind = str(mod.get("Type") or "").lower()
        targets = {
            "vulnerability": (self.vulns, self._vuln),
            "misconfiguration": (self.misconfigs, self._misconfig),
            "secret": (self.secrets, self._secret),
        }
        if kind not in targets:  # licence findings are not stored (nor are Results[].Licenses)
            return
        rows, builder = targets[kind]
        row = builder(mod["Finding"], loc, at)
        if row is None:
            return
        status = mod.get("Status")
        reason = [f"{status}" if status else "suppressed", mod.get("Statement"), mod.get("Source")]
        row["suppression"] = "; ".join(str(p) for p in reason if p)
        if kind == "misconfiguration":
            row["status"] = "exception"
        else:
            row["suppressed"] = True
        if kind == "vulnerability":
            row["analysis_state"] = status if isinstance(status, str) else None
        rows.append(row)

    def _vuln(self, v: _Obj, loc: str, at: _Where) -> _Obj | None:
        # Old Trivy releases can emit an entry with only PkgName: keep it (id unknown).
        vuln_id = v.get("VulnerabilityID") if isinstance(v.get("VulnerabilityID"), str) else None
        score, vector = _cvss(v)
        ident = _obj(v.get("PkgIdentifier"))
        vendor_ids = as_str_list(v.get("VendorIDs")) or []
        return {
            "source_sha256": self.ctx.source.sha256,
            "locator": loc,
            "scan_id": at.scan_id,
            "vuln_id": vuln_id,
            "aliases": vendor_ids or None,
            "target": at.target,
            "pkg_name": v.get("PkgName"),
            "pkg_type": at.result.get("Type"),
            "pkg_path": v.get("PkgPath"),
            "purl": ident.get("PURL"),
            "installed_version": v.get("InstalledVersion"),
            "fixed_version": v.get("FixedVersion") or None,
            "fix_state": _fix_state(v),
            "status_raw": v.get("Status"),
            "severity": normalize_severity(v.get("Severity")),
            "severity_raw": v.get("Severity"),
            "severity_source": v.get("SeveritySource"),
            "cvss_score": score,
            "cvss_vector": vector,
            "published_at": parse_time(v.get("PublishedDate")),
            "suppressed": False,
            "suppression": None,
            "analysis_state": None,
            "title": v.get("Title"),
        }

    def _misconfig(self, m: _Obj, loc: str, at: _Where) -> _Obj | None:
        rule = first_present(m, "AVDID", "ID")
        if not isinstance(rule, str):
            self.ctx.reject(loc, "misconfiguration without ID")
            return None
        raw = m.get("Status")
        status = str(raw or "FAIL").lower()  # releases before the Status key reported failures only
        cause = _obj(m.get("CauseMetadata"))
        return {
            "source_sha256": self.ctx.source.sha256,
            "locator": loc,
            "scan_id": at.scan_id,
            "rule_id": rule,
            "title": m.get("Title"),
            "status": status if status in ("fail", "pass", "exception") else "fail",
            "status_raw": raw,
            "suppression": None,
            "severity": normalize_severity(m.get("Severity")),
            "severity_raw": m.get("Severity"),
            "target": cause.get("Resource") or at.target,
            "k8s_namespace": at.k8s.get("namespace"),
            "k8s_kind": at.k8s.get("kind"),
            "k8s_name": at.k8s.get("name"),
            "message": m.get("Message"),
            "remediation": m.get("Resolution"),
        }

    def _secret(self, s: _Obj, loc: str, at: _Where) -> _Obj | None:
        rule = s.get("RuleID")
        if not isinstance(rule, str):
            self.ctx.reject(loc, "secret finding without RuleID")
            return None
        layer = _obj(s.get("Layer"))
        line = s.get("StartLine")
        return {
            "source_sha256": self.ctx.source.sha256,
            "locator": loc,
            "scan_id": at.scan_id,
            "rule_id": rule,
            "category": s.get("Category"),
            "title": s.get("Title"),
            "severity": normalize_severity(s.get("Severity")),
            "severity_raw": s.get("Severity"),
            "target": at.target,
            "start_line": line if isinstance(line, int) and not isinstance(line, bool) else None,
            "layer_digest": layer.get("Digest"),
            "masked_match": s.get("Match"),
            "suppressed": False,
            "suppression": None,
        }


def _image_fields(meta: dict[str, Any], artifact: Any) -> dict[str, Any]:
    """Image identity columns from a report's (or a k8s resource's) ``Metadata``."""
    repo_digests = [d for d in as_str_list(meta.get("RepoDigests")) or [] if d]
    repo_tags = [t for t in as_str_list(meta.get("RepoTags")) or [] if t]
    named = repo_tags[0] if repo_tags else (artifact if isinstance(artifact, str) else None)
    repo, tag, digest = split_image_ref(repo_digests[0] if repo_digests else named)
    if tag is None and named:
        tag = split_image_ref(named)[1]
    os_meta = _obj(meta.get("OS"))
    eosl = os_meta.get("EOSL")
    return {
        "image_repo": repo,
        "image_tag": tag,
        "image_digest": digest,
        "image_id": meta.get("ImageID"),
        "os_family": os_meta.get("Family") or None,
        "os_name": os_meta.get("Name") or None,
        "os_eosl": eosl if isinstance(eosl, bool) else None,
    }


def _load_report(ctx: LoadContext) -> LoadStats:
    doc = ctx.sniff.document
    meta = _obj(doc.get("Metadata"))
    col = _Collector(ctx, parse_time(doc.get("CreatedAt")), _obj(doc.get("Trivy")).get("Version"))
    artifact = doc.get("ArtifactName")
    kind = {
        "container_image": "image",
        "filesystem": "filesystem",
        "repository": "repository",
        "vm": "vm",
    }.get(str(doc.get("ArtifactType") or ""), "image" if meta.get("RepoDigests") else "other")
    fields = _image_fields(meta, artifact)
    if kind != "image":
        fields.update(image_repo=None, image_tag=None, image_digest=None)
    classes = scan_classes(doc.get("Results"))
    scan_id = col.scan(
        "#", kind, db_built_at=None, artifact_name=artifact, scan_classes=classes, **fields
    )
    col.results(scan_id, doc.get("Results"), ("Results",), {})
    return col.flush()


def _load_legacy(ctx: LoadContext) -> LoadStats:
    doc = ctx.sniff.document
    col = _Collector(ctx, None, None)
    # Trivy < 0.20 scanned for vulnerabilities only: a null document is a clean scan.
    scan_id = col.scan("#", "other", artifact_name=None, scan_classes=["vuln"])
    col.results(scan_id, doc or [], (), {})
    return col.flush()


def _k8s_image(entry: dict[str, Any]) -> dict[str, Any] | None:
    """Image identity of a k8s vulnerability entry (one entry per workload image): from
    ``Metadata`` (current releases), else from an os-pkgs Target ``<image> (<os> <ver>)``."""
    meta = _obj(entry.get("Metadata"))
    if any(meta.get(k) for k in ("ImageID", "RepoDigests", "RepoTags")):
        return _image_fields(meta, None)
    for result in as_list(entry.get("Results")):
        target = _obj(result).get("Target")
        if _obj(result).get("Class") == "os-pkgs" and isinstance(target, str) and target:
            return _image_fields(meta, target.split(" (", 1)[0])
    return None


def _load_k8s(ctx: LoadContext) -> LoadStats:
    doc = ctx.sniff.document
    col = _Collector(ctx, parse_time(doc.get("CreatedAt")), None)
    cluster = doc.get("ClusterName")
    for section in _K8S_SECTIONS:
        entries = doc.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            ctx.reject("#" + pointer(section), f"{section} is not a list")
            continue
        for index, entry in enumerate(entries):
            loc = "#" + pointer(section, index)
            if not isinstance(entry, dict):
                ctx.reject(loc, "resource entry is not an object")
                continue
            k8s = {
                "namespace": entry.get("Namespace") or None,
                "kind": entry.get("Kind"),
                "name": entry.get("Name"),
            }
            image = _k8s_image(entry)
            scan_id = col.scan(
                loc,
                "image" if image and image["image_repo"] else "k8s-resource",
                artifact_name=f"{cluster}/{k8s['namespace'] or '-'}/{k8s['kind']}/{k8s['name']}",
                cluster_name=cluster or None,
                k8s_namespace=k8s["namespace"],
                k8s_kind=k8s["kind"],
                k8s_name=k8s["name"],
                scan_error=entry.get("Error") or None,  # not scanned: not the same as clean
                scan_classes=scan_classes(entry.get("Results")),
                **(image or {}),
            )
            col.results(scan_id, entry.get("Results"), (section, index, "Results"), k8s)
    return col.flush()


FORMATS = [
    Format(
        name="trivy-json",
        family="scans",
        description="Trivy JSON report (SchemaVersion 2: image, filesystem, repository)",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_trivy_report(s.document),
        load=_load_report,
    ),
    Format(
        name="trivy-k8s-json",
        family="scans",
        description="Trivy 'trivy k8s --format json' cluster report",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_trivy_k8s(s.document),
        load=_load_k8s,
    ),
    Format(
        name="trivy-legacy-json",
        family="scans",
        description="Trivy < 0.20 JSON (top-level array of results, or null for a clean scan)",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_legacy(s.document),
        load=_load_legacy,
    ),
]
