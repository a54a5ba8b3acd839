"""Frameworks: requirements, their testing procedures, and what each check performs.

A framework file (``controls/frameworks/<id>.yaml``) lists requirements. Each
requirement names the checks that bear on it (``checks``, the only mapping)
and its **testing procedures** (``procedures``): the procedure number, the
methods an assessor uses (documentation, interview, configuration, records,
observation) and a one-line paraphrase. A requirement's result follows from
which of its procedures are covered (docs/results.md).

A check declares, in its own YAML, the population it tests and the procedures
it performs (``procedures``): for each, the methods it performs and its extent:

- ``whole``: the check performs those methods over the procedure's whole
  population within the declared scope;
- ``part``: over part of it (``limits`` says what is left to the assessor);
- ``exceptions-only``: it can find exceptions the procedure would find, but its
  passing shows nothing (for example the absence of unwanted flows, which does
  not show that a network control exists); ``limits`` says why.

This module parses both and cross-checks them; ``auditkit controls lint``
reports every problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METHODS = ("documentation", "interview", "configuration", "records", "observation")
# An attestation is the entity's own statement: it can stand for a document it names
# or for what staff would say in an interview, never for examined data.
ATTESTABLE_METHODS = ("documentation", "interview")
DATA_METHODS = ("configuration", "records")
EXTENTS = ("whole", "part", "exceptions-only")
ENTITY_SCOPES = ("all", "service_provider")
ATTESTATION_TABLE = "attestations"

_FRAMEWORK_KEYS = {"id", "title", "version", "description", "requirements"}
_REQUIREMENT_KEYS = {
    "id",
    "title",
    "checks",
    "manual",
    "applies_to",
    "note",
    "parent",
    "procedures",
}
_PROCEDURE_KEYS = {"id", "methods", "text"}
_CLAIM_KEYS = {"id", "methods", "extent", "limits"}
_PROC_ID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")
MAX_PROCEDURE_TEXT = 200


@dataclass(frozen=True)
class Procedure:
    """A testing procedure: its number, the methods it uses, our paraphrase."""

    id: str
    methods: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class ProcedureClaim:
    """What a check declares it performs of one testing procedure."""

    procedure: str
    methods: tuple[str, ...]
    extent: str  # whole | part | exceptions-only
    limits: str = ""


@dataclass(frozen=True)
class FrameworkRequirement:
    """A requirement of a framework, its testing procedures and the checks that bear on it."""

    id: str
    title: str
    checks: tuple[str, ...]
    manual: bool
    applies_to: str
    note: str
    order: int
    procedures: tuple[Procedure, ...] = ()

    def procedure(self, procedure_id: str) -> Procedure | None:
        """One of this requirement's procedures by id."""
        return next((p for p in self.procedures if p.id == procedure_id), None)


@dataclass(frozen=True)
class Framework:
    """A framework file: requirements mapped to checks (the only mapping)."""

    id: str
    title: str
    version: str
    description: str
    requirements: tuple[FrameworkRequirement, ...]
    path: Path

    def requirement_of(self, procedure_id: str) -> FrameworkRequirement | None:
        """The requirement that lists a procedure."""
        for req in self.requirements:
            if req.procedure(procedure_id) is not None:
                return req
        return None


