"""Building blocks shared by every format parser.

A parser is a :class:`Format`: a name, a family, a content test
(``matches``) and a loader that writes rows into the normalized tables inside
the transaction the ingest driver opened. Loaders record malformed records in
``ctx.bad`` instead of raising, so the driver can reject the whole file (the
default) or store the good records and quarantine the rest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

# Re-exported: how a file is opened, hashed and read lives in auditkit.ingest.source.
from auditkit.ingest.source import GZIP_MAGIC as GZIP_MAGIC
from auditkit.ingest.source import HEAD_BYTES as HEAD_BYTES
from auditkit.ingest.source import MAX_DOCUMENT_BYTES as MAX_DOCUMENT_BYTES
from auditkit.ingest.source import SourceFile as SourceFile
from auditkit.ingest.source import decode_utf8 as decode_utf8

MAX_BAD_KEPT = 10_000  # quarantine rows kept per file (the count is always exact)
MAX_REASON = 160  # characters of a malformed record's reason (it may quote the value)


@dataclass
class Sniff:
    """What detection learned about a file, handed to the chosen parser."""

    head: str  # decoded head text, BOM removed
    shape: str  # json-document | json-lines | text
    document: Any = None  # the parsed whole document (json-document)
    first_record: Any = None  # the first JSON line (json-lines)
    first_line: str = ""  # first non-blank line (text)


@dataclass
class LoadStats:
    """What a loader stored."""

    stored: int = 0
    time_min: dt.datetime | None = None
    time_max: dt.datetime | None = None
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the user should know (one line each)

    def widen(self, moment: dt.datetime | None) -> None:
        """Extend the covered time range by one instant."""
        if moment is None:
            return
        if self.time_min is None or moment < self.time_min:
            self.time_min = moment
        if self.time_max is None or moment > self.time_max:
            self.time_max = moment


@dataclass
class BadRecord:
    """A record that could not be stored, with where and why."""

    locator: str
    reason: str
    excerpt: str = ""


@dataclass
class LoadContext:
    """Everything a loader needs: the connection (inside a transaction), the file, the sniff."""

    con: duckdb.DuckDBPyConnection
    source: SourceFile
    sniff: Sniff
    options: dict[str, Any] = field(default_factory=dict)
    bad: list[BadRecord] = field(default_factory=list)
    bad_count: int = 0
    non_records: list[BadRecord] = field(default_factory=list)

    def reject(self, locator: str, reason: str, excerpt: str = "") -> None:
        """Record a malformed record (kept for the error message or the quarantine)."""
        self.bad_count += 1
        if len(self.bad) < MAX_BAD_KEPT:
            # A reason may quote the offending value: never more than a short excerpt of it.
            short = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."
            self.bad.append(BadRecord(locator, short, excerpt[:200]))

    def skip_non_record(self, locator: str, reason: str, excerpt: str = "") -> None:
        """Record a line that is not a record at all (e.g. a log banner); always counted."""
        self.non_records.append(BadRecord(locator, reason, excerpt[:200]))

    def insert_rows(self, table: str, rows: list[dict[str, Any]]) -> int:
        """Insert Python rows by column name (through Arrow); returns the count."""
        if not rows:
            return 0
        columns = sorted({key for row in rows for key in row})
        data = {col: [row.get(col) for row in rows] for col in columns}
        arrow = pa.table({col: _to_arrow(values) for col, values in data.items()})
        self.con.register("_auditkit_rows", arrow)
        try:
            cols = ", ".join(f'"{c}"' for c in columns)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _auditkit_rows")
        finally:
            self.con.unregister("_auditkit_rows")
        return len(rows)


def _to_arrow(values: list[Any]) -> pa.Array:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, list):
        return pa.array(
            [None if v is None else [None if x is None else str(x) for x in v] for v in values],
            type=pa.list_(pa.string()),
        )
    if isinstance(sample, bool):
        return pa.array(values, type=pa.bool_())
    if isinstance(sample, int):
        return pa.array(values, type=pa.int64())
    if isinstance(sample, float):
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if isinstance(sample, dt.datetime):
        return pa.array(values, type=pa.timestamp("us"))
    if isinstance(sample, dt.date):
        return pa.array(values, type=pa.date32())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


@dataclass(frozen=True)
class Format:
    """A supported input format."""

    name: str
    family: str  # scans | runtime | flows | access | policy | cloud
    description: str
    parser_version: str
    matches: Callable[[Sniff], bool]
    load: Callable[[LoadContext], LoadStats]
    shapes: tuple[str, ...] = ("json-document",)
    # Runs before the file's transaction opens: staging into TEMP tables there
    # keeps insertion-order rowids 0-based, which gives exact line numbers.
    prepare: Callable[[LoadContext], None] | None = None


def first_present(obj: dict[str, Any], *keys: str) -> Any:
    """The first key's value that is present and not None/empty-string."""
    for key in keys:
        value = obj.get(key)
        if value not in (None, ""):
            return value
    return None


