"""Every real-world sample in ../shared/corpus is read with the right format and record count.

Expectations live in ``tests/corpus/expected_*.yaml`` (one file per family, owned by
whoever owns the parsers), one entry per corpus file::

    # path relative to ../shared/corpus: {format: <name>, records: <count>, options: {...}}
    scans/trivy-json/dd-all-statuses.json: {format: trivy-json, records: 8}
    runtime/aks-audit/stub.jsonl: {format: k8s-audit, records: 0, skipped: 1}
    scans/cosign-verify/bundle.json: {rejected: unrecognised content}

``records`` is counted by hand from the file, never by running the parser, and
must equal the ingest's ``records_stored`` exactly; ``skipped`` (default 0) the
non-records it counts and quarantines; ``options`` (optional) are
``IngestOptions`` fields. ``rejected`` marks a file auditkit deliberately does
not read: ingest must reject it, nothing stored, with that text in the error.
The corpus is optional: without it these tests skip.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auditkit.ingest import IngestOptions, ingest_paths
from auditkit.safeload import load_yaml_file_text
from auditkit.store import init_workspace, open_store

HERE = Path(__file__).resolve().parent
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
NOT_DATA = {"SHA256SUMS"}


def _load_expectations() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """All entries of all expected_*.yaml files, and any path listed more than once."""
    entries: dict[str, dict[str, Any]] = {}
    duplicates: list[str] = []
    for path in sorted(HERE.glob("expected_*.yaml")):
        doc = load_yaml_file_text(path.read_text(encoding="utf-8"), source=str(path)) or {}
        assert isinstance(doc, dict), f"{path.name}: expected a mapping of path -> expectation"
        for rel, expectation in doc.items():
            if rel in entries:
                duplicates.append(f"{rel} ({path.name})")
            entries[str(rel)] = expectation
    return entries, duplicates


EXPECTED, DUPLICATES = _load_expectations()


def _corpus_or_skip() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not present at {CORPUS}")
    return CORPUS


def _data_files(corpus: Path) -> set[str]:
    return {
        p.relative_to(corpus).as_posix()
        for p in corpus.rglob("*")
        if p.is_file() and p.suffix != ".md" and p.name not in NOT_DATA
    }


def test_expectations_are_well_formed() -> None:
    assert not DUPLICATES, f"corpus files with more than one expectation: {DUPLICATES}"
    for rel, expectation in EXPECTED.items():
        assert isinstance(expectation, dict), rel
        if "rejected" in expectation:
            assert set(expectation) == {"rejected"}, rel
            assert isinstance(expectation["rejected"], str) and expectation["rejected"], rel
            continue
        assert set(expectation) <= {"format", "records", "skipped", "options"}, rel
        assert isinstance(expectation.get("format"), str), rel
        skipped = expectation.get("skipped", 0)
        assert isinstance(skipped, int) and not isinstance(skipped, bool) and skipped >= 0, rel
        records = expectation.get("records")
        assert isinstance(records, int) and not isinstance(records, bool) and records >= 0, rel
        assert isinstance(expectation.get("options", {}), dict), rel


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_corpus_file(rel: str, tmp_path: Path) -> None:
    corpus = _corpus_or_skip()
    expectation = EXPECTED[rel]
    path = corpus / rel
    assert path.is_file(), f"expectation for a file that is not in the corpus: {rel}"
    ws = init_workspace(
        tmp_path / "ws",
        organisation="Corpus test",
        entity_type="merchant",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
    )
    with open_store(ws, write=True) as con:
        results = ingest_paths(con, [path], IngestOptions(**expectation.get("options", {})))
        stored = con.execute("SELECT count(*) FROM sources").fetchall()[0][0]
    (result,) = results
    if "rejected" in expectation:
        assert result.status == "rejected" and stored == 0, result.to_json()
        assert expectation["rejected"] in (result.error or ""), result.error
        return
    assert result.status == "stored", result.error
    assert result.format == expectation["format"]
    want = (expectation["records"], expectation.get("skipped", 0))
    assert (result.stored, result.skipped) == want, result.skipped_detail


def test_every_corpus_file_has_one_expectation() -> None:
    corpus = _corpus_or_skip()
    missing = sorted(_data_files(corpus) - set(EXPECTED))
    assert not missing, f"corpus files without an expectation: {missing}"
