"""CycloneDX JSON BOMs (spec 1.2 to 1.7), with or without a ``vulnerabilities`` section.

Records are:

- one ``sbom_packages`` row per component in ``components[]``, nested
  components included (``metadata.component``, the thing the BOM describes,
  is the ``scans`` row instead);
- one ``vulnerabilities`` row per (``vulnerabilities[]`` entry, ``affects[]``
  entry): ``affects[].ref`` is resolved through an index of every ``bom-ref``,
  never by position. A vulnerability without ``affects`` is one row with no package.

A pure SBOM therefore stores packages only.
"""

from __future__ import annotations

import re
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
    severity_from_score,
    text_or_none,
)
from auditkit.ingest.trivy import split_image_ref
from auditkit.safeload import pointer

PARSER_VERSION = "1"

# Rating choice (documented in docs/formats-scans.md): the vulnerability's own source,
# then a rating with no source (Grype writes its own that way), then NVD, then GHSA, then
# any other source in document order. Within one source a rating that states a severity
# beats one that only has a score, then the newest CVSS method wins.
_METHOD_RANK = {"cvssv4": 4, "cvssv31": 3, "cvssv3": 2, "cvssv2": 1}
SUPPRESSING_STATES = {"not_affected", "false_positive"}
_UPGRADE_RE = re.compile(r"^Upgrade .+ to version (\S.*)$")
_TYPE_PROPERTIES = ("aquasecurity:trivy:PkgType", "syft:package:type")
_PATH_PROPERTIES = ("aquasecurity:trivy:FilePath", "syft:location:0:path")


