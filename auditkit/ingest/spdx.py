"""SPDX 2.x JSON documents (2.2 and 2.3): a package inventory, no vulnerabilities.

A record is one ``packages[]`` entry, stored in ``sbom_packages``, except the
package(s) the document describes (``DESCRIBES`` relationships from the
document, or ``documentDescribes``): that is the scanned artifact, recorded in
the ``scans`` row like CycloneDX's ``metadata.component``. ``creationInfo.created``
is the scan time.
"""

from __future__ import annotations

from typing import Any

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    ScanRows,
    as_dict,
    as_list,
    parse_time,
    text_or_none,
)
from auditkit.safeload import pointer

PARSER_VERSION = "1"

_NO_VALUE = {"NOASSERTION", "NONE"}


def _is_spdx2(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("spdxVersion"), str)
        and doc["spdxVersion"].startswith("SPDX-2")
    )


def _value(value: Any) -> str | None:
    """A string field, with SPDX's NOASSERTION/NONE meaning "no value"."""
    text = text_or_none(value)
    return None if text is None or text in _NO_VALUE else text


def _tool(creators: list[Any]) -> tuple[str, str | None]:
    """(name, version) from the first ``Tool: name-version`` creator."""
    for creator in creators:
        if isinstance(creator, str) and creator.startswith("Tool:"):
            tool = creator[len("Tool:") :].strip()
            name, sep, version = tool.rpartition("-")
            if sep and name and (version[:1].isdigit() or version == "dev"):
                return name.lower(), version
            return tool.lower(), None
    return "unknown", None


def _spdx_id(package: Any) -> str | None:
    return text_or_none(as_dict(package).get("SPDXID"))


def _described(doc: dict[str, Any]) -> set[str]:
    ids = {d for d in as_list(doc.get("documentDescribes")) if isinstance(d, str)}
    doc_id = doc.get("SPDXID") or "SPDXRef-DOCUMENT"
    for rel in as_list(doc.get("relationships")):
        rel = as_dict(rel)
        kind = rel.get("relationshipType")
        if kind == "DESCRIBES" and rel.get("spdxElementId") == doc_id:
            ids.add(str(rel.get("relatedSpdxElement")))
        elif kind == "DESCRIBED_BY" and rel.get("relatedSpdxElement") == doc_id:
            ids.add(str(rel.get("spdxElementId")))
    return ids


def _refs(package: dict[str, Any]) -> tuple[str | None, str | None]:
    """(purl, cpe) from externalRefs (category PACKAGE-MANAGER in 2.2, PACKAGE_MANAGER in 2.3)."""
    purl = cpe = None
    for ref in as_list(package.get("externalRefs")):
        ref = as_dict(ref)
        category = str(ref.get("referenceCategory") or "").replace("_", "-").upper()
        kind = ref.get("referenceType")
        locator = text_or_none(ref.get("referenceLocator"))
        if category == "PACKAGE-MANAGER" and kind == "purl" and purl is None:
            purl = locator
        elif category == "SECURITY" and kind in ("cpe23Type", "cpe22Type") and cpe is None:
            cpe = locator
    return purl, cpe


def _load(ctx: LoadContext) -> LoadStats:
    doc: dict[str, Any] = ctx.sniff.document
    info = as_dict(doc.get("creationInfo"))
    tool, version = _tool(as_list(info.get("creators")))
    rows = ScanRows(ctx, tool, scanner_version=version, scanned_at=parse_time(info.get("created")))
    packages = doc.get("packages")
    if packages is not None and not isinstance(packages, list):
        ctx.reject("#/packages", "packages is not a list")
        packages = []
    described = _described(doc)
    subjects = [as_dict(p) for p in packages or [] if _spdx_id(p) in described]
    subject_name = text_or_none(subjects[0].get("name")) if subjects else None
    scan_id = rows.scan(  # SPDX 2.x has no vulnerability section: an inventory only
        "#",
        "sbom",
        artifact_name=subject_name or text_or_none(doc.get("name")),
        scan_classes=["sbom"],
    )
    for index, package in enumerate(packages or []):
        loc = "#" + pointer("packages", index)
        if not isinstance(package, dict) or not text_or_none(package.get("name")):
            ctx.reject(loc, "package without a name")
            continue
        if _spdx_id(package) in described:
            continue
        purl, cpe = _refs(package)
        pkg_type = purl[4:].split("/", 1)[0] if purl and purl.startswith("pkg:") else None
        supplier = _value(package.get("supplier"))
        if supplier and ":" in supplier:  # "Organization: X" / "Person: Y (mail)"
            supplier = supplier.split(":", 1)[1].strip()
        rows.add(
            "sbom_packages",
            loc,
            scan_id,
            name=package["name"],
            version=_value(package.get("versionInfo")),
            pkg_type=pkg_type,
            purl=purl,
            supplier=supplier,
            license=_value(package.get("licenseConcluded"))
            or _value(package.get("licenseDeclared")),
            package_ref=text_or_none(package.get("SPDXID")),
            cpe=cpe,
        )
    return rows.flush()


FORMATS = [
    Format(
        name="spdx-json",
        family="scans",
        description="SPDX 2.x JSON document: package inventory",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_spdx2(s.document),
        load=_load,
    ),
]
