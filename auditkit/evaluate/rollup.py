"""Roll checks and attestations up into candidate results, procedure by procedure.

A QSA concludes a requirement from its testing procedures. auditkit proposes a
result the same way (docs/results.md):

- a procedure **method** (documentation, interview, configuration, records,
  observation) is *covered* by a check that performs it over the procedure's
  whole population and passed (evaluated, no exception for the requirement,
  at least one item passed), or, for documentation and interviews only, by a
  current attestation that names the procedure; it is *partly covered* by a
  passing check that performs it over part of the population;
- a procedure is **covered** when all its methods are, **partly covered** when
  some are (in whole or in part), and **exceptions noted** when a check that
  names it found failing items for the requirement or an attestation of it
  reports a failure.

The requirement's result, in order:

1. service-provider-only requirement, merchant entity: **Not Applicable**;
2. declared not applicable, or declared not tested (auditkit.toml), keeps
   that result unless exceptions were noted, which contradict it: **Not in
   Place**;
3. exceptions noted (a risk acceptance does not cover): **Not in Place**;
4. every procedure covered and every mapped check tested: **In Place**
   (proposed);
5. some procedure covered in whole or in part: **No exceptions noted
   (partial)**, with "k of n procedures covered" and what the assessor still
   has to do; never counted as In Place;
6. otherwise **No automated evidence** (never Not Tested, which means the
   requirement was left out of the assessment).

An exception that names a requirement covers its item for that requirement
only. A check whose supplementary data was missing covers nothing and keeps
the requirement from In Place, but the failures it proves stand. The
compensating-control flag is set, whatever the result, when an item of the
requirement passed only through a compensating-control exception; the
customized-approach flag comes from auditkit.toml. auditkit never concludes
Not Applicable from data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditkit.evaluate.framework import ATTESTABLE_METHODS

IN_PLACE = "In Place"
NOT_IN_PLACE = "Not in Place"
PARTIAL = "No exceptions noted (partial)"
NO_EVIDENCE = "No automated evidence"
NOT_APPLICABLE = "Not Applicable"
NOT_TESTED = "Not Tested"
# Every result auditkit proposes, in the order reports list them.
RESULTS = (IN_PLACE, NOT_IN_PLACE, PARTIAL, NO_EVIDENCE, NOT_APPLICABLE, NOT_TESTED)
# The four the Report on Compliance itself uses; PARTIAL and NO_EVIDENCE are work for the assessor.
ROC_RESULTS = (IN_PLACE, NOT_IN_PLACE, NOT_APPLICABLE, NOT_TESTED)

COVERED = "covered"
PARTLY = "partly covered"
NOT_COVERED = "not covered"
EXCEPTIONS = "exceptions noted"
PROCEDURE_STATES = (EXCEPTIONS, COVERED, PARTLY, NOT_COVERED)


@dataclass(frozen=True)
class ItemFact:
    """One failing or excepted item of a check, as far as the roll-up needs it."""

    resource: str
    status: str  # fail | excepted
    requirement: str = ""  # the one requirement the row evidences ("" = every mapped one)
    kind: str = ""  # exception kind, for an excepted item
    exception_requirement: str = ""  # the requirement the exception names ("" = none)

    def fails_for(self, requirement: str) -> bool:
        """The item counts as failing for ``requirement``.

        A risk acceptance never covers; an exception naming a requirement covers the item
        for that requirement only.
        """
        if self.requirement and self.requirement != requirement:
            return False
        if self.status == "fail" or self.kind == "risk_acceptance":
            return True
        return bool(self.exception_requirement) and self.exception_requirement != requirement

    def compensates_for(self, requirement: str) -> bool:
        """The item passes for ``requirement`` only through a compensating control."""
        if self.requirement and self.requirement != requirement:
            return False
        return (
            self.status == "excepted"
            and self.kind == "compensating_control"
            and self.exception_requirement in ("", requirement)
        )


@dataclass
class CheckState:
    """What the roll-up needs to know about one check in a run.

    The engine fills ``items``; the counters are for states built by hand (each counted item
    fails for every mapped requirement, or for the one ``scoped_failures`` names).
    """

    check_id: str
    state: str  # evaluated | not_tested
    reason: str
    failed: int = 0
    excepted_cc: int = 0  # items passing through a compensating control
    excepted_other: int = 0  # false positives (pass) / risk acceptances (still failing)
    risk_accepted: int = 0
    # failing items (incl. risk-accepted) whose row names one requirement: they count only there
    scoped_failures: dict[str, int] = field(default_factory=dict)
    items: tuple[ItemFact, ...] = ()
    blocked: str = ""  # supplementary data was missing: a pass is not conclusive
    passed: int = 0  # items that passed (false positives and compensating controls included)

    def failing_for(self, requirement: str) -> int:
        """Failing items that count towards ``requirement``."""
        return (
            self.failed
            + self.risk_accepted
            + self.scoped_failures.get(requirement, 0)
            + sum(1 for i in self.items if i.fails_for(requirement))
        )

    def failing_keys(self, requirement: str) -> set[str]:
        """Resource keys of the items failing for ``requirement`` (for counting across checks)."""
        return {i.resource for i in self.items if i.fails_for(requirement)}

    def compensating_for(self, requirement: str) -> bool:
        """Whether an item of ``requirement`` passed only through a compensating control."""
        return self.excepted_cc > 0 or any(i.compensates_for(requirement) for i in self.items)

    def clean_for(self, requirement: str) -> bool:
        """Evaluated with all its data, no exception for ``requirement``, one item passed."""
        return (
            self.state == "evaluated"
            and not self.blocked
            and not self.failing_for(requirement)
            and self.passed > 0
        )


@dataclass(frozen=True)
class ProcedureInput:
    """A testing procedure of the requirement."""

    id: str
    methods: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class ClaimInput:
    """What one mapped check declares it performs of one of the requirement's procedures."""

    check_id: str
    procedure: str
    methods: tuple[str, ...]
    extent: str  # whole | part | exceptions-only
    limits: str = ""


