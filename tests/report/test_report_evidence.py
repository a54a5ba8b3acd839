"""evidence/: complete, streamed, defused in CSV, exact in Parquet; the pack and its zip verify."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import auditkit.report.evidence as evidence_module
from auditkit.evaluate.catalog import load_catalog
from auditkit.pack.verify import verify_pack
from auditkit.report.data import load_run
from auditkit.report.evidence import write_evidence
from auditkit.sign.archive import write_deterministic_zip
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.conftest import HOSTILE_CHECK, LONG_TEXT, XML_ILLEGAL, Built

pytestmark = pytest.mark.slow


def _db(built: Built, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with open_store(Workspace(built.ws), write=False) as con:
        return con.execute(sql, list(args)).fetchall()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_row_of_every_check_is_in_both_formats(built: Built) -> None:
    counts = _db(
        built,
        "SELECT check_id, count(*), count(*) FILTER (WHERE status IN ('fail', 'excepted')) "
        "FROM run_results WHERE run_id = 2 GROUP BY check_id",
    )
    assert counts
    for check_id, population, findings in counts:
        folder = built.out / "evidence" / check_id
        assert pq.ParquetFile(folder / "population.parquet").metadata.num_rows == population
        assert pq.ParquetFile(folder / "exceptions_noted.parquet").metadata.num_rows == findings
        assert len(_csv(folder / "population.csv")) == population
        assert len(_csv(folder / "exceptions_noted.csv")) == findings
        assert built.pack.evidence_rows[check_id] == {
            "population": population,
            "exceptions_noted": findings,
        }
    assert (built.out / "evidence" / "sources.csv").is_file()
    assert (built.out / "evidence" / "README.md").is_file()
    index = _csv(built.out / "evidence" / "index.csv")
    refs = {r["evidence_ref"]: r for r in index}
    assert len(refs) == len(index)
    stored = dict(_db(built, "SELECT ref, key FROM run_evidence WHERE run_id = 2 ORDER BY ref"))
    assert {k: v["key"] for k, v in refs.items()} == stored
    for check_id, _, _ in counts:
        row = next(r for r in index if r["kind"] == "check population" and r["key"] == check_id)
        assert row["path"] == f"evidence/{check_id}/"


def test_csv_defuses_formulas_and_parquet_keeps_every_byte(built: Built) -> None:
    folder = built.out / "evidence" / HOSTILE_CHECK
    rows = _csv(folder / "exceptions_noted.csv")
    reasons = {r["reason"] for r in rows}
    for text in built.hostile:
        if text[:1] in "=+-@\t\r":
            assert "'" + text in reasons, repr(text)
            assert text not in reasons
        else:
            assert text in reasons, repr(text)
    stored = {
        r[0]
        for r in _db(
            built,
            "SELECT reason FROM run_results WHERE run_id = 2 AND check_id = ? "
            "AND status IN ('fail', 'excepted')",
            HOSTILE_CHECK,
        )
    }
    table = pq.read_table(folder / "exceptions_noted.parquet")
    exact = set(table.column("reason").to_pylist())
    assert exact == stored
    assert LONG_TEXT in exact  # never truncated here
    assert XML_ILLEGAL in exact  # never replaced here
    # The evidence JSON travels as stored.
    assert all(e is None or e.startswith("{") for e in table.column("evidence").to_pylist())


def test_evidence_is_streamed_in_batches(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real = pq.ParquetWriter

    class Recording(real):  # type: ignore[misc, valid-type]
        def write_batch(self, batch: Any, *args: Any, **kwargs: Any) -> None:
            batches.append(batch.num_rows)
            super().write_batch(batch, *args, **kwargs)

    monkeypatch.setattr(evidence_module, "BATCH_ROWS", 7)
    monkeypatch.setattr(evidence_module, "CSV_BATCH_ROWS", 5)
    monkeypatch.setattr(evidence_module.pq, "ParquetWriter", Recording)
    workspace = Workspace(built.ws)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2, load_catalog(workspace.config.controls_dirs))
        written = write_evidence(con, report, tmp_path / "evidence", sample=25)
    assert max(batches) <= 7
    assert sum(batches) == sum(n for w in written.values() for n in w.values())
    # Same bytes as the pack built with the default batch sizes.
    for path in sorted((tmp_path / "evidence").rglob("*.csv")):
        twin = built.out / "evidence" / path.relative_to(tmp_path / "evidence")
        assert path.read_bytes() == twin.read_bytes(), path.name


def test_pack_and_zip_verify_and_the_zip_is_deterministic(built: Built, tmp_path: Path) -> None:
    assert verify_pack(built.out).ok
    zip_path = built.pack.zip_path
    assert zip_path is not None and zip_path.is_file()
    result = verify_pack(zip_path)
    assert result.ok, [c for c in result.checks if not c.ok]
    again = write_deterministic_zip(built.out, tmp_path / "again.zip")
    assert again.read_bytes() == zip_path.read_bytes()
