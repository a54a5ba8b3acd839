"""Conclude a run: evidence references, then each requirement's candidate result, stored.

Called by the engine inside the run's transaction, after every check ran.

- **Evidence references.** Every evidence set of the run gets a reference
  ``EV-0001``, ``EV-0002``...: first each check's population (by check id),
  then each register file (by path), then each input file (by path and
  sha256). The numbering is derived from the run's own content and stored
  with it, so every rebuild of the run's pack shows the same reference for the
  same evidence set.
- **Requirements.** The roll-up (:mod:`auditkit.evaluate.rollup`) gets each
  requirement's testing procedures, what its mapped checks declare they
  perform, and the attestations that name its procedures; its results are
  stored per requirement and per procedure, each procedure with the
  references of the evidence that bears on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from auditkit.calendar import lookback_start
from auditkit.errors import ConfigError
from auditkit.evaluate.catalog import Catalog
from auditkit.evaluate.framework import ATTESTABLE_METHODS, Framework
from auditkit.evaluate.registers import Registers
from auditkit.evaluate.rollup import (
    AttestationInput,
    CheckState,
    ClaimInput,
    ProcedureInput,
    RequirementInput,
    RequirementResult,
    roll_up,
)
from auditkit.workspace import WorkspaceConfig

EVIDENCE_KINDS = ("check population", "register", "source file")


@dataclass(frozen=True)
class EvidenceSet:
    """One evidence set of a run and its stable reference."""

    ref: str
    kind: str  # check population | register | source file
    key: str  # check id | register path | source sha256
    title: str
    sha256: str | None = None


def evidence_sets(
    check_ids: list[str], registers: Registers, inputs: list[dict[str, Any]]
) -> list[EvidenceSet]:
    """Number the run's evidence sets: checks, then registers, then input files."""
    items: list[tuple[str, str, str, str | None]] = [
        ("check population", c, f"population of check {c}: evidence/{c}/", None)
        for c in sorted(check_ids)
    ]
    items += [
        ("register", path, f"register file {path}", digest)
        for path, digest in sorted(registers.digests.items())
    ]
    items += [
        ("source file", i["sha256"], f"input file {i['path']}", i["sha256"])
        for i in sorted(inputs, key=lambda i: (str(i["path"]), str(i["sha256"])))
    ]
    return [
        EvidenceSet(f"EV-{n:04d}", kind, key, title, sha)
        for n, (kind, key, title, sha) in enumerate(items, start=1)
    ]


def _attestation_inputs(
    framework: Framework, registers: Registers, as_of: dt.date
) -> dict[str, list[AttestationInput]]:
    """Attestations that name procedures, per requirement; a bad name is a ConfigError."""
    start = lookback_start(as_of)
    out: dict[str, list[AttestationInput]] = {}
    for att in registers.attestations:
        for index, pid in enumerate(att.procedures):
            where = f"{att.locator}/procedures/{index}"
            req = framework.requirement_of(pid)
            if req is None:
                raise ConfigError(
                    f"attestation {att.id} names procedure {pid!r}, which framework "
                    f"{framework.id} does not list",
                    path=att.source_file,
                    location=where,
                )
            if req.id != att.requirement:
                raise ConfigError(
                    f"attestation {att.id} is for requirement {att.requirement} but names "
                    f"procedure {pid} of requirement {req.id}",
                    path=att.source_file,
                    location=where,
                )
            proc = req.procedure(pid)
            assert proc is not None
            if not set(proc.methods) & set(ATTESTABLE_METHODS):
                raise ConfigError(
                    f"attestation {att.id} names procedure {pid}, which uses only "
                    f"{', '.join(proc.methods)}: an attestation can stand only for "
                    "documentation or interviews",
                    path=att.source_file,
                    location=where,
                )
            performed = att.performed_on or att.date_end
            out.setdefault(req.id, []).append(
                AttestationInput(
                    attestation_id=att.id,
                    procedure=pid,
                    current=not att.not_applicable and start <= performed <= as_of,
                    failed=att.result == "fail",
                    date=performed.isoformat(),
                )
            )
    return out


def conclude(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    catalog: Catalog,
    framework: Framework,
    config: WorkspaceConfig,
    registers: Registers,
    states: dict[str, CheckState],
    inputs: list[dict[str, Any]],
    as_of: dt.date,
) -> list[RequirementResult]:
    """Store the run's evidence references and its requirement and procedure results."""
    sets = evidence_sets(list(states), registers, inputs)
    con.executemany(
        "INSERT INTO run_evidence VALUES (?, ?, ?, ?, ?, ?)",
        [[run_id, s.ref, s.kind, s.key, s.title, s.sha256] for s in sets],
    )
    check_ref = {s.key: s.ref for s in sets if s.kind == "check population"}
    register_ref = {s.key: s.ref for s in sets if s.kind == "register"}
    attestation_ref = {a.id: register_ref.get(a.source_file) for a in registers.attestations}
    declared = {na.requirement: na.justification for na in config.not_applicable}
    for att in registers.attestations:
        if att.not_applicable and att.requirement not in declared:
            declared[att.requirement] = f"{att.justification} (attestation {att.id})"
    left_out = {nt.requirement: nt.reason for nt in config.not_tested}
    customized = {ca.requirement for ca in config.customized_approach}
    attested = _attestation_inputs(framework, registers, as_of)
    results: list[RequirementResult] = []
    for req in framework.requirements:
        claims = tuple(
            ClaimInput(c, claim.procedure, claim.methods, claim.extent, claim.limits)
            for c in req.checks
            if c in catalog.checks
            for claim in catalog.checks[c].procedures
            if req.procedure(claim.procedure) is not None
        )
        res = roll_up(
            RequirementInput(
                req.id,
                req.title,
                req.checks,
                req.manual,
                req.applies_to,
                declared.get(req.id),
                req.id in customized,
                procedures=tuple(ProcedureInput(p.id, p.methods, p.text) for p in req.procedures),
                claims=claims,
                attestations=tuple(attested.get(req.id, ())),
                declared_not_tested=left_out.get(req.id),
            ),
            states,
            config.entity_type,
        )
        results.append(res)
        for p in res.procedures:
            p.evidence_refs = tuple(
                sorted(
                    {check_ref[c] for c in p.checks if c in check_ref}
                    | {r for a in p.attestations if (r := attestation_ref.get(a))}
                )
            )
        con.execute(
            "INSERT INTO run_requirements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                res.id,
                res.title,
                res.result,
                res.compensating_control,
                res.customized_approach,
                res.basis,
                list(res.checks),
                req.order,
                res.procedures_total,
                res.procedures_covered,
                list(res.failing_checks),
            ],
        )
        con.executemany(
            "INSERT INTO run_procedures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    run_id,
                    res.id,
                    p.id,
                    list(p.methods),
                    p.text,
                    p.status,
                    list(p.covered_methods),
                    list(p.partly_methods),
                    list(p.checks),
                    list(p.attestations),
                    list(p.evidence_refs),
                    p.basis,
                    p.to_do or None,
                    index,
                    req.order,
                ]
                for index, p in enumerate(res.procedures)
            ],
        )
    return results
