"""Cloud-posture findings (family ``cloud``): Prowler OCSF and AWS Security Finding Format.

- **Prowler OCSF** (``--output-formats json-ocsf``): a JSON array of OCSF
  Detection Findings (``class_uid`` 2004). Status ``status_code``
  (PASS/FAIL/MANUAL); the check is ``metadata.event_code``; the account and
  region come from ``cloud`` (absent for the Kubernetes provider), the
  resource from ``resources[0]``; ``unmapped.compliance`` maps the check to
  framework requirements. Prowler up to 4.4 writes ``event_time``, later
  releases ``time``/``time_dt``; times without a zone are read as UTC.
- **ASFF** (Security Hub ``get-findings``, Security Hub exports with a
  lower-case ``findings`` key, Prowler's ``json-asff``): one finding per
  record. ``Compliance.Status`` gives pass/fail for control findings (Prowler's
  non-standard ``INFOED`` is kept as ``info``); a finding without a
  ``Compliance`` block (GuardDuty, Inspector) is an open problem report
  (``fail``) until its workflow or record state closes it. ``Severity.Label``
  wins over ``Normalized``.

A record is one finding, PASS ones included (they are the evidence that a
control ran). Duplicated ids are stored as they come; checks take the newest.
"""

from __future__ import annotations

import json
from typing import Any

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    Sniff,
    as_dict,
    as_float,
    as_list,
    coerce_rows,
    normalize_severity,
    parse_time,
    text_or_none,
)

PARSER_VERSION = "1"

_ASFF_STATUS = {
    "PASSED": "pass",
    "FAILED": "fail",
    "WARNING": "manual",
    "NOT_AVAILABLE": "unknown",
    "INFOED": "info",
}
_OCSF_STATUS = {"PASS": "pass", "FAIL": "fail", "MANUAL": "manual"}


# -- field domains --------------------------------------------------------------------


def _domain_problem(times: dict[str, Any], normalized: Any = None) -> str | None:
    """Why a finding's own values are outside their domain (a time that is no time, a
    normalised severity outside 0-100), or None. Read as NULL they would drop the finding
    from the period or from the severity threshold without a word."""
    for name, value in times.items():
        if value in (None, "") or str(value).startswith("0001-01-01"):  # Go's "not set"
            continue
        try:
            ok = parse_time(value) is not None
        except (OverflowError, ValueError, OSError):
            ok = False
        if not ok:
            return f"{name} is not a timestamp: {str(value)[:40]!r}"
    if normalized is not None:
        score = as_float(normalized)
        if score is None or not 0 <= score <= 100:
            return f"Severity.Normalized is not a number from 0 to 100: {str(normalized)[:40]!r}"
    return None


# -- detection ------------------------------------------------------------------------


def _is_ocsf(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("class_uid") == 2004
        and as_dict(as_dict(obj.get("metadata")).get("product")).get("name") == "Prowler"
    )


def _is_asff(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("SchemaVersion"), str)
        and "ProductArn" in obj
        and "AwsAccountId" in obj
    )


def _asff_list(doc: Any) -> tuple[str, list[Any]] | None:
    """(pointer prefix, findings) of an ASFF document, or None."""
    if isinstance(doc, list):
        return ("#", doc) if doc and _is_asff(doc[0]) else None
    if isinstance(doc, dict):
        for key in ("Findings", "findings"):
            items = doc.get(key)
            if isinstance(items, list) and (not items or _is_asff(items[0])):
                return f"#/{key}", items
        if _is_asff(doc):
            return "", [doc]
    return None


def _matches_ocsf(sniff: Sniff) -> bool:
    doc = sniff.document
    return isinstance(doc, list) and bool(doc) and _is_ocsf(doc[0])


def _matches_asff(sniff: Sniff) -> bool:
    found = _asff_list(sniff.document)
    return found is not None and (bool(found[1]) or isinstance(sniff.document, dict))


# -- shared -----------------------------------------------------------------------------


def _pci(compliance: dict[str, Any]) -> list[str] | None:
    """``"<framework> <requirement>"`` for every PCI framework entry of a compliance map."""
    out = [
        f"{framework} {req}"
        for framework, reqs in compliance.items()
        if "PCI" in framework.upper()
        for req in (reqs if isinstance(reqs, list) else [reqs])
        if isinstance(req, str | int | float)
    ]
    return out or None


