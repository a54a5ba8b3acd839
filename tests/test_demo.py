"""The README's first command: the demo produces a pack that verifies, and tampering is caught.

The demo is built once per session (``demo_pack`` in conftest.py); the sample company's
ground truth, the Q2 -> Q3 diff included, is asserted in tests/acceptance/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliRunner


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
    assert set(counts) == {"In Place", "Not in Place", "Not Tested", "Not Applicable"}
    checks = evaluation["checks"]
    assert sum(1 for c in checks if c["state"] == "evaluated") >= 30
    for requirement in evaluation["requirements"]:
        assert requirement["basis"].strip()


def test_demo_diff_shows_new_resolved_and_persisting(
    cli: CliRunner, demo_pack: tuple[Path, Path, dict[str, object]]
) -> None:
    _, ws, _ = demo_pack
    doc = json.loads(cli("diff", "2", "-w", ws, "--json").out)
    totals = doc["totals"]
    assert totals["new"] > 0 and totals["resolved"] > 0 and totals["persisting"] > 0
    by = {(f["check_id"], f["resource"]): f["change"] for f in doc["findings"]}
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
        "Internal vulnerability scans per quarter (11.3.1)",
    ):
        assert heading in text, heading
    assert "This is the first run" not in text
    import pandas as pd

    sheets = pd.read_excel(out / "workbook.xlsx", sheet_name=None)
    for name in ("Changes", "Findings changes", "Gap analysis", "Samples", "Timeliness"):
        assert name in sheets, name
    assert len(sheets["Findings changes"]) > 0 and len(sheets["Gap analysis"]) > 0
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
