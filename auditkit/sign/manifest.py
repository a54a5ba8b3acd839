"""The signed pack manifest: a DSSE envelope over an in-toto Statement v1.

``manifest.dsse.json`` at the pack root is a DSSE envelope
(https://github.com/secure-systems-lab/dsse)::

    {"payload": "<base64 statement>", "payloadType": "application/vnd.in-toto+json",
     "signatures": [{"keyid": "<sha256 of the raw Ed25519 key>", "sig": "<base64>"}]}

The signature is Ed25519 over the DSSE pre-authentication encoding
``"DSSEv1" SP len(type) SP type SP len(body) SP body``.  ``keyid`` is only a
hint; a verifier tries its pinned key whatever the hint says.

The payload is an in-toto Statement v1 with exactly these fields::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "<relative POSIX path>", "digest": {"sha256": "<hex>"}}, ...],
     "predicateType": "https://auditkit.dev/evidence-pack/v1",
     "predicate": {...}}

``subject`` lists **every** file of the pack except the manifest itself,
sorted by name; in-toto matches artifacts by digest only, so the verifier
also requires the pack's file set to equal the subject set.  ``predicate`` is
the caller's dict (tool version, run id, catalog/config/input digests, ...);
it must hold :data:`CLAIMED_TIME_KEY` (RFC 3339 with a UTC offset, the
signer's claimed time) and should hold :data:`PACK_ID_KEY` (a non-empty
string; ``verify --expect-pack-id`` needs it).

The parse helpers here are strict (no duplicate JSON keys, no NaN, no unknown
fields) and raise :class:`~auditkit.errors.PackError` with the reason; verify
turns those into failed checks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditkit.errors import InternalError, PackError
from auditkit.sign.archive import DirectorySource, PackSource, check_member_name, name_key
from auditkit.sign.keys import PACK_MANIFEST_KEY_PATH, SigningMaterial

MANIFEST_NAME = "manifest.dsse.json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://auditkit.dev/evidence-pack/v1"
CLAIMED_TIME_KEY = "claimed_time"
PACK_ID_KEY = "pack_id"
MAX_MANIFEST_BYTES = 64 << 20
_MAX_SIGNATURES = 16
_MAX_PUBLIC_KEY_BYTES = 1 << 16
_HEX64 = re.compile(r"[0-9a-f]{64}")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of ``payload_type`` and ``payload``."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


# --------------------------------------------------------------------------- parsing


def _show(value: Any) -> str:
    """An untrusted value for a one-line message: escaped and at most 80 characters."""
    text = ascii(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate JSON key {_show(key)}")
        result[key] = value
    return result


def _no_constants(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")


def strict_json_loads(data: bytes, what: str) -> Any:
    """Parse UTF-8 JSON, rejecting duplicate keys, NaN/Infinity and deep nesting.

    Raises :class:`PackError` naming ``what`` on any problem.
    """
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError as exc:
        raise PackError(f"{what} is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackError(f"{what} is not valid JSON: {exc}") from exc


def _b64decode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise PackError(f"{what} is not a base64 string")
    try:
        if _B64.fullmatch(value):
            return base64.b64decode(value, validate=True)
        if _B64URL.fullmatch(value):
            return base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError) as exc:
        raise PackError(f"{what} is not valid base64") from exc
    raise PackError(f"{what} is not valid base64")


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope; ``signatures`` holds ``(keyid hint, signature)``."""

    payload_type: str
    payload: bytes
    signatures: list[tuple[str | None, bytes]]


