"""Signed SIEM exports: write one atomically with its DSSE envelope, and verify it offline.

``auditkit export --run ID --format ocsf|ecs|splunk --out FILE`` writes
``FILE`` (JSON lines, gzip when the name ends ``.gz``) and beside it
``FILE.dsse.json``: a DSSE envelope, signed with the workspace's manifest key
(the pack's Ed25519 key), over an in-toto Statement whose one subject is the
file (name and sha256) and whose predicate (type
:data:`EXPORT_PREDICATE_TYPE`) names the run, the format, the counts and the
sha256 of the uncompressed lines, so the copy a SIEM ingested can be checked
against what auditkit produced.

Both files are written under hidden temporary names in the destination folder
and renamed into place only when complete: the data file first, then its
envelope, so an envelope never describes a file that is not there. With
``-`` the lines go to standard output and are not signed.

:func:`verify_export` needs the manifest public key (``--trust``): unlike a
pack, an export carries no key of its own.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditkit import __version__
from auditkit.errors import KeyMaterialError, PackError
from auditkit.evaluate.catalog import Catalog
from auditkit.pack.build import REPORT_DUCKDB_MEMORY, _duckdb_memory
from auditkit.pack.verify import CheckOutcome, VerifyReport, _load_trust
from auditkit.report.data import load_run
from auditkit.report.siem import ECS_VERSION, ExportCounts, ExportOptions, write_lines
from auditkit.sign.keys import SigningMaterial, ed25519_fingerprint
from auditkit.sign.manifest import (
    CLAIMED_TIME_KEY,
    MAX_MANIFEST_BYTES,
    envelope_signed_by,
    parse_envelope,
    parse_statement,
    signed_envelope,
)

EXPORT_PREDICATE_TYPE = "https://auditkit.dev/siem-export/v1"
SIGNATURE_SUFFIX = ".dsse.json"
EXPORT_CHECKS = ("envelope", "manifest-signature", "statement", "file-name", "digests", "content")
_CHUNK = 1 << 20


@dataclass
class ExportResult:
    """What :func:`export_run` wrote."""

    run_id: int
    format: str
    counts: ExportCounts
    content_sha256: str
    path: Path | None = None
    signature: Path | None = None
    sha256: str | None = None
    key_fingerprint: str | None = None
    predicate: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "run_id": self.run_id,
            "format": self.format,
            "path": str(self.path) if self.path else "-",
            "signature": str(self.signature) if self.signature else None,
            "requirements": self.counts.requirements,
            "items": self.counts.items,
            "lines": self.counts.lines,
            "sha256": self.sha256,
            "content_sha256": self.content_sha256,
            "manifest_key_fingerprint_sha256": self.key_fingerprint,
        }


class _Hashing(io.RawIOBase):
    """A write-only file that hashes what passes through to ``target``."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.target.write(view)
        return len(view)


