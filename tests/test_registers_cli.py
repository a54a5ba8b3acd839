"""Register entries that do nothing are reported: by `controls lint` against the catalog, and by
`evaluate` after the run (unmatched, expired, not yet approved), with file and entry."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.conftest import CliRunner

FAILING_ROLE = "ClusterRole/everything-reader"  # rbac_wildcard_grants fails it in the mini data
PASSING_EDGE = "10.30.4.10 -> 10.20.1.7:8443/tcp"  # flow_cde_inbound_unapproved passes it
OUT_OF_SCOPE_EDGE = "10.99.7.20 -> 10.20.1.7:5432/tcp"  # fails inbound: no approved flow
VULN = "registry.example.test/payments/api CVE-2026-10001 libexample"


def _exception(
    exc_id: str,
    check: str,
    resource: str,
    approved_on: str = "2026-01-10",
    expires: str = "2027-01-10",
    **extra: str,
) -> str:
    lines = [
        f"  - id: {exc_id}",
        f"    check: {check}",
        "    kind: false_positive",
        f"    match: {{resource: {json.dumps(resource)}}}",
        "    justification: reviewed by the platform team",
        "    approved_by: ciso@example.test",
        f"    approved_on: {approved_on}",
        f"    expires: {expires}",
    ]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _write_exceptions(ws: Path, *entries: str) -> None:
    (ws / "exceptions.yaml").write_text("exceptions:\n" + "".join(entries))


def _add_flow(ws: Path, flow_id: str, src: str, dst: str, port: str, approved_on: str) -> None:
    with (ws / "approved-flows.yaml").open("a") as fh:
        fh.write(
            f"  - id: {flow_id}\n"
            "    description: test flow\n"
            f"    source: {{cidrs: [{src}]}}\n"
            f"    destination: {{cidrs: [{dst}]}}\n"
            f'    ports: ["{port}"]\n'
            "    business_need: test\n"
            "    approved_by: cto@example.test\n"
            f"    approved_on: {approved_on}\n"
        )


# -- controls lint --workspace ------------------------------------------------------------


def test_lint_reports_every_register_entry_that_cannot_take_effect(
    cli: CliRunner, mini_workspace: Path
) -> None:
    ws = mini_workspace
    _write_exceptions(
        ws,
        _exception("EXC-1", "rbac_wildcard_grant", FAILING_ROLE),
        _exception("EXC-2", "rbac_wildcard_grants", "everything-reader"),
        _exception("EXC-3", "rbac_wildcard_grants", FAILING_ROLE, requirement="6.3.3"),
        _exception("EXC-4", "flow_cde_inbound_unapproved", "10.30.4.10->10.20.1.7:8443"),
        _exception("EXC-5", "rbac_wildcard_grants", FAILING_ROLE),
    )
    (ws / "attestations").mkdir()
    (ws / "attestations" / "reviews.yaml").write_text(
        textwrap.dedent("""\
        attestations:
          - id: LR-1
            requirement: "10.4.1.9"
            kind: log_review
            date: 2026-07-01
            performed_by: secops
            evidence: SIEM-1
        """)
    )
    res = cli("controls", "lint", "-w", ws)
    assert res.code == 2, res.err
    lines = res.err.splitlines()
    expected = [
        "exceptions.yaml#/exceptions/0 (EXC-1): unknown check 'rbac_wildcard_grant'",
        "exceptions.yaml#/exceptions/1 (EXC-2): match.resource 'everything-reader' does not "
        "have the shape of rbac_wildcard_grants's resource keys: ClusterRole/<role> (e.g. ",
        "exceptions.yaml#/exceptions/2 (EXC-3): requirement '6.3.3' is not one check "
        "rbac_wildcard_grants evidences (",
        "exceptions.yaml#/exceptions/3 (EXC-4): match.resource '10.30.4.10->10.20.1.7:8443' "
        "does not have the shape of flow_cde_inbound_unapproved's resource keys: "
        "<source> -> <destination>:<port>/<protocol>",
        "attestations/reviews.yaml#/attestations/0 (LR-1): requirement '10.4.1.9' is not in "
        "framework pci-dss-v4.0.1",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    assert not any("EXC-5" in line for line in lines)
    assert lines[-1].endswith("5 problem(s)")
    assert "registers: 5 exception(s), 1 attestation(s), 2 approved flow(s)" in lines[-1]

    doc = json.loads(cli("controls", "lint", "-w", ws, "--json").out)
    assert doc["ok"] is False
    assert doc["registers"]["exceptions"] == 5
    assert len(doc["registers"]["problems"]) == 5


def test_lint_names_a_check_the_framework_does_not_evaluate(
    cli: CliRunner, mini_workspace: Path
) -> None:
    from tests.conftest import use_mini_framework

    use_mini_framework(mini_workspace)
    _write_exceptions(mini_workspace, _exception("EXC-1", "sa_interactive_use", "x via y from z"))
    res = cli("controls", "lint", "-w", mini_workspace)
    assert res.code == 2
    assert (
        "exceptions.yaml#/exceptions/0 (EXC-1): check sa_interactive_use is not evaluated by "
        "framework mini, so the exception can never apply" in res.err
    )


def test_lint_of_a_broken_register_is_one_problem_not_a_crash(
    cli: CliRunner, mini_workspace: Path
) -> None:
    (mini_workspace / "exceptions.yaml").write_text("exceptions:\n  - id: X\n    kind: nope\n")
    res = cli("controls", "lint", "-w", mini_workspace)
    assert res.code == 2
    assert "exceptions.yaml" in res.err and "#/exceptions/0" in res.err


def test_lint_clean_workspace(cli: CliRunner, mini_workspace: Path) -> None:
    _write_exceptions(mini_workspace, _exception("EXC-1", "rbac_wildcard_grants", FAILING_ROLE))
    res = cli("controls", "lint", "-w", mini_workspace)
    assert res.code == 0, res.err
    assert res.err.strip().endswith(
        "registers: 1 exception(s), 0 attestation(s), 2 approved flow(s): clean"
    )


# -- evaluate ------------------------------------------------------------------------------


def test_evaluate_lists_unmatched_expired_and_future_entries(
    cli: CliRunner, mini_workspace: Path
) -> None:
    ws = mini_workspace
    _write_exceptions(
        ws,
        _exception("EXC-APPLIED", "rbac_wildcard_grants", FAILING_ROLE),
        _exception("EXC-TYPO", "rbac_wildcard_grants", "ClusterRole/everything-readr"),
        _exception("EXC-PASSING", "flow_cde_inbound_unapproved", PASSING_EDGE),
        _exception("EXC-OLD", "vuln_critical_patch_window", VULN, "2025-01-01", "2026-01-01"),
        _exception("EXC-SOON", "vuln_critical_patch_window", VULN, "2026-12-01", "2027-12-01"),
        _exception("EXC-UNTESTED", "workload_runs_as_root", "payments/Deployment/api:app"),
    )
    _add_flow(ws, "F-FUTURE", "10.99.0.0/16", "10.20.0.0/16", "5432/tcp", "2026-12-01")
    _add_flow(ws, "F-UNUSED", "10.1.0.0/16", "10.2.0.0/16", "22/tcp", "2026-01-01")
    doc = json.loads(cli("evaluate", "-w", ws, "--json").out)
    exceptions = {e["id"]: e for e in doc["registers"]["exceptions"]}
    flows = {e["id"]: e for e in doc["registers"]["approved_flows"]}
    assert {k: (v["state"], v["items"]) for k, v in exceptions.items()} == {
        "EXC-APPLIED": ("applied", 1),
        "EXC-TYPO": ("unmatched", 0),
        "EXC-PASSING": ("unmatched", 0),
        "EXC-OLD": ("expired", 1),
        "EXC-SOON": ("not yet approved", 1),
        "EXC-UNTESTED": ("unmatched", 0),
    }
    assert exceptions["EXC-TYPO"]["file"] == "exceptions.yaml"
    assert exceptions["EXC-TYPO"]["entry"] == "#/exceptions/1"
    assert "no item of check rbac_wildcard_grants has resource key" in exceptions["EXC-TYPO"]["why"]
    assert "is pass, so there is nothing to except" in exceptions["EXC-PASSING"]["why"]
    assert exceptions["EXC-OLD"]["why"] == "expired on 2026-01-01"
    assert "workload_runs_as_root was not tested" in exceptions["EXC-UNTESTED"]["why"]
    assert not exceptions["EXC-APPLIED"]["needs_attention"]
    assert {k: v["state"] for k, v in flows.items()} == {
        "F-001": "applied",
        "F-002": "applied",
        "F-FUTURE": "not yet approved",
        "F-UNUSED": "unmatched",
    }
    assert flows["F-FUTURE"]["entry"] == "#/flows/2"
    assert flows["F-UNUSED"]["file"] == "approved-flows.yaml"

    table = cli("evaluate", "-w", ws)
    assert table.code == 0
    assert "Register entries that did not take effect" in table.out
    for name in ("EXC-TYPO", "EXC-PASSING", "EXC-OLD", "EXC-SOON", "F-FUTURE", "F-UNUSED"):
        assert name in table.out
    assert "EXC-APPLIED" not in table.out
    assert "exceptions.yaml#/exceptions/3" in table.out
    assert "exceptions: 1 applied, 1 expired, 1 not yet approved, 3 unmatched" in table.err
    assert "approved flows: 2 applied, 1 not yet approved, 1 unmatched" in table.err


def _inbound_status(cli: CliRunner, ws: Path, edge: str) -> str:
    run = json.loads(cli("evaluate", "-w", ws, "--json").out)["run_id"]
    items = json.loads(
        cli(
            "results", "-w", ws, "--run", run, "--check", "flow_cde_inbound_unapproved", "--json"
        ).out
    )
    return next(i["status"] for i in items if i["resource"] == edge)


def test_a_flow_approved_after_the_as_of_date_approves_nothing(
    cli: CliRunner, mini_workspace: Path
) -> None:
    _add_flow(mini_workspace, "F-DB", "10.99.0.0/16", "10.20.0.0/16", "5432/tcp", "2026-12-01")
    assert _inbound_status(cli, mini_workspace, OUT_OF_SCOPE_EDGE) == "fail"
    text = (mini_workspace / "approved-flows.yaml").read_text()
    (mini_workspace / "approved-flows.yaml").write_text(text.replace("2026-12-01", "2026-06-01"))
    assert _inbound_status(cli, mini_workspace, OUT_OF_SCOPE_EDGE) == "pass"
