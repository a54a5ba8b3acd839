"""Offline verification of an evidence pack (a folder or a zip).

:func:`verify_pack` never writes to disk, never opens a network connection
and never reads ``pyhanko.yml`` or any other configuration.  It raises
:class:`~auditkit.errors.PackError` only when verification *cannot run* (path
missing, neither a folder nor a zip, unreadable archive, no manifest) and
:class:`~auditkit.errors.KeyMaterialError` when the ``trust`` file is unusable.
A tampered or hostile pack yields a :class:`VerifyReport` with failed checks.

Checks, in report order:

``container``           the folder/zip is safe to read (see :mod:`auditkit.sign.archive`);
``envelope``            ``manifest.dsse.json`` is a DSSE envelope with payloadType
                        ``application/vnd.in-toto+json``;
``manifest-signature``  an Ed25519 signature verifies over the DSSE PAE, *before*
                        the payload is parsed;
``statement``           in-toto Statement v1, our predicateType, no unknown fields,
                        no duplicate subjects;
``file-set``            the pack's files equal the subjects (added, missing, renamed);
``digests``             every file's sha256 equals its subject's;
``pdf-signature``       ``report.pdf`` holds one PAdES signature that is intact, valid,
                        trusted by the root in force, covers the entire file with no
                        later modification, and whose signer certificate names the
                        manifest key;
``pack-id``             only with ``expect_pack_id``: the predicate's pack id matches.

Trust (the ``trust`` argument):

* **None** - the manifest key (``keys/manifest-signing-key.pub.pem``) and the
  PDF root CA (``keys/pdf-signing-chain.pem``) are taken from the pack.  This
  only proves the pack is internally consistent; the report says "key taken
  from the pack; pin its fingerprint out of band" and gives both fingerprints.
* **An Ed25519 public key PEM** - the manifest must verify with it.  The PDF
  root CA still comes from the pack, but the chain file is a manifest subject,
  so it is authenticated by the pinned key when the digest check passes.
* **A root CA certificate PEM** - the PDF signature must chain to that root
  only.  The manifest key is the one shipped in the pack and is *not
  independently pinned*; it is accepted only because the report.pdf signer
  certificate, issued by the pinned root, names its fingerprint in a
  subjectAltName URI (see :mod:`auditkit.sign.keys`).  Without that binding an
  attacker could keep the signed report.pdf and re-sign swapped evidence with
  a key of their own.

Times in the report are claimed by the signer: nothing here is a trusted
timestamp.  Untrusted names in details are quoted with :func:`ascii`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditkit.errors import InputError, KeyMaterialError, PackError
from auditkit.safeload import read_regular
from auditkit.sign.archive import PackSource, open_pack_source
from auditkit.sign.certs import is_self_signed_ca
from auditkit.sign.keys import (
    PACK_CHAIN_PATH,
    certificate_fingerprint,
    ed25519_fingerprint,
)
from auditkit.sign.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    Envelope,
    Statement,
    envelope_signed_by,
    parse_envelope,
    parse_statement,
    read_pack_manifest_key,
)
from auditkit.sign.pdfsign import (
    PdfValidation,
    read_pack_root,
    signer_manifest_key,
    validate_signed_pdf,
)

REPORT_PDF_NAME = "report.pdf"
CHECK_NAMES = (
    "container",
    "envelope",
    "manifest-signature",
    "statement",
    "file-set",
    "digests",
    "pdf-signature",
)
CLAIMED_NOTE = "claimed by the signer; not a trusted timestamp"
VERDICT_VERIFIED = "verified"
VERDICT_UNPINNED = "consistent, signer not pinned"
VERDICT_FAILED = "failed"
_MAX_PDF_BYTES = 512 << 20
_MAX_KEY_BYTES = 1 << 20
_LIST = 10


@dataclass(frozen=True)
class CheckOutcome:
    """One verification check: a stable ``name``, pass/fail, and a one-line detail."""

    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    """Everything verify found.  ``ok`` is true only when every check passed.

    ``trust_mode`` is ``"none"``, ``"manifest-key"`` or ``"root-ca"``.  The
    ``*_source`` fields say where a key came from (``"pinned"`` or ``"pack"``).
    ``claimed_signing_time`` (manifest predicate) and ``pdf_claimed_signing_time``
    (the PDF's ``/M``) are claimed by the signer, never trusted timestamps.
    """

    path: str
    source_kind: str
    trust_mode: str
    checks: list[CheckOutcome] = field(default_factory=list)
    manifest_key_fingerprint: str | None = None
    manifest_key_source: str | None = None
    root_fingerprint: str | None = None
    root_source: str | None = None
    trust_summary: str = ""
    claimed_signing_time: str | None = None
    pdf_claimed_signing_time: str | None = None
    pack_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when there is at least one check and all of them passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def pinned(self) -> bool:
        """Whether the signer was pinned by ``--trust`` (a key or a root CA from elsewhere)."""
        return self.trust_mode != "none"

    @property
    def verdict(self) -> str:
        """``verified`` (every check passed, signer pinned), ``consistent, signer not
        pinned`` (every integrity check passed, but the keys came from the pack
        itself, so anyone could have made it) or ``failed``."""
        if not all(c.ok for c in self.checks if c.name != "trust") or not self.checks:
            return VERDICT_FAILED
        return VERDICT_VERIFIED if self.pinned else VERDICT_UNPINNED

    def check(self, name: str) -> CheckOutcome | None:
        """Return the check called ``name``, if it was recorded."""
        return next((c for c in self.checks if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole report."""
        return {
            "pack": self.path,
            "container": self.source_kind,
            "ok": self.ok,
            "verdict": self.verdict,
            "pinned": self.pinned,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "trust": {
                "mode": self.trust_mode,
                "summary": self.trust_summary,
                "manifest_key": {
                    "fingerprint_sha256": self.manifest_key_fingerprint,
                    "source": self.manifest_key_source,
                },
                "pdf_root_ca": {
                    "fingerprint_sha256": self.root_fingerprint,
                    "source": self.root_source,
                },
            },
            "claimed_signing_time": {
                "manifest": self.claimed_signing_time,
                "pdf": self.pdf_claimed_signing_time,
                "note": CLAIMED_NOTE,
            },
            "pack_id": self.pack_id,
        }


def _names(items: list[str]) -> str:
    shown = ", ".join(ascii(n) for n in items[:_LIST])
    return shown + (f" (and {len(items) - _LIST} more)" if len(items) > _LIST else "")


def _load_trust(trust: Path) -> Ed25519PublicKey | x509.Certificate:
    try:
        data = read_regular(trust, max_bytes=_MAX_KEY_BYTES)
    except InputError as exc:  # missing, unreadable, too large, or not a regular file (a FIFO)
        raise KeyMaterialError(f"trust file: {exc.message}", path=trust) from None
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise KeyMaterialError(
                "trust file holds an unreadable certificate", path=trust
            ) from exc
        if len(certs) != 1:
            raise KeyMaterialError(
                "trust file must hold exactly one root CA certificate", path=trust
            )
        if not is_self_signed_ca(certs[0]):
            raise KeyMaterialError("trust certificate is not a self-signed CA", path=trust)
        return certs[0]
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(
            "trust file is neither an Ed25519 public key PEM nor a root CA certificate PEM",
            path=trust,
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyMaterialError("trust public key is not an Ed25519 key", path=trust)
    return key


class _Run:
    """State of one verification run (keeps :func:`verify_pack` readable)."""

    def __init__(self, source: PackSource, report: VerifyReport) -> None:
        self.source = source
        self.report = report
        self.files = source.files()
        self.hashes: dict[str, str] = {}
        self.hash_errors: dict[str, str] = {}

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.report.checks.append(CheckOutcome(name, ok, " ".join(detail.split())))

    def skip(self, names: tuple[str, ...], why: str) -> None:
        for name in names:
            self.add(name, False, f"not run: {why}")

    def digest(self, name: str) -> str | None:
        if name not in self.hashes and name not in self.hash_errors:
            try:
                self.hashes[name] = self.source.sha256(name)
            except PackError as exc:
                self.hash_errors[name] = exc.message
        return self.hashes.get(name)


def verify_pack(
    path: Path,
    *,
    trust: Path | None = None,
    expect_pack_id: str | None = None,
    require_trust: bool = False,
) -> VerifyReport:
    """Verify the pack at ``path`` (folder or zip) offline; see the module docstring.

    Without ``trust`` a pack can at best be internally consistent (its own keys
    vouch for it); ``require_trust`` adds a ``trust`` check that fails then.
    """
    report = _verify_pack(path, trust=trust, expect_pack_id=expect_pack_id)
    if require_trust:
        report.checks.append(
            CheckOutcome(
                "trust",
                report.pinned,
                f"signer pinned by --trust ({report.trust_mode})"
                if report.pinned
                else "no --trust given: the signer is not pinned, and --require-trust demands it",
            )
        )
    return report


def _verify_pack(path: Path, *, trust: Path | None, expect_pack_id: str | None) -> VerifyReport:
    pinned = _load_trust(trust) if trust is not None else None
    mode = (
        "none"
        if pinned is None
        else "manifest-key"
        if isinstance(pinned, Ed25519PublicKey)
        else "root-ca"
    )
    with open_pack_source(path) as source:
        report = VerifyReport(path=str(path), source_kind=source.kind, trust_mode=mode)
        run = _Run(source, report)
        if source.problems:
            more = len(source.problems) - 3
            detail = "; ".join(source.problems[:3]) + (f" (and {more} more)" if more > 0 else "")
            run.add("container", False, f"unsafe {source.kind}: {detail}")
            run.skip(CHECK_NAMES[1:], "the container is unsafe, nothing was read")
            return report
        if MANIFEST_NAME not in run.files:
            nested = [n for n in run.files if n.endswith("/" + MANIFEST_NAME)]
            hint = f" (found {ascii(nested[0])}; it must be at the root)" if nested else ""
            raise PackError(f"no {MANIFEST_NAME} in the pack{hint}", path=path)
        outside = ", no bytes outside the entries" if source.kind == "zip" else ""
        run.add(
            "container",
            True,
            f"{source.kind} with {len(run.files)} regular files, names safe, no links{outside}",
        )
        _verify(run, pinned, expect_pack_id)
        return report


def _verify(
    run: _Run, pinned: Ed25519PublicKey | x509.Certificate | None, expect_pack_id: str | None
) -> None:
    report = run.report
    envelope: Envelope | None = None
    try:
        envelope = parse_envelope(run.source.read_bytes(MANIFEST_NAME, MAX_MANIFEST_BYTES))
        run.add("envelope", True, "DSSE envelope, payloadType application/vnd.in-toto+json")
    except PackError as exc:
        run.add("envelope", False, f"{MANIFEST_NAME}: {exc.message}")

    pack_key, pack_key_problem = read_pack_manifest_key(run.source)
    pack_root, pack_root_problem = read_pack_root(run.source, PACK_CHAIN_PATH)
    manifest_key = pinned if isinstance(pinned, Ed25519PublicKey) else pack_key
    root = pinned if isinstance(pinned, x509.Certificate) else pack_root
    key_fp = ed25519_fingerprint(manifest_key) if manifest_key is not None else None
    root_fp = certificate_fingerprint(root) if root is not None else None
    report.manifest_key_fingerprint, report.root_fingerprint = key_fp, root_fp
    report.manifest_key_source = "pinned" if report.trust_mode == "manifest-key" else "pack"
    report.root_source = "pinned" if report.trust_mode == "root-ca" else "pack"
    report.trust_summary = _summary(report.trust_mode, key_fp, root_fp)

    pdf: PdfValidation | None = None
    pdf_problem = ""
    if REPORT_PDF_NAME not in run.files:
        pdf_problem = f"the pack has no {REPORT_PDF_NAME}"
    elif root is None:
        pdf_problem = f"no root CA to validate against: {pack_root_problem}"
    else:
        try:
            pdf = validate_signed_pdf(run.source.read_bytes(REPORT_PDF_NAME, _MAX_PDF_BYTES), root)
        except PackError as exc:
            pdf_problem = exc.message
    bound_key = signer_manifest_key(pdf) if pdf is not None and pdf.chain_trusted else None

    signature_ok = False
    if envelope is None:
        run.skip(("manifest-signature",), "the manifest is not a valid DSSE envelope")
    elif manifest_key is None:
        run.add("manifest-signature", False, f"no manifest key: {pack_key_problem}")
    elif not envelope_signed_by(envelope, manifest_key):
        whose = "the pinned key" if report.trust_mode == "manifest-key" else "the pack's key"
        run.add("manifest-signature", False, f"signature does not verify with {whose} {key_fp}")
    elif report.trust_mode == "root-ca" and bound_key != key_fp:
        run.add(
            "manifest-signature",
            False,
            f"signature verifies with the pack's key {key_fp}, but that key is not the one "
            f"certified by the pinned root CA (report.pdf signer certificate names "
            f"{bound_key or 'no trusted key'})",
        )
    else:
        signature_ok = True
        detail = {
            "manifest-key": f"verified with the pinned key {key_fp}",
            "root-ca": f"verified with the key taken from the pack {key_fp}; not independently "
            "pinned, but certified by the pinned root CA via the report.pdf signer certificate",
            "none": f"verified with the key taken from the pack; pin its fingerprint out of "
            f"band: {key_fp}",
        }[report.trust_mode]
        run.add("manifest-signature", True, detail)

    statement: Statement | None = None
    if envelope is not None and signature_ok:
        try:
            statement = parse_statement(envelope.payload)
            report.claimed_signing_time = statement.claimed_time
            report.pack_id = statement.pack_id
            run.add(
                "statement",
                True,
                f"in-toto Statement v1, {len(statement.subjects)} subjects, pack id "
                f"{ascii(statement.pack_id) if statement.pack_id else '(none)'}, "
                f"time {ascii(statement.claimed_time)} {CLAIMED_NOTE}",
            )
        except PackError as exc:
            run.add("statement", False, exc.message)
        if statement is not None:
            _check_files(run, statement)
        else:
            run.skip(("file-set", "digests"), "the statement is invalid")
    else:
        run.skip(
            ("statement", "file-set", "digests"),
            "the manifest is not authenticated, so its contents are untrusted",
        )

    _check_pdf(run, pdf, pdf_problem, key_fp, signature_ok, statement)
    if expect_pack_id is not None:
        if report.pack_id is None:
            run.add("pack-id", False, "the pack has no authenticated pack id to compare")
        else:
            same = report.pack_id == expect_pack_id
            run.add(
                "pack-id",
                same,
                f"pack id {ascii(report.pack_id)}"
                + ("" if same else f" differs from the expected {ascii(expect_pack_id)}"),
            )


def _summary(mode: str, key_fp: str | None, root_fp: str | None) -> str:
    key_fp, root_fp = key_fp or "(unavailable)", root_fp or "(unavailable)"
    if mode == "none":
        return (
            "no --trust given: the manifest key and the PDF root CA were taken from the pack, "
            "which only shows the pack is internally consistent; pin these fingerprints out of "
            f"band: manifest key {key_fp}, PDF root CA {root_fp}"
        )
    if mode == "manifest-key":
        return (
            f"manifest key pinned by --trust ({key_fp}); the PDF root CA ({root_fp}) comes from "
            "the pack and is authenticated through the signed manifest"
        )
    return (
        f"PDF root CA pinned by --trust ({root_fp}); the manifest key ({key_fp}) comes from the "
        "pack and was not independently pinned: it is accepted only because the report.pdf "
        "signer certificate issued by the pinned root names it"
    )


def _check_files(run: _Run, statement: Statement) -> None:
    files = set(run.files) - {MANIFEST_NAME}
    subjects = statement.subjects
    added = sorted(files - set(subjects))
    missing = sorted(set(subjects) - files)
    by_digest: dict[str, list[str]] = {}
    for name in added:
        digest = run.digest(name)
        if digest is not None:
            by_digest.setdefault(digest, []).append(name)
    renamed: list[str] = []
    for name in list(missing):
        candidates = by_digest.get(subjects[name])
        if candidates:
            new = candidates.pop(0)
            renamed.append(f"{ascii(name)} -> {ascii(new)}")
            missing.remove(name)
            added.remove(new)
    if added or missing or renamed:
        parts = []
        if added:
            parts.append(f"added (not in the manifest): {_names(added)}")
        if missing:
            parts.append(f"missing (in the manifest, not in the pack): {_names(missing)}")
        if renamed:
            parts.append(f"renamed: {', '.join(renamed[:_LIST])}")
        run.add("file-set", False, "; ".join(parts))
    else:
        run.add("file-set", True, f"the pack's {len(files)} files are exactly the subjects")

    mismatched: list[str] = []
    unreadable: list[str] = []
    present = sorted(files & set(subjects))
    for name in present:
        digest = run.digest(name)
        if digest is None:
            unreadable.append(f"{ascii(name)} ({run.hash_errors.get(name, 'unreadable')})")
        elif digest != subjects[name]:
            mismatched.append(name)
    if mismatched or unreadable:
        parts = []
        if mismatched:
            parts.append(f"sha256 differs for {_names(mismatched)}")
        if unreadable:
            parts.append(f"cannot read {', '.join(unreadable[:_LIST])}")
        run.add("digests", False, "; ".join(parts))
    else:
        run.add("digests", True, f"all {len(present)} files match their sha256")


def _same_time(text: str, moment: dt.datetime) -> bool | None:
    try:
        return dt.datetime.fromisoformat(text) == moment
    except (ValueError, TypeError):
        return None


def _check_pdf(
    run: _Run,
    pdf: PdfValidation | None,
    pdf_problem: str,
    key_fp: str | None,
    signature_ok: bool,
    statement: Statement | None,
) -> None:
    report = run.report
    if pdf is None:
        run.add("pdf-signature", False, f"{REPORT_PDF_NAME}: {pdf_problem}")
        return
    problems = list(pdf.problems)
    bound = signer_manifest_key(pdf)
    if key_fp is not None and bound != key_fp:
        problems.append(f"signer certificate names manifest key {bound or 'none'}, not {key_fp}")
    if pdf.claimed_time is not None:
        report.pdf_claimed_signing_time = pdf.claimed_time.isoformat()
    if report.trust_mode == "root-ca":
        origin = f"root CA pinned by --trust ({report.root_fingerprint})"
    elif report.trust_mode == "manifest-key":
        chain_ok = (
            signature_ok
            and statement is not None
            and PACK_CHAIN_PATH in statement.subjects
            and run.hashes.get(PACK_CHAIN_PATH) == statement.subjects[PACK_CHAIN_PATH]
        )
        origin = f"root CA {report.root_fingerprint} taken from the pack, " + (
            "authenticated by the pinned manifest key"
            if chain_ok
            else "NOT authenticated (the manifest checks failed)"
        )
    else:
        origin = (
            "root CA taken from the pack; pin its fingerprint out of band: "
            f"{report.root_fingerprint}"
        )
    when = (
        f"signing time {report.pdf_claimed_signing_time} {CLAIMED_NOTE}"
        if report.pdf_claimed_signing_time
        else "no signing time"
    )
    if (
        pdf.claimed_time is not None
        and statement is not None
        and _same_time(statement.claimed_time, pdf.claimed_time) is False
    ):
        when += f" (differs from the manifest's claimed time {ascii(statement.claimed_time)})"
    if problems:
        run.add("pdf-signature", False, f"{REPORT_PDF_NAME}: {'; '.join(problems)}; {origin}")
    else:
        run.add(
            "pdf-signature",
            True,
            f"{REPORT_PDF_NAME}: intact, valid, trusted, covers the entire file, not modified "
            f"after signing; {when}; {origin}",
        )
