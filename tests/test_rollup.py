"""The roll-up: a candidate result follows from which testing procedures are covered."""

from __future__ import annotations

from auditkit.evaluate.outcomes import RunSummary
from auditkit.evaluate.rollup import (
    COVERED,
    EXCEPTIONS,
    IN_PLACE,
    NO_EVIDENCE,
    NOT_APPLICABLE,
    NOT_COVERED,
    NOT_IN_PLACE,
    NOT_TESTED,
    PARTIAL,
    PARTLY,
    AttestationInput,
    CheckState,
    ClaimInput,
    ProcedureInput,
    RequirementInput,
    roll_up,
)

DOC = ProcedureInput("1.1.a", ("documentation",), "Policies say so.")
CONF = ProcedureInput("1.1.b", ("configuration",), "Settings do it.")
MIXED = ProcedureInput("1.1.c", ("interview", "configuration"), "Staff say so and settings do it.")


def ok(check: str, passed: int = 3) -> CheckState:
    return CheckState(check, "evaluated", f"{passed} item(s) tested", passed=passed)


def req(
    claims: tuple[ClaimInput, ...] = (),
    attestations: tuple[AttestationInput, ...] = (),
    procedures: tuple[ProcedureInput, ...] = (DOC, CONF),
    **kw: object,
) -> RequirementInput:
    checks = tuple(dict.fromkeys(c.check_id for c in claims))
    return RequirementInput(
        "1.1",
        "t",
        checks,
        not checks,
        procedures=procedures,
        claims=claims,
        attestations=attestations,
        **kw,  # type: ignore[arg-type]
    )


def whole(check: str, procedure: str = "1.1.b") -> ClaimInput:
    return ClaimInput(check, procedure, ("configuration",), "whole")


def part(check: str, procedure: str = "1.1.b") -> ClaimInput:
    return ClaimInput(check, procedure, ("configuration",), "part", "only the Kubernetes API")


def attest(
    procedure: str = "1.1.a", current: bool = True, failed: bool = False
) -> AttestationInput:
    return AttestationInput("POL-1", procedure, current, failed, "2026-02-01")


def test_in_place_only_when_every_procedure_is_covered() -> None:
    one = roll_up(req((whole("a"),)), {"a": ok("a")}, "merchant")
    assert one.result == PARTIAL
    assert (one.procedures_covered, one.procedures_total) == (1, 2)
    assert one.coverage == "1 of 2 procedures covered"
    assert [p.status for p in one.procedures] == [NOT_COVERED, COVERED]
    assert one.to_do == ["1.1.a (documentation): Policies say so."]
    both = roll_up(req((whole("a"),), (attest(),)), {"a": ok("a")}, "merchant")
    assert both.result == IN_PLACE
    assert both.to_do == []
    assert "attestation POL-1" in both.basis


def test_a_stale_attestation_covers_nothing() -> None:
    res = roll_up(req((whole("a"),), (attest(current=False),)), {"a": ok("a")}, "merchant")
    assert res.result == PARTIAL


def test_a_failing_attestation_is_an_exception() -> None:
    res = roll_up(req((whole("a"),), (attest(failed=True),)), {"a": ok("a")}, "merchant")
    assert res.result == NOT_IN_PLACE
    assert res.procedures[0].status == EXCEPTIONS
    assert "POL-1" in res.basis


def test_an_attestation_never_stands_for_configuration() -> None:
    res = roll_up(
        req((whole("a", "1.1.c"),), (attest("1.1.c"),), procedures=(MIXED,)),
        {"a": CheckState("a", "not_tested", "no data")},
        "merchant",
    )
    (proc,) = res.procedures
    assert proc.status == PARTLY
    assert proc.covered_methods == ("interview",)
    assert res.result == PARTIAL


def test_part_of_the_population_is_partial_and_says_what_is_left() -> None:
    res = roll_up(req((part("a"),), (attest(),)), {"a": ok("a")}, "merchant")
    assert res.result == PARTIAL
    assert res.procedures[1].status == PARTLY
    assert "only the Kubernetes API" in res.procedures[1].to_do
    assert res.procedures_covered == 1