@dataclass(frozen=True)
class AttestationInput:
    """An attestation that names one of the requirement's procedures."""

    attestation_id: str
    procedure: str
    current: bool  # performed within the look-back, on or before the as-of date
    failed: bool  # reports a failing result
    date: str = ""


@dataclass
class RequirementInput:
    """A framework requirement as the roll-up sees it."""

    id: str
    title: str
    checks: tuple[str, ...]
    manual: bool
    applies_to: str = "all"
    declared_na: str | None = None  # the justification, when declared not applicable
    customized: bool = False
    procedures: tuple[ProcedureInput, ...] = ()
    claims: tuple[ClaimInput, ...] = ()
    attestations: tuple[AttestationInput, ...] = ()
    declared_not_tested: str | None = None  # the reason, when declared not tested


@dataclass
class ProcedureResult:
    """How far one testing procedure is covered, by what, and what is left."""

    id: str
    methods: tuple[str, ...]
    text: str
    status: str
    covered_methods: tuple[str, ...] = ()
    partly_methods: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()  # checks whose evidence bears on it (any extent)
    attestations: tuple[str, ...] = ()  # attestations that name it
    basis: str = ""  # what covers it, in words
    to_do: str = ""  # what the assessor still has to do ("" when covered)
    evidence_refs: tuple[str, ...] = ()  # EV-nnnn of its checks and attestations (set when stored)


@dataclass
class RequirementResult:
    """The candidate result for one requirement."""

    id: str
    title: str
    result: str
    basis: str
    compensating_control: bool = False
    customized_approach: bool = False
    checks: tuple[str, ...] = field(default_factory=tuple)
    procedures: tuple[ProcedureResult, ...] = ()
    failing_checks: tuple[str, ...] = ()  # mapped checks that noted exceptions for it

    @property
    def procedures_total(self) -> int:
        """Testing procedures of the requirement."""
        return len(self.procedures)

    @property
    def procedures_covered(self) -> int:
        """Procedures covered in full."""
        return sum(1 for p in self.procedures if p.status == COVERED)

    @property
    def coverage(self) -> str:
        """ "k of n procedures covered"."""
        return f"{self.procedures_covered} of {self.procedures_total} procedures covered"

    @property
    def to_do(self) -> list[str]:
        """What the assessor still has to do, one line per procedure."""
        return [p.to_do for p in self.procedures if p.to_do]


