"""The SIEM documents of one run, one builder per format and kind (see :mod:`auditkit.report.siem`).

Each builder returns a JSON-ready dict. Per-item values are placeholders made
by :func:`slot`; :mod:`auditkit.report.siem` serialises the dict once per item
group and lets DuckDB fill the placeholders for every item. OCSF documents are
instances of py-ocsf-models' ``ComplianceFinding`` (OCSF 1.5), dumped by it.
Static texts go through :func:`static_text` (whitespace folded, sanitised).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.analytic import Analytic
from py_ocsf_models.objects.check import Check as OcsfCheck
from py_ocsf_models.objects.compliance import Compliance
from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
from py_ocsf_models.objects.evidence_artifacts import EvidenceArtifacts
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails

from auditkit.report.data import CheckView, RequirementView, RunReport
from auditkit.report.siem_map import SEVERITY_CAPTIONS, severity_id, verdict
from auditkit.safe_output import siem_text

Format = Literal["ocsf", "ecs", "splunk"]
FORMATS: tuple[Format, ...] = ("ocsf", "ecs", "splunk")
ECS_VERSION = "9.4.0"
PRODUCT = "auditkit"
BATCH_ROWS = 16_384
_ROOT = uuid.UUID("0b5a8f54-1d55-4a39-9a3c-5e1f2a7c9d61")
SEP = "\x1f"

#: Per-item values, filled in by DuckDB; each is sanitised and JSON-encoded.
SLOTS: dict[str, str] = {
    "event_uid": "? || '/' || r.fingerprint || coalesce('/' || r.requirement, '')",
    "finding_uid": "r.fingerprint || coalesce('/' || r.requirement, '')",
    "resource": "r.resource",
    "reason": "r.reason",
    "fingerprint": "r.fingerprint",
    "source_file": "s.path",
    "source_sha256": "r.source_sha256",
    "locator": "r.locator",
    "evidence": "CAST(r.evidence AS VARCHAR)",
    "exception_id": "r.exception_id",
}
TOKEN = "\ue000"
SLOT_RE = re.compile(f'"{TOKEN}([a-z_0-9]+){TOKEN}"')


def slot(name: str) -> str:
    return f"{TOKEN}{name}{TOKEN}"


def evidence_reference(check_id: str) -> str:
    """Where an item's evidence set sits in the run's evidence pack."""
    return f"evidence/{check_id}/population.csv"


def static_text(value: object) -> str:
    """A static value: whitespace collapsed (catalog texts are folded YAML), sanitised."""
    return siem_text(" ".join(str(value or "").split()))


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def _ms(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp() * 1000)


@dataclass(frozen=True)
class ExportOptions:
    """What to write: the format, and for ECS the ``_bulk`` index (None: no action lines)."""

    format: Format
    ecs_bulk_index: str | None = None


@dataclass
class ExportCounts:
    """Documents written: requirement results, items, and lines (with ``_bulk`` actions)."""

    requirements: int = 0
    items: int = 0
    lines: int = 0


class RunFacts:
    """The run-wide values every document repeats."""

    def __init__(self, report: RunReport) -> None:
        self.report = report
        identity = (
            report.organisation,
            report.run_id,
            report.catalog_digest,
            report.config_digest,
            report.as_of,
            report.created_at,
        )
        self.uid = str(uuid.uuid5(_ROOT, SEP.join(str(p) for p in identity)))
        self.standard = static_text(report.framework_title.split(" (")[0])
        self.evaluated = report.created_at
        self.start = dt.datetime.combine(report.period_start, dt.time())
        self.end = dt.datetime.combine(report.period_end, dt.time(23, 59, 59, 999000))
        self.organisation = static_text(report.organisation)

    def auditkit(self, kind: str) -> dict[str, Any]:
        """auditkit's own run fields. Item documents get the ones needed to find and
        group them; the requirement documents also name the run's digests and version
        (a million copies of them would only cost the SIEM's licence)."""
        report = self.report
        fields: dict[str, Any] = {
            "kind": kind,
            "run_id": report.run_id,
            "run_uid": self.uid,
            "organisation": self.organisation,
            "standard": self.standard,
            "as_of": report.as_of.isoformat(),
            "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(),
        }
        if kind == "requirement":
            fields |= {
                "entity_type": static_text(report.entity_type),
                "framework": static_text(report.framework_id),
                "evaluated_at": _iso(self.evaluated),
                "catalog_digest": report.catalog_digest,
                "config_digest": report.config_digest,
                "tool_version": static_text(report.tool_version),
            }
        return fields


@dataclass(frozen=True)
class ItemGroup:
    """One template's group: a check, a status, a severity and a requirement scope."""

    check: CheckView
    status: str
    severity: str
    requirement: str | None

    @property
    def requirements(self) -> list[str]:
        if self.requirement:
            return [static_text(self.requirement)]
        return list(self.check.requirements)

    @property
    def remediation(self) -> str | None:
        """The check's remediation, on failing and excepted items only (what to do)."""
        if verdict("item", self.status).normalised != "fail":
            return None
        return static_text(self.check.remediation) or None


# --------------------------------------------------------------------------- OCSF


def _ocsf_metadata(run: RunFacts, uid: str, event_code: str) -> Metadata:
    return Metadata(
        product=Product(
            name=PRODUCT, vendor_name=PRODUCT, version=static_text(run.report.tool_version)
        ),
        version=OCSF_VERSION,
        uid=uid,
        correlation_uid=run.uid,
        event_code=event_code,
        log_name=f"auditkit run {run.report.run_id}",
        labels=[f"run:{run.report.run_id}", run.standard],
    )


def _ocsf_common(run: RunFacts, sev: int) -> dict[str, Any]:
    return {
        "activity_id": ActivityID.Create,
        "activity_name": "Create",
        "class_name": "Compliance Finding",
        "category_name": "Findings",
        "type_uid": ComplianceFindingTypeID.Create,
        "type_name": "Compliance Finding: Create",
        "time": _ms(run.evaluated),
        "start_time": _ms(run.start),
        "end_time": _ms(run.end),
        "severity_id": SeverityID(sev),
        "severity": SEVERITY_CAPTIONS[sev],
    }


def _ocsf_check(check: CheckView, standard: str) -> OcsfCheck:
    """A mapped check as OCSF sees it from a requirement: its own outcome, never implied."""
    if check.failed + check.excepted > 0:
        status, status_id = "fail", ComplianceStatusID.Fail
    elif check.evaluated and check.population > 0:
        status, status_id = "pass", ComplianceStatusID.Pass
    else:
        status, status_id = "not tested", ComplianceStatusID.Warning
    return OcsfCheck(
        uid=check.id,
        name=static_text(check.title),
        standards=[standard],
        status=f"{status}: {check.failed} failed, {check.excepted} excepted of {check.population}",
        status_id=status_id,
        severity=SEVERITY_CAPTIONS[severity_id(check.severity)],
        severity_id=SeverityID(severity_id(check.severity)),
    )


def _ocsf_item(run: RunFacts, item: ItemGroup) -> dict[str, Any]:
    check, v = item.check, verdict("item", item.status)
    sev = severity_id(item.severity)
    finding = ComplianceFinding(
        **_ocsf_common(run, sev),
        metadata=_ocsf_metadata(run, slot("event_uid"), check.id),
        status_id=StatusID(v.ocsf_finding_status_id),
        status="Suppressed" if v.suppressed else "New",
        status_code=static_text(item.status),
        status_detail=slot("reason"),
        message=static_text(f"{check.title}: {item.status}"),
        finding_info=FindingInformation(
            uid=slot("finding_uid"),
            title=static_text(check.title),
            types=[static_text(check.resource_type)] if check.resource_type else None,
            created_time=_ms(run.evaluated),
            analytic=Analytic(name=check.id, uid=check.id, type_id=1, type="Rule"),
        ),
        compliance=Compliance(
            standards=[run.standard],
            requirements=item.requirements,
            control=check.id,
            status_id=ComplianceStatusID(v.ocsf_compliance_status_id),
            checks=[
                OcsfCheck(
                    uid=check.id,
                    name=static_text(check.title),
                    standards=[run.standard],
                    status=static_text(item.status),
                    status_id=ComplianceStatusID(v.ocsf_compliance_status_id),
                    severity=SEVERITY_CAPTIONS[sev],
                    severity_id=SeverityID(sev),
                )
            ],
        ),
        resources=[
            ResourceDetails(
                uid=slot("resource"), name=slot("resource"), type=static_text(check.resource_type)
            )
        ],
        evidences=[
            EvidenceArtifacts(
                name="source record",
                data={
                    "source_file": slot("source_file"),
                    "source_sha256": slot("source_sha256"),
                    "locator": slot("locator"),
                    "evidence": slot("evidence"),
                    "evidence_reference": evidence_reference(check.id),
                },
            )
        ],
        remediation=Remediation(desc=item.remediation) if item.remediation else None,
        unmapped={
            "auditkit": run.auditkit("item")
            | {
                "fingerprint": slot("fingerprint"),
                "exception_id": slot("exception_id"),
                "requirement_scope": static_text(item.requirement or "every mapped requirement"),
            }
        },
    )
    doc: dict[str, Any] = finding.model_dump(mode="json", exclude_none=True)
    return doc


def _ocsf_requirement(run: RunFacts, req: RequirementView, sev: int) -> dict[str, Any]:
    v = verdict("requirement", req.result)
    finding = ComplianceFinding(
        **_ocsf_common(run, sev),
        metadata=_ocsf_metadata(run, f"{run.uid}/requirement/{req.id}", req.id),
        status_id=StatusID(v.ocsf_finding_status_id),
        status="New",
        status_code=static_text(req.result),
        status_detail=static_text(req.basis),
        message=static_text(f"{run.standard} {req.id}: {req.result}"),
        finding_info=FindingInformation(
            uid=f"auditkit:{static_text(run.report.framework_id)}:{req.id}",
            title=static_text(f"{run.standard} {req.id} {req.title}"),
            created_time=_ms(run.evaluated),
            analytic=Analytic(name="requirement roll-up", uid="auditkit-rollup", type_id=1),
        ),
        compliance=Compliance(
            standards=[run.standard],
            requirements=[req.id],
            status_id=ComplianceStatusID(v.ocsf_compliance_status_id),
            checks=[_ocsf_check(c, run.standard) for c in req.checks] or None,
        ),
        unmapped={"auditkit": run.auditkit("requirement") | _requirement_fields(req)},
    )
    doc: dict[str, Any] = finding.model_dump(mode="json", exclude_none=True)
    return doc


def _requirement_fields(req: RequirementView) -> dict[str, Any]:
    return {
        "requirement": req.id,
        "result": static_text(req.result),
        "basis": static_text(req.basis),
        "compensating_control": req.compensating_control,
        "customized_approach": req.customized_approach,
        "manual": req.manual,
        "checks": [c.id for c in req.checks],
    }


# --------------------------------------------------------------------------- ECS


def _ecs_base(run: RunFacts, dataset: str, outcome: str, sev: int) -> dict[str, Any]:
    return {
        "@timestamp": _iso(run.evaluated),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "state",
            "category": ["configuration"],
            "type": ["info"],
            "outcome": outcome,
            "module": PRODUCT,
            "provider": PRODUCT,
            "dataset": dataset,
            "severity": sev,
            "start": _iso(run.start),
            "end": _iso(run.end),
        },
        "observer": {
            "vendor": PRODUCT,
            "product": PRODUCT,
            "type": "compliance-scanner",
            "version": static_text(run.report.tool_version),
        },
        "organization": {"name": run.organisation},
    }


