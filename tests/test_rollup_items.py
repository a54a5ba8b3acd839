"""Roll-up rules that depend on single items: exceptions naming a requirement, the
compensating-control flag whatever the result, counting one item once across checks, and
checks whose supplementary data was missing (docs/results.md, docs/registers.md)."""

from __future__ import annotations

from auditkit.evaluate.rollup import CheckState, ItemFact, RequirementInput, roll_up

TELNET = "10.30.9.15 -> 10.20.1.30:23/tcp"


def _req(rid: str, *checks: str, manual: bool = False) -> RequirementInput:
    return RequirementInput(rid, "t", checks, manual)


def test_an_exception_covers_only_the_requirement_it_names() -> None:
    # flow_insecure_protocols maps 1.2.6, 2.2.5 and 2.2.7; the worksheet is for 2.2.5
    state = CheckState(
        "insecure",
        "evaluated",
        "",
        items=(ItemFact(TELNET, "excepted", "", "compensating_control", "2.2.5"),),
    )
    results = {
        r: roll_up(_req(r, "insecure"), {"insecure": state}, "merchant")
        for r in ("2.2.5", "2.2.7", "1.2.6")
    }
    assert (results["2.2.5"].result, results["2.2.5"].compensating_control) == ("In Place", True)
    for rid in ("2.2.7", "1.2.6"):
        assert results[rid].result == "Not in Place"
        assert results[rid].compensating_control is False


def test_an_exception_naming_no_requirement_covers_every_mapped_one() -> None:
    state = CheckState(
        "insecure", "evaluated", "", items=(ItemFact(TELNET, "excepted", "", "false_positive"),)
    )
    for rid in ("2.2.5", "2.2.7"):
        result = roll_up(_req(rid, "insecure"), {"insecure": state}, "merchant")
        assert (result.result, result.compensating_control) == ("In Place", False)


def test_risk_acceptance_never_covers() -> None:
    state = CheckState(
        "c", "evaluated", "", items=(ItemFact("x", "excepted", "", "risk_acceptance", "1.1"),)
    )
    result = roll_up(_req("1.1", "c"), {"c": state}, "merchant")
    assert result.result == "Not in Place"
    assert "risk acceptance" in result.basis


def test_compensating_control_flag_is_set_whatever_the_result() -> None:
    # 2.2.6 in the demo: eight items pass through CC worksheets, other items fail
    passing_cc = CheckState(
        "privileged",
        "evaluated",
        "",
        items=tuple(
            ItemFact(f"falco/DaemonSet/falco:{i}", "excepted", "", "compensating_control", "2.2.6")
            for i in range(8)
        ),
    )
    failing = CheckState("root", "evaluated", "", items=(ItemFact("web", "fail"),))
    req = _req("2.2.6", "privileged", "root")
    result = roll_up(req, {"privileged": passing_cc, "root": failing}, "service_provider")
    assert (result.result, result.compensating_control) == ("Not in Place", True)
    untested = CheckState("root", "not_tested", "no data")
    result = roll_up(req, {"privileged": passing_cc, "root": untested}, "service_provider")
    assert (result.result, result.compensating_control) == ("Not Tested", True)


def test_a_row_scoped_requirement_counts_only_there() -> None:
    state = CheckState(
        "time", "evaluated", "", items=(ItemFact("a -> b:123/udp", "fail", "10.6.2"),)
    )
    assert roll_up(_req("10.6.1", "time"), {"time": state}, "merchant").result == "In Place"
    assert roll_up(_req("10.6.2", "time"), {"time": state}, "merchant").result == "Not in Place"


def test_one_connection_failing_several_checks_counts_once() -> None:
    key = "checkout-web/checkout-web -> card-vault/card-vault-db:5432/tcp"
    inbound = CheckState(
        "inbound", "evaluated", "", items=(ItemFact(key, "fail"), ItemFact("x -> y:1/tcp", "fail"))
    )
    policy = CheckState("policy", "evaluated", "", items=(ItemFact(key, "fail"),))
    result = roll_up(
        _req("1.3.1", "inbound", "policy"), {"inbound": inbound, "policy": policy}, "merchant"
    )
    assert result.result == "Not in Place"
    assert result.basis.startswith("2 failing item(s)"), result.basis


def test_missing_supplementary_data_blocks_a_pass_but_not_a_failure() -> None:
    blocked = CheckState(
        "store",
        "evaluated",
        "",
        items=(ItemFact("mallory exec vault-db-0", "fail", "7.2.6"),),
        blocked="no network flow data was ingested for the period",
    )
    assert roll_up(_req("7.2.6", "store"), {"store": blocked}, "merchant").result == "Not in Place"
    other = roll_up(_req("1.4.4", "store"), {"store": blocked}, "merchant")
    assert other.result == "Not Tested"
    assert "no network flow data" in other.basis


def test_checks_on_a_manual_requirement_can_only_show_it_not_in_place() -> None:
    ok = CheckState("incident", "evaluated", "")
    bad = CheckState("incident", "evaluated", "", items=(ItemFact("alert", "fail"),))
    req = _req("12.10.1", "incident", manual=True)
    assert roll_up(req, {"incident": ok}, "merchant").result == "Not Tested"
    assert roll_up(req, {"incident": bad}, "merchant").result == "Not in Place"