def _is_cyclonedx(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX"


def _properties(component: dict[str, Any]) -> dict[str, str]:
    """First value of each property name (names repeat, e.g. Trivy's DiffID)."""
    found: dict[str, str] = {}
    for prop in as_list(component.get("properties")):
        prop = as_dict(prop)
        name, value = prop.get("name"), prop.get("value")
        if isinstance(name, str) and isinstance(value, str):
            found.setdefault(name, value)
    return found


def _tool(metadata: dict[str, Any]) -> tuple[str, str | None]:
    """(name, version) of the first tool: an array in 1.2-1.4, ``{components, services}`` after."""
    tools = metadata.get("tools")
    entries = as_list(tools) or as_list(as_dict(tools).get("components"))
    entries += as_list(as_dict(tools).get("services"))
    for entry in entries:
        entry = as_dict(entry)
        name = text_or_none(entry.get("name"))
        if name:
            return name.lower(), text_or_none(entry.get("version"))
    return "unknown", None


def _purl_type(purl: str | None) -> str | None:
    if purl and purl.startswith("pkg:") and "/" in purl:
        return purl[4:].split("/", 1)[0] or None
    return None


def _license(component: dict[str, Any]) -> str | None:
    names: list[str] = []
    for entry in as_list(component.get("licenses")):
        entry = as_dict(entry)
        lic = as_dict(entry.get("license"))
        name = text_or_none(lic.get("id")) or text_or_none(lic.get("name"))
        name = name or text_or_none(entry.get("expression"))
        if name:
            names.append(name)
    return ", ".join(names) or None


def _supplier(component: dict[str, Any]) -> str | None:
    supplier = text_or_none(as_dict(component.get("supplier")).get("name"))
    return (
        supplier
        or text_or_none(component.get("publisher"))
        or text_or_none(component.get("author"))
    )


def _rank(rating: dict[str, Any], own: str | None, index: int) -> tuple[int, int, int, int]:
    name = text_or_none(as_dict(rating.get("source")).get("name"))
    if name is None:
        source_rank = 1
    elif own is not None and name.lower() == own:
        source_rank = 0
    else:
        source_rank = {"nvd": 2, "ghsa": 3}.get(name.lower(), 4)
    worded = 0 if text_or_none(rating.get("severity")) else 1  # a stated severity beats a score
    method = str(rating.get("method") or "").lower()
    return source_rank, worded, -_METHOD_RANK.get(method, 0), index


def choose_rating(vuln: dict[str, Any]) -> dict[str, Any]:
    """Severity, its raw word and source, and the CVSS score/vector, from ``ratings[]``."""
    own = text_or_none(as_dict(vuln.get("source")).get("name"))
    own = own.lower() if own else None
    ratings = [
        (_rank(r, own, i), r)
        for i, r in enumerate(as_dict(x) for x in as_list(vuln.get("ratings")))
        if str(r.get("method") or "").lower() != "other"  # EPSS, KEV: not a severity
    ]
    ratings.sort(key=lambda pair: pair[0])
    chosen: dict[str, Any] = {"severity": "unknown", "severity_raw": None}
    chosen.update(severity_source=None, cvss_score=None, cvss_vector=None)
    for _, rating in ratings:
        word = text_or_none(rating.get("severity"))
        score = as_float(rating.get("score"))
        is_cvss = str(rating.get("method") or "").lower().startswith("cvss")
        if word and word.lower() != "unknown":
            severity = normalize_severity(word)
        elif score is not None and is_cvss:
            severity = severity_from_score(score)
        else:
            continue
        source = text_or_none(as_dict(rating.get("source")).get("name"))
        chosen.update(severity=severity, severity_raw=word, severity_source=source)
        if score is not None and is_cvss:
            chosen.update(cvss_score=score, cvss_vector=text_or_none(rating.get("vector")))
        break
    if chosen["cvss_score"] is None:
        for _, rating in ratings:
            score = as_float(rating.get("score"))
            if score is not None and str(rating.get("method") or "").lower().startswith("cvss"):
                chosen.update(cvss_score=score, cvss_vector=text_or_none(rating.get("vector")))
                break
    return chosen


class _Index:
    """Every component by bom-ref, with its JSON pointer."""

    def __init__(self) -> None:
        self.by_ref: dict[str, dict[str, Any]] = {}

    def walk(self, ctx: LoadContext, rows: ScanRows, scan_id: str, doc: dict[str, Any]) -> None:
        stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc.get("components"), ("components",))]
        while stack:
            items, where = stack.pop()
            if items is None:
                continue
            if not isinstance(items, list):
                ctx.reject("#" + pointer(*where), "components is not a list")
                continue
            for index in range(len(items) - 1, -1, -1):
                stack.append(
                    (as_dict(items[index]).get("components"), (*where, index, "components"))
                )
            for index, component in enumerate(items):
                self._package(ctx, rows, scan_id, component, "#" + pointer(*where, index))

    def _package(
        self, ctx: LoadContext, rows: ScanRows, scan_id: str, component: Any, loc: str
    ) -> None:
        if not isinstance(component, dict) or not text_or_none(component.get("name")):
            ctx.reject(loc, "component without a name")
            return
        ref = text_or_none(component.get("bom-ref"))
        if ref:
            self.by_ref.setdefault(ref, component)
        purl = text_or_none(component.get("purl"))
        props = _properties(component)
        pkg_type = _purl_type(purl) or next(
            (props[p] for p in _TYPE_PROPERTIES if p in props), None
        )
        rows.add(
            "sbom_packages",
            loc,
            scan_id,
            name=component["name"],
            version=text_or_none(component.get("version")),
            pkg_type=pkg_type or text_or_none(component.get("type")),
            purl=purl,
            supplier=_supplier(component),
            license=_license(component),
            package_ref=ref,
            cpe=text_or_none(component.get("cpe")),
        )


