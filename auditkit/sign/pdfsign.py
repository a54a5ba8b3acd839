"""Sign ``report.pdf`` (PAdES B-B, offline) and validate such a signature offline.

Signing uses pyHanko's **library API** only.  Its command line is never used
because it auto-loads ``./pyhanko.yml`` from the working directory, which a
hostile folder could plant.

The signature is invisible, subfilter ``ETSI.CAdES.detached`` at PAdES B-B
level: no timestamp authority, no embedded revocation data, no network.  The
signing time (``/M`` in the signature dictionary) is the caller's *claimed*
time, and the ``/Reason`` text says so; it is not a trusted timestamp.

The module also holds the certificate conventions shared by signing, key
loading and verify: the manifest-key binding URI in the leaf certificate,
the key usage a signer needs, what counts as a root CA, and how the root is
read from a pack's chain file.

Determinism: given the same input PDF, key material, claimed time, reason and
location, and the same pyHanko/cryptography versions, the output is
byte-identical.  pyHanko would otherwise put three varying things in the file:

* the second ``/ID`` element (random): we derive it from the input bytes, the
  claimed time, the reason text and the signer certificate;
* ``/ModDate`` in the document info (and XMP, if present): wall clock; we pin
  it to the claimed time;
* the ECDSA nonce: we sign with deterministic ECDSA (RFC 6979) when the
  installed OpenSSL supports it (>= 3.2), randomized ECDSA otherwise.

The first two rely on pyHanko internals (``IncrementalPdfFileWriter
._document_id`` and ``BasePdfFileWriter._meta``, checked against pyHanko
0.38); if they change, signatures stay valid but are no longer reproducible,
and the test suite's reproducibility test fails.  The ``/Producer`` entry
names the pyHanko version, so outputs differ across pyHanko upgrades.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from auditkit.errors import InputError, InternalError, PackError
from auditkit.sign.archive import PackSource
from auditkit.sign.certs import has_signing_key_usage, is_self_signed_ca, manifest_key_binding
from auditkit.sign.keys import SigningMaterial

#: Name of the (invisible) signature form field auditkit creates.
SIGNATURE_FIELD_NAME = "AuditkitEvidencePackSignature"
_SUBFILTER = "/ETSI.CAdES.detached"
_MAX_CHAIN_BYTES = 1 << 20


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """Silence pyHanko's own log records while it runs.

    pyHanko logs validation failures (with tracebacks) at ERROR level; with
    no logging configured Python would print them to stderr, and the library
    never prints.  Every failure is reported through our return values or
    exceptions instead.  This briefly changes two loggers' levels, so it is
    not meant for concurrent use from several threads.
    """
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _claimed_utc(claimed_time: dt.datetime) -> dt.datetime:
    if claimed_time.tzinfo is None or claimed_time.utcoffset() is None:
        raise InternalError("claimed_time must be timezone-aware")
    return claimed_time.astimezone(dt.UTC).replace(microsecond=0)


def claimed_reason(reason: str, claimed_time: dt.datetime) -> str:
    """Return the ``/Reason`` text: the caller's reason plus the claimed-time notice."""
    stamp = _claimed_utc(claimed_time).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = " ".join(reason.split())
    notice = f"signing time {stamp} claimed by the signer, not a trusted timestamp"
    return f"{base}; {notice}" if base else notice


class _PinnedClockMetadata(DocumentMetadata):
    """Document metadata whose "now" is the claimed signing time."""

    def __init__(self, claimed: dt.datetime) -> None:
        super().__init__(last_modified=claimed)
        object.__setattr__(self, "_auditkit_claimed", claimed)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "last_modified" and value == "now":
            value = getattr(self, "_auditkit_claimed", value)
        super().__setattr__(name, value)


