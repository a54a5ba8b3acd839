"""`auditkit controls show`: key shape, population, parameters with their source, procedures."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from auditkit.evaluate.check_view import population, procedure_lines
from tests.conftest import CliRunner

CHECK = "vuln_lower_ranked_within_window"


def test_show_outside_a_workspace_uses_defaults(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("controls", "show", "flow_cde_inbound_unapproved")
    assert res.code == 0, res.err
    assert "Resource key (what an exception's match.resource must equal)" in res.out
    assert "<source> -> <destination>:<port>/<protocol>" in res.out
    assert "10.30.9.15 -> 10.20.1.10:23/tcp" in res.out
    doc = json.loads(cli("controls", "show", CHECK, "--json").out)
    assert doc["resource_key"][0]["format"] == "<image repository> <vulnerability id> <package?>"
    assert doc["params_for"] is None
    sources = {p["name"]: (p["value"], p["source"]) for p in doc["params"]}
    assert sources["high_days"] == (90, "default")
    assert sources["severities"] == (["high", "medium", "low"], "default")


def test_show_names_each_parameter_source(cli: CliRunner, mini_workspace: Path) -> None:
    ws = mini_workspace
    with (ws / "auditkit.toml").open("a") as fh:
        fh.write(f"\n[params.{CHECK}]\nmedium_days = 45\nlow_days = 120\n")
    (ws / "attestations").mkdir()
    (ws / "attestations" / "tra.yaml").write_text(
        textwrap.dedent("""\
        attestations:
          - id: TRA-OLD
            requirement: "6.3.3"
            kind: targeted_risk_analysis
            date: 2026-01-10
            performed_by: ciso
            evidence: TRA-2026-01
            parameters: {high_days: 60}
          - id: TRA-NEW
            requirement: "11.3.1.1"
            kind: targeted_risk_analysis
            date: 2026-03-12
            performed_by: ciso
            evidence: TRA-2026-03
            parameters: {high_days: 30, low_days: 150}
          - id: TRA-LATER
            requirement: "6.3.3"
            kind: targeted_risk_analysis
            date: 2026-12-01
            performed_by: ciso
            evidence: TRA-2026-12
            parameters: {high_days: 10}
          - id: NOT-A-TRA
            requirement: "6.3.3"
            kind: policy_document
            date: 2026-06-01
            performed_by: ciso
            evidence: POL-1
            parameters: {medium_days: 5}
        """)
    )
    doc = json.loads(cli("controls", "show", CHECK, "-w", ws, "--json").out)
    params = {p["name"]: p for p in doc["params"]}
    # The latest targeted risk analysis on or before the period end wins, as in the SQL.
    assert (params["high_days"]["value"], params["high_days"]["source"]) == (30, "attestation")
    assert params["high_days"]["detail"].startswith("TRA-NEW (targeted_risk_analysis, 2026-03-12;")
    assert "attestations/tra.yaml#/attestations/1" in params["high_days"]["detail"]
    assert (params["low_days"]["value"], params["low_days"]["source"]) == (150, "attestation")
    # Set in auditkit.toml; an attestation of another kind does not count.
    assert (params["medium_days"]["value"], params["medium_days"]["source"]) == (
        45,
        "auditkit.toml",
    )
    assert params["medium_days"]["detail"].startswith(f"[params.{CHECK}] medium_days; no ")
    assert params["severities"]["source"] == "default"
    table = cli("controls", "show", CHECK, "-w", ws)
    assert table.code == 0
    assert "attestation" in table.out and "auditkit.toml" in table.out
    assert (
        "procedures: not declared in this catalog" in table.err or "Testing procedures" in table.out
    )


def test_show_rejects_a_bad_workspace_parameter(cli: CliRunner, mini_workspace: Path) -> None:
    with (mini_workspace / "auditkit.toml").open("a") as fh:
        fh.write(f'\n[params.{CHECK}]\nhigh_days = "soon"\n')
    res = cli("controls", "show", CHECK, "-w", mini_workspace)
    assert res.code == 2
    assert "high_days must be integer" in res.err


def test_show_unknown_check(cli: CliRunner) -> None:
    res = cli("controls", "show", "no_such_check")
    assert res.code == 2 and "no check, requirement or testing procedure 'no_such_check'" in res.err


def test_procedures_and_population_render_whatever_the_catalog_exposes() -> None:
    claim = SimpleNamespace(
        procedure="1.2.5.b", methods=("records",), extent="exceptions-only", limits="flows only"
    )
    check: Any = SimpleNamespace(procedures=(claim, "10.4.1.a"), population=" allowed flows ")
    assert procedure_lines(check) == [
        {
            "procedure": "1.2.5.b",
            "methods": ["records"],
            "extent": "exceptions-only",
            "limits": "flows only",
        },
        {"procedure": "10.4.1.a"},
    ]
    assert population(check) == "allowed flows"
    bare: Any = SimpleNamespace()
    assert procedure_lines(bare) == [] and population(bare) == ""
