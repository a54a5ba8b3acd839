"""A fresh workspace per test and a helper that ingests one inline document."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from auditkit.ingest import IngestOptions, IngestResult, ingest_file
from auditkit.store import init_workspace, open_store


@dataclass
class Loaded:
    """The ingest result and a query helper bound to the store."""

    result: IngestResult
    con: duckdb.DuckDBPyConnection

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query as dicts (rows of this file only when the SQL says so)."""
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def table(self, name: str, order: str = "locator") -> list[dict[str, Any]]:
        """Every row this file stored in ``name``."""
        return self.rows(
            f"SELECT * FROM {name} WHERE source_sha256 = '{self.result.sha256}' ORDER BY {order}"
        )


Ingest = Callable[..., Loaded]


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[Ingest]:
    """``ingest(doc_or_text, name="x.json", **options)`` stores one file and returns Loaded."""
    ws = init_workspace(
        tmp_path / "ws",
        organisation="Test",
        entity_type="merchant",
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
    )
    with open_store(ws, write=True) as con:
        counter = iter(range(1_000_000))

        def run(doc: Any, name: str = "input.json", **options: Any) -> Loaded:
            folder = tmp_path / f"in{next(counter)}"
            folder.mkdir()
            path = folder / name
            text = doc if isinstance(doc, str) else json.dumps(doc, indent=1)
            path.write_text(text, encoding="utf-8")
            return Loaded(ingest_file(con, path, IngestOptions(**options)), con)

        yield run
