"""The engine and roll-up: fail closed, row contract, exceptions, attestations, frameworks."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from auditkit.evaluate.rollup import CheckState, RequirementInput, roll_up
from tests.conftest import CliRunner, use_mini_framework

CHECK_YAML = """\
id: {id}
title: A test check
description: Test.
rationale: Test.
severity: high
resource_key: {{format: "<key...>", example: "user:u1"}}
requires:
  - table: current_users
    missing: no user inventory was ingested
evidence_columns: []
remediation: None.
population: the accounts in the user inventory
procedures: {procedures}
{extra}
"""


def custom_controls(
    root: Path,
    checks: dict[str, str],
    requirements: list[dict[str, object]],
    extra: dict[str, str] | None = None,
) -> Path:
    """A tiny controls folder: checks (id -> SQL) and a framework 'custom'.

    Each requirement gets one records procedure "<id>.t" (unless it lists its own), and each
    check declares it performs the procedures of the requirements that map it, over the whole
    population: a passing check then proposes In Place.
    """
    (root / "checks" / "custom").mkdir(parents=True)
    (root / "frameworks").mkdir()
    for req in requirements:
        req.setdefault(
            "procedures", [{"id": f"{req['id']}.t", "methods": ["records"], "text": "Test."}]
        )
    for check_id, sql in checks.items():
        claims = [
            {"id": p["id"], "methods": ["records"], "extent": "whole"}
            for req in requirements
            if check_id in req.get("checks", [])  # type: ignore[operator]
            for p in req["procedures"]  # type: ignore[attr-defined]
        ]
        (root / "checks" / "custom" / f"{check_id}.yaml").write_text(
            CHECK_YAML.format(
                id=check_id,
                procedures=json.dumps(claims),
                extra=(extra or {}).get(check_id, ""),
            )
        )
        (root / "checks" / "custom" / f"{check_id}.sql").write_text(sql)
    import yaml

    (root / "frameworks" / "custom.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "custom",
                "title": "A custom framework",
                "version": "1",
                "requirements": requirements,
            }
        )
    )
    return root


def use_framework(ws: Path, controls: Path, framework: str = "custom") -> None:
    cfg = ws / "auditkit.toml"
    text = cfg.read_text().replace(
        'approved_flows = "approved-flows.yaml"',
        f'approved_flows = "approved-flows.yaml"\ncontrols = ["{controls}"]',
    )
    cfg.write_text(f'framework = "{framework}"\n' + text)


USERS_SQL = """
SELECT 'user:' || user_id AS resource,
       CASE WHEN status = 'disabled' THEN 'fail' ELSE 'pass' END AS status,
       'account is ' || status AS reason, source_sha256, locator