def _ecs_item(run: RunFacts, item: ItemGroup) -> dict[str, Any]:
    check, v = item.check, verdict("item", item.status)
    doc = _ecs_base(run, "auditkit.item", v.ecs_outcome, severity_id(item.severity))
    doc["message"] = static_text(f"{check.title}: {item.status}")
    doc["event"] |= {"id": slot("event_uid"), "reason": slot("reason")}
    doc["rule"] = {
        "id": check.id,
        "name": static_text(check.title),
        "ruleset": run.standard,
        "category": static_text(check.resource_type),
    }
    doc["entity"] = {
        "id": slot("resource"),
        "name": slot("resource"),
        "sub_type": static_text(check.resource_type),
    }
    doc["tags"] = [f"{run.standard} {r}" for r in item.requirements]
    doc["auditkit"] = run.auditkit("item") | {
        "check_id": check.id,
        "requirements": item.requirements,
        "requirement_scope": static_text(item.requirement or "every mapped requirement"),
        "status": static_text(item.status),
        "severity": static_text(item.severity),
        "fingerprint": slot("fingerprint"),
        "source_file": slot("source_file"),
        "source_sha256": slot("source_sha256"),
        "locator": slot("locator"),
        "evidence": slot("evidence"),
        "evidence_reference": evidence_reference(check.id),
        "exception_id": slot("exception_id"),
    }
    if item.remediation:
        doc["auditkit"]["remediation"] = item.remediation
    return doc


