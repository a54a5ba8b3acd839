"""Raw evidence files: per check, the full population and the exceptions noted, as CSV and Parquet.

Streaming end to end, in two steps:

1. :func:`write_parquet_evidence`: one DuckDB query per file returns Arrow
   record batches (a relation's ``to_arrow_reader`` / ``fetch_record_batch``),
   which go straight to a ``pyarrow`` ``ParquetWriter``. Parquet keeps every
   value byte-exact.
2. :func:`parquet_to_csv`: each Parquet file is read back batch by batch and
   written through the safe CSV writer (:func:`auditkit.safe_output.write_csv`,
   OWASP formula defence: a text cell a spreadsheet would take for a formula
   gets a leading ``'``). The CSV is thus derived from exactly the rows of
   its Parquet twin. The pack builder runs this step in child processes
   (:class:`CsvJob`, :mod:`auditkit.report.evidence_worker`) while it writes
   the workbook.

At no point is a whole population held in Python: memory is one batch.

Columns: the result columns (check, resource, status, severity, reason,
fingerprint, source file, source sha256, locator, exception id) and
``evidence``, the JSON object of the fields the check records, exactly as
stored; all as text. (One JSON cell rather than a column per field keeps the
CSV writer's per-cell cost, which dominates at a million rows, down by half.)
Rows are in the order the engine stored them (sorted by resource), read
without a sort.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from auditkit.report.child import ChildJob
from auditkit.report.data import CheckView, RunReport
from auditkit.report.rows import (
    EVIDENCE_COLUMNS,
    FINDING_STATUSES,
    batch_rows,
    result_batches,
)
from auditkit.safe_output import write_csv

CSV_TIMEOUT_S = 1800
BATCH_ROWS = 16_384
CSV_BATCH_ROWS = 10_000  # rows held as Python objects at a time in a CSV worker
FILES = (("population", None), ("exceptions_noted", FINDING_STATUSES))

README = """# Evidence files

The entity's evidence for run {run_id}, prepared for its assessor. Every evidence set has a
reference (EV-nnnn) that `index.csv` lists with what it is and where it is: each check's
population (one folder per check that was evaluated or listed items), each register file and
each input file. The same reference is shown in the report and the workbook, and every rebuild
of this run's pack gives the same ones, so a reference can be quoted in the assessor's report.

- `population.csv` / `population.parquet`: every item the check tested, with its status
  (pass, fail, excepted, not_applicable);
- `exceptions_noted.csv` / `exceptions_noted.parquet`: the items with exceptions noted (failing)
  and those an approved exception covers (excepted); a subset of the population.

These files are complete: the PDF shows at most {sample} items with exceptions noted per check
and the workbook may list fewer rows than exist (its Summary sheet says how many); nothing is
left out here. Results are candidates for the assessor, not the assessor's findings.