def _methods(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: methods must be a non-empty list of {', '.join(METHODS)}")
        return ()
    bad = [m for m in value if m not in METHODS]
    if bad:
        problems.append(f"{where}: unknown method {bad[0]!r} (one of {', '.join(METHODS)})")
        return ()
    if len(set(value)) != len(value):
        problems.append(f"{where}: a method is listed twice")
    return tuple(dict.fromkeys(value))


def parse_procedures(items: Any, where: str, problems: list[str]) -> tuple[Procedure, ...]:
    """A requirement's ``procedures`` list."""
    if not isinstance(items, list) or not items:
        problems.append(
            f"{where}: procedures must list its testing procedures (id, methods, text); "
            "without them nothing can be concluded about the requirement"
        )
        return ()
    out: list[Procedure] = []
    for index, item in enumerate(items):
        at = f"{where}: procedures[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{at} must be a mapping")
            continue
        for key in sorted(set(item) - _PROCEDURE_KEYS):
            problems.append(f"{at}: unknown key {key!r}")
        pid = item.get("id")
        if not isinstance(pid, str) or not _PROC_ID_RE.match(pid):
            problems.append(f'{at}.id must be a procedure number like "6.3.3.a"')
            continue
        methods = _methods(item.get("methods"), f"{where}: procedure {pid}", problems)
        text = item.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_PROCEDURE_TEXT:
            problems.append(
                f"{where}: procedure {pid}: text must be our own one-line paraphrase "
                f"(1..{MAX_PROCEDURE_TEXT} characters)"
            )
            continue
        if methods:
            out.append(Procedure(pid, methods, text.strip()))
    return tuple(out)


def parse_framework(doc: Any, name: str, path: Path) -> tuple[Framework | None, list[str]]:
    """Validate a framework document; return it (or None) and the problems found."""
    if not isinstance(doc, dict):
        return None, [f"{name}: a framework file must be a mapping"]
    problems = [f"unknown key {k!r}" for k in sorted(set(doc) - _FRAMEWORK_KEYS)]
    for key in ("id", "title", "version", "requirements"):
        if key not in doc:
            problems.append(f"missing key {key!r}")
    fw_id = doc.get("id")
    if isinstance(fw_id, str) and path.stem != fw_id:
        problems.append(f"file stem {path.stem!r} differs from id {fw_id!r}")
    requirements: list[FrameworkRequirement] = []
    seen: set[str] = set()
    seen_procedures: dict[str, str] = {}
    items = doc.get("requirements")
    if not isinstance(items, list):
        problems.append("requirements must be a list")
        items = []
    for index, item in enumerate(items):
        where = f"requirements[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be a mapping")
            continue
        for key in sorted(set(item) - _REQUIREMENT_KEYS):
            problems.append(f"{where}: unknown key {key!r}")
        req_id = item.get("id")
        if not isinstance(req_id, str) or not req_id:
            problems.append(f'{where}.id must be a string like "6.3.3"')
            continue
        where = f"requirement {req_id}"
        if req_id in seen:
            problems.append(f"{where}: duplicate requirement id")
        seen.add(req_id)
        checks = item.get("checks") or []
        manual = bool(item.get("manual", False))
        if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            problems.append(f"{where}: checks must be a list of check ids")
            continue
        if not checks and not manual:
            problems.append(f"{where}: maps no checks; mark it manual: true")
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            problems.append(f"{where}: title is missing")
            continue
        applies = item.get("applies_to", "all")
        if applies not in ENTITY_SCOPES:
            problems.append(f"{where}: applies_to must be all or service_provider")
        procedures = parse_procedures(item.get("procedures"), where, problems)
        for proc in procedures:
            if proc.id in seen_procedures:
                problems.append(
                    f"{where}: procedure {proc.id} is also listed under "
                    f"requirement {seen_procedures[proc.id]}"
                )
            seen_procedures[proc.id] = req_id
        requirements.append(
            FrameworkRequirement(
                id=req_id,
                title=title.strip(),
                checks=tuple(checks),
                manual=manual,
                applies_to=str(applies),
                note=str(item.get("note", "")).strip(),
                order=index,
                procedures=procedures,
            )
        )
    if problems:
        return None, [f"{name}: {p}" for p in problems]
    assert isinstance(fw_id, str)
    return (
        Framework(
            id=fw_id,
            title=str(doc["title"]),
            version=str(doc["version"]),
            description=str(doc.get("description", "")).strip(),
            requirements=tuple(requirements),
            path=path,
        ),
        [],
    )