def _procedure(
    req: RequirementInput, proc: ProcedureInput, states: dict[str, CheckState]
) -> ProcedureResult:
    claims = [c for c in req.claims if c.procedure == proc.id and c.check_id in states]
    atts = [a for a in req.attestations if a.procedure == proc.id]
    failing = [c for c in claims if states[c.check_id].failing_for(req.id) > 0]
    failed_atts = [a for a in atts if a.failed and a.current]
    current = [a for a in atts if a.current and not a.failed]
    covered: list[str] = []
    partly: list[str] = []
    how: list[str] = []
    for method in proc.methods:
        whole = [
            c
            for c in claims
            if c.extent == "whole" and method in c.methods and states[c.check_id].clean_for(req.id)
        ]
        attested = current if method in ATTESTABLE_METHODS else []
        part = [
            c
            for c in claims
            if c.extent == "part" and method in c.methods and states[c.check_id].clean_for(req.id)
        ]
        if whole or attested:
            covered.append(method)
            sources = [c.check_id for c in whole] + [
                f"attestation {a.attestation_id}" for a in attested
            ]
            how.append(f"{method} by {', '.join(sources)}")
        elif part:
            partly.append(method)
            how.append(f"{method} in part by {', '.join(c.check_id for c in part)}")
    if failing or failed_atts:
        status = EXCEPTIONS
    elif len(covered) == len(proc.methods):
        status = COVERED
    elif covered or partly:
        status = PARTLY
    else:
        status = NOT_COVERED
    notes: list[str] = []
    for c in claims:
        st = states[c.check_id]
        if st.state != "evaluated":
            notes.append(f"{c.check_id} not tested: {st.reason}")
        elif st.blocked and not st.failing_for(req.id):
            notes.append(f"{c.check_id} is not conclusive: {st.blocked}")
        elif c.extent == "exceptions-only" and not st.failing_for(req.id):
            notes.append(
                f"{c.check_id} noted no exceptions, which cannot show the procedure is met"
            )
    if failing:
        n = _count([states[c.check_id] for c in failing], req.id)
        basis = f"{n} exception(s) noted in {_names([c.check_id for c in failing])}"
    elif failed_atts:
        basis = (
            "attestation " + ", ".join(a.attestation_id for a in failed_atts) + " reports a failure"
        )
    else:
        basis = "; ".join(how) if how else "not covered by automated evidence"
    if notes:
        basis += " (" + "; ".join(notes) + ")"
    to_do = ""
    if status != COVERED:
        missing = [m for m in proc.methods if m not in covered]
        limits = "; ".join(
            f"{c.check_id}: {c.limits}"
            for c in claims
            if c.extent == "part" and set(c.methods) & set(partly)
        )
        to_do = f"{proc.id} ({', '.join(missing)}): {proc.text}" + (
            f" Still to cover beyond the checks: {limits}" if limits else ""
        )
    return ProcedureResult(
        id=proc.id,
        methods=proc.methods,
        text=proc.text,
        status=status,
        covered_methods=tuple(covered),
        partly_methods=tuple(partly),
        checks=tuple(dict.fromkeys(c.check_id for c in claims)),
        attestations=tuple(a.attestation_id for a in atts),
        basis=basis,
        to_do=to_do,
    )