def _severity_from_normalized(value: Any) -> str:
    score = as_float(value)
    if score is None:
        return "unknown"
    if score >= 90:
        return "critical"
    if score >= 70:
        return "high"
    if score >= 40:
        return "medium"
    if score >= 1:
        return "low"
    return "info"


def _finding_kind(types: list[str], has_compliance: bool) -> str:
    if any(t.startswith("Software and Configuration Checks/Vulnerabilities") for t in types):
        return "vulnerability"
    if any(t.startswith(("TTPs", "Effects", "Unusual Behaviors")) for t in types):
        return "threat"
    if has_compliance or any(t.startswith("Software and Configuration Checks") for t in types):
        return "configuration"
    return "other"


def _store(ctx: LoadContext, rows: list[dict[str, Any]]) -> LoadStats:
    stats = LoadStats()
    stats.stored = ctx.insert_rows("cloud_findings", coerce_rows(ctx.con, "cloud_findings", rows))
    for row in rows:
        stats.widen(row.get("updated_at") or row.get("last_seen"))
    return stats


# -- Prowler OCSF -----------------------------------------------------------------------


def _ocsf_row(ctx: LoadContext, loc: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(obj, dict) or obj.get("class_uid") != 2004:
        ctx.reject(loc, "not an OCSF Detection Finding (class_uid 2004)")
        return None
    meta, info = as_dict(obj.get("metadata")), as_dict(obj.get("finding_info"))
    cloud, account = as_dict(obj.get("cloud")), as_dict(as_dict(obj.get("cloud")).get("account"))
    resources = [as_dict(r) for r in as_list(obj.get("resources"))]
    first = resources[0] if resources else {}
    raw_status = obj.get("status_code")
    problem = _domain_problem(
        {
            "time_dt": obj.get("time_dt"),
            "event_time": obj.get("event_time"),
            "time": obj.get("time"),
            "finding_info.created_time_dt": info.get("created_time_dt"),
            "finding_info.created_time": info.get("created_time"),
        }
    )
    if problem:
        ctx.reject(loc, problem)
        return None
    compliance = as_dict(as_dict(obj.get("unmapped")).get("compliance"))
    seen = parse_time(obj.get("time_dt") or obj.get("event_time") or obj.get("time"))
    workflow = text_or_none(obj.get("status"))
    return {
        "source_sha256": ctx.source.sha256,
        "locator": loc,
        "source_format": "prowler-ocsf",
        "product": text_or_none(as_dict(meta.get("product")).get("name")),
        "finding_id": text_or_none(info.get("uid")),
        "check_id": text_or_none(meta.get("event_code")),
        "title": text_or_none(info.get("title")),
        "finding_kind": "configuration",
        "status": _OCSF_STATUS.get(str(raw_status).upper(), "unknown"),
        "status_raw": raw_status,
        "severity": normalize_severity(obj.get("severity")),
        "severity_raw": obj.get("severity"),
        "workflow_status": workflow,
        "suppressed": (workflow or "").lower() == "suppressed",
        "cloud_provider": text_or_none(cloud.get("provider")),
        "account_id": text_or_none(account.get("uid")),
        "region": text_or_none(first.get("region")) or text_or_none(cloud.get("region")),
        "resource_type": text_or_none(first.get("type")),
        "resource_id": text_or_none(first.get("uid")),
        "resource_name": text_or_none(first.get("name")),
        "resource_namespace": text_or_none(first.get("namespace")),
        "resource_ids": [str(r["uid"]) for r in resources if r.get("uid")] or None,
        "first_seen": parse_time(info.get("created_time_dt") or info.get("created_time")),
        "last_seen": seen,
        "updated_at": seen,
        "compliance": json.dumps(compliance, sort_keys=True) if compliance else None,
        "pci_requirements": _pci(compliance),
        "description": text_or_none(info.get("desc")),
        "remediation": text_or_none(as_dict(obj.get("remediation")).get("desc")),
    }


def _load_ocsf(ctx: LoadContext) -> LoadStats:
    rows = [
        row
        for i, obj in enumerate(ctx.sniff.document)
        if (row := _ocsf_row(ctx, f"#/{i}", obj)) is not None
    ]
    return _store(ctx, rows)


# -- ASFF -------------------------------------------------------------------------------


def _product(obj: dict[str, Any]) -> str | None:
    named = text_or_none(obj.get("ProductName"))
    if named:
        return named
    provider = text_or_none(as_dict(obj.get("ProductFields")).get("ProviderName"))
    if provider:
        return provider
    arn = obj.get("ProductArn")
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and "/" in arn else None


def _asff_row(ctx: LoadContext, loc: str, obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("Id"), str):
        ctx.reject(loc, "not an ASFF finding (no Id)")
        return None
    severity = as_dict(obj.get("Severity"))
    problem = _domain_problem(
        {k: obj.get(k) for k in ("FirstObservedAt", "CreatedAt", "LastObservedAt", "UpdatedAt")},
        severity.get("Normalized"),
    )
    if problem:
        ctx.reject(loc, problem)
        return None
    label = severity.get("Label")
    compliance = as_dict(obj.get("Compliance"))
    status_raw = compliance.get("Status")
    resources = [as_dict(r) for r in as_list(obj.get("Resources"))]
    first = resources[0] if resources else {}
    fields = as_dict(obj.get("ProductFields"))
    workflow = text_or_none(as_dict(obj.get("Workflow")).get("Status")) or text_or_none(
        obj.get("WorkflowState")
    )
    types = [t for t in as_list(obj.get("Types")) if isinstance(t, str)]
    related: list[str] = [
        r for r in as_list(compliance.get("RelatedRequirements")) if isinstance(r, str)
    ]
    standards = [
        as_dict(s).get("StandardsId") for s in as_list(compliance.get("AssociatedStandards"))
    ]
    mapped: dict[str, list[Any]] = {
        "RelatedRequirements": related,
        "AssociatedStandards": standards,
    }
    pci = [r for r in related if "PCI" in r.upper()]
    return {
        "source_sha256": ctx.source.sha256,
        "locator": loc,
        "source_format": "asff",
        "product": _product(obj),
        "finding_id": obj["Id"],
        "check_id": text_or_none(fields.get("ControlId"))
        or text_or_none(compliance.get("SecurityControlId"))
        or text_or_none(obj.get("GeneratorId")),
        "title": text_or_none(obj.get("Title")),
        "finding_kind": _finding_kind(types, bool(compliance)),
        "status": _ASFF_STATUS.get(str(status_raw).upper(), "unknown") if compliance else "fail",
        "status_raw": status_raw,
        "severity": normalize_severity(label)
        if isinstance(label, str)
        else _severity_from_normalized(severity.get("Normalized")),
        "severity_raw": label if isinstance(label, str) else severity.get("Normalized"),
        "workflow_status": workflow,
        "record_state": text_or_none(obj.get("RecordState")),
        "suppressed": (workflow or "").upper() == "SUPPRESSED",
        "cloud_provider": "aws",
        "account_id": text_or_none(obj.get("AwsAccountId")),
        "region": text_or_none(obj.get("Region")) or text_or_none(first.get("Region")),
        "resource_type": text_or_none(first.get("Type")),
        "resource_id": text_or_none(first.get("Id")),
        "resource_ids": [str(r["Id"]) for r in resources if r.get("Id")] or None,
        "first_seen": parse_time(obj.get("FirstObservedAt") or obj.get("CreatedAt")),
        "last_seen": parse_time(obj.get("LastObservedAt") or obj.get("UpdatedAt")),
        "updated_at": parse_time(obj.get("UpdatedAt")),
        "compliance": json.dumps(mapped) if any(mapped.values()) else None,
        "pci_requirements": pci or None,
        "description": text_or_none(obj.get("Description")),
        "remediation": text_or_none(
            as_dict(as_dict(obj.get("Remediation")).get("Recommendation")).get("Text")
        ),
    }


def _load_asff(ctx: LoadContext) -> LoadStats:
    found = _asff_list(ctx.sniff.document)
    assert found is not None
    prefix, items = found
    rows = [
        row
        for i, obj in enumerate(items)
        if (row := _asff_row(ctx, f"{prefix}/{i}" if prefix else "#", obj)) is not None
    ]
    return _store(ctx, rows)


FORMATS = [
    Format(
        name="prowler-ocsf",
        family="cloud",
        description="Prowler OCSF JSON (json-ocsf): Detection Findings",
        parser_version=PARSER_VERSION,
        matches=_matches_ocsf,
        load=_load_ocsf,
    ),
    Format(
        name="asff",
        family="cloud",
        description="AWS Security Finding Format: Security Hub exports, Prowler json-asff",
        parser_version=PARSER_VERSION,
        matches=_matches_asff,
        load=_load_asff,
    ),
]