def _ecs_requirement(run: RunFacts, req: RequirementView, sev: int) -> dict[str, Any]:
    v = verdict("requirement", req.result)
    doc = _ecs_base(run, "auditkit.requirement", v.ecs_outcome, sev)
    doc["message"] = static_text(f"{run.standard} {req.id}: {req.result}")
    doc["event"] |= {"id": f"{run.uid}/requirement/{req.id}", "reason": static_text(req.basis)}
    doc["rule"] = {"id": req.id, "name": static_text(req.title), "ruleset": run.standard}
    doc["tags"] = [f"{run.standard} {req.id}"]
    doc["auditkit"] = run.auditkit("requirement") | _requirement_fields(req)
    return doc


# --------------------------------------------------------------------------- Splunk


def _splunk(run: RunFacts, sourcetype: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": _ms(run.evaluated) / 1000,
        "host": run.organisation or PRODUCT,
        "source": f"auditkit:run:{run.report.run_id}",
        "sourcetype": sourcetype,
        "event": event,
    }


def _splunk_item(run: RunFacts, item: ItemGroup) -> dict[str, Any]:
    ecs = _ecs_item(run, item)["auditkit"]
    check = item.check
    event = ecs | {
        "event_uid": slot("event_uid"),
        "check_title": static_text(check.title),
        "resource": slot("resource"),
        "resource_type": static_text(check.resource_type),
        "reason": slot("reason"),
        "outcome": verdict("item", item.status).ecs_outcome,
    }
    return _splunk(run, "auditkit:item", event)


def _splunk_requirement(run: RunFacts, req: RequirementView, sev: int) -> dict[str, Any]:
    event = run.auditkit("requirement") | _requirement_fields(req)
    event |= {
        "event_uid": f"{run.uid}/requirement/{req.id}",
        "title": static_text(req.title),
        "severity": SEVERITY_CAPTIONS[sev].lower(),
        "outcome": verdict("requirement", req.result).ecs_outcome,
    }
    return _splunk(run, "auditkit:requirement", event)


ItemBuilder = Callable[[RunFacts, ItemGroup], dict[str, Any]]
RequirementBuilder = Callable[[RunFacts, RequirementView, int], dict[str, Any]]
ITEM_BUILDERS: dict[str, ItemBuilder] = {
    "ocsf": _ocsf_item,
    "ecs": _ecs_item,
    "splunk": _splunk_item,
}
REQUIREMENT_BUILDERS: dict[str, RequirementBuilder] = {
    "ocsf": _ocsf_requirement,
    "ecs": _ecs_requirement,
    "splunk": _splunk_requirement,
}