def parse_envelope(data: bytes) -> Envelope:
    """Parse ``manifest.dsse.json`` strictly; :class:`PackError` with the reason if bad.

    Checks the shape and the payloadType only; it does not look inside the
    payload (that happens after the signature verifies).
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise PackError(f"manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    doc = strict_json_loads(data, "manifest")
    if not isinstance(doc, dict):
        raise PackError("manifest is not a JSON object")
    fields = set(doc)
    if fields != {"payload", "payloadType", "signatures"}:
        extra = sorted(fields - {"payload", "payloadType", "signatures"})
        missing = sorted({"payload", "payloadType", "signatures"} - fields)
        raise PackError(f"not a DSSE envelope (unknown fields {extra}, missing {missing})")
    if doc["payloadType"] != PAYLOAD_TYPE:
        raise PackError(f"payloadType is {_show(doc['payloadType'])}, expected {PAYLOAD_TYPE!r}")
    payload = _b64decode(doc["payload"], "payload")
    sigs = doc["signatures"]
    if not isinstance(sigs, list) or not sigs:
        raise PackError("envelope has no signatures")
    if len(sigs) > _MAX_SIGNATURES:
        raise PackError(f"envelope has more than {_MAX_SIGNATURES} signatures")
    parsed: list[tuple[str | None, bytes]] = []
    for index, sig in enumerate(sigs):
        if not isinstance(sig, dict) or "sig" not in sig or not set(sig) <= {"sig", "keyid"}:
            raise PackError(f"signature {index} is not a DSSE signature object")
        keyid = sig.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise PackError(f"signature {index} has a non-string keyid")
        parsed.append((keyid, _b64decode(sig["sig"], f"signature {index}")))
    return Envelope(payload_type=PAYLOAD_TYPE, payload=payload, signatures=parsed)


def envelope_signed_by(envelope: Envelope, key: Ed25519PublicKey) -> bool:
    """True when any signature verifies with ``key`` over the PAE (keyid ignored)."""
    message = pae(envelope.payload_type, envelope.payload)
    for _keyid, signature in envelope.signatures:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


@dataclass(frozen=True)
class Statement:
    """A parsed, validated statement: ``subjects`` maps name to sha256 hex."""

    subjects: dict[str, str]
    predicate: dict[str, Any]

    @property
    def claimed_time(self) -> str:
        """The signer's claimed time, as written in the predicate."""
        return str(self.predicate[CLAIMED_TIME_KEY])

    @property
    def pack_id(self) -> str | None:
        """The pack id from the predicate, if the builder recorded one."""
        value = self.predicate.get(PACK_ID_KEY)
        return value if isinstance(value, str) else None


def _check_predicate(predicate: Any) -> dict[str, Any]:
    if not isinstance(predicate, dict):
        raise PackError("predicate is not an object")
    claimed = predicate.get(CLAIMED_TIME_KEY)
    if not isinstance(claimed, str):
        raise PackError(f"predicate has no {CLAIMED_TIME_KEY!r} string")
    try:
        parsed = dt.datetime.fromisoformat(claimed)
    except ValueError as exc:
        raise PackError(f"predicate {CLAIMED_TIME_KEY!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise PackError(f"predicate {CLAIMED_TIME_KEY!r} has no UTC offset")
    pack_id = predicate.get(PACK_ID_KEY)
    if pack_id is not None and (not isinstance(pack_id, str) or not pack_id):
        raise PackError(f"predicate {PACK_ID_KEY!r} is not a non-empty string")
    return predicate


def parse_statement(payload: bytes, predicate_type: str = PREDICATE_TYPE) -> Statement:
    """Parse and validate the statement; only call after the signature verified.

    ``predicate_type`` is the one expected: a pack's, or a SIEM export's.
    """
    doc = strict_json_loads(payload, "statement")
    if not isinstance(doc, dict):
        raise PackError("statement is not a JSON object")
    expected = {"_type", "subject", "predicateType", "predicate"}
    if set(doc) != expected:
        extra, missing = sorted(set(doc) - expected), sorted(expected - set(doc))
        raise PackError(f"statement fields differ (unknown {extra}, missing {missing})")
    if doc["_type"] != STATEMENT_TYPE:
        raise PackError(f"_type is {_show(doc['_type'])}, expected {STATEMENT_TYPE!r}")
    if doc["predicateType"] != predicate_type:
        raise PackError(
            f"predicateType is {_show(doc['predicateType'])}, expected {predicate_type!r}"
        )
    subjects_raw = doc["subject"]
    if not isinstance(subjects_raw, list) or not subjects_raw:
        raise PackError("statement has no subjects")
    subjects: dict[str, str] = {}
    keys: dict[str, str] = {}
    for index, item in enumerate(subjects_raw):
        if not isinstance(item, dict) or set(item) != {"name", "digest"}:
            raise PackError(f"subject {index} must have exactly 'name' and 'digest'")
        name, digest = item["name"], item["digest"]
        if not isinstance(name, str):
            raise PackError(f"subject {index} name is not a string")
        reason = check_member_name(name)
        if reason is not None:
            raise PackError(f"subject {index} name is unsafe ({reason}): {ascii(name)}")
        if name == MANIFEST_NAME:
            raise PackError("the manifest lists itself as a subject")
        if not isinstance(digest, dict) or set(digest) != {"sha256"}:
            raise PackError(f"subject {ascii(name)} digest must be exactly {{'sha256': ...}}")
        if not isinstance(digest["sha256"], str) or not _HEX64.fullmatch(digest["sha256"]):
            raise PackError(f"subject {ascii(name)} sha256 is not 64 lowercase hex digits")
        key = name_key(name)
        if name in subjects or key in keys:
            raise PackError(f"duplicate subject: {ascii(keys.get(key, name))} and {ascii(name)}")
        subjects[name] = digest["sha256"]
        keys[key] = name
    return Statement(subjects=subjects, predicate=_check_predicate(doc["predicate"]))


# --------------------------------------------------------------------------- building


def _canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def signed_envelope(
    material: SigningMaterial,
    subjects: list[tuple[str, str]],
    predicate: dict[str, Any],
    predicate_type: str,
) -> bytes:
    """The DSSE envelope (bytes to write) over a statement of ``(name, sha256)`` subjects.

    The caller has validated ``predicate`` (JSON-ready, with the claimed time).
    """
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in subjects],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    payload = _canonical(statement)
    signature = material.manifest_private_key.sign(pae(PAYLOAD_TYPE, payload))
    envelope = {
        "payload": base64.b64encode(payload).decode("ascii"),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [
            {
                "keyid": material.manifest_key_fingerprint,
                "sig": base64.b64encode(signature).decode("ascii"),
            }
        ],
    }
    return (json.dumps(envelope, indent=2, sort_keys=True) + "\n").encode("ascii")


