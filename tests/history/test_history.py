"""Across runs: diff, gap analysis, sampling, timeliness and the OSCAL export."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, CliRunner, use_mini_framework


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run 1 on the mini data; run 2 after a fix, a new problem and an exception."""
    from auditkit.cli import run

    ws = tmp_path_factory.mktemp("hist") / "ws"
    shutil.copytree(FIXTURES / "mini", ws)
    use_mini_framework(ws)
    assert (
        run(["ingest", str(ws / "scans"), str(ws / "runtime"), str(ws / "flows"), "-w", str(ws)])
        == 0
    )
    assert run(["ingest", str(ws / "access"), "--observed-at", "2026-09-30", "-w", str(ws)]) == 0
    assert run(["evaluate", "-w", str(ws)]) == 0
    # Quarter two: bob's cluster-admin binding removed (resolved), a new wildcard role for carol
    # (new), the unapproved egress excepted as a false positive, the rest unchanged.
    rbac = (ws / "access" / "rbac.yaml").read_text()
    rbac = rbac.replace("name: bob-admin", "name: carol-everything").replace(
        "cluster-admin}\n  subjects:\n  - {apiGroup: rbac.authorization.k8s.io, kind: User, "
        "name: bob@example.test}",
        "everything-reader}\n  subjects:\n  - {apiGroup: rbac.authorization.k8s.io, kind: User, "
        "name: carol@example.test}",
    )
    later = ws / "access-q4"
    later.mkdir()
    (later / "rbac.yaml").write_text(rbac)
    shutil.copy(ws / "access" / "users.csv", later / "users.csv")
    (ws / "exceptions.yaml").write_text(
        "exceptions:\n"
        "  - id: EXC-1\n"
        "    check: flow_cde_outbound_unapproved\n"
        "    kind: false_positive\n"
        "    match: {resource: '10.20.1.7 -> 203.0.113.50:443/tcp'}\n"
        "    justification: address belongs to the acquirer's new range\n"
        "    approved_by: ciso@example.test\n"
        "    approved_on: 2026-09-01\n"
        "    expires: 2027-09-01\n"
    )
    assert run(["ingest", str(later), "--observed-at", "2026-10-15", "-w", str(ws)]) == 0
    assert run(["evaluate", "--as-of", "2026-10-20", "-w", str(ws)]) == 0
    return ws


def test_runs_list_shows_both(cli: CliRunner, two_runs: Path) -> None:
    res = cli("runs", "list", "-w", two_runs, "--json")
    runs = json.loads(res.out)["runs"]
    assert [r["run_id"] for r in runs] == [1, 2]
    assert runs[1]["as_of"] == "2026-10-20"
    assert sum(runs[0]["counts"].values()) == sum(runs[1]["counts"].values())


def test_diff_new_resolved_persisting(cli: CliRunner, two_runs: Path, tmp_path: Path) -> None:
    res = cli("diff", "2", "-w", two_runs, "--json", "--out", tmp_path / "diff.xlsx")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["run_a"] == 1 and doc["run_b"] == 2
    by = {(f["check_id"], f["resource"]): f["change"] for f in doc["exception_changes"]}
    assert (
        by[("rbac_cluster_admin_bindings", "ClusterRoleBinding/bob-admin -> User:bob@example.test")]
        == "resolved"
    )
    assert by[("rbac_wildcard_grants", "ClusterRole/everything-reader")] == "persisting"
    assert by[("flow_cde_outbound_unapproved", "10.20.1.7 -> 203.0.113.50:443/tcp")] == "excepted"
    assert by[("flow_cde_inbound_unapproved", "10.99.7.20 -> 10.20.1.7:5432/tcp")] == "persisting"
    changes = {c["requirement"]: (c["before"], c["after"]) for c in doc["requirement_changes"]}
    # the exception is resolved, but flow evidence can show exceptions only: not In Place
    assert changes["1.3.2"] == ("Not in Place", "No automated evidence")
    import pandas as pd

    sheets = pd.read_excel(tmp_path / "diff.xlsx", sheet_name=None)
    assert len(sheets["Exception changes"]) == len(doc["exception_changes"])


def test_diff_explicit_pair_and_missing_previous(cli: CliRunner, two_runs: Path) -> None:
    assert cli("diff", "1", "2", "-w", two_runs).code == 0
    res = cli("diff", "1", "-w", two_runs)
    assert res.code == 2
    assert "no earlier run" in res.err