def test_exceptions_only_evidence_is_no_automated_evidence_until_it_fails() -> None:
    claim = ClaimInput("a", "1.1.b", (), "exceptions-only", "traffic is not configuration")
    res = roll_up(req((claim,)), {"a": ok("a")}, "merchant")
    assert res.result == NO_EVIDENCE
    assert "cover no procedure" in res.basis
    failing = CheckState("a", "evaluated", "1 of 3 failed", failed=1, passed=2)
    assert roll_up(req((claim,)), {"a": failing}, "merchant").result == NOT_IN_PLACE


def test_a_check_that_tested_nothing_covers_nothing() -> None:
    # every item not applicable (e.g. scans without the data the check needs)
    res = roll_up(req((whole("a"),), (attest(),)), {"a": ok("a", passed=0)}, "merchant")
    assert res.result == PARTIAL
    assert res.procedures[1].status == NOT_COVERED


def test_an_untested_mapped_check_blocks_in_place() -> None:
    claims = (whole("a"), part("b"))
    states = {"a": ok("a"), "b": CheckState("b", "not_tested", "no flow data")}
    res = roll_up(req(claims, (attest(),)), states, "merchant")
    assert res.result == PARTIAL
    assert "no flow data" in res.basis


def test_nothing_covered_is_no_automated_evidence_never_not_tested() -> None:
    manual = roll_up(req(), {}, "merchant")
    assert manual.result == NO_EVIDENCE
    assert "no check maps" in manual.basis
    untested = roll_up(
        req((whole("a"),)), {"a": CheckState("a", "not_tested", "no data")}, "merchant"
    )
    assert untested.result == NO_EVIDENCE


def test_a_manual_requirement_can_be_covered_by_attestations() -> None:
    interview = ProcedureInput("1.1.b", ("interview",), "Staff know it.")
    atts = (attest("1.1.a"), attest("1.1.b"))
    res = roll_up(req(attestations=atts, procedures=(DOC, interview)), {}, "merchant")
    assert res.result == IN_PLACE


def test_declarations_and_their_contradiction() -> None:
    bad = {"a": CheckState("a", "evaluated", "1 failed", failed=1)}
    declared = req((whole("a"),), declared_not_tested="excluded by the acquirer")
    assert roll_up(declared, {"a": ok("a")}, "merchant").result == NOT_TESTED
    contradicted = roll_up(declared, bad, "merchant")
    assert contradicted.result == NOT_IN_PLACE and "contradict" in contradicted.basis
    na = req((whole("a"),), declared_na="no wireless")
    assert roll_up(na, {"a": ok("a")}, "merchant").result == NOT_APPLICABLE
    assert roll_up(na, bad, "merchant").result == NOT_IN_PLACE
    sp = req((whole("a"),), applies_to="service_provider")
    assert roll_up(sp, bad, "merchant").result == NOT_APPLICABLE
    assert roll_up(sp, bad, "service_provider").result == NOT_IN_PLACE


def test_risk_acceptance_is_still_an_exception_and_flags_are_kept() -> None:
    risky = CheckState("a", "evaluated", "x", risk_accepted=1, excepted_other=1, passed=2)
    res = roll_up(req((whole("a"),), (attest(),)), {"a": risky}, "merchant")
    assert res.result == NOT_IN_PLACE and "risk acceptance" in res.basis
    assert res.failing_checks == ("a",)
    cc = CheckState("a", "evaluated", "x", excepted_cc=1, passed=3)
    res = roll_up(req((whole("a"),), (attest(),), customized=True), {"a": cc}, "merchant")
    assert (res.result, res.compensating_control, res.customized_approach) == (
        IN_PLACE,
        True,
        True,
    )


def test_partial_is_never_counted_as_in_place() -> None:
    import datetime as dt

    partial = roll_up(req((whole("a"),)), {"a": ok("a")}, "merchant")
    full = roll_up(req((whole("a"),), (attest(),)), {"a": ok("a")}, "merchant")
    summary = RunSummary(1, dt.date(2026, 9, 30), dt.date(2026, 7, 1), dt.date(2026, 9, 30),
                         "x", [], [partial, full])  # fmt: skip
    counts = summary.counts()
    assert counts[IN_PLACE] == 1 and counts[PARTIAL] == 1
    doc = summary.to_json()
    assert doc["requirements"][0]["still_for_the_assessor"]
    assert doc["requirements"][1]["procedures"][0]["status"] == COVERED