class _DeterministicSigner(signers.SimpleSigner):
    """SimpleSigner that uses RFC 6979 deterministic ECDSA when available."""

    def __init__(self, *, private_key: ec.EllipticCurvePrivateKey | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._auditkit_ec_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        key = self._auditkit_ec_key
        if key is not None:
            algos: dict[str, hashes.HashAlgorithm] = {
                "sha256": hashes.SHA256(),
                "sha384": hashes.SHA384(),
                "sha512": hashes.SHA512(),
            }
            algo = algos.get(digest_algorithm.lower())
            if algo is not None:
                try:
                    return key.sign(data, ec.ECDSA(algo, deterministic_signing=True))
                except UnsupportedAlgorithm:
                    pass  # old OpenSSL: fall back to randomized ECDSA below
        result: bytes = super().sign_raw(data, digest_algorithm)
        return result


class _ClaimedTimePdfSigner(PdfSigner):
    """PdfSigner whose signing session uses the claimed time instead of the clock."""

    def __init__(self, claimed: dt.datetime, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._auditkit_claimed = claimed

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._auditkit_claimed
        return session


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _document_id(writer: Any, pdf: bytes, claimed: dt.datetime, reason: str, leaf: bytes) -> None:
    """Replace pyHanko's random second /ID element by one derived from the inputs."""
    current = getattr(writer, "_document_id", None)
    if current is None:
        return
    seed = hashlib.sha256()
    for part in (b"auditkit-pdf-id-v1", pdf, claimed.isoformat().encode(), reason.encode(), leaf):
        seed.update(len(part).to_bytes(8, "big"))
        seed.update(part)
    digest = seed.digest()
    try:
        first = writer.prev.trailer["/ID"][0]
        id1 = generic.ByteStringObject(first.original_bytes)
    except (KeyError, IndexError, TypeError, AttributeError):
        id1 = generic.ByteStringObject(hashlib.sha256(b"auditkit-pdf-id1" + pdf).digest()[:16])
    writer._document_id = generic.ArrayObject([id1, generic.ByteStringObject(digest[:16])])


def sign_pdf(
    pdf_in: Path,
    pdf_out: Path,
    material: SigningMaterial,
    *,
    claimed_time: dt.datetime,
    reason: str,
    location: str | None = None,
) -> None:
    """Sign ``pdf_in`` with an invisible PAdES B-B signature and write ``pdf_out``.

    ``claimed_time`` (timezone-aware; stored in UTC, to the second) becomes
    the signature's ``/M`` entry.  The ``/Reason`` text is ``reason`` followed
    by a notice that the time is claimed by the signer (:func:`claimed_reason`).
    The output is written to a temporary file, fsynced and renamed into place,
    so ``pdf_out`` may equal ``pdf_in``.  Nothing is fetched from the network.

    Must not be called from a running asyncio event loop (pyHanko's
    synchronous API starts its own).
    """
    claimed = _claimed_utc(claimed_time)
    full_reason = claimed_reason(reason, claimed)
    try:
        pdf = pdf_in.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read PDF to sign: {exc.strerror}", path=pdf_in) from exc

    leaf_der = material.pdf_certificate.public_bytes(serialization.Encoding.DER)
    key_der = material.pdf_private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ec_key = material.pdf_private_key
    signer = _DeterministicSigner(
        private_key=ec_key if isinstance(ec_key, ec.EllipticCurvePrivateKey) else None,
        signing_cert=asn1_x509.Certificate.load(leaf_der),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1_cert(material.root_certificate)]
        ),
    )
    meta = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=full_reason,
        location=location,
        embed_validation_info=False,
        use_pades_lta=False,
        validation_context=None,
    )
    pdf_signer = _ClaimedTimePdfSigner(
        claimed,
        meta,
        signer,
        timestamper=None,
        new_field_spec=fields.SigFieldSpec(sig_field_name=SIGNATURE_FIELD_NAME, box=None),
    )
    try:
        with _quiet_pyhanko():
            out = _sign(pdf_signer, pdf, claimed, full_reason, leaf_der)
    except Exception as exc:  # pyHanko raises many types for a bad input PDF
        raise InputError(f"cannot sign PDF: {type(exc).__name__}: {exc}", path=pdf_in) from exc
    _atomic_write(pdf_out, out)


def _sign(
    pdf_signer: PdfSigner, pdf: bytes, claimed: dt.datetime, reason: str, leaf_der: bytes
) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    if hasattr(writer, "_meta"):
        writer._meta = _PinnedClockMetadata(claimed)
    _document_id(writer, pdf, claimed, reason, leaf_der)
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, output=out)
    return out.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write signed PDF: {exc.strerror}", path=path) from exc


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class PdfValidation:
    """Outcome of :func:`validate_signed_pdf`.

    ``ok`` is true only when every requirement holds; ``problems`` lists the
    ones that do not.  ``chain_trusted`` says whether the signer certificate
    chains to the pinned root (used to bind the manifest key to that root).
    ``claimed_time`` is the signer's own ``/M`` entry, not a trusted time.
    """

    ok: bool
    problems: list[str] = field(default_factory=list)
    chain_trusted: bool = False
    signer_certificate: x509.Certificate | None = None
    claimed_time: dt.datetime | None = None
    reason: str | None = None