Columns: `check_id`, `requirement` (set when the item counts towards that one requirement
only; empty: every requirement the check maps to), `resource`, `status`, `severity`,
`reason`, `fingerprint`
(sha256 of the check id and the resource, stable across runs), `source_file`,
`source_sha256` and `locator` (the exact record in the input file; see `sources.csv`),
`exception_id`, and `evidence`: a JSON object with the fields the check records (dates,
counts, names; the check's documentation lists them). Every value is text. Rows are ordered
by resource.

The CSV files are UTF-8, every text field quoted; a text value that a spreadsheet could take
for a formula (starting with = + - @, TAB or CR) is written with a leading apostrophe. The
Parquet files hold every value exactly as stored; each CSV is written from its Parquet twin.

`sources.csv` lists every input file of the run with its evidence reference, sha256, format,
record counts and time range; `index.csv` every evidence reference (columns `evidence_ref`,
`kind`, `what`, `path`, `key`, `sha256`).
"""

INDEX_COLUMNS = ["evidence_ref", "kind", "what", "path", "key", "sha256"]
SOURCE_COLUMNS = [
    "evidence_ref",
    "path",
    "sha256",
    "format",
    "family",
    "parser_version",
    "records",
    "skipped",
    "time_min",
    "time_max",
    "observed_at",
    "size_bytes",
]


def _write_parquet(
    con: duckdb.DuckDBPyConnection,
    report: RunReport,
    check: CheckView,
    path: Path,
    statuses: tuple[str, ...] | None,
) -> int:
    reader = result_batches(
        con,
        report.run_id,
        EVIDENCE_COLUMNS,
        check_id=check.id,
        statuses=statuses,
        batch_size=BATCH_ROWS,
    )
    rows = 0
    with pq.ParquetWriter(
        path,
        reader.schema,
        compression="zstd",
        use_dictionary=True,
        write_statistics=False,
        store_schema=True,
    ) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def write_parquet_evidence(
    con: duckdb.DuckDBPyConnection, report: RunReport, folder: Path, *, sample: int
) -> dict[str, dict[str, int]]:
    """Write ``evidence/<check>/{population,exceptions_noted}.parquet``, the indexes, README.md.

    Returns the rows written per check: ``{check: {"population": n, "exceptions_noted": m}}``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, int]] = {}
    for check_id, check in report.checks.items():
        if not check.has_evidence:
            continue
        target = folder / check_id
        target.mkdir(parents=True, exist_ok=True)
        written[check_id] = {
            name: _write_parquet(con, report, check, target / f"{name}.parquet", statuses)
            for name, statuses in FILES
        }
    write_csv(
        folder / "sources.csv",
        SOURCE_COLUMNS,
        [
            [
                report.evidence_ref("source file", s["source_sha256"]),
                s["path"],
                s["source_sha256"],
                s["format"],
                s["family"],
                s["parser_version"],
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
    write_csv(
        folder / "index.csv",
        INDEX_COLUMNS,
        [
            [
                e["ref"],
                e["kind"],
                e["title"],
                _pack_path(e, written),
                e["key"],
                e["sha256"],
            ]
            for e in report.evidence
        ],
    )
    (folder / "README.md").write_text(
        README.format(run_id=report.run_id, sample=sample), encoding="utf-8"
    )
    return written


def _pack_path(entry: dict[str, Any], written: dict[str, dict[str, int]]) -> str:
    """Where an evidence set sits in the pack ("" when it is outside: registers, inputs)."""
    if entry["kind"] == "check population":
        return f"evidence/{entry['key']}/" if entry["key"] in written else ""
    return ""


def parquet_to_csv(parquet_path: Path, csv_path: Path) -> int:
    """Write the rows of ``parquet_path`` to ``csv_path`` through the safe CSV writer."""
    source = pq.ParquetFile(parquet_path)

    def rows() -> Iterator[tuple[Any, ...]]:
        for batch in source.iter_batches(batch_size=CSV_BATCH_ROWS):
            yield from batch_rows(batch)

    try:
        return write_csv(csv_path, source.schema_arrow.names, rows())
    finally:
        source.close()


def evidence_parquet_files(folder: Path) -> list[Path]:
    """The per-check Parquet files of an evidence folder, in a stable order."""
    return sorted(p for p in folder.glob("*/*.parquet") if p.is_file())


def convert_files(paths: list[Path]) -> int:
    """Write the CSV twin of each Parquet file; return the rows written."""
    return sum(parquet_to_csv(p, p.with_suffix(".csv")) for p in paths)


def split_work(paths: list[Path], parts: int) -> list[list[Path]]:
    """Share files between ``parts`` workers by size, largest first (deterministic)."""
    groups: list[list[Path]] = [[] for _ in range(max(1, parts))]
    loads = [0] * len(groups)
    for path in sorted(paths, key=lambda p: (-p.stat().st_size, str(p))):
        i = loads.index(min(loads))
        groups[i].append(path)
        loads[i] += path.stat().st_size
    return [g for g in groups if g]


class CsvJob:
    """:func:`convert_files` in child processes (see :mod:`auditkit.report.child`).

    The safe CSV writer costs about a microsecond per cell in pure Python, the
    largest single cost of a big pack; ``workers`` processes share the files.
    """

    def __init__(
        self,
        folder: Path,
        *,
        workers: int = 2,
        timeout: float = CSV_TIMEOUT_S,
        tmpdir: Path | None = None,
    ) -> None:
        env = {"TMPDIR": str(tmpdir)} if tmpdir is not None else None
        self._jobs = [
            ChildJob(
                "auditkit.report.evidence_worker",
                [str(p) for p in group],
                what="writing the evidence CSV files",
                timeout=timeout,
                env=env,
            )
            for group in split_work(evidence_parquet_files(folder), workers)
        ]

    def wait(self) -> None:
        """Wait for every child; raise InternalError if one failed."""
        try:
            for job in self._jobs:
                job.wait()
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Stop the children that still run."""
        for job in self._jobs:
            job.cancel()


def write_evidence(
    con: duckdb.DuckDBPyConnection, report: RunReport, folder: Path, *, sample: int
) -> dict[str, dict[str, int]]:
    """Both steps in this process (for callers that do not need the parallel build)."""
    written = write_parquet_evidence(con, report, folder, sample=sample)
    convert_files(evidence_parquet_files(folder))
    return written