def parse_claims(value: Any, problems: list[str]) -> tuple[ProcedureClaim, ...]:
    """A check's ``procedures`` list: which procedures it performs, which methods, how far."""
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("procedures must be a list of {id, methods, extent, limits}")
        return ()
    out: list[ProcedureClaim] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        at = f"procedures[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{at} must be a mapping")
            continue
        for key in sorted(set(item) - _CLAIM_KEYS):
            problems.append(f"{at}: unknown key {key!r}")
        pid = item.get("id")
        if not isinstance(pid, str) or not _PROC_ID_RE.match(pid):
            problems.append(f'{at}.id must be a procedure number like "6.3.3.b"')
            continue
        if pid in seen:
            problems.append(f"{at}: procedure {pid} is listed twice")
        seen.add(pid)
        extent = item.get("extent")
        if extent not in EXTENTS:
            problems.append(f"procedure {pid}: extent must be one of {', '.join(EXTENTS)}")
            continue
        if extent == "exceptions-only" and not item.get("methods"):
            methods: tuple[str, ...] = ()  # it performs none of the procedure's methods
        else:
            methods = _methods(item.get("methods"), f"procedure {pid}", problems)
            if not methods:
                continue
        limits = item.get("limits")
        if extent != "whole" and (not isinstance(limits, str) or not limits.strip()):
            problems.append(
                f"procedure {pid}: extent {extent} needs limits: what the check leaves to the "
                "assessor (the rest of the population, or why passing shows nothing)"
            )
            continue
        if limits is not None and not isinstance(limits, str):
            problems.append(f"procedure {pid}: limits must be text")
            continue
        out.append(ProcedureClaim(pid, methods, str(extent), (limits or "").strip()))
    return tuple(out)


def reads_only_attestations(requires_tables: tuple[str, ...]) -> bool:
    """A check whose data is only the entity's attestations."""
    return bool(requires_tables) and all(t == ATTESTATION_TABLE for t in requires_tables)


def cross_check(
    frameworks: dict[str, Framework],
    checks: dict[str, tuple[tuple[ProcedureClaim, ...], tuple[str, ...]]],
) -> list[str]:
    """Problems between frameworks and checks' procedure claims.

    ``checks`` maps a check id to its claims and the tables it requires.
    """
    problems: list[str] = []
    for fw in frameworks.values():
        for req in fw.requirements:
            for check_id in req.checks:
                if check_id not in checks:
                    problems.append(
                        f"framework {fw.id}: requirement {req.id} maps unknown check {check_id!r}"
                    )
                    continue
                claims, _ = checks[check_id]
                if not any(req.procedure(c.procedure) for c in claims):
                    problems.append(
                        f"framework {fw.id}: requirement {req.id} maps {check_id}, which names "
                        "none of its testing procedures "
                        f"({', '.join(p.id for p in req.procedures)}); "
                        f"declare in {check_id}.yaml which one(s) it performs"
                    )
    for check_id, (claims, tables) in sorted(checks.items()):
        attest_only = reads_only_attestations(tables)
        allowed = ATTESTABLE_METHODS if attest_only else DATA_METHODS
        for claim in claims:
            bad = [m for m in claim.methods if m not in allowed]
            if bad:
                what = (
                    "reads only attestations, which can stand only for documentation or interviews"
                    if attest_only
                    else "tests data, which can show only configuration or records"
                )
                problems.append(
                    f"check {check_id}: procedure {claim.procedure}: {what}, not {bad[0]}"
                )
            homes = [
                (fw, req)
                for fw in frameworks.values()
                for req in fw.requirements
                if req.procedure(claim.procedure) is not None
            ]
            if not homes:
                problems.append(
                    f"check {check_id}: names procedure {claim.procedure}, which no framework lists"
                )
                continue
            if not any(check_id in req.checks for _, req in homes):
                problems.append(
                    f"check {check_id}: names procedure {claim.procedure} of requirement "
                    f"{homes[0][1].id}, which does not map the check"
                )
            for fw, req in homes:
                proc = req.procedure(claim.procedure)
                assert proc is not None
                extra = [m for m in claim.methods if m not in proc.methods]
                if extra:
                    problems.append(
                        f"check {check_id}: procedure {claim.procedure} ({fw.id}) uses "
                        f"{', '.join(proc.methods)}, not {extra[0]}"
                    )
    return problems