def parse_time(value: Any) -> dt.datetime | None:
    """Parse RFC 3339 (any fraction length, Z or offset) to naive UTC; None if absent/invalid.

    The Go zero time ``0001-01-01T00:00:00Z`` means "not set" and gives None.
    """
    if value in (None, "", "<NA>"):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python accepts at most 6 fraction digits: trim nanoseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        for ch in rest:
            if ch.isdigit():
                digits += ch
            else:
                break
        text = head + ("." + digits[:6] if digits else "") + rest[len(digits) :]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    if moment.year <= 1:
        return None
    return moment


SEVERITY_ORDER = ("critical", "high", "medium", "low", "info", "unknown")
_SEVERITY_MAP = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "negligible": "info",
    "info": "info",
    "informational": "info",
    "none": "info",
    "note": "info",
    "unknown": "unknown",
    "": "unknown",
}


def normalize_severity(value: Any) -> str:
    """Map any scanner's severity word to critical/high/medium/low/info/unknown."""
    if value is None:
        return "unknown"
    return _SEVERITY_MAP.get(str(value).strip().lower(), "unknown")


def as_str_list(value: Any) -> list[str] | None:
    """A list of strings from a list (or None); non-string items are stringified."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """Split an iterable into lists of at most ``size``."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- Helpers for the whole-document scan formats (grype, SARIF, SBOMs, CIS tools) ----------


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty dict (missing means "none")."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list (missing or null means "none")."""
    return value if isinstance(value, list) else []


def as_float(value: Any) -> float | None:
    """A number from a JSON number or a numeric string (``"7.5"``); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def text_or_none(value: Any) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value != "" else None


def severity_from_score(score: float | None) -> str:
    """CVSS v3 qualitative bands: 9.0+ critical, 7.0+ high, 4.0+ medium, >0 low, 0 info."""
    if score is None:
        return "unknown"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"


SCAN_TABLES = ("vulnerabilities", "config_findings", "secret_findings", "sbom_packages")


def _coerce(value: Any, sql_type: str) -> Any:
    """``value`` as the column's type: input JSON can hold any type anywhere.

    Text columns take numbers and booleans as text and objects/arrays as compact
    JSON (nothing is lost); other columns take only a value of their own type.
    """
    if value is None:
        return None
    if sql_type == "VARCHAR":
        if isinstance(value, str):
            return value
        if isinstance(value, dict | list | bool):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return str(value)
    if sql_type.endswith("[]"):
        if not isinstance(value, list):
            return None
        return [_coerce(v, sql_type[:-2]) for v in value]
    if sql_type == "BOOLEAN":
        return value if isinstance(value, bool) else None
    if sql_type in ("INTEGER", "BIGINT"):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if sql_type == "DOUBLE":
        return as_float(value) if not isinstance(value, str) else None
    if sql_type.startswith("TIMESTAMP"):
        return value if isinstance(value, dt.datetime) else None
    return value


def coerce_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows with every value converted to its column's type (see :func:`_coerce`)."""
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main'",
            [table],
        ).fetchall()
    )
    return [{k: _coerce(v, types.get(k, "")) for k, v in row.items()} for row in rows]


@dataclass
class ScanRows:
    """The rows one scan-family file produces, written together by :meth:`flush`.

    Every row gets ``source_sha256``; ``scan_id`` is ``<sha256>:<locator of the target>``.
    Records (what ``records_stored`` counts) are the rows of :data:`SCAN_TABLES`;
    ``scans`` rows describe targets and are not counted.
    """

    ctx: LoadContext
    scanner: str
    scanner_version: str | None = None
    scanned_at: dt.datetime | None = None
    scans: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def scan(self, locator: str, kind: str, **fields: Any) -> str:
        """Add a ``scans`` row for one scanned target; returns its scan_id."""
        scan_id = f"{self.ctx.source.sha256}:{locator}"
        row: dict[str, Any] = {
            "scan_id": scan_id,
            "source_sha256": self.ctx.source.sha256,
            "locator": locator,
            "scanner": self.scanner,
            "scanner_version": self.scanner_version,
            "scan_kind": kind,
            "scanned_at": self.scanned_at,
        }
        row.update(fields)
        self.scans.append(row)
        return scan_id

    def add(self, table: str, locator: str, scan_id: str, **fields: Any) -> None:
        """Add one record to ``table`` (one of :data:`SCAN_TABLES`)."""
        if table not in SCAN_TABLES:
            raise ValueError(f"not a scan-family record table: {table}")
        row: dict[str, Any] = {
            "source_sha256": self.ctx.source.sha256,
            "locator": locator,
            "scan_id": scan_id,
        }
        row.update(fields)
        self.rows.setdefault(table, []).append(row)

    def flush(self) -> LoadStats:
        """Insert everything (values coerced to column types); the time range is the scans'
        ``scanned_at``."""
        stats = LoadStats()
        con = self.ctx.con
        self.ctx.insert_rows("scans", coerce_rows(con, "scans", self.scans))
        for table in SCAN_TABLES:
            stats.stored += self.ctx.insert_rows(
                table, coerce_rows(con, table, self.rows.get(table, []))
            )
        for row in self.scans:
            stats.widen(row.get("scanned_at"))
        return stats