def _vuln_rows(vuln: dict[str, Any], index: _Index) -> list[tuple[str, dict[str, Any]]]:
    """(pointer suffix, row) for each affected component of one vulnerability."""
    vuln_id = text_or_none(vuln.get("id"))
    aliases = [
        r_id
        for r_id in (text_or_none(as_dict(r).get("id")) for r in as_list(vuln.get("references")))
        if r_id and r_id != vuln_id
    ]
    analysis = as_dict(vuln.get("analysis"))
    state = text_or_none(analysis.get("state"))
    suppressed = state in SUPPRESSING_STATES
    reason = None
    if suppressed:
        detail = [text_or_none(analysis.get("justification")), text_or_none(analysis.get("detail"))]
        reason = "; ".join(["analysis.state " + str(state)] + [d for d in detail if d])
    upgrade = _UPGRADE_RE.match(str(vuln.get("recommendation") or ""))
    base: dict[str, Any] = {
        "vuln_id": vuln_id,
        "aliases": list(dict.fromkeys(aliases)) or None,
        "status_raw": None,
        "published_at": parse_time(vuln.get("published")),
        "suppressed": suppressed,
        "suppression": reason,
        "analysis_state": state,
        "title": None,
        "pkg_path": None,
    }
    base.update(choose_rating(vuln))
    affects = [as_dict(a) for a in as_list(vuln.get("affects"))]
    out: list[tuple[str, dict[str, Any]]] = []
    for a_index, affect in enumerate(affects or [{}]):
        ref = text_or_none(affect.get("ref"))
        component = index.by_ref.get(ref or "", {})
        versions = [as_dict(v) for v in as_list(affect.get("versions"))]
        fixed = [
            v["version"]
            for v in versions
            if v.get("status") == "unaffected" and isinstance(v.get("version"), str)
        ]
        affected = [v.get("version") for v in versions if v.get("status") == "affected"]
        fixed_version = ", ".join(fixed) or (upgrade.group(1) if upgrade else None)
        purl = text_or_none(component.get("purl"))
        if purl is None and ref and ref.startswith("pkg:"):
            purl = ref.split("?package-id=", 1)[0]
        props = _properties(component)
        row = dict(base)
        row.update(
            target=next((props[p] for p in _PATH_PROPERTIES if p in props), None)
            or (None if component else ref),
            pkg_name=text_or_none(component.get("name")),
            pkg_type=_purl_type(purl)
            or next((props[p] for p in _TYPE_PROPERTIES if p in props), None),
            purl=purl,
            installed_version=text_or_none(component.get("version"))
            or next((v for v in affected if isinstance(v, str)), None),
            fixed_version=fixed_version,
            fix_state="fixed" if fixed_version else "unknown",
        )
        out.append((pointer("affects", a_index) if affects else "", row))
    return out


def _subject(metadata: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """scan_kind and the ``scans`` columns for ``metadata.component``."""
    component = as_dict(metadata.get("component"))
    props = _properties(component)
    name = text_or_none(component.get("name"))
    fields: dict[str, Any] = {"artifact_name": name}
    if component.get("type") != "container":
        return "sbom", fields
    digest_ref = props.get("aquasecurity:trivy:RepoDigest")
    repo, tag, digest = split_image_ref(
        digest_ref or props.get("aquasecurity:trivy:RepoTag") or name
    )
    version = text_or_none(component.get("version"))
    if digest is None and version and version.startswith("sha256:"):
        digest = version  # Grype: the version of a container is its manifest digest
    fields.update(image_repo=repo, image_tag=tag, image_digest=digest)
    fields["image_id"] = props.get("aquasecurity:trivy:ImageID")
    return "image", fields


def _load(ctx: LoadContext) -> LoadStats:
    doc: dict[str, Any] = ctx.sniff.document
    metadata = as_dict(doc.get("metadata"))
    tool, version = _tool(metadata)
    rows = ScanRows(
        ctx, tool, scanner_version=version, scanned_at=parse_time(metadata.get("timestamp"))
    )
    kind, fields = _subject(metadata)
    vulns = doc.get("vulnerabilities")
    # A vulnerabilities array (empty when nothing was found) is the vulnerability analysis; a
    # BOM without one lists components and shows nothing about their vulnerabilities.
    classes = (["sbom"] if doc.get("components") else []) + (
        ["vuln"] if isinstance(vulns, list) else []
    )
    scan_id = rows.scan("#", kind, scan_classes=classes, **fields)
    index = _Index()
    root = as_dict(metadata.get("component"))
    if text_or_none(root.get("bom-ref")):
        index.by_ref[root["bom-ref"]] = root
    index.walk(ctx, rows, scan_id, doc)
    if vulns is not None and not isinstance(vulns, list):
        ctx.reject("#/vulnerabilities", "vulnerabilities is not a list")
    for v_index, vuln in enumerate(vulns if isinstance(vulns, list) else []):
        loc = "#" + pointer("vulnerabilities", v_index)
        if not isinstance(vuln, dict):
            ctx.reject(loc, "vulnerability is not an object")
            continue
        for suffix, row in _vuln_rows(vuln, index):
            rows.add("vulnerabilities", loc + suffix, scan_id, **row)
    return rows.flush()


FORMATS = [
    Format(
        name="cyclonedx-json",
        family="scans",
        description="CycloneDX JSON BOM: components, and vulnerabilities when present",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_cyclonedx(s.document),
        load=_load,
    ),
]