def validate_signed_pdf(pdf: bytes, trusted_root: x509.Certificate) -> PdfValidation:
    """Validate the single signature of an in-memory PDF against one pinned root.

    Requirements: exactly one signature; subfilter ``ETSI.CAdES.detached``;
    pyHanko reports it intact, valid and trusted by ``trusted_root`` alone
    (no system trust store, no fetching of certificates or revocation data;
    revocation is not checked because the local PKI publishes none); coverage
    ``ENTIRE_FILE`` and modification level ``NONE`` (no incremental update,
    no appended bytes); the signer certificate has digitalSignature and
    nonRepudiation key usage.  The certificate chain is validated at the
    verifier's current time because the signing time is only claimed.

    Never raises for a hostile or damaged PDF: every failure is a problem.
    """
    with _quiet_pyhanko():
        return _validate(pdf, trusted_root)


def _validate(pdf: bytes, trusted_root: x509.Certificate) -> PdfValidation:
    """Implementation of :func:`validate_signed_pdf`."""
    problems: list[str] = []
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        if reader.encrypted:
            return PdfValidation(ok=False, problems=["the PDF is encrypted"])
        sigs = reader.embedded_signatures
    except Exception as exc:  # hostile input: any parser failure is a finding
        return PdfValidation(ok=False, problems=[f"cannot parse the PDF ({type(exc).__name__})"])
    if len(sigs) != 1:
        return PdfValidation(ok=False, problems=[f"expected 1 signature, found {len(sigs)}"])
    sig = sigs[0]
    try:
        subfilter = str(sig.sig_object.get("/SubFilter"))
        if subfilter != _SUBFILTER:
            problems.append(f"subfilter is {subfilter}, expected {_SUBFILTER}")
        context = ValidationContext(
            trust_roots=[_asn1_cert(trusted_root)],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = validate_pdf_signature(sig, signer_validation_context=context)
    except Exception as exc:  # hostile input: any validator failure is a finding
        return PdfValidation(
            ok=False, problems=[f"signature cannot be validated ({type(exc).__name__}: {exc})"]
        )
    if not status.intact:
        problems.append("signed bytes were altered (not intact)")
    if not status.valid:
        problems.append("cryptographic signature is not valid")
    if not status.trusted:
        problems.append("signer certificate does not chain to the pinned root")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        name = status.coverage.name if status.coverage is not None else "unknown"
        problems.append(f"signature does not cover the entire file (coverage {name})")
    level = status.modification_level
    if level != ModificationLevel.NONE:
        problems.append(
            f"document modified after signing (level {level.name if level else 'unknown'})"
        )
    if not status.bottom_line:
        problems.append("pyHanko's overall judgement is negative")
    signer_cert: x509.Certificate | None = None
    try:
        signer_cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    except Exception:  # missing or malformed certificate
        problems.append("signer certificate is unreadable")
    if signer_cert is not None and not has_signing_key_usage(signer_cert):
        problems.append("signer certificate lacks digitalSignature + nonRepudiation")
    reason_obj = sig.sig_object.get("/Reason")
    reason = str(reason_obj) if reason_obj is not None else None
    claimed = status.signer_reported_dt
    return PdfValidation(
        ok=not problems,
        problems=sorted(set(problems), key=problems.index),
        chain_trusted=bool(status.trusted and status.valid and status.intact),
        signer_certificate=signer_cert,
        claimed_time=claimed if isinstance(claimed, dt.datetime) else None,
        reason=reason,
    )


def signer_manifest_key(validation: PdfValidation) -> str | None:
    """Return the manifest-key fingerprint named by the PDF signer certificate."""
    if validation.signer_certificate is None:
        return None
    return manifest_key_binding(validation.signer_certificate)


def read_pack_root(source: PackSource, chain_path: str) -> tuple[x509.Certificate | None, str]:
    """Return the one root CA in the pack's chain file, or ``None`` and the reason."""
    if chain_path not in source.files():
        return None, f"the pack has no {chain_path}"
    try:
        certs = x509.load_pem_x509_certificates(source.read_bytes(chain_path, _MAX_CHAIN_BYTES))
    except PackError as exc:
        return None, exc.message
    except ValueError:
        return None, f"{chain_path} is not a PEM certificate chain"
    roots = [c for c in certs if is_self_signed_ca(c)]
    if len(roots) != 1:
        return None, f"{chain_path} must hold exactly one root CA, found {len(roots)}"
    return roots[0], ""
