"""report.pdf: hostile text stays text, nothing is fetched, and tools we did not write agree."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from auditkit.report.data import SAMPLE_PER_CHECK
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.conftest import EXTRA_CHECK, EXTRA_FAILS, Built

pytestmark = pytest.mark.slow


def pdf_objects(pdf: bytes) -> bytes:
    """The file's bytes plus every stream decompressed (object streams hide dictionaries)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        start = match.end()
        end = pdf.find(b"endstream", start)
        if end < 0:
            continue
        try:
            parts.append(zlib.decompressobj().decompress(pdf[start:end]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def pdftotext(pdf: Path, *, layout: bool = True) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def text(built: Built) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return pdftotext(built.out / "report.pdf")


def test_no_fetch_reached_the_loopback_listener(built: Built) -> None:
    # The run's resources, reasons, evidence, exception and worksheet all carry
    # URLs of this listener; the PDF was rendered while it listened.
    assert built.listener.hits == []


def test_nothing_is_embedded_in_the_pdf(built: Built) -> None:
    data = pdf_objects((built.out / "report.pdf").read_bytes())
    assert b"/EmbeddedFile" not in data
    assert b"/EmbeddedFiles" not in data
    assert b"/Launch" not in data and b"/URI" not in data and b"/JavaScript" not in data
    if shutil.which("pdfdetach"):
        listing = subprocess.run(
            ["pdfdetach", "-list", str(built.out / "report.pdf")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert listing.strip().startswith("0 embedded files")


def test_hostile_text_is_shown_as_text(built: Built) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    flat = re.sub(r"\s+", "", pdftotext(built.out / "report.pdf", layout=False))
    for needle in (
        '<imgsrc="file:///etc/passwd">',
        "<linkrel=attachmenthref=",
        "@importurl(",
        "<script>alert(1)</script>",
        f"127.0.0.1:{built.listener.port}/plain",
        "trivy-pkg.png",  # the package name from the Trivy report, in the sample
    ):
        assert needle in flat, needle
    # Control and bidi characters are shown as escapes, never passed through.
    assert "\\x1b[31mred" in flat
    assert "\\u202eevil" in flat
    assert "\x1b" not in flat and "\u202e" not in flat


def test_pdfsig_says_valid_and_whole_document_signed(built: Built) -> None:
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    proc = subprocess.run(
        ["pdfsig", str(built.out / "report.pdf")], capture_output=True, text=True, check=False
    )
    out = proc.stdout + proc.stderr
    assert "Signature is Valid" in out
    assert "Total document signed" in out
    assert out.count("Signature #") == 1


def test_every_requirement_result_is_in_the_text(built: Built, text: str) -> None:
    with open_store(Workspace(built.ws), write=False) as con:
        rows = con.execute(
            "SELECT requirement, result, checks FROM run_requirements WHERE run_id = 2"
        ).fetchall()
    lines = text.splitlines()
    from auditkit.pack.build import RESULT_ABBREVIATIONS

    for requirement, result, _ in rows:
        # every requirement is on the cover with its abbreviation
        pattern = re.compile(
            rf"(^|\s){re.escape(requirement)} {re.escape(RESULT_ABBREVIATIONS[result])}(\s|$)"
        )
        assert any(pattern.search(line) for line in lines), f"{requirement}: {result} not found"


def test_sample_is_bounded_and_points_to_the_full_lists(built: Built, text: str) -> None:
    with open_store(Workspace(built.ws), write=False) as con:
        row = con.execute(
            "SELECT failed FROM run_checks WHERE run_id = 2 AND check_id = ?", [EXTRA_CHECK]
        ).fetchone()
    assert row is not None and row[0] > SAMPLE_PER_CHECK
    assert row[0] >= EXTRA_FAILS
    flat = " ".join(text.split())
    assert f"{SAMPLE_PER_CHECK} of {row[0]:,} shown" in flat
    assert f"evidence/{EXTRA_CHECK}/exceptions_noted.csv" in flat.replace("/ ", "/")
    # At most the sample of the bulk findings is printed, plus the bounded examples of the
    # "changes since the previous run" section (new and resolved findings).
    from auditkit.report.periods import CHANGES_SHOWN

    assert len(re.findall(r"user:bulk-\d{5}", text)) <= SAMPLE_PER_CHECK + 2 * CHANGES_SHOWN


def test_report_has_its_parts(built: Built) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    flat = " ".join(pdftotext(built.out / "report.pdf", layout=False).split())
    for part in (
        "Contents",
        "Executive summary",
        "Results by principal requirement",
        "Items with exceptions noted, by severity",
        "Critical vulnerabilities: age against the patch window",
        "Trend over runs of this framework",
        "Requirements evidenced by checks",
        "Requirements tested by the assessor",
        "Appendix A — Evidence sources and references",
        "the entity's evidence pack for its assessor",
        "Still for the assessor",
        "Procedures performed",
        "Evidence set",
        "Appendix B — Exceptions and compensating controls worksheets",
        "Appendix C — Attestations",
        "Appendix E — How to verify this pack",
        "claimed by the signer's clock",
        "Items tested",
        "Source of the value",
        "ATT-941",
        "EXC-CC-1",
        "Mini Test Payments",
        "service provider",
        "2026-07-01 to 2026-09-30",
    ):
        assert part in flat, part
    assert "no trend yet" not in flat  # run 2 has run 1 before it
    assert "No critical vulnerability with an available fix" not in flat


def test_pdf_dates_come_from_the_claimed_time(built: Built) -> None:
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed")
    info = subprocess.run(
        ["pdfinfo", "-isodates", str(built.out / "report.pdf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "2026-10-01T12:00:00" in info


def test_only_the_bundled_fonts_are_embedded(built: Built) -> None:
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is not installed")
    listing = subprocess.run(
        ["pdffonts", str(built.out / "report.pdf")], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert listing
    for line in listing:
        name, *_rest = line.split()
        assert name.split("+", 1)[-1].startswith("AK-"), line  # report.css @font-face names
        assert " yes yes " in line, line  # embedded and subset