def test_gap_analysis_orders_and_uses_the_plan(
    cli: CliRunner, two_runs: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "plan:\n  - check: vuln_critical_patch_window\n    owner: platform-team\n"
        "    due: 2026-11-15\n    note: rebuild on debian 12.6\n"
        "  - requirement: '8.2.6'\n    owner: iam-team\n    due: 2026-10-01\n"
    )
    res = cli(
        "gap",
        "--run",
        "1",
        "--plan",
        plan,
        "-w",
        two_runs,
        "--json",
        "--out",
        tmp_path / "gap.xlsx",
    )
    assert res.code == 0, res.err
    items = json.loads(res.out)["items"]
    assert [i["priority"] for i in items] == list(range(1, len(items) + 1))
    results = [i["result"] for i in items]
    assert results == sorted(results, key=lambda r: 0 if r == "Not in Place" else 1)
    first = items[0]
    assert first["requirement"] == "6.3.3" and first["severity"] == "critical"
    assert first["owner"] == "platform-team" and first["due"] == "2026-11-15"
    assert first["earliest_deadline"] == "2026-08-10"
    inactive = next(i for i in items if i["requirement"] == "8.2.6")
    assert inactive["owner"] == "iam-team"
    assert (tmp_path / "gap.xlsx").is_file()


def test_gap_works_without_keys(cli: CliRunner, two_runs: Path) -> None:
    assert not (two_runs / ".auditkit" / "keys").exists()
    assert cli("gap", "-w", two_runs).code == 0


