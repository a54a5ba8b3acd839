"""OSCAL 1.1 assessment results for one run.

Mapping:

- the run is one ``result`` (start = period start, end = as-of date); its props
  count the requirements per candidate result;
- every check outcome is an ``observation`` (method TEST) describing the
  population it tests, the procedures it performs and the counts. Its
  ``subjects`` are its items with exceptions noted (failing or excepted), each
  with its status, reason, fingerprint and source record: the item-level
  results, bounded per check (the complete population is the linked evidence
  set). Its ``relevant-evidence`` links only what the check used: its own
  evidence set (``evidence/<check>/``) and the input and register files its
  rows point to, each a back-matter resource carrying the file's SHA-256 and
  its evidence reference (EV-nnnn);
- every attestation that stands for a testing procedure is an observation
  (methods EXAMINE and INTERVIEW) linked to its register file;
- one **check finding** per check and requirement it maps, whose state is the
  check's own: satisfied when the check was tested and noted no exception for
  that requirement, not-satisfied when it noted one; a check that could not be
  tested gets no finding (its observation says why). The finding's remarks say
  how far the check covers the requirement's procedures;
- one **requirement finding** per requirement with a conclusion: In Place
  (satisfied) or Not in Place (not-satisfied). A requirement whose procedures
  are covered only in part, or not at all, or that the entity declared not
  applicable or not tested, gets no requirement finding: nothing about it is
  satisfied or not-satisfied yet;
- every requirement's candidate result, coverage, evidence references and what
  the assessor still has to do are an ``assessment-log`` entry, so a GRC tool
  reads all of them in one place.

UUIDs are derived (uuid5) from the run's identity, so the same run gives the
same document. The structure is validated in tests with compliance-trestle's
OSCAL 1.1 models.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditkit import __version__
from auditkit.evaluate.rollup import IN_PLACE, NOT_IN_PLACE
from auditkit.report.data import CheckView, RequirementView, RunReport

OSCAL_VERSION = "1.1.3"
NS = "https://auditkit.dev/ns/oscal"
_ROOT = uuid.UUID("6f1d1b7e-3c55-4c1e-9a4e-2f0b8b7f5a10")
ITEMS_PER_CHECK = 200


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_ROOT, "\x1f".join(str(p) for p in parts)))


def _time(moment: dt.datetime | dt.date, end_of_day: bool = False) -> str:
    if isinstance(moment, dt.datetime):
        return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock = "23:59:59" if end_of_day else "00:00:00"
    return f"{moment.isoformat()}T{clock}Z"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _target_id(requirement: str) -> str:
    return f"req-{requirement}"


def _prop(name: str, value: object) -> dict[str, str]:
    text = str(value) if value is not None else ""
    return {"name": name, "ns": NS, "value": text if text.strip() else "-"}


def _resources(report: RunReport, identity: tuple[object, ...]) -> dict[str, dict[str, Any]]:
    """Back-matter resources keyed by evidence key (check id, register path, source sha256)."""
    sources = {s["source_sha256"]: s for s in report.sources}
    out: dict[str, dict[str, Any]] = {}
    for e in report.evidence:
        kind, key, ref = e["kind"], str(e["key"]), str(e["ref"])
        rid = _uuid(*identity, "evidence", kind, key)
        props = [_prop("evidence-ref", ref), _prop("evidence-kind", kind)]
        rlinks: list[dict[str, Any]]
        if kind == "check population":
            check = report.checks.get(key)
            if check is None or not check.has_evidence:
                continue
            rlinks = [
                {"href": f"../evidence/{key}/population.csv", "media-type": "text/csv"},
                {"href": f"../evidence/{key}/exceptions_noted.csv", "media-type": "text/csv"},
            ]
            title, description = f"{ref} population of check {key}", check.population_text
        else:
            digest = str(e["sha256"] or key)
            rlinks = [
                {
                    "href": f"evidence-{kind.split()[0]}:sha256:{digest}",
                    "hashes": [{"algorithm": "SHA-256", "value": digest}],
                }
            ]
            if kind == "source file" and key in sources:
                s = sources[key]
                props += [_prop("format", s["format"]), _prop("family", s["family"])]
                title = f"{ref} evidence source {s['path']}"
                description = f"{s['format']} export, {s['records_stored']} record(s)"
            else:
                title, description = f"{ref} {e['title']}", str(e["title"])
        out[f"{kind}\x1f{key}"] = {
            "uuid": rid,
            "title": title,
            "description": description or title,
            "props": props,
            "rlinks": rlinks,
        }
    return out


def _subjects(check: CheckView, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "subject-uuid": _uuid("item", check.id, item["fingerprint"]),
            "type": "resource",
            "title": str(item["resource"])[:500],
            "props": [
                _prop("status", item["status"]),
                _prop("severity", item["severity"]),
                _prop("fingerprint", item["fingerprint"]),
                _prop("locator", item.get("locator")),
                _prop("source-sha256", item.get("source_sha256")),
                _prop("exception-id", item.get("exception_id")),
            ],
            "remarks": str(item["reason"])[:2000],
        }
        for item in items
    ]


def _check_observation(
    report: RunReport,
    check: CheckView,
    identity: tuple[object, ...],
    resources: dict[str, dict[str, Any]],
    items: list[dict[str, Any]],
    claimed_time: dt.datetime,
) -> dict[str, Any]:
    procedures = "; ".join(
        f"{c['procedure']} "
        + (
            "(can show exceptions only)"
            if c["extent"] == "exceptions-only"
            else f"({', '.join(c['methods'])}, {c['extent']} population)"
        )
        for c in check.claims
    )
    if check.state == "evaluated":
        counts = (
            f"Items tested: {check.population}; passed {check.passed}, exceptions noted "
            f"{check.failed}, excepted {check.excepted}, not applicable to the item "
            f"{check.not_applicable}."
        )
    else:
        counts = f"Not tested: {check.reason}"
    used = [f"check population\x1f{check.id}"]
    used += [f"source file\x1f{sha}" for sha in report.check_sources.get(check.id, [])]
    used += [f"register\x1f{path}" for path in report.check_registers.get(check.id, [])]
    evidence = [
        {"href": f"#{resources[k]['uuid']}", "description": resources[k]["title"]}
        for k in used
        if k in resources
    ]
    observation: dict[str, Any] = {
        "uuid": _uuid(*identity, "observation", check.id),
        "title": f"{check.id}: {check.title}",
        "description": (
            f"{check.description} Population: {check.population_text or '-'}. "
            f"Procedures performed: {procedures or '-'}. {counts}"
        ),
        "props": [
            _prop("check-id", check.id),
            _prop("check-state", check.state),
            _prop("population", check.population),
            _prop("exceptions-noted", check.failed),
            _prop("excepted", check.excepted),
            _prop("evidence-ref", check.evidence_ref),
            _prop("items-listed", f"{len(items)} of {check.findings} with exceptions noted"),
        ],
        "methods": ["TEST"],
        "collected": _time(claimed_time),
    }
    if items:
        observation["subjects"] = _subjects(check, items)
    if evidence:
        observation["relevant-evidence"] = evidence
    return observation


def _coverage_remarks(req: RequirementView) -> str:
    lines = [f"Candidate result: {req.result}. {req.basis}"]
    if req.coverage:
        lines.append(req.coverage + ".")
    if req.to_do:
        lines.append("Still for the assessor: " + " | ".join(req.to_do))
    return " ".join(lines)


def assessment_results(
    report: RunReport,
    claimed_time: dt.datetime,
    items: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Build the OSCAL assessment-results document (a JSON-ready dict).

    ``items``: per check, its items with exceptions noted (bounded); without it
    the report's own bounded samples are used.
    """
    identity = (
        report.organisation,
        report.run_id,
        report.catalog_digest,
        report.config_digest,
        report.as_of,
    )
    resources = _resources(report, identity)
    observations: list[dict[str, Any]] = []
    obs_for_check: dict[str, str] = {}
    for check in report.checks.values():
        listed = (
            items.get(check.id, []) if items is not None else check.sample + check.excepted_items
        )
        obs = _check_observation(report, check, identity, resources, listed, claimed_time)
        obs_for_check[check.id] = obs["uuid"]
        observations.append(obs)
    obs_for_attestation: dict[str, str] = {}
    for att in report.attestations:
        if not att.get("procedures"):
            continue
        key = f"register\x1f{att.get('source_file')}"
        oid = _uuid(*identity, "attestation", att.get("id"))
        obs_for_attestation[str(att.get("id"))] = oid
        observation: dict[str, Any] = {
            "uuid": oid,
            "title": f"attestation {att.get('id')} ({att.get('kind')})",
            "description": (
                f"The entity's statement for requirement {att.get('requirement')}, "
                f"standing for procedure(s) {', '.join(att['procedures'])}: performed by "
                f"{att.get('performed_by')} on {att.get('performed_on') or att.get('date_end')}, "
                f"evidence {att.get('evidence')}, result {att.get('result') or 'not stated'}."
            ),
            "props": [_prop("attestation-id", att.get("id"))],
            "methods": ["EXAMINE", "INTERVIEW"],
            "collected": _time(claimed_time),
        }
        if key in resources:
            observation["relevant-evidence"] = [
                {"href": f"#{resources[key]['uuid']}", "description": resources[key]["title"]}
            ]
        observations.append(observation)
    findings: list[dict[str, Any]] = []
    for req in report.requirements:
        target_base = {
            "type": "objective-id",
            "target-id": _target_id(req.id),
            "title": f"PCI DSS v4.0.1 requirement {req.id}",
        }
        req_props = [
            _prop("candidate-result", req.result),
            _prop("procedures-covered", req.coverage),
            _prop("compensating-control", str(req.compensating_control).lower()),
            _prop("customized-approach", str(req.customized_approach).lower()),
        ]
        for check in req.checks:
            if not check.evaluated:
                continue
            noted = check.id in req.failing_checks
            own = {p["procedure"] for p in req.procedures}
            claims = [c for c in check.claims if c["procedure"] in own]
            covers = "; ".join(
                f"{c['procedure']}: "
                + ("can show exceptions only" if c["extent"] == "exceptions-only" else c["extent"])
                for c in claims
            )
            findings.append(
                {
                    "uuid": _uuid(*identity, "finding", req.id, check.id),
                    "title": f"{req.id} — check {check.id}",
                    "description": (
                        f"Check {check.id} for requirement {req.id}: {check.reason}. "
                        f"It covers {covers or 'no procedure'}; the requirement's candidate "
                        f"result is {req.result}."
                    ),
                    "props": [
                        _prop("finding-kind", "check"),
                        _prop("check-id", check.id),
                        _prop("check-covers", covers),
                        *req_props,
                    ],
                    "target": {
                        **target_base,
                        "status": {
                            "state": "not-satisfied" if noted else "satisfied",
                            "reason": "fail" if noted else "pass",
                            "remarks": (
                                "the check noted exceptions for this requirement"
                                if noted
                                else "the check noted no exception; this alone does not "
                                "conclude the requirement"
                            ),
                        },
                    },
                    "related-observations": [{"observation-uuid": obs_for_check[check.id]}],
                }
            )
        if req.result not in (IN_PLACE, NOT_IN_PLACE):
            continue
        related = [{"observation-uuid": obs_for_check[c.id]} for c in req.checks]
        related += [
            {"observation-uuid": obs_for_attestation[a]}
            for p in req.procedures
            for a in p.get("attestations") or []
            if a in obs_for_attestation
        ]
        finding: dict[str, Any] = {
            "uuid": _uuid(*identity, "finding", req.id, ""),
            "title": f"{req.id} {req.title}",
            "description": _coverage_remarks(req),
            "props": [_prop("finding-kind", "requirement"), *req_props],
            "target": {
                **target_base,
                "status": {
                    "state": "satisfied" if req.result == IN_PLACE else "not-satisfied",
                    "reason": "pass" if req.result == IN_PLACE else "fail",
                    "remarks": req.basis,
                },
            },
        }
        if related:
            finding["related-observations"] = related
        findings.append(finding)
    counts = report.counts()
    undecided = [r for r in report.requirements if r.result not in (IN_PLACE, NOT_IN_PLACE)]
    result: dict[str, Any] = {
        "uuid": _uuid(*identity, "result"),
        "title": f"auditkit run {report.run_id}: {report.framework_title}",
        "description": (
            f"Candidate results from the automated evaluation of {report.organisation} "
            f"({report.entity_type}) for {report.period_start} to {report.period_end}, as of "
            f"{report.as_of}: the entity's evidence for its assessor. A requirement is proposed "
            "In Place only when every testing procedure is covered."
        ),
        "start": _time(report.period_start),
        "end": _time(report.as_of, end_of_day=True),
        "props": [
            _prop("run-id", report.run_id),
            _prop("catalog-digest", report.catalog_digest),
            _prop("config-digest", report.config_digest),
            *[_prop("requirements-" + _slug(k), v) for k, v in counts.items()],
        ],
        "reviewed-controls": {
            "control-selections": [{"include-all": {}}],
            "remarks": (
                f"{len(undecided)} requirement(s) have no conclusion yet and so no requirement "
                "finding; the assessment log gives every requirement's candidate result."
            ),
        },
        "assessment-log": {
            "entries": [
                {
                    "uuid": _uuid(*identity, "log", r.id),
                    "title": f"candidate result for {r.id}: {r.result}",
                    "description": _coverage_remarks(r),
                    "start": _time(report.created_at),  # the evaluation that proposed it
                    "props": [
                        _prop("requirement", r.id),
                        _prop("candidate-result", r.result),
                        _prop("procedures-covered", r.coverage),
                        *[_prop("evidence-ref", ref) for ref in r.evidence_refs],
                    ],
                }
                for r in report.requirements
            ]
        },
        "observations": observations,
        "findings": findings,
    }
    document: dict[str, Any] = {
        "uuid": _uuid(*identity, "document"),
        "metadata": {
            "title": (
                f"PCI DSS v4.0.1 candidate assessment results — {report.organisation}, "
                f"run {report.run_id}"
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
        document["back-matter"] = {"resources": list(resources.values())}
    return {"assessment-results": document}


def write_oscal(
    report: RunReport,
    path: Path,
    claimed_time: dt.datetime,
    items: dict[str, list[dict[str, Any]]] | None = None,
) -> Path:
    """Write the assessment results as JSON (stable key order, UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(assessment_results(report, claimed_time, items), indent=2, ensure_ascii=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
