"""Every real-world sample in ../shared/corpus is read with the right format and record count.

Expectations live in ``tests/corpus/expected_*.yaml`` (one file per family, owned by
whoever owns the parsers), one entry per corpus file::

    # path relative to ../shared/corpus: {format: <name>, records: <count>, options: {...}}
    scans/trivy-json/dd-all-statuses.json: {format: trivy-json, records: 8}

``records`` is counted by hand from the file, never by running the parser, and
must equal the ingest's ``records_stored`` exactly; ``options`` (optional) are
``IngestOptions`` fields. The corpus is optional: without it these tests skip.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auditkit.ingest import IngestOptions, ingest_file
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
        assert set(expectation) <= {"format", "records", "options"}, rel
        assert isinstance(expectation.get("format"), str), rel
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
        result = ingest_file(con, path, IngestOptions(**expectation.get("options", {})))
    assert result.status == "stored", result.error
    assert result.format == expectation["format"]
    assert (result.stored, result.skipped) == (expectation["records"], 0), result.skipped_detail


def _families_missing() -> list[str]:
    """Corpus families with no expected_*.yaml entry at all (another engineer's work)."""
    if not CORPUS.is_dir():
        return []
    covered = {rel.split("/", 1)[0] for rel in EXPECTED}
    return sorted({rel.split("/", 1)[0] for rel in _data_files(CORPUS)} - covered)


@pytest.mark.xfail(
    bool(_families_missing()),
    strict=False,
    reason=f"no expectations yet for corpus families {_families_missing()}",
)
def test_every_corpus_file_has_one_expectation() -> None:
    corpus = _corpus_or_skip()
    missing = sorted(_data_files(corpus) - set(EXPECTED))
    assert not missing, f"corpus files without an expectation: {missing}"