def roll_up(
    req: RequirementInput, states: dict[str, CheckState], entity_type: str
) -> RequirementResult:
    """Apply the rules above to one requirement."""
    procedures = tuple(_procedure(req, p, states) for p in req.procedures)
    failing_checks = tuple(
        c
        for c in req.checks
        if c in states and states[c].state == "evaluated" and states[c].failing_for(req.id) > 0
    )

    def result(value: str, basis: str, cc: bool = False) -> RequirementResult:
        return RequirementResult(
            req.id,
            req.title,
            value,
            basis,
            cc,
            req.customized,
            req.checks,
            procedures,
            failing_checks,
        )

    if req.applies_to == "service_provider" and entity_type != "service_provider":
        return result(
            NOT_APPLICABLE,
            "applies to service providers only; the entity is a "
            f"{entity_type.replace('_', ' ')} (auditkit.toml)",
        )
    mapped = [states[c] for c in req.checks if c in states]
    failing = [s for s in mapped if s.state == "evaluated" and s.failing_for(req.id) > 0]
    failed_atts = sorted({a.attestation_id for a in req.attestations if a.failed and a.current})
    n = _count(failing, req.id)
    exceptions = ", ".join(
        ([f"{n} exception(s) noted in {_names([s.check_id for s in failing])}"] if failing else [])
        + ([f"attestation {', '.join(failed_atts)} reports a failure"] if failed_atts else [])
    )
    for declared, label, value in (
        (req.declared_na, "not applicable", NOT_APPLICABLE),
        (req.declared_not_tested, "not tested", NOT_TESTED),
    ):
        if declared is None:
            continue
        if exceptions:
            return result(
                NOT_IN_PLACE, f"declared {label} ({declared}), but {exceptions} contradict it"
            )
        return result(value, f"declared {label}: {declared}")
    cc = any(s.state == "evaluated" and s.compensating_for(req.id) for s in mapped)
    if exceptions:
        accepted = sum(
            s.risk_accepted
            + sum(1 for i in s.items if i.kind == "risk_acceptance" and i.fails_for(req.id))
            for s in failing
        )
        extra = (
            f" ({accepted} under risk acceptance, which does not make a control in place)"
            if accepted
            else ""
        )
        return result(NOT_IN_PLACE, exceptions + extra, cc)
    untested = [s for s in mapped if s.state != "evaluated" or s.blocked]
    covered = [p for p in procedures if p.status == COVERED]
    touched = [p for p in procedures if p.status in (COVERED, PARTLY)]
    total = len(procedures)
    untested_note = (
        "; not tested: " + "; ".join(f"{s.check_id}: {s.blocked or s.reason}" for s in untested)
        if untested
        else ""
    )
    if total and len(covered) == total and not untested:
        basis = f"all {total} testing procedure(s) covered: " + "; ".join(
            f"{p.id} ({p.basis})" for p in procedures
        )
        if cc:
            basis += " (some items through a compensating control; see the worksheet)"
        return result(IN_PLACE, basis, cc)
    if touched:
        partly = [p.id for p in procedures if p.status == PARTLY]
        left = [p.id for p in procedures if p.status == NOT_COVERED]
        basis = f"no exceptions noted; {len(covered)} of {total} procedures covered" + (
            f" ({', '.join(p.id for p in covered)})" if covered else ""
        )
        if partly:
            basis += f"; partly covered: {', '.join(partly)}"
        if left:
            basis += f"; not covered: {', '.join(left)}"
        return result(PARTIAL, basis + untested_note, cc)
    if not req.checks:
        basis = (
            f"no check maps this requirement; the assessor performs its {total} testing "
            "procedure(s)"
        )
    else:
        basis = f"none of the {total} testing procedure(s) is covered by automated evidence"
        supporting = [s.check_id for s in mapped if s.state == "evaluated"]
        if supporting:
            basis += f"; {_names(supporting)} noted no exceptions but cover no procedure"
    return result(NO_EVIDENCE, basis + untested_note, cc)


def _count(failing: list[CheckState], requirement: str) -> int:
    """Failing items for ``requirement``: an item several checks report under the same
    resource key (one network connection, one image and vulnerability) counts once."""
    keys: set[str] = set()
    counted = 0
    for s in failing:
        keys |= s.failing_keys(requirement)
        counted += s.failed + s.risk_accepted + s.scoped_failures.get(requirement, 0)
    return counted + len(keys)


def _names(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
