"""Testing procedures as data: the framework lists them, checks declare what they perform,
lint holds the two together, attestations may stand for documentation and interviews only."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import yaml

from auditkit.evaluate.catalog import load_catalog
from tests.conftest import CliRunner, use_mini_framework

SQL = (
    "SELECT 'user:' || user_id AS resource, 'pass' AS status, 'ok' AS reason, "
    "source_sha256, locator FROM current_users"
)


def _controls(root: Path, claims: object, procedures: object, requires: str = "current_users"):
    (root / "checks" / "t").mkdir(parents=True)
    (root / "frameworks").mkdir()
    check = {
        "id": "t_check",
        "title": "A test check",
        "description": "Test.",
        "rationale": "Test.",
        "severity": "low",
        "requires": [{"table": requires, "missing": "nothing"}],
        "evidence_columns": [],
        "remediation": "None.",
        "population": "the accounts in the user inventory",
        "resource_key": {"format": "user:<user id>", "example": "user:u1"},
        "procedures": claims,
    }
    (root / "checks" / "t" / "t_check.yaml").write_text(yaml.safe_dump(check))
    (root / "checks" / "t" / "t_check.sql").write_text(SQL)
    framework = {
        "id": "t",
        "title": "T",
        "version": "1",
        "requirements": [
            {"id": "T.1", "title": "A requirement", "checks": ["t_check"], "procedures": procedures}
        ],
    }
    (root / "frameworks" / "t.yaml").write_text(yaml.safe_dump(framework))
    return root


PROCS = [
    {"id": "T.1.a", "methods": ["documentation"], "text": "Policies."},
    {"id": "T.1.b", "methods": ["interview", "configuration"], "text": "Settings and staff."},
]


def _problems(root: Path) -> list[str]:
    return load_catalog([root], strict=False, builtin=False).problems


def test_the_built_in_catalog_is_consistent() -> None:
    catalog = load_catalog()
    assert catalog.problems == []
    framework = catalog.framework("pci-dss-v4.0.1")
    assert len(framework.requirements) == 250
    assert sum(len(r.procedures) for r in framework.requirements) == 464
    for req in framework.requirements:
        assert req.procedures, req.id
        ids = [p.id for p in req.procedures]
        # one bare procedure, or lettered a, b, c... in order (the standard's numbering)
        assert ids == [req.id] or ids == [f"{req.id}.{chr(97 + i)}" for i in range(len(ids))]
        assert all(0 < len(p.text) <= 200 for p in req.procedures)
    for check in catalog.checks.values():
        assert check.population, check.id
        assert check.procedures, check.id
        # an exceptions-only or partial claim always says what it leaves to the assessor
        assert all(c.limits for c in check.procedures if c.extent != "whole"), check.id


def test_a_good_claim_is_clean(tmp_path: Path) -> None:
    claims = [{"id": "T.1.b", "methods": ["configuration"], "extent": "part", "limits": "x"}]
    assert _problems(_controls(tmp_path, claims, PROCS)) == []


def test_lint_rejects_claims_that_do_not_fit(tmp_path: Path) -> None:
    cases = {
        "names procedure T.1.z, which no framework lists": [
            {"id": "T.1.b", "methods": ["configuration"], "extent": "whole"},
            {"id": "T.1.z", "methods": ["records"], "extent": "whole"},
        ],
        "tests data, which can show only configuration or records, not interview": [
            {"id": "T.1.b", "methods": ["interview"], "extent": "whole"}
        ],
        "uses interview, configuration, not records": [
            {"id": "T.1.b", "methods": ["records"], "extent": "whole"}
        ],
        "needs limits": [{"id": "T.1.b", "methods": ["configuration"], "extent": "part"}],
        "extent must be one of": [{"id": "T.1.b", "methods": ["configuration"], "extent": "all"}],
    }
    for n, (message, claims) in enumerate(cases.items()):
        problems = _problems(_controls(tmp_path / str(n), claims, PROCS))
        assert any(message in p for p in problems), (message, problems)


def test_a_mapping_must_name_one_of_the_requirements_procedures(tmp_path: Path) -> None:
    problems = _problems(_controls(tmp_path, [], PROCS))
    assert any("maps t_check, which names none of its testing procedures" in p for p in problems)


def test_a_requirement_needs_procedures(tmp_path: Path) -> None:
    problems = _problems(_controls(tmp_path, [], None))
    assert any("procedures must list its testing procedures" in p for p in problems)


def test_an_attestation_check_can_stand_only_for_documentation_and_interviews(
    tmp_path: Path,
) -> None:
    claims = [{"id": "T.1.b", "methods": ["configuration"], "extent": "whole"}]
    problems = _problems(_controls(tmp_path, claims, PROCS, requires="attestations"))
    assert any("reads only attestations" in p for p in problems), problems
    claims = [{"id": "T.1.b", "methods": ["interview"], "extent": "whole"}]
    assert _problems(_controls(tmp_path / "ok", claims, PROCS, requires="attestations")) == []


def test_controls_show_lists_procedures_and_population(cli: CliRunner) -> None:
    res = cli("controls", "show", "6.3.3", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert [p["procedure"] for p in doc["procedures"]] == ["6.3.3.a", "6.3.3.b"]
    (performed,) = [p for p in doc["procedures"] if p["procedure"] == "6.3.3.b"]
    checks = {c["check"]: c for c in performed["performed_by"]}
    assert checks["vuln_critical_patch_window"]["extent"] == "part"
    assert "container image" in checks["vuln_critical_patch_window"]["population"]
    assert cli("controls", "show", "6.3.3.b", "--json").out == res.out
    check = json.loads(cli("controls", "show", "vuln_critical_patch_window", "--json").out)
    assert check["population"] and check["procedures"][0]["procedure"] == "6.3.3.b"
    assert check["procedures"][0]["description"]
    assert cli("controls", "show", "99.9").code == 2


def _attest(ws: Path, entries: str) -> None:
    (ws / "attestations.yaml").write_text(textwrap.dedent(entries))
    cfg = ws / "auditkit.toml"
    cfg.write_text(
        cfg.read_text().replace(
            'attestations = "attestations"', 'attestations = "attestations.yaml"'
        )
    )


def test_an_attestation_covers_the_procedures_it_names(
    cli: CliRunner, mini_workspace: Path
) -> None:
    use_mini_framework(mini_workspace)
    _attest(
        mini_workspace,
        """\
        attestations:
          - id: POL-1
            requirement: "6.3.3"
            kind: policy_document
            date: 2026-02-01
            performed_by: ciso
            evidence: PATCH-POLICY v2
            procedures: ["6.3.3.a"]
          - id: POL-OLD
            requirement: "7.2.2"
            kind: policy_document
            date: 2024-02-01
            performed_by: ciso
            evidence: ACCESS-POLICY v1
            procedures: ["7.2.2.a"]
        """,
    )
    res = cli("evaluate", "-w", mini_workspace, "--json")
    assert res.code == 0, res.err
    req = {r["requirement"]: r for r in json.loads(res.out)["requirements"]}
    (a,) = [p for p in req["6.3.3"]["procedures"] if p["procedure"] == "6.3.3.a"]
    assert a["status"] == "covered" and a["attestations"] == ["POL-1"]
    assert a["evidence_refs"]  # the attestations register file
    (old,) = [p for p in req["7.2.2"]["procedures"] if p["procedure"] == "7.2.2.a"]
    assert old["status"] == "not covered"  # performed before the look-back: not current


def test_an_attestation_cannot_name_a_configuration_procedure(
    cli: CliRunner, mini_workspace: Path
) -> None:
    use_mini_framework(mini_workspace)
    _attest(
        mini_workspace,
        """\
        attestations:
          - id: CFG-1
            requirement: "6.3.3"
            kind: patch_statement
            date: 2026-08-01
            performed_by: ops
            evidence: we patch
            procedures: ["6.3.3.b"]
        """,
    )
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 2
    assert "attestation.yaml" not in res.err  # names the real file
    assert "attestations.yaml" in res.err and "6.3.3.b" in res.err
    assert "documentation or interviews" in res.err


def test_an_attestation_must_name_a_procedure_of_its_requirement(
    cli: CliRunner, mini_workspace: Path
) -> None:
    use_mini_framework(mini_workspace)
    _attest(
        mini_workspace,
        """\
        attestations:
          - id: POL-1
            requirement: "6.3.3"
            kind: policy_document
            date: 2026-08-01
            performed_by: ciso
            evidence: POLICY
            procedures: ["7.2.2.a"]
        """,
    )
    res = cli("evaluate", "-w", mini_workspace)
    assert res.code == 2 and "procedure 7.2.2.a of requirement 7.2.2" in res.err


def test_declared_not_tested_comes_from_the_entity(cli: CliRunner, mini_workspace: Path) -> None:
    use_mini_framework(mini_workspace)
    cfg = mini_workspace / "auditkit.toml"
    cfg.write_text(
        cfg.read_text()
        + '\n[[not_tested]]\nrequirement = "9.4.1"\nreason = "excluded by the acquirer"\n'
    )
    res = cli("evaluate", "-w", mini_workspace, "--json")
    assert res.code == 0, res.err
    req = {r["requirement"]: r for r in json.loads(res.out)["requirements"]}
    assert req["9.4.1"]["result"] == "Not Tested"
    assert "excluded by the acquirer" in req["9.4.1"]["basis"]
    assert [r for r, v in req.items() if v["result"] == "Not Tested"] == ["9.4.1"]