FROM current_users
"""


def evaluate(cli: CliRunner, ws: Path) -> dict[str, object]:
    res = cli("evaluate", "-w", ws, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_a_custom_framework_from_a_folder_runs_without_code_changes(
    cli: CliRunner, mini_workspace: Path, tmp_path: Path
) -> None:
    controls = custom_controls(
        tmp_path / "mine",
        {"custom_disabled_users": USERS_SQL},
        [
            {
                "id": "C-1",
                "title": "No disabled accounts linger",
                "checks": ["custom_disabled_users"],
            },
            {"id": "C-2", "title": "A paper control", "manual": True},
        ],
    )
    assert cli("controls", "lint", "--controls", controls).code == 0
    use_framework(mini_workspace, controls)
    run = evaluate(cli, mini_workspace)
    results = {r["requirement"]: r["result"] for r in run["requirements"]}
    assert results == {"C-1": "Not in Place", "C-2": "No automated evidence"}
    check = run["checks"][0]
    assert (check["population"], check["failed"]) == (3, 1)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT 'x' AS resource, 'pass' AS status, 'r' AS reason, NULL AS source_sha256",
            "lacks column(s) locator",
        ),
        (
            "SELECT 'x' AS resource, 'maybe' AS status, 'r' AS reason, NULL AS source_sha256, "
            "NULL AS locator",
            "status other than",
        ),
        (
            "SELECT 'x' AS resource, 'pass' AS status, 'r' AS reason, NULL AS source_sha256, "
            "NULL AS locator FROM range(2)",
            "appear on several rows",
        ),
        (
            "SELECT NULL AS resource, 'pass' AS status, 'r' AS reason, NULL AS source_sha256, "
            "NULL AS locator",
            "without resource or reason",
        ),
    ],
)
def test_row_contract_violations_are_errors(
    cli: CliRunner, mini_workspace: Path, tmp_path: Path, sql: str, message: str
) -> None:
    controls = custom_controls(
        tmp_path / "bad",
        {"custom_bad": sql},
        [{"id": "C-1", "title": "x", "checks": ["custom_bad"]}],
    )
    use_framework(mini_workspace, controls)
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 3
    assert "custom_bad" in res.err and message in res.err


def test_check_sql_cannot_read_files(cli: CliRunner, mini_workspace: Path, tmp_path: Path) -> None:
    sql = (
        "SELECT content AS resource, 'pass' AS status, 'r' AS reason, NULL AS source_sha256, "
        "NULL AS locator FROM read_text('/etc/hostname')"
    )
    controls = custom_controls(
        tmp_path / "evil",
        {"custom_reader": sql},
        [{"id": "C-1", "title": "x", "checks": ["custom_reader"]}],
    )
    use_framework(mini_workspace, controls)
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 3
    assert "disabled" in res.err.lower()


def test_all_items_out_of_reach_is_not_tested(
    cli: CliRunner, mini_workspace: Path, tmp_path: Path
) -> None:
    sql = (
        "SELECT 'user:' || user_id AS resource, 'not_applicable' AS status, "
        "'nothing to judge' AS reason, source_sha256, locator FROM current_users"
    )
    controls = custom_controls(
        tmp_path / "na", {"custom_na": sql}, [{"id": "C-1", "title": "x", "checks": ["custom_na"]}]
    )
    use_framework(mini_workspace, controls)
    run = evaluate(cli, mini_workspace)
    assert run["requirements"][0]["result"] == "No automated evidence"
    assert "could be tested" in run["checks"][0]["reason"]
    assert "could be tested" in run["requirements"][0]["basis"]


def test_missing_data_is_not_tested_with_the_checks_reason(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "empty"
    assert cli("init", ws, "--org", "Nobody Ltd").code == 0
    run = evaluate(cli, ws)
    results = {r["requirement"]: r for r in run["requirements"]}
    # Missing data is no evidence, never Not Tested (which only a declaration sets).
    assert results["1.3.1"]["result"] == "No automated evidence"
    assert "no network flow data was ingested for the period" in results["1.3.1"]["basis"]
    assert all(r["result"] != "In Place" for r in run["requirements"])
    assert all(r["result"] != "Not Tested" for r in run["requirements"])


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def test_exceptions_match_expire_and_stay_visible(cli: CliRunner, mini_workspace: Path) -> None:
    use_mini_framework(mini_workspace)
    _write(
        mini_workspace / "exceptions.yaml",
        """\
        exceptions:
          - id: EXC-CC
            check: flow_cde_inbound_unapproved
            kind: compensating_control
            match: {resource: "10.99.7.20 -> 10.20.1.7:5432/tcp"}
            justification: legacy reporting job, isolated by host firewall
            approved_by: ciso@example.test
            approved_on: 2026-01-01
            expires: 2027-01-01
            requirement: "1.3.1"
            compensating_control:
              constraints: the reporting vendor cannot reach the database through the API
              definition: host firewall on the database allows only that address and port
              objective: limit inbound traffic to what is necessary
              identified_risk: a compromised reporting host reaches the database
              validation: firewall rules reviewed and tested on 2026-06-01
              maintenance: reviewed every quarter with the NSC review
          - id: EXC-OLD
            check: flow_cde_outbound_unapproved
            kind: false_positive
            match: {resource: "10.20.1.7 -> 203.0.113.50:443/tcp"}
            justification: acquirer address
            approved_by: ciso@example.test
            approved_on: 2025-01-01
            expires: 2026-06-30
          - id: EXC-RISK
            check: rbac_cluster_admin_bindings
            kind: risk_acceptance
            match: {resource: "ClusterRoleBinding/bob-admin -> User:bob@example.test"}
            justification: on-call lead
            approved_by: ciso@example.test
            approved_on: 2026-01-01
            expires: 2027-01-01
        """,
    )
    run = evaluate(cli, mini_workspace)
    req = {r["requirement"]: r for r in run["requirements"]}
    # The only exception passes through a compensating control; the flow check can show
    # exceptions only, so the requirement is not proposed In Place but carries the flag.
    assert req["1.3.1"]["result"] == "No automated evidence"
    assert req["1.3.1"]["compensating_control"] is True
    assert req["1.3.2"]["result"] == "Not in Place"  # the false positive expired
    assert req["7.2.2"]["result"] == "Not in Place"  # risk acceptance does not make it in place
    assert "risk acceptance" in req["7.2.2"]["basis"]
    checks = {c["check_id"]: c for c in run["checks"]}
    assert checks["flow_cde_inbound_unapproved"]["excepted"] == 1
    assert checks["flow_cde_outbound_unapproved"]["failed"] == 1
    import duckdb

    with duckdb.connect(str(mini_workspace / "auditkit.duckdb"), read_only=True) as con:
        states = dict(con.execute("SELECT exception_id, state FROM run_exceptions").fetchall())
    assert states == {"EXC-CC": "applied", "EXC-OLD": "expired", "EXC-RISK": "applied"}


def test_exception_for_unknown_check_is_a_config_error(
    cli: CliRunner, mini_workspace: Path
) -> None:
    _write(
        mini_workspace / "exceptions.yaml",
        """\
        exceptions:
          - id: EXC-1
            check: no_such_check
            kind: false_positive
            match: {resource: x}
            justification: j
            approved_by: a
            approved_on: 2026-01-01
            expires: 2027-01-01
        """,
    )
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 2
    assert "no_such_check" in res.err


def test_not_applicable_only_from_declarations(cli: CliRunner, mini_workspace: Path) -> None:
    (mini_workspace / "attestations.yaml").write_text(
        textwrap.dedent("""\
        attestations:
          - id: NA-1
            requirement: "1.3.3"
            kind: scope_statement
            date: 2026-06-30
            performed_by: ciso
            evidence: SCOPE-2026
            not_applicable: true
            justification: no wireless network connects to the CDE
          - id: NA-2
            requirement: "1.3.1"
            kind: scope_statement
            date: 2026-06-30
            performed_by: ciso
            evidence: SCOPE-2026
            not_applicable: true
            justification: claimed, but traffic says otherwise
        """)
    )
    cfg = mini_workspace / "auditkit.toml"
    cfg.write_text(
        cfg.read_text().replace(
            'attestations = "attestations"', 'attestations = "attestations.yaml"'
        )
    )
    run = evaluate(cli, mini_workspace)
    req = {r["requirement"]: r for r in run["requirements"]}
    assert req["1.3.3"]["result"] == "Not Applicable"
    assert "no wireless network" in req["1.3.3"]["basis"]
    assert req["1.3.1"]["result"] == "Not in Place"
    assert "contradict" in req["1.3.1"]["basis"]
    na = [r for r in run["requirements"] if r["result"] == "Not Applicable"]
    assert {r["requirement"] for r in na} == {"1.3.3"}  # service provider: nothing else is N/A


def test_service_provider_requirements_for_a_merchant() -> None:
    req = RequirementInput("11.4.6", "x", ("c",), False, applies_to="service_provider")
    assert (
        roll_up(req, {"c": CheckState("c", "evaluated", "", failed=3)}, "merchant").result
        == "Not Applicable"
    )
    assert (
        roll_up(req, {"c": CheckState("c", "evaluated", "", failed=3)}, "service_provider").result
        == "Not in Place"
    )


PASSING_SQL = """
SELECT 'user:' || user_id AS resource, 'pass' AS status, 'ok' AS reason, source_sha256, locator
FROM current_users
"""


def test_in_place_when_a_check_covers_every_procedure_and_fail_on_levels(
    cli: CliRunner, mini_workspace: Path, tmp_path: Path
) -> None:
    controls = custom_controls(
        tmp_path / "ok",
        {"custom_all_pass": PASSING_SQL},
        [{"id": "C-1", "title": "Accounts are fine", "checks": ["custom_all_pass"]}],
    )
    use_framework(mini_workspace, controls)
    run = evaluate(cli, mini_workspace)
    (req,) = run["requirements"]
    assert req["result"] == "In Place", req["basis"]
    assert (req["procedures_covered"], req["procedures_total"]) == (1, 1)
    for level in ("not-in-place", "partial", "not-proven", "not-tested"):
        assert cli("evaluate", "-w", mini_workspace, "--fail-on", level).code == 0, level
    assert cli("evaluate", "-w", mini_workspace, "--fail-on", "everything").code == 2


def test_fail_on_partial_and_not_proven(cli: CliRunner, mini_workspace: Path) -> None:
    use_mini_framework(mini_workspace)
    run = evaluate(cli, mini_workspace)
    results = {r["result"] for r in run["requirements"]}
    assert "No automated evidence" in results
    assert cli("evaluate", "-w", mini_workspace, "--fail-on", "not-proven").code == 1
    expected = 1 if results & {"Not in Place", "No exceptions noted (partial)"} else 0
    assert cli("evaluate", "-w", mini_workspace, "--fail-on", "partial").code == expected


CALENDAR_SQL = """
SELECT 'window ' || window_no AS resource, 'pass' AS status,
       strftime(window_start, '%Y-%m-%d') || '..' || strftime(window_end, '%Y-%m-%d')
       || ' from ' || strftime(CAST($lookback_start AS DATE), '%Y-%m-%d') AS reason,
       NULL AS source_sha256, 'absent:none' AS locator
