"""kubescape JSON (``kubescape scan --format json``, report format v2).

A record is one ``results[].controls[]`` entry: one control evaluated on one
resource, stored in ``config_findings`` with its per-resource status (the
summary's per-control status is an aggregate and is not stored). Each resource
(``resources[]``, plus any ``results[].resourceID`` not listed there) is a
``scans`` row of kind ``k8s-resource``, so resources that passed everything
are still on record.
"""

from __future__ import annotations

from typing import Any

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    ScanRows,
    as_dict,
    as_float,
    as_list,
    parse_time,
    text_or_none,
)
from auditkit.safeload import pointer

PARSER_VERSION = "1"

_STATUS = {
    "passed": "pass",
    "failed": "fail",
    "skipped": "warn",  # not evaluated automatically: needs manual review, like kube-bench WARN
    "excluded": "exception",
    "irrelevant": "pass",
    "error": "warn",
}


def _is_kubescape(doc: Any) -> bool:
    return isinstance(doc, dict) and all(
        k in doc for k in ("summaryDetails", "results", "resources")
    )


def severity_from_score_factor(factor: float | None) -> str:
    """kubescape's own bands for a control's scoreFactor (opa-utils ControlSeverityToString)."""
    if factor is None:
        return "unknown"
    if factor >= 9:
        return "critical"
    if factor >= 7:
        return "high"
    if factor >= 4:
        return "medium"
    if factor >= 1:
        return "low"
    return "unknown"


def _identity(resource_id: str | None, obj: dict[str, Any]) -> dict[str, Any]:
    """Namespace/kind/name from the manifest, else from the resourceID
    (``[path=<n>/api=]<group>/<version>/<namespace>/<kind>/<name>``)."""
    meta = as_dict(obj.get("metadata"))
    parts = (resource_id or "").split("/")
    from_id = parts[-3:] if len(parts) >= 3 else [None, None, None]
    return {
        "k8s_namespace": text_or_none(meta.get("namespace")) or text_or_none(from_id[0]),
        "k8s_kind": text_or_none(obj.get("kind")) or text_or_none(from_id[1]),
        "k8s_name": text_or_none(meta.get("name")) or text_or_none(from_id[2]),
    }


def _status(control: dict[str, Any]) -> tuple[str, str]:
    info = control.get("status")
    if isinstance(info, dict):
        raw = str(info.get("status") or "")
        sub = str(info.get("subStatus") or "")
    else:
        raw, sub = str(info or ""), ""
    status = _STATUS.get(raw.lower(), "warn")
    if status == "pass" and sub == "w/exceptions":
        status = "exception"
    return status, raw + (f"/{sub}" if sub else "")


def _paths(control: dict[str, Any]) -> str | None:
    """The failed/fix/review paths kubescape reports for a control's rules."""
    notes: list[str] = []
    for rule in as_list(control.get("rules")):
        for path in as_list(as_dict(rule).get("paths")):
            path = as_dict(path)
            for key in ("failedPath", "deletePath", "reviewPath"):
                if text_or_none(path.get(key)):
                    notes.append(f"{key.removesuffix('Path')}: {path[key]}")
            fix = as_dict(path.get("fixPath"))
            if text_or_none(fix.get("path")):
                notes.append(f"fix: {fix['path']} = {fix.get('value')}")
    return "; ".join(notes) or None


def _load(ctx: LoadContext) -> LoadStats:
    doc: dict[str, Any] = ctx.sniff.document
    scan_meta = as_dict(as_dict(doc.get("metadata")).get("scanMetadata"))
    rows = ScanRows(
        ctx,
        "kubescape",
        scanner_version=text_or_none(scan_meta.get("kubescapeVersion")),
        scanned_at=parse_time(doc.get("generationTime")),  # the Go zero time gives None
    )
    cluster = text_or_none(doc.get("clusterName"))
    summary = as_dict(as_dict(doc.get("summaryDetails")).get("controls"))
    scans: dict[str, str] = {}

    def scan_for(resource_id: str, obj: dict[str, Any], loc: str) -> str:
        if resource_id not in scans:
            scans[resource_id] = rows.scan(
                loc,
                "k8s-resource",
                artifact_name=resource_id,
                scan_classes=["config"],
                cluster_name=cluster,
                **_identity(resource_id, obj),
            )
        return scans[resource_id]

    objects: dict[str, dict[str, Any]] = {}
    for index, resource in enumerate(as_list(doc.get("resources"))):
        resource_id = text_or_none(as_dict(resource).get("resourceID"))
        if resource_id is None:
            ctx.reject("#" + pointer("resources", index), "resource without resourceID")
            continue
        objects[resource_id] = as_dict(as_dict(resource).get("object"))
        scan_for(resource_id, objects[resource_id], "#" + pointer("resources", index))
    for r_index, result in enumerate(as_list(doc.get("results"))):
        r_loc = "#" + pointer("results", r_index)
        resource_id = text_or_none(as_dict(result).get("resourceID"))
        if resource_id is None:
            ctx.reject(r_loc, "result without resourceID")
            continue
        obj = objects.get(resource_id, {})
        scan_id = scan_for(resource_id, obj, r_loc)
        for c_index, control in enumerate(as_list(as_dict(result).get("controls"))):
            loc = "#" + pointer("results", r_index, "controls", c_index)
            control = as_dict(control)
            rule_id = text_or_none(control.get("controlID"))
            if rule_id is None:
                ctx.reject(loc, "control without controlID")
                continue
            factor = as_float(as_dict(summary.get(rule_id)).get("scoreFactor"))
            status, raw = _status(control)
            rows.add(
                "config_findings",
                loc,
                scan_id,
                rule_id=rule_id,
                title=text_or_none(control.get("name")),
                status=status,
                status_raw=raw,
                severity=severity_from_score_factor(factor),
                severity_raw=None if factor is None else f"scoreFactor {factor:g}",
                target=resource_id,
                message=_paths(control),
                remediation=None,
                **_identity(resource_id, obj),
            )
    return rows.flush()


FORMATS = [
    Format(
        name="kubescape-json",
        family="scans",
        description="kubescape JSON report (v2): per-resource control results",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_kubescape(s.document),
        load=_load,
    ),
]
