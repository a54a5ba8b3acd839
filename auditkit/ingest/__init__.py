"""Ingest: detect each file's format from its content and store it whole or not at all.

Each file is loaded in one DuckDB transaction together with its ``sources``
row, so a crash (even ``kill -9``) leaves the file entirely absent. Re-ingesting
the same bytes is reported as already present and changes nothing. A file with
malformed records is rejected (nothing stored) unless ``skip_bad_records`` is
set, in which case the good records are stored and every bad one goes to the
``quarantine`` table with its locator and reason.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from auditkit.errors import AuditkitError, InputError, MalformedRecordsError, UserError
from auditkit.ingest import (
    cloud,
    cyclonedx,
    falco,
    grype,
    hubble,
    k8s_audit,
    k8s_objects,
    kubebench,
    kubescape,
    policy,
    sarif,
    spdx,
    trivy,
    users_csv,
    vpc_flow,
    zeek,
)
from auditkit.ingest.base import Format, LoadContext
from auditkit.ingest.detect import choose_format, sniff
from auditkit.ingest.jsonlines import drop_staging
from auditkit.ingest.source import MAX_DOCUMENT_BYTES, SourceFile
from auditkit.store import first_row, rollback_quietly

FORMATS: list[Format] = [
    *trivy.FORMATS,
    *grype.FORMATS,
    *sarif.FORMATS,
    *cyclonedx.FORMATS,
    *spdx.FORMATS,
    *kubebench.FORMATS,
    *kubescape.FORMATS,
    *cloud.FORMATS,
    *k8s_audit.FORMATS,
    *falco.FORMATS,
    *hubble.FORMATS,
    *zeek.FORMATS,
    *vpc_flow.FORMATS,
    *users_csv.FORMATS,
    *policy.FORMATS,
    *k8s_objects.FORMATS,
]


def format_names() -> list[str]:
    """Names accepted by ``--format``."""
    return sorted(f.name for f in FORMATS)


def get_format(name: str) -> Format:
    """Look a format up by name."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise UserError(f"unknown format {name!r}; supported formats: {', '.join(format_names())}")


@dataclass
class IngestOptions:
    """How to ingest."""

    format: str | None = None
    skip_bad_records: bool = False
    vpc_fields: str | None = None  # preset (v2..v5) or the flow log's LogFormat fields
    observed_at: dt.datetime | None = None  # the moment a snapshot export describes
    # Cap on inflated gzip data and on a document parsed in memory (--max-input-size).
    max_input_bytes: int = MAX_DOCUMENT_BYTES
    # Where a gzip file is inflated (an unnamed private file); default: the store's temp folder.
    staging_dir: Path | None = None

    def loader_options(self) -> dict[str, Any]:
        """Format-specific options handed to loaders."""
        return {"vpc_fields": self.vpc_fields}


@dataclass
class IngestResult:
    """The outcome for one file."""

    path: str
    sha256: str | None = None
    format: str | None = None
    family: str | None = None
    status: str = "stored"  # stored | already present | rejected | skipped
    stored: int = 0
    skipped: int = 0
    time_min: dt.datetime | None = None
    time_max: dt.datetime | None = None
    error: str | None = None
    observation_recorded: bool = False
    skipped_detail: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "family": self.family,
            "status": self.status,
            "records_stored": self.stored,
            "records_skipped": self.skipped,
            "time_min": self.time_min.isoformat() + "Z" if self.time_min else None,
            "time_max": self.time_max.isoformat() + "Z" if self.time_max else None,
            "observation_recorded": self.observation_recorded,
            "notes": self.notes,
            "error": self.error,
        }


LINK_SKIPPED = (
    "symbolic link inside a folder; not followed (name the file itself to ingest what it points to)"
)


@dataclass(frozen=True)
class InputPath:
    """One entry to ingest: a file named on the command line or found in a folder.

    ``skip`` says why an entry found in a folder is not read (a link, a special
    file); ``error`` why a folder could not be listed. ``identity`` is the
    ``(st_dev, st_ino)`` a folder listing saw, which the opened file must have.
    """

    path: Path
    display: str
    explicit: bool = True
    identity: tuple[int, int] | None = None
    skip: str | None = None
    error: str | None = None


def _shown(path: Path) -> str:
    """How a path named on the command line is recorded: as given, or by its real path
    when a symbolic link is involved."""
    real = os.path.realpath(path)
    return real if real != os.path.abspath(path) else str(path)


