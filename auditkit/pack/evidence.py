"""Raw evidence files: per check, the full population and the findings, as CSV and Parquet.

CSV cells go through the OWASP formula defence (``csv_cell``); Parquet keeps
every value byte-exact. Both are streamed from the store in batches.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from auditkit.pack.data import RESULT_COLUMNS, RunReport, iter_results
from auditkit.safe_output import write_csv

_SCHEMA = pa.schema([(name, pa.string()) for name in RESULT_COLUMNS])


def _parquet(path: Path, rows: list[tuple[object, ...]]) -> None:
    columns: list[tuple[object, ...]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in RESULT_COLUMNS]
    )
    table = pa.table(
        [
            pa.array([None if v is None else str(v) for v in col], type=pa.string())
            for col in columns
        ],
        schema=_SCHEMA,
    )
    pq.write_table(
        table,
        path,
        compression="zstd",
        write_statistics=False,
        use_dictionary=True,
        store_schema=True,
    )


def write_evidence(con: duckdb.DuckDBPyConnection, report: RunReport, folder: Path) -> list[Path]:
    """Write ``evidence/<check>/{population,findings}.{csv,parquet}`` and the sources list."""
    written: list[Path] = []
    for check_id, check in report.checks.items():
        if check.state != "evaluated":
            continue
        target = folder / check_id
        target.mkdir(parents=True, exist_ok=True)
        for name, failing in (("population", False), ("findings", True)):
            rows = list(iter_results(con, report.run_id, failing_only=failing, check_id=check_id))
            csv_path = target / f"{name}.csv"
            write_csv(csv_path, list(RESULT_COLUMNS), rows)
            parquet_path = target / f"{name}.parquet"
            _parquet(parquet_path, rows)
            written += [csv_path, parquet_path]
    sources = folder / "sources.csv"
    write_csv(
        sources,
        [
            "path",
            "sha256",
            "format",
            "family",
            "records",
            "skipped",
            "time_min",
            "time_max",
            "observed_at",
            "size_bytes",
        ],
        [
            [
                s["path"],
                s["source_sha256"],
                s["format"],
                s["family"],
                s["records_stored"],
                s["records_skipped"],
                s["time_min"],
                s["time_max"],
                s["observed_at"],
                s["size_bytes"],
            ]
            for s in report.sources
        ],
    )
    written.append(sources)
    return written