def signature_path(path: Path) -> Path:
    """The envelope beside an export file."""
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def _utc(moment: dt.datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat()


def export_run(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    run_id: int,
    out: Path | None,
    options: ExportOptions,
    *,
    material: SigningMaterial | None,
    claimed_time: dt.datetime,
    force: bool = False,
    stdout: BinaryIO | None = None,
) -> ExportResult:
    """Export run ``run_id``; ``out=None`` streams unsigned lines to ``stdout``.

    A file export needs ``material`` (the signing keys). Raises
    :class:`PackError` when ``out`` exists (without ``force``) or cannot be
    written; nothing is left behind on an error.
    """
    report = load_run(con, run_id, catalog, sample_per_check=0)
    content = hashlib.sha256()

    def sink(target: BinaryIO) -> ExportCounts:
        def write(data: bytes) -> None:
            content.update(data)
            target.write(data)

        with _duckdb_memory(con, REPORT_DUCKDB_MEMORY):  # streams: a small buffer pool
            return write_lines(con, report, options, write)

    if out is None:
        if stdout is None:
            raise PackError("no output given")
        counts = sink(stdout)
        stdout.flush()
        return ExportResult(run_id, options.format, counts, content.hexdigest())
    if material is None:
        raise KeyMaterialError("a file export is signed: the workspace has no signing keys")
    if out.is_dir():
        raise PackError("is a folder; give a file name", path=out)
    sig = signature_path(out)
    if not force and (out.exists() or sig.exists()):
        raise PackError("already exists; use --force to replace it", path=out)
    if not out.parent.is_dir():
        raise PackError("the folder does not exist", path=out.parent)
    token = secrets.token_hex(6)
    tmp = out.with_name(f".{out.name}.partial-{token}")
    tmp_sig = out.with_name(f".{sig.name}.partial-{token}")
    try:
        with tmp.open("xb") as handle:
            raw = _Hashing(handle)
            if out.name.endswith(".gz"):
                # No name and mtime 0 in the header: the same run gives the same bytes. Level 1:
                # JSON lines still shrink over tenfold, at about half of level 6's CPU.
                with gzip.GzipFile(
                    filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1
                ) as zipped:
                    counts = sink(zipped)  # type: ignore[arg-type]
            else:
                with io.BufferedWriter(raw, _CHUNK) as buffered:
                    counts = sink(buffered)
            handle.flush()
            os.fsync(handle.fileno())
        file_sha = raw.digest.hexdigest()
        predicate = {
            CLAIMED_TIME_KEY: _utc(claimed_time),
            "tool_version": __version__,
            "run_id": report.run_id,
            "run_evaluated_at": _utc(report.created_at),
            "organisation": report.organisation,
            "framework": report.framework_id,
            "catalog_digest": report.catalog_digest,
            "config_digest": report.config_digest,
            "format": options.format,
            "schema": {
                "ocsf": "OCSF 1.5.0 Compliance Finding (2003)",
                "ecs": f"ECS {ECS_VERSION}",
                "splunk": "Splunk HEC event",
            }[options.format],
            "ecs_bulk_index": options.ecs_bulk_index,
            "gzip": out.name.endswith(".gz"),
            "requirements": counts.requirements,
            "items": counts.items,
            "lines": counts.lines,
            "content_sha256": content.hexdigest(),
        }
        envelope = signed_envelope(
            material, [(out.name, file_sha)], predicate, EXPORT_PREDICATE_TYPE
        )
        with tmp_sig.open("xb") as handle:
            handle.write(envelope)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
        os.replace(tmp_sig, sig)
    except OSError as exc:
        raise PackError(f"cannot write the export: {exc.strerror or exc}", path=out) from exc
    finally:
        tmp.unlink(missing_ok=True)
        tmp_sig.unlink(missing_ok=True)
    return ExportResult(
        run_id,
        options.format,
        counts,
        content.hexdigest(),
        path=out,
        signature=sig,
        sha256=file_sha,
        key_fingerprint=material.manifest_key_fingerprint,
        predicate=predicate,
    )


# --------------------------------------------------------------------------- verify


def is_export(path: Path) -> bool:
    """True when ``path`` is an export file or its envelope (not a pack)."""
    if not path.is_file():
        return False
    return path.name.endswith(SIGNATURE_SUFFIX) or signature_path(path).is_file()


def _file_digests(path: Path, gz: bool) -> tuple[str, str, int]:
    """sha256 of the file, sha256 of its lines (decompressed) and their count."""
    file_hash, content_hash, lines = hashlib.sha256(), hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            file_hash.update(chunk)
    with gzip.open(path, "rb") if gz else path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            content_hash.update(chunk)
            lines += chunk.count(b"\n")
    return file_hash.hexdigest(), content_hash.hexdigest(), lines


def verify_export(path: Path, *, trust: Path | None) -> VerifyReport:
    """Verify an export file against its ``.dsse.json`` envelope and a pinned key."""
    if path.name.endswith(SIGNATURE_SUFFIX):
        sig, data = path, path.with_name(path.name[: -len(SIGNATURE_SUFFIX)])
    else:
        sig, data = signature_path(path), path
    if trust is None:
        raise KeyMaterialError(
            "an export carries no key: pass --trust with the manifest public key "
            "(keys/manifest-signing-key.pub.pem in the run's pack)",
            path=data,
        )
    key = _load_trust(trust)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyMaterialError(
            "an export is signed with the manifest key only: --trust must be its Ed25519 "
            "public key, not the PDF root CA",
            path=trust,
        )
    if not data.is_file():
        raise PackError("no export file beside the signature", path=data)
    if not sig.is_file():
        raise PackError(f"no signature beside the export (expected {sig.name})", path=data)
    fingerprint = ed25519_fingerprint(key)
    report = VerifyReport(
        path=str(data),
        source_kind="export",
        trust_mode="manifest-key",
        manifest_key_fingerprint=fingerprint,
        manifest_key_source="pinned",
        trust_summary=f"manifest key pinned by --trust ({fingerprint})",
    )

    def add(name: str, ok: bool, detail: str) -> None:
        report.checks.append(CheckOutcome(name, ok, " ".join(detail.split())))

    def skip(names: tuple[str, ...], why: str) -> None:
        for name in names:
            add(name, False, f"not run: {why}")

    try:
        with sig.open("rb") as handle:
            envelope = parse_envelope(handle.read(MAX_MANIFEST_BYTES + 1))
    except (OSError, PackError) as exc:
        add("envelope", False, f"{sig.name}: {getattr(exc, 'message', exc)}")
        skip(EXPORT_CHECKS[1:], "the envelope is unreadable")
        return report
    add("envelope", True, "DSSE envelope, payloadType application/vnd.in-toto+json")
    if not envelope_signed_by(envelope, key):
        add(
            "manifest-signature",
            False,
            f"signature does not verify with the pinned key {fingerprint}",
        )
        skip(EXPORT_CHECKS[2:], "the envelope is not authenticated, so its contents are untrusted")
        return report
    add("manifest-signature", True, f"verified with the pinned key {fingerprint}")
    try:
        statement = parse_statement(envelope.payload, EXPORT_PREDICATE_TYPE)
        if len(statement.subjects) != 1:
            raise PackError("an export statement must have exactly one subject")
    except PackError as exc:
        add("statement", False, exc.message)
        skip(EXPORT_CHECKS[3:], "the statement is invalid")
        return report
    predicate = statement.predicate
    report.claimed_signing_time = statement.claimed_time
    add(
        "statement",
        True,
        f"export of run {ascii(predicate.get('run_id'))}, format {ascii(predicate.get('format'))}, "
        f"{ascii(predicate.get('items'))} items and {ascii(predicate.get('requirements'))} "
        f"requirement results; time {ascii(statement.claimed_time)} claimed by the signer",
    )
    ((name, digest),) = statement.subjects.items()
    add(
        "file-name",
        name == data.name,
        f"signed as {ascii(name)}"
        + ("" if name == data.name else f", found as {ascii(data.name)}"),
    )
    try:
        file_sha, content_sha, lines = _file_digests(data, bool(predicate.get("gzip")))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        add("digests", False, f"cannot read {ascii(data.name)}: {exc}")
        skip(("content",), "the file is unreadable")
        return report
    add(
        "digests",
        file_sha == digest,
        "sha256 matches the signed subject"
        if file_sha == digest
        else "sha256 differs from the signed subject",
    )
    content_ok = content_sha == predicate.get("content_sha256") and lines == predicate.get("lines")
    add(
        "content",
        content_ok,
        f"{lines} lines, sha256 of the lines "
        + (
            "matches the signed one"
            if content_ok
            else "or their count differs from the signed ones"
        ),
    )
    return report