def build_and_sign_manifest(
    pack_dir: Path, material: SigningMaterial, predicate: dict[str, Any]
) -> Path:
    """Hash every file of ``pack_dir`` (streaming), sign the statement, write the manifest.

    Every regular file except ``manifest.dsse.json`` becomes a subject, sorted
    by name.  Symlinks, special files and unsafe names are refused
    (:class:`PackError`).  ``predicate`` must be JSON-serialisable and hold
    :data:`CLAIMED_TIME_KEY`; :data:`PACK_ID_KEY`, if present, must be a
    non-empty string (:class:`InternalError` otherwise: the caller's bug).
    Call this last, after every other file of the pack is final.  Returns the
    manifest's path.
    """
    try:
        _check_predicate(predicate)
        predicate_copy = json.loads(_canonical(predicate))
    except (PackError, TypeError, ValueError, RecursionError) as exc:
        raise InternalError(f"invalid manifest predicate: {exc}") from exc
    source = DirectorySource(pack_dir)
    if source.problems:
        raise PackError(f"cannot sign the pack folder: {source.problems[0]}", path=pack_dir)
    names = [n for n in source.files() if n != MANIFEST_NAME]
    if not names:
        raise PackError("the pack folder has no files to sign", path=pack_dir)
    subjects = [(n, source.sha256(n)) for n in names]
    data = signed_envelope(material, subjects, predicate_copy, PREDICATE_TYPE)
    target = pack_dir / MANIFEST_NAME
    tmp = pack_dir / f".{MANIFEST_NAME}.tmp-{secrets.token_hex(6)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PackError(f"cannot write the manifest: {exc.strerror}", path=target) from exc
    return target


def read_pack_manifest_key(source: PackSource) -> tuple[Ed25519PublicKey | None, str]:
    """Return the Ed25519 key shipped in the pack, or ``None`` and the reason."""
    if PACK_MANIFEST_KEY_PATH not in source.files():
        return None, f"the pack has no {PACK_MANIFEST_KEY_PATH}"
    try:
        key = serialization.load_pem_public_key(
            source.read_bytes(PACK_MANIFEST_KEY_PATH, _MAX_PUBLIC_KEY_BYTES)
        )
    except PackError as exc:
        return None, exc.message
    except (ValueError, UnsupportedAlgorithm):
        return None, f"{PACK_MANIFEST_KEY_PATH} is not a PEM public key"
    if not isinstance(key, Ed25519PublicKey):
        return None, f"{PACK_MANIFEST_KEY_PATH} is not an Ed25519 key"
    return key, ""