def _special(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"))
    name = next((n for test, n in kinds if test(mode)), "a special file")
    return f"not a regular file ({name}); not read"


def _walk(folder: Path, out: list[InputPath]) -> None:
    """Every entry below ``folder``, files before subfolders, each level sorted by name.

    Links are never followed (neither to files nor to folders): they are listed
    as skipped, like FIFOs, sockets and devices.
    """
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            out.append(
                InputPath(current, str(current), False, error=f"cannot list folder: {exc.strerror}")
            )
            continue
        subfolders: list[Path] = []
        for entry in entries:
            full = Path(current) / entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                out.append(InputPath(full, str(full), False, error=f"cannot stat: {exc.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                out.append(InputPath(full, str(full), False, skip=LINK_SKIPPED))
            elif stat.S_ISDIR(st.st_mode):
                subfolders.append(full)
            elif stat.S_ISREG(st.st_mode):
                out.append(InputPath(full, str(full), False, identity=(st.st_dev, st.st_ino)))
            else:
                out.append(InputPath(full, str(full), False, skip=_special(st.st_mode)))
        pending.extend(reversed(subfolders))


def expand_paths(paths: Iterable[Path]) -> list[InputPath]:
    """Files named directly, plus every entry below named folders (sorted).

    A link named on the command line is followed and recorded by its real path;
    inside a folder nothing is followed (see :func:`_walk`).
    """
    out: list[InputPath] = []
    for path in paths:
        if path.is_dir():
            _walk(Path(_shown(path)), out)
        elif os.path.lexists(path):
            out.append(InputPath(path, _shown(path)))
        else:
            raise InputError("no such file or directory", path=path)
    return out


# Files at least this large are hashed on a worker thread while detection and
# staging read them (the hash is only needed for the dedup check and the rows).
OVERLAP_HASH_BYTES = 64 * 1024 * 1024


def _already_present(
    con: duckdb.DuckDBPyConnection, source: SourceFile, result: IngestResult
) -> IngestResult | None:
    """The earlier ingest of the same bytes, if there was one."""
    row = first_row(
        con.execute(
            "SELECT format, family, records_stored, records_skipped, time_min, time_max "
            "FROM sources WHERE source_sha256 = ?",
            [source.sha256],
        )
    )
    if row is None:
        return None
    result.status = "already present"
    result.format, result.family = row[0], row[1]
    result.stored, result.skipped, result.time_min, result.time_max = row[2:6]
    return result


def _staging_dir(con: duckdb.DuckDBPyConnection, options: IngestOptions) -> Path | None:
    """Where to inflate gzip input: the option, else the store's temp folder."""
    if options.staging_dir is not None:
        return options.staging_dir
    row = first_row(con.execute("SELECT current_setting('temp_directory')"))
    return Path(row[0]) if row and row[0] and Path(row[0]).is_dir() else None


def _observe(con: duckdb.DuckDBPyConnection, sha256: str, observed_at: dt.datetime | None) -> bool:
    """Record that the file describes ``observed_at``; True when that is new."""
    if observed_at is None:
        return False
    known = first_row(
        con.execute(
            "SELECT 1 FROM observations WHERE source_sha256 = ? AND observed_at = ?",
            [sha256, observed_at],
        )
    )
    if known:
        return False
    con.execute("INSERT INTO observations VALUES (?, ?)", [sha256, observed_at])
    # A scan report that does not say when it ran was run on the first date given for it.
    con.execute(
        "UPDATE scans SET scanned_at = ? WHERE source_sha256 = ? AND scanned_at IS NULL",
        [observed_at, sha256],
    )
    return True


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    options: IngestOptions,
    display: str | None = None,
    *,
    follow_links: bool = True,
    expect: tuple[int, int] | None = None,
) -> IngestResult:
    """Ingest one file atomically. Raises UserError subclasses for bad input.

    The file is opened once; its hash, its detection and its load all read that
    open file (see :mod:`auditkit.ingest.source`). The same bytes ingested again
    are not stored twice; a new ``observed_at`` for them is recorded, so an
    unchanged snapshot export still counts for the later date.
    """
    source = SourceFile.open(
        path,
        display,
        follow_links=follow_links,
        expect=expect,
        max_bytes=options.max_input_bytes,
        staging_dir=_staging_dir(con, options),
        hash_now=False,
    )
    try:
        if source.compressed or source.size < OVERLAP_HASH_BYTES:
            source.hash()
            result = IngestResult(path=source.display, sha256=source.sha256)
            done = _already_present(con, source, result)
            if done is not None:
                done.observation_recorded = _observe(con, source.sha256, options.observed_at)
                return done
            return _ingest(con, source, options, result)
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashed = pool.submit(source.hash)
            return _ingest(con, source, options, IngestResult(path=source.display), hashed)
    finally:
        source.close()


def _ingest(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    options: IngestOptions,
    result: IngestResult,
    hashed: Future[str] | None = None,
) -> IngestResult:
    """Detect, stage and load one file; ``hashed`` delivers the hash when it was deferred."""
    info = sniff(source)
    if options.format:
        fmt = get_format(options.format)
        if info.shape not in fmt.shapes:
            raise InputError(
                f"content is {info.shape}, which format {fmt.name} cannot read", path=source.display
            )
    else:
        fmt = choose_format(source, info, FORMATS)
    result.format, result.family = fmt.name, fmt.family
    ctx = LoadContext(con=con, source=source, sniff=info, options=options.loader_options())
    con.execute("SET TimeZone = 'UTC'")  # a time string without an offset means UTC
    try:
        if fmt.prepare is not None:
            fmt.prepare(ctx)
        if hashed is not None:
            source.sha256 = result.sha256 = hashed.result()
            if _already_present(con, source, result):
                drop_staging(con)
                result.observation_recorded = _observe(con, source.sha256, options.observed_at)
                return result
        con.execute("BEGIN TRANSACTION")
    except BaseException:
        drop_staging(con)
        raise
    try:
        stats = fmt.load(ctx)
        source.check_unchanged()
        if ctx.bad_count and not options.skip_bad_records:
            raise MalformedRecordsError(
                source.display, [(b.locator, b.reason) for b in ctx.bad[:10]], ctx.bad_count
            )
        quarantined = ctx.bad + ctx.non_records
        if quarantined:
            ctx.insert_rows(
                "quarantine",
                [
                    {
                        "source_sha256": source.sha256,
                        "locator": b.locator,
                        "reason": b.reason,
                        "excerpt": b.excerpt,
                    }
                    for b in quarantined
                ],
            )
        skipped = ctx.bad_count + len(ctx.non_records)
        con.execute(
            "INSERT INTO sources (source_sha256, path, size_bytes, format, family, parser_version, "
            "compressed, ingested_at, records_stored, records_skipped, time_min, time_max, "
            "observed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source.sha256,
                source.display,
                source.size,
                fmt.name,
                fmt.family,
                fmt.parser_version,
                source.compressed,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                stats.stored,
                skipped,
                stats.time_min,
                stats.time_max,
                options.observed_at,
            ],
        )
        _observe(con, source.sha256, options.observed_at)
        if options.observed_at is not None and fmt.family == "scans":
            # A report that does not say when it ran (e.g. trivy k8s) was run when declared.
            con.execute(
                "UPDATE scans SET scanned_at = ? WHERE source_sha256 = ? AND scanned_at IS NULL",
                [options.observed_at, source.sha256],
            )
        con.execute("COMMIT")
    except BaseException:
        rollback_quietly(con)  # a failed COMMIT has already rolled back: keep its error
        raise
    finally:
        drop_staging(con)
    result.stored, result.skipped = stats.stored, skipped
    result.time_min, result.time_max = stats.time_min, stats.time_max
    result.skipped_detail = [(b.locator, b.reason) for b in quarantined[:20]]
    result.notes = list(stats.notes)
    return result


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    options: IngestOptions | None = None,
    *,
    on_file: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest every file (directories are walked). A bad file is reported and skipped
    over; the others are still ingested. Check ``status == "rejected"`` on results."""
    options = options or IngestOptions()
    results: list[IngestResult] = []
    for item in expand_paths(paths):
        if item.skip is not None:
            result = IngestResult(
                path=item.display, status="skipped", error=f"{item.display}: {item.skip}"
            )
        elif item.error is not None:
            result = IngestResult(
                path=item.display, status="rejected", error=f"{item.display}: {item.error}"
            )
        else:
            result = _ingest_one(con, item, options)
        results.append(result)
        if on_file:
            on_file(result)
    return results


def _ingest_one(
    con: duckdb.DuckDBPyConnection, item: InputPath, options: IngestOptions
) -> IngestResult:
    try:
        return ingest_file(
            con,
            item.path,
            options,
            item.display,
            follow_links=item.explicit,
            expect=item.identity,
        )
    except AuditkitError as exc:
        if not isinstance(exc, UserError):
            raise
        return IngestResult(path=item.display, status="rejected", error=exc.one_line())
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        first = str(exc).splitlines()[0]
        return IngestResult(
            path=item.display, status="rejected", error=f"{item.display}: cannot be read: {first}"
        )
