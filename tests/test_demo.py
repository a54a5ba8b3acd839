"""The README's first command: the demo produces a pack that verifies, and tampering is caught.

The demo is built once per session (``demo_pack`` in conftest.py); the sample company's
ground truth, the Q2 -> Q3 diff included, is asserted in tests/acceptance/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditkit.evaluate.rollup import RESULTS
from tests.conftest import CliRunner

ABBREVIATIONS = {
    "IP": "In Place",
    "NiP": "Not in Place",
    "Part.": "No exceptions noted (partial)",
    "NAE": "No automated evidence",
    "N/A": "Not Applicable",
    "NT": "Not Tested",
}


def test_demo_pack_verifies(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]]
) -> None:
    out, _, summary = demo_pack
    assert summary["ephemeral_key"] is True
    for name in ("report.pdf", "workbook.xlsx", "manifest.dsse.json"):
        assert (out / name).is_file()
    res = cli("verify", out)
    assert res.code == 0, res.out
    # The demo's throwaway key is in the pack only: consistent, but nobody pinned it.
    assert "INTERNALLY CONSISTENT, SIGNER NOT PINNED" in res.out


def test_demo_evaluates_two_quarters_with_every_result(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]]
) -> None:
    _, ws, summary = demo_pack
    runs = json.loads(cli("runs", "list", "-w", ws, "--json").out)["runs"]
    assert [r["as_of"] for r in runs] == ["2026-06-30", "2026-09-30"]
    evaluation = summary["evaluation"]
    assert isinstance(evaluation, dict)
    counts = evaluation["counts"]
    assert list(counts) == list(RESULTS)
    assert counts["Not in Place"] and counts["No exceptions noted (partial)"]
    assert counts["No automated evidence"] and counts["Not Applicable"]
    assert counts["Not Tested"] == 0  # the sample declares no requirement left out
    checks = evaluation["checks"]
    assert sum(1 for c in checks if c["state"] == "evaluated") >= 30
    for requirement in evaluation["requirements"]:
        assert requirement["basis"].strip()
        assert requirement["procedures"], requirement["requirement"]
        # In Place only when every procedure is covered; partial says what is left
        covered = [p["status"] == "covered" for p in requirement["procedures"]]
        if requirement["result"] == "In Place":
            assert all(covered) and not requirement["still_for_the_assessor"]
        if requirement["result"] == "No exceptions noted (partial)":
            assert requirement["still_for_the_assessor"]
            assert requirement["procedures_covered"] < requirement["procedures_total"]


def test_demo_diff_shows_new_resolved_and_persisting(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]]
) -> None:
    _, ws, _ = demo_pack
    doc = json.loads(cli("diff", "2", "-w", ws, "--json").out)
    totals = doc["totals"]
    assert totals["new"] > 0 and totals["resolved"] > 0 and totals["persisting"] > 0
    by = {(f["check_id"], f["resource"]): f["change"] for f in doc["exception_changes"]}
    # From sample_data/ground-truth: the authenticated-view binding was deleted in Q3 (GT-61).
    resolved = [k for k, v in by.items() if v == "resolved" and "authenticated-view" in k[1]]
    assert resolved, "GT-61 should show as resolved"


def test_flipping_one_byte_of_the_workbook_fails_verification(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]], tmp_path: Path
) -> None:
    import shutil

    out, _, _ = demo_pack
    copy = tmp_path / "pack"
    shutil.copytree(out, copy)
    workbook = copy / "workbook.xlsx"
    data = bytearray(workbook.read_bytes())
    data[100] ^= 0xFF
    workbook.write_bytes(bytes(data))
    res = cli("verify", copy)
    assert res.code == 1
    assert "FAIL" in res.out


def test_demo_pack_shows_changes_trend_timelines_and_oscal(
    demo_pack: tuple[Path, Path, dict[str, object]],
) -> None:
    import shutil
    import subprocess
    import warnings

    out, _, _ = demo_pack
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heading in (
        "Changes since the previous run",
        "Evidence across the look-back period",
        "Trend over runs of this framework",
        "Log history (10.5.1)",
        "Internal vulnerability scans per three-month window (11.3.1)",
        "Intervals that apply to this entity (service provider)",
    ):
        assert heading in text, heading
    assert "This is the first run" not in text
    import pandas as pd

    sheets = pd.read_excel(out / "workbook.xlsx", sheet_name=None)
    for name in ("Changes", "Exception changes", "Gap analysis", "Samples", "Timeliness"):
        assert name in sheets, name
    assert len(sheets["Exception changes"]) > 0 and len(sheets["Gap analysis"]) > 0
    doc = json.loads((out / "oscal" / "assessment-results.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trestle.oscal.assessment_results import AssessmentResults

        AssessmentResults.parse_obj(doc["assessment-results"])


def test_a_sample_appears_in_the_next_report_of_its_run(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]], tmp_path: Path
) -> None:
    import shutil

    _, ws, _ = demo_pack
    work = tmp_path / "ws"
    shutil.copytree(ws, work)
    res = cli(
        "sample",
        "--run",
        "2",
        "--check",
        "attest_daily_log_review",
        "--size",
        "6",
        "--seed",
        "qsa-seed",
        "--stratify",
        "status",
        "-w",
        work,
        "--json",
        "--out",
        tmp_path / "s",
    )
    assert res.code == 0, res.err
    drawn = json.loads(res.out)
    assert {s["stratum"] for s in drawn["strata"]} == {"pass", "fail"}
    assert cli("keygen", "-w", work).code == 0
    res = cli("report", "--run", "2", "--out", tmp_path / "pack", "-w", work)
    assert res.code == 0, res.err
    import pandas as pd

    samples = pd.read_excel(tmp_path / "pack" / "workbook.xlsx", sheet_name="Samples")
    assert sorted(samples["fingerprint"]) == sorted(i["fingerprint"] for i in drawn["items"])
    assert cli("verify", tmp_path / "pack").code == 0


def test_every_output_agrees_on_every_requirement(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]]
) -> None:
    """The PDF's cover table, the CLI JSON, the workbook and OSCAL give each requirement the
    same candidate result, and the same counts; none shows a partial result as In Place."""
    import re
    import shutil
    import subprocess
    import warnings

    import pandas as pd

    out, ws, summary = demo_pack
    evaluation = summary["evaluation"]
    assert isinstance(evaluation, dict)
    cli_states = {r["requirement"]: r["result"] for r in evaluation["requirements"]}
    assert len(cli_states) == 250
    counts = {k: sum(1 for v in cli_states.values() if v == k) for k in RESULTS}
    assert evaluation["counts"] == counts
    runs = json.loads(cli("runs", "list", "-w", ws, "--json").out)["runs"]
    assert runs[-1]["counts"] == counts

    book = pd.read_excel(out / "workbook.xlsx", sheet_name=None)
    sheet = book["Requirements"]
    assert dict(zip(sheet["requirement"].astype(str), sheet["result"], strict=True)) == cli_states
    summary_sheet = dict(zip(book["Summary"]["item"], book["Summary"]["value"], strict=False))
    for result, n in counts.items():
        assert int(summary_sheet[f"Requirements: {result}"]) == n
    procedures = book["Procedures"]
    for req, rows in procedures.groupby(procedures["requirement"].astype(str)):
        covered = (rows["status"] == "covered").all()
        assert (cli_states[req] == "In Place") <= covered, req

    doc = json.loads((out / "oscal" / "assessment-results.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trestle.oscal.assessment_results import AssessmentResults

        AssessmentResults.parse_obj(doc["assessment-results"])
    result = doc["assessment-results"]["results"][0]

    def props(item: dict[str, object]) -> dict[str, str]:
        return {p["name"]: p["value"] for p in item.get("props", [])}  # type: ignore[attr-defined]

    oscal_states = {
        props(e)["requirement"]: props(e)["candidate-result"]
        for e in result["assessment-log"]["entries"]
    }
    assert oscal_states == cli_states
    for finding in result["findings"]:
        p = props(finding)
        requirement = finding["target"]["target-id"].removeprefix("req-")
        assert p["candidate-result"] == cli_states[requirement]
        if p["finding-kind"] == "requirement":
            expected = {"In Place": "satisfied", "Not in Place": "not-satisfied"}
            assert finding["target"]["status"]["state"] == expected[cli_states[requirement]]
    concluded = {
        finding["target"]["target-id"].removeprefix("req-")
        for finding in result["findings"]
        if props(finding)["finding-kind"] == "requirement"
    }
    assert concluded == {r for r, v in cli_states.items() if v in ("In Place", "Not in Place")}

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cover = text[
        text.index("Candidate results") : text.index("Every requirement's candidate result")
    ]
    numbers = next(
        [int(n) for n in line.split()]
        for line in cover.splitlines()
        if line.strip() and re.fullmatch(r"[\d\s]+", line)
    )
    assert numbers == [*counts.values(), 250]
    pairs = re.findall(r"(\d+(?:\.\d+)+) (IP|NiP|Part\.|NAE|N/A|NT)(?=\s|$)", cover)
    pdf_states = {req: ABBREVIATIONS[abbr] for req, abbr in pairs}
    assert pdf_states == cli_states


def test_the_scan_timeline_counts_what_the_check_counts(
    demo_pack: tuple[Path, Path, dict[str, object]],
) -> None:
    """The 11.3.1 table of the report and the check's own evidence use the same windows and
    the same counts (they once counted card-vault's Q3 scans as 5 and 6)."""
    import re

    import duckdb

    from auditkit.calendar import windows
    from auditkit.report.periods import period_evidence

    _, ws, _ = demo_pack
    with duckdb.connect(str(ws / "auditkit.duckdb"), read_only=True) as con:
        pe = period_evidence(con, 2)
        evidence = {
            resource: json.loads(ev)
            for resource, ev in con.execute(
                "SELECT resource, CAST(evidence AS VARCHAR) FROM run_results "
                "WHERE run_id = 2 AND check_id = 'vuln_scan_quarterly_coverage'"
            ).fetchall()
        }
    assert pe.windows == windows(pe.as_of)
    assert pe.scan_repos and len(pe.scan_repos) == min(len(evidence), 24)
    card_vault = [r for r in pe.scan_repos if r["repo"].endswith("card-vault")]
    assert card_vault
    for repo in pe.scan_repos:
        texts = evidence[repo["repo"]]["windows"]
        parsed = [re.match(r"(\S+)\.\.(\S+): (\d+) scan", t).groups() for t in texts]  # type: ignore[union-attr]
        assert [(w.start.isoformat(), w.end.isoformat()) for w in pe.windows] == [
            (a, b) for a, b, _ in parsed
        ]
        assert repo["per_window"] == [int(n) for _, _, n in parsed]