def test_bad_plan_file_is_a_clear_error(cli: CliRunner, two_runs: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("plan:\n  - check: x\n    requirement: '1.1'\n    owner: a\n")
    res = cli("gap", "--plan", plan, "-w", two_runs)
    assert res.code == 2
    assert "plan.yaml:#/plan/0" in res.err


def test_sample_is_reproducible_and_recorded(
    cli: CliRunner, two_runs: Path, tmp_path: Path
) -> None:
    args = (
        "sample",
        "--run",
        "1",
        "--check",
        "audit_log_continuity",
        "--size",
        "5",
        "--seed",
        "assessor-2026",
        "--by",
        "qsa@example.test",
        "-w",
        two_runs,
        "--json",
    )
    first = json.loads(cli(*args, "--out", tmp_path / "a").out)
    second = json.loads(cli(*args, "--out", tmp_path / "b").out)
    assert [i["fingerprint"] for i in first["items"]] == [i["fingerprint"] for i in second["items"]]
    assert len(first["items"]) == 5 and first["population_size"] == 92
    other = json.loads(
        cli(*args[:-3], "--seed", "other", "-w", two_runs, "--json", "--out", tmp_path / "c").out
    )
    assert [i["fingerprint"] for i in other["items"]] != [i["fingerprint"] for i in first["items"]]
    record = json.loads((tmp_path / "a" / "sampling.json").read_text())
    assert record["selected_by"] == "qsa@example.test"
    assert record["population_digest"] == first["population_digest"]
    assert (tmp_path / "a" / "sample.csv").read_text().count("\n") == 6
    # Reproducible by hand: sha256("seed:fingerprint"), smallest keys first.
    import hashlib

    keys = [
        hashlib.sha256(f"assessor-2026:{i['fingerprint']}".encode()).hexdigest()
        for i in first["items"]
    ]
    assert keys == sorted(keys) == [i["key"] for i in first["items"]]


def test_stratified_sample_takes_every_stratum(
    cli: CliRunner, two_runs: Path, tmp_path: Path
) -> None:
    res = cli(
        "sample",
        "--run",
        "1",
        "--check",
        "audit_log_continuity",
        "--size",
        "2",
        "--seed",
        "s",
        "--stratify",
        "status",
        "-w",
        two_runs,
        "--json",
        "--out",
        tmp_path / "s",
    )
    doc = json.loads(res.out)
    strata = {s["stratum"]: s for s in doc["strata"]}
    assert set(strata) == {"pass", "fail"}
    assert all(s["sampled"] >= 1 for s in strata.values())
    assert {i["status"] for i in doc["items"]} == {"pass", "fail"}


def test_sample_rejects_unknown_column(cli: CliRunner, two_runs: Path) -> None:
    res = cli(
        "sample",
        "--run",
        "1",
        "--check",
        "audit_log_continuity",
        "--size",
        "2",
        "--seed",
        "s",
        "--stratify",
        "nope",
        "-w",
        two_runs,
    )
    assert res.code == 2 and "nope" in res.err


def test_timeliness_uses_the_check_deadlines(cli: CliRunner, two_runs: Path) -> None:
    res = cli("timeliness", "--run", "1", "-w", two_runs, "--json")
    doc = json.loads(res.out)
    items = [i for i in doc["items"] if i["check_id"] == "vuln_critical_patch_window"]
    by = {i["resource"].split()[1]: i for i in items}
    assert by["CVE-2026-10001"]["outcome"] == "open (overdue)"
    assert by["CVE-2026-10001"]["deadline"] == "2026-08-10"
    assert by["CVE-2026-10009"]["outcome"] == "missed"
    summary = {s["check_id"]: s for s in doc["summary"]}
    assert summary["vuln_critical_patch_window"]["missed"] == 1


def test_oscal_export_validates_against_the_oscal_models(
    cli: CliRunner, two_runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ar.json"
    res = cli("report", "--run", "2", "--format", "oscal", "--out", out, "-w", two_runs)
    assert res.code == 0, res.err
    doc = json.loads(out.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trestle.oscal.assessment_results import AssessmentResults

        model = AssessmentResults.parse_obj(doc["assessment-results"])
    assert model.metadata.oscal_version.__root__.startswith("1.1")
    result = model.results[0]
    assert len(result.observations) > 0

    def kind(resource: object) -> str:
        return next(p.value for p in resource.props if p.name == "evidence-kind")  # type: ignore[attr-defined]

    hashes = {
        h.value
        for r in model.back_matter.resources
        if kind(r) == "source file"
        for link in r.rlinks
        for h in link.hashes or []
    }
    import duckdb

    with duckdb.connect(str(two_runs / "auditkit.duckdb"), read_only=True) as con:
        inputs = {r[0] for r in con.execute("SELECT source_sha256 FROM sources").fetchall()}
        used = {
            check: set(shas)
            for check, shas in con.execute(
                "SELECT check_id, list(DISTINCT source_sha256) FROM run_results "
                "WHERE run_id = 2 AND source_sha256 IS NOT NULL GROUP BY check_id"
            ).fetchall()
        }
        counts = {
            check: (int(fail), int(excepted))
            for check, fail, excepted in con.execute(
                "SELECT check_id, count(*) FILTER (WHERE status = 'fail'), "
                "count(*) FILTER (WHERE status = 'excepted') FROM run_results "
                "WHERE run_id = 2 GROUP BY check_id"
            ).fetchall()
        }
        noted = {
            (req, check)
            for req, checks in con.execute(
                "SELECT requirement, failing_checks FROM run_requirements WHERE run_id = 2"
            ).fetchall()
            for check in checks or []
        }
    assert inputs and inputs == hashes
    evidence_links = {e.href for o in result.observations for e in o.relevant_evidence or []}
    resource_ids = {f"#{r.uuid}" for r in model.back_matter.resources}
    assert evidence_links and evidence_links <= resource_ids
    # Each observation links only the evidence its check used, and lists its items with
    # exceptions noted as subjects.
    by_uuid = {f"#{r.uuid}": r for r in model.back_matter.resources}
    for obs in result.observations:
        check = next((p.value for p in obs.props or [] if p.name == "check-id"), None)
        if check is None:
            continue
        linked = {
            h.value
            for e in obs.relevant_evidence or []
            for link in by_uuid[e.href].rlinks
            for h in link.hashes or []
        }
        assert linked <= used.get(check, set()) | {
            h.value
            for r in model.back_matter.resources
            if kind(r) == "register"
            for link in r.rlinks
            for h in link.hashes or []
        }
        fail, excepted = counts.get(check, (0, 0))
        assert len(obs.subjects or []) == min(fail, 200) + min(excepted, 200)
    # A finding per check takes the check's own state; no requirement without a conclusion
    # is not-satisfied.
    requirement_findings = {
        f.target.target_id: f.target.status.state.value
        for f in result.findings
        if any(p.name == "finding-kind" and p.value == "requirement" for p in f.props)
    }
    run = json.loads(cli("runs", "list", "--json", "-w", two_runs).out)["runs"][1]
    assert (
        sum(1 for s in requirement_findings.values() if s == "not-satisfied")
        == run["counts"]["Not in Place"]
    )
    for f in result.findings:
        props = {p.name: p.value for p in f.props}
        if props["finding-kind"] == "check":
            requirement = f.target.target_id.removeprefix("req-")
            has = (requirement, props["check-id"]) in noted
            assert f.target.status.state.value == ("not-satisfied" if has else "satisfied")
            if counts.get(props["check-id"], (0, 0))[0]:
                assert has  # a failing item is an exception for the requirement
    again = tmp_path / "ar2.json"
    cli("report", "--run", "2", "--format", "oscal", "--out", again, "-w", two_runs)
    first, second = json.loads(out.read_text()), json.loads(again.read_text())
    first["assessment-results"]["metadata"].pop("last-modified")
    second["assessment-results"]["metadata"].pop("last-modified")
    for doc_ in (first, second):
        for obs in doc_["assessment-results"]["results"][0]["observations"]:
            obs.pop("collected")
    assert first == second
