"""OSCAL 1.1 assessment results for one run.

Mapping:

- the run is one ``result`` (start = period start, end = as-of date);
- every check outcome is an ``observation`` (method TEST) describing what was
  tested, the population and the counts; its ``relevant-evidence`` points to
  back-matter resources, one per ingested source file, each carrying the
  file's SHA-256 in ``rlinks[].hashes`` — evidence is linked by digest;
- every (requirement, check) mapping is a ``finding`` whose target is the
  requirement (``objective-id``) with state satisfied / not-satisfied, and the
  Report-on-Compliance result in an auditkit property;
- manual requirements (no check) are findings with no observation.

UUIDs are derived (uuid5) from the run's identity, so the same run gives the
same document. The structure is validated in tests with compliance-trestle's
OSCAL 1.1 models.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from auditkit import __version__
from auditkit.report.data import CheckView, RunReport

OSCAL_VERSION = "1.1.3"
NS = "https://auditkit.dev/ns/oscal"
_ROOT = uuid.UUID("6f1d1b7e-3c55-4c1e-9a4e-2f0b8b7f5a10")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_ROOT, "\x1f".join(str(p) for p in parts)))


def _time(moment: dt.datetime | dt.date, end_of_day: bool = False) -> str:
    if isinstance(moment, dt.datetime):
        return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock = "23:59:59" if end_of_day else "00:00:00"
    return f"{moment.isoformat()}T{clock}Z"


def _target_id(requirement: str) -> str:
    return f"req-{requirement}"


def _prop(name: str, value: object) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": str(value) if str(value) else "-"}


def assessment_results(report: RunReport, claimed_time: dt.datetime) -> dict[str, Any]:
    """Build the OSCAL assessment-results document (a JSON-ready dict)."""
    identity = (
        report.organisation,
        report.run_id,
        report.catalog_digest,
        report.config_digest,
        report.as_of,
    )
    resources = []
    evidence_refs = []
    for source in report.sources:
        rid = _uuid(*identity, "source", source["source_sha256"])
        resources.append(
            {
                "uuid": rid,
                "title": f"Evidence source {source['path']}",
                "description": f"{source['format']} export, {source['records_stored']} record(s)",
                "props": [_prop("format", source["format"]), _prop("family", source["family"])],
                "rlinks": [
                    {
                        "href": f"evidence-source:sha256:{source['source_sha256']}",
                        "hashes": [{"algorithm": "SHA-256", "value": source["source_sha256"]}],
                    }
                ],
            }
        )
        evidence_refs.append(
            {"href": f"#{rid}", "description": f"source file {source['path']} (sha256)"}
        )
    observations = []
    obs_for_check: dict[str, str] = {}
    for check in report.checks.values():
        oid = _uuid(*identity, "observation", check.id)
        obs_for_check[check.id] = oid
        if check.state == "evaluated":
            description = (
                f"{check.description} Population tested: {check.population}; passed "
                f"{check.passed}, failed {check.failed}, excepted {check.excepted}, "
                f"not applicable to item {check.not_applicable}."
            )
        else:
            description = f"{check.description} Not tested: {check.reason}"
        observation: dict[str, Any] = {
            "uuid": oid,
            "title": f"{check.id}: {check.title}",
            "description": description,
            "props": [
                _prop("check-id", check.id),
                _prop("check-state", check.state),
                _prop("population", check.population),
                _prop("failed", check.failed),
            ],
            "methods": ["TEST"],
            "collected": _time(claimed_time),
        }
        if evidence_refs:
            observation["relevant-evidence"] = evidence_refs
        observations.append(observation)
    findings = []
    for req in report.requirements:
        satisfied = req.result in ("In Place", "Not Applicable")
        status = {
            "state": "satisfied" if satisfied else "not-satisfied",
            "reason": "pass"
            if req.result == "In Place"
            else "fail"
            if req.result == "Not in Place"
            else "other",
            "remarks": req.basis,
        }
        target = {
            "type": "objective-id",
            "target-id": _target_id(req.id),
            "title": f"PCI DSS v4.0.1 requirement {req.id}",
            "status": status,
        }
        props = [
            _prop("roc-result", req.result),
            _prop("compensating-control", str(req.compensating_control).lower()),
            _prop("customized-approach", str(req.customized_approach).lower()),
        ]
        pairs: list[tuple[str, CheckView | None]] = [(c.id, c) for c in req.checks] or [("", None)]
        for check_id, mapped in pairs:
            finding: dict[str, Any] = {
                "uuid": _uuid(*identity, "finding", req.id, check_id),
                "title": f"{req.id} {req.title}" + (f" — {check_id}" if check_id else ""),
                "description": (
                    f"Check {check_id}: {mapped.reason}"
                    if mapped is not None
                    else "Manual requirement: no automated evidence; the assessor "
                    "tests it directly."
                ),
                "props": props,
                "target": target,
            }
            if check_id:
                finding["related-observations"] = [{"observation-uuid": obs_for_check[check_id]}]
            findings.append(finding)
    result: dict[str, Any] = {
        "uuid": _uuid(*identity, "result"),
        "title": f"auditkit run {report.run_id}: {report.framework_title}",
        "description": (
            f"Automated evaluation of {report.organisation} ({report.entity_type}) "
            f"for {report.period_start} to {report.period_end}, as of {report.as_of}."
        ),
        "start": _time(report.period_start),
        "end": _time(report.as_of, end_of_day=True),
        "props": [
            _prop("run-id", report.run_id),
            _prop("catalog-digest", report.catalog_digest),
            _prop("config-digest", report.config_digest),
        ],
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        "observations": observations,
        "findings": findings,
    }
    document: dict[str, Any] = {
        "uuid": _uuid(*identity, "document"),
        "metadata": {
            "title": (
                f"PCI DSS v4.0.1 assessment results — {report.organisation}, run {report.run_id}"
            ),
            "last-modified": _time(claimed_time),
            "version": f"auditkit {__version__}",
            "oscal-version": OSCAL_VERSION,
            "props": [_prop("claimed-time", "signer's clock, not a trusted timestamp")],
        },
        "import-ap": {"href": f"urn:auditkit:assessment-plan:{report.framework_id}"},
        "results": [result],
    }
    if resources:
        document["back-matter"] = {"resources": resources}
    return {"assessment-results": document}


def write_oscal(report: RunReport, path: Path, claimed_time: dt.datetime) -> Path:
    """Write the assessment results as JSON (stable key order, UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(assessment_results(report, claimed_time), indent=2, ensure_ascii=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
