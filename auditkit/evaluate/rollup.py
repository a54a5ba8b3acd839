"""Roll check outcomes up into Report-on-Compliance results per requirement.

The rules (documented in docs/results.md), in order:

1. A requirement that applies only to service providers, assessed for a
   merchant, is **Not Applicable** (the entity type comes from auditkit.toml).
2. A requirement declared not applicable (auditkit.toml ``[[not_applicable]]``
   or an attestation with ``not_applicable: true``) is **Not Applicable** with
   that justification, unless a mapped check found failures: then it is
   **Not in Place** and the basis says the declaration is contradicted.
3. Any mapped check with a failing item that no exception covers (risk
   acceptances do not cover) is **Not in Place**. An exception that names a
   requirement covers its item for that requirement only.
4. Otherwise, any mapped check that could not be tested (its data is absent,
   or its population was empty) makes the requirement **Not Tested**; so does
   a manual requirement, which no automated evidence can show (mapped checks
   of a manual requirement can only show it is not in place), and so does a
   check whose supplementary data was missing, unless it found a failure here.
5. Otherwise the requirement is **In Place**.

The "compensating control" flag is set, whatever the result, when an item of
the requirement passed only through a compensating-control exception; the
"customized approach" flag comes from auditkit.toml.

auditkit never concludes Not Applicable from data alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IN_PLACE = "In Place"
NOT_IN_PLACE = "Not in Place"
NOT_APPLICABLE = "Not Applicable"
NOT_TESTED = "Not Tested"
RESULTS = (IN_PLACE, NOT_IN_PLACE, NOT_APPLICABLE, NOT_TESTED)


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


@dataclass
class RequirementResult:
    """The result for one requirement."""

    id: str
    title: str
    result: str
    basis: str
    compensating_control: bool = False
    customized_approach: bool = False
    checks: tuple[str, ...] = field(default_factory=tuple)


def roll_up(
    req: RequirementInput, states: dict[str, CheckState], entity_type: str
) -> RequirementResult:
    """Apply the rules above to one requirement."""

    def result(value: str, basis: str, cc: bool = False) -> RequirementResult:
        return RequirementResult(req.id, req.title, value, basis, cc, req.customized, req.checks)

    if req.applies_to == "service_provider" and entity_type != "service_provider":
        return result(
            NOT_APPLICABLE,
            "applies to service providers only; the entity is a "
            f"{entity_type.replace('_', ' ')} (auditkit.toml)",
        )
    mapped = [states[c] for c in req.checks if c in states]
    failing = [s for s in mapped if s.state == "evaluated" and s.failing_for(req.id) > 0]
    cc = any(s.state == "evaluated" and s.compensating_for(req.id) for s in mapped)
    if req.declared_na is not None:
        if failing:
            n = _count(failing, req.id)
            return result(
                NOT_IN_PLACE,
                f"declared not applicable ({req.declared_na}), but {n} "
                f"failing item(s) in {_names(failing)} contradict it",
            )
        return result(NOT_APPLICABLE, f"declared not applicable: {req.declared_na}")
    if failing:
        n = _count(failing, req.id)
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
        return result(NOT_IN_PLACE, f"{n} failing item(s) in {_names(failing)}{extra}", cc)
    untested = [s for s in mapped if s.state != "evaluated" or s.blocked]
    if req.manual:
        if mapped:
            return result(
                NOT_TESTED,
                f"{_names(mapped)} found no failure, but container data cannot evidence the whole "
                "requirement; the assessor tests it directly",
                cc,
            )
        return result(
            NOT_TESTED,
            "manual requirement: container data cannot evidence it; the assessor tests it directly",
        )
    if untested:
        reasons = "; ".join(f"{s.check_id}: {s.blocked or s.reason}" for s in untested)
        return result(NOT_TESTED, f"not tested: {reasons}", cc)
    if not mapped:
        return result(NOT_TESTED, "no check results for this requirement")
    basis = f"all items passed in {_names(mapped)}"
    if cc:
        basis += " (some through a compensating control; see the worksheet)"
    return result(IN_PLACE, basis, cc)


def _count(failing: list[CheckState], requirement: str) -> int:
    """Failing items for ``requirement``: an item several checks report under the same
    resource key (one network connection, one image and vulnerability) counts once."""
    keys: set[str] = set()
    counted = 0
    for s in failing:
        keys |= s.failing_keys(requirement)
        counted += s.failed + s.risk_accepted + s.scoped_failures.get(requirement, 0)
    return counted + len(keys)


def _names(states: list[CheckState]) -> str:
    names = [s.check_id for s in states]
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