FROM calendar_windows WHERE months = 3
"""


def test_checks_read_the_one_calendar(cli: CliRunner, mini_workspace: Path, tmp_path: Path) -> None:
    import datetime as dt

    import duckdb

    from auditkit.calendar import lookback_start, windows

    controls = custom_controls(
        tmp_path / "cal",
        {"custom_calendar": CALENDAR_SQL},
        [{"id": "C-1", "title": "Windows", "checks": ["custom_calendar"]}],
    )
    use_framework(mini_workspace, controls)
    # a period ending on 30 November: the windows end there, on whole months
    res = cli(
        "evaluate", "-w", mini_workspace, "--period-start", "2026-09-01",
        "--period-end", "2026-11-30", "--as-of", "2026-12-15", "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    with duckdb.connect(str(mini_workspace / "auditkit.duckdb"), read_only=True) as con:
        reasons = [
            r[0]
            for r in con.execute(
                "SELECT reason FROM run_results WHERE check_id = 'custom_calendar' "
                "ORDER BY resource"
            ).fetchall()
        ]
    as_of = dt.date(2026, 11, 30)  # the evaluation date: the period end, before the as-of date
    start = lookback_start(as_of).isoformat()
    assert reasons == [f"{w.start}..{w.end} from {start}" for w in windows(as_of)]
