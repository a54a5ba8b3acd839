"""Signing material for evidence packs, generated and loaded fully offline.

A key set has two parts: an **Ed25519** key pair that signs the pack manifest
(a DSSE envelope, :mod:`auditkit.sign.manifest`), and a small **local PKI** for
the PDF signature on ``report.pdf``: a self-signed ECDSA P-256 root CA and a
leaf certificate (digitalSignature + nonRepudiation) issued by it.  ECDSA
P-256 was checked with poppler's ``pdfsig`` 22.12 ("Signature is Valid",
"Total document signed"); RSA-3072 works too but is slower and larger.

The leaf certificate *binds* the manifest key: its subjectAltName carries the
URI ``urn:auditkit:manifest-key:sha256:<Ed25519 fingerprint>``, so a verifier
that pins only the root CA still authenticates the manifest key.  The root
CA's private key issues the leaf and is then discarded: nobody, not even a
thief of the keys folder, can mint another certificate under that root.
Rotating means generating a new set (``overwrite=True``).

Files (keys folder: private 0600, public 0644; a pack gets public parts only)::

    manifest-signing-key.pem       Ed25519 private key   -
    manifest-signing-key.pub.pem   Ed25519 public key    keys/manifest-signing-key.pub.pem
    pdf-signing-key.pem            leaf private key      -
    pdf-signing-cert.pem           leaf certificate      keys/pdf-signing-chain.pem (leaf,
    pdf-root-ca.pem                root CA certificate     then root CA)

Fingerprints are lowercase hex SHA-256 of the raw 32-byte Ed25519 public key
and of the root certificate's DER encoding.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.x509.oid import NameOID

from auditkit.errors import KeyMaterialError
from auditkit.sign.certs import (
    BINDING_URI_PREFIX,
    has_signing_key_usage,
    is_self_signed_ca,
    issued_by,
    manifest_key_binding,
)

MANIFEST_PRIVATE_KEY_FILE = "manifest-signing-key.pem"
MANIFEST_PUBLIC_KEY_FILE = "manifest-signing-key.pub.pem"
PDF_PRIVATE_KEY_FILE = "pdf-signing-key.pem"
CERT_FILE = "pdf-signing-cert.pem"
ROOT_CERT_FILE = "pdf-root-ca.pem"

#: Where the public material sits inside a pack (POSIX, relative to the pack root).
PACK_MANIFEST_KEY_PATH = "keys/manifest-signing-key.pub.pem"
PACK_CHAIN_PATH = "keys/pdf-signing-chain.pem"

_PRIVATE_MODE = 0o600
_PUBLIC_MODE = 0o644
_MAX_KEY_FILE_BYTES = 1 << 20
_ROOT_VALIDITY = dt.timedelta(days=20 * 365)
_LEAF_VALIDITY = dt.timedelta(days=10 * 365)
_CLOCK_SKEW = dt.timedelta(hours=1)

PdfPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def ed25519_fingerprint(public_key: Ed25519PublicKey) -> str:
    """Return the lowercase hex SHA-256 of the raw 32-byte Ed25519 public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """Return the lowercase hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class SigningMaterial:
    """A usable key set: the manifest key and the PDF leaf key with its chain.

    Private keys are excluded from ``repr`` so they never reach a log line.
    """

    manifest_private_key: Ed25519PrivateKey = field(repr=False)
    pdf_private_key: PdfPrivateKey = field(repr=False)
    pdf_certificate: x509.Certificate
    root_certificate: x509.Certificate

    @property
    def manifest_public_key(self) -> Ed25519PublicKey:
        """The Ed25519 public key that verifies the manifest."""
        return self.manifest_private_key.public_key()

    @property
    def manifest_key_fingerprint(self) -> str:
        """SHA-256 (hex) of the raw Ed25519 public key; also the DSSE ``keyid``."""
        return ed25519_fingerprint(self.manifest_public_key)

    @property
    def root_fingerprint(self) -> str:
        """SHA-256 (hex) of the root CA certificate's DER encoding."""
        return certificate_fingerprint(self.root_certificate)


@dataclass(frozen=True)
class KeyInfo:
    """Where :func:`generate_keys` wrote the key set, and its fingerprints."""

    keys_dir: Path
    manifest_private_key: Path
    manifest_public_key: Path
    pdf_private_key: Path
    pdf_certificate: Path
    root_certificate: Path
    manifest_key_fingerprint: str
    root_fingerprint: str


# --------------------------------------------------------------------------- generation


def _start(valid_from: dt.datetime | None) -> dt.datetime:
    if valid_from is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0) - _CLOCK_SKEW
    if valid_from.tzinfo is None:
        raise KeyMaterialError("certificate validity start must be timezone-aware")
    return valid_from.astimezone(dt.UTC).replace(microsecond=0)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = (
        "digital_signature content_commitment key_encipherment data_encipherment "
        "key_agreement key_cert_sign crl_sign encipher_only decipher_only"
    ).split()
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _certificate(
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    start: dt.datetime,
    validity: dt.timedelta,
    extensions: list[x509.ExtensionType],
    *,
    subject: x509.Name | None = None,
) -> x509.Certificate:
    """Issue a certificate; BasicConstraints and KeyUsage are marked critical."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or issuer)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    for ext in extensions:
        critical = isinstance(ext, x509.BasicConstraints | x509.KeyUsage)
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _build_material(subject_name: str, valid_from: dt.datetime | None) -> SigningMaterial:
    name = " ".join(subject_name.split())
    if not name:
        raise KeyMaterialError("subject name for the signing certificates is empty")
    if len(name) > 40:  # CN is limited to 64 characters; leave room for the suffixes
        name = name[:40]
    start = _start(valid_from)

    manifest_key = Ed25519PrivateKey.generate()
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())

    binding = BINDING_URI_PREFIX + ed25519_fingerprint(manifest_key.public_key())
    root_name = _name(f"{name} auditkit local root CA", name)
    root_cert = _certificate(
        root_name,
        root_key,
        root_key.public_key(),
        start,
        _ROOT_VALIDITY,
        [
            x509.BasicConstraints(ca=True, path_length=0),
            _key_usage(key_cert_sign=True, crl_sign=True),
        ],
    )
    leaf_cert = _certificate(
        root_name,
        root_key,
        leaf_key.public_key(),
        start,
        _LEAF_VALIDITY,
        [
            x509.BasicConstraints(ca=False, path_length=None),
            _key_usage(digital_signature=True, content_commitment=True),  # + nonRepudiation
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(binding)]),
        ],
        subject=_name(f"{name} auditkit evidence pack signer", name),
    )
    # root_key goes out of scope here: it is never stored anywhere.
    return SigningMaterial(
        manifest_private_key=manifest_key,
        pdf_private_key=leaf_key,
        pdf_certificate=leaf_cert,
        root_certificate=root_cert,
    )


def generate_ephemeral(
    subject_name: str, *, valid_from: dt.datetime | None = None
) -> SigningMaterial:
    """Create a throwaway in-memory key set (nothing is written to disk).

    Used by the demo when a workspace has no key.  ``valid_from`` sets the
    start of the certificates' validity (default: one hour before the wall
    clock, to absorb clock skew).
    """
    return _build_material(subject_name, valid_from)


def _pem_private(key: Ed25519PrivateKey | PdfPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_temp(directory: Path, final_name: str, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new temporary file created with ``mode``; return its path.

    ``os.open`` creates the file with its final mode, so a private file is
    never readable by others, not even for an instant.  Public files get
    ``fchmod`` to exactly ``mode`` before any byte is written (a restrictive
    umask would otherwise leave them 0600).
    """
    tmp = directory / f".{final_name}.tmp-{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        if mode != _PRIVATE_MODE:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return tmp


def _install(directory: Path, files: list[tuple[str, bytes, int]]) -> None:
    """Write every file to a temporary name first, then rename them all into place."""
    temps: list[tuple[Path, Path]] = []
    try:
        for name, data, mode in files:
            temps.append((_write_temp(directory, name, data, mode), directory / name))
        for tmp, final in temps:
            os.replace(tmp, final)
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise KeyMaterialError(f"cannot write key files: {exc.strerror}", path=directory) from exc
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def generate_keys(
    keys_dir: Path,
    *,
    subject_name: str,
    overwrite: bool = False,
    valid_from: dt.datetime | None = None,
) -> KeyInfo:
    """Generate a key set offline and write it to ``keys_dir``.

    ``keys_dir`` is created with mode 0700 when missing.  Private key files
    are created with mode 0600, public files with 0644.  Existing key files
    are never replaced unless ``overwrite`` is true (:class:`KeyMaterialError`
    otherwise).  ``valid_from`` sets the certificates' validity start (default:
    one hour before the wall clock).
    """
    material = _build_material(subject_name, valid_from)
    try:
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyMaterialError(f"cannot create keys folder: {exc.strerror}", path=keys_dir) from exc
    _own_keys_dir(keys_dir, fix_mode=True)
    files = [
        (MANIFEST_PRIVATE_KEY_FILE, _pem_private(material.manifest_private_key), _PRIVATE_MODE),
        (MANIFEST_PUBLIC_KEY_FILE, _pem_public(material.manifest_public_key), _PUBLIC_MODE),
        (PDF_PRIVATE_KEY_FILE, _pem_private(material.pdf_private_key), _PRIVATE_MODE),
        (CERT_FILE, _pem_cert(material.pdf_certificate), _PUBLIC_MODE),
        (ROOT_CERT_FILE, _pem_cert(material.root_certificate), _PUBLIC_MODE),
    ]
    existing = [name for name, _, _ in files if os.path.lexists(keys_dir / name)]
    for name in existing:
        _refuse_foreign(os.lstat(keys_dir / name), keys_dir / name)
    if existing and not overwrite:
        raise KeyMaterialError(
            f"signing keys already exist ({', '.join(existing)}); "
            "refusing to replace them (auditkit keygen --force rotates them)",
            path=keys_dir,
        )
    _install(keys_dir, files)
    return KeyInfo(
        keys_dir=keys_dir,
        manifest_private_key=keys_dir / MANIFEST_PRIVATE_KEY_FILE,
        manifest_public_key=keys_dir / MANIFEST_PUBLIC_KEY_FILE,
        pdf_private_key=keys_dir / PDF_PRIVATE_KEY_FILE,
        pdf_certificate=keys_dir / CERT_FILE,
        root_certificate=keys_dir / ROOT_CERT_FILE,
        manifest_key_fingerprint=material.manifest_key_fingerprint,
        root_fingerprint=material.root_fingerprint,
    )


# --------------------------------------------------------------------------- ownership


def _refuse_foreign(st: os.stat_result, path: Path) -> None:
    """Key material must belong to the user running auditkit: a file someone else owns
    could have been planted (or be swapped) by them."""
    if st.st_uid != os.geteuid():
        raise KeyMaterialError(
            f"owned by another user (uid {st.st_uid}); signing material must be your own",
            path=path,
        )


def _own_keys_dir(keys_dir: Path, *, fix_mode: bool) -> None:
    """The keys folder: a real folder of ours; ``fix_mode`` makes it 0700, otherwise
    a folder others may write to is refused."""
    try:
        st = os.lstat(keys_dir)
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot use the keys folder: {exc.strerror}", path=keys_dir
        ) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise KeyMaterialError("keys path exists and is not a folder", path=keys_dir)
    _refuse_foreign(st, keys_dir)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        if not fix_mode:
            if not mode & 0o022:
                return  # readable only: the private files themselves are 0600
            raise KeyMaterialError(
                f"keys folder mode is {mode:04o}: other users could replace the keys; "
                "run chmod 700 on it",
                path=keys_dir,
            )
        try:
            os.chmod(keys_dir, 0o700)
        except OSError as exc:
            raise KeyMaterialError(
                f"cannot make the keys folder private: {exc.strerror}", path=keys_dir
            ) from exc


# --------------------------------------------------------------------------- loading


def _read_key_file(path: Path, *, private: bool) -> bytes:
    """Read a key file without following a symlink; enforce 0600 on private files."""
    try:
        # O_NONBLOCK: a FIFO planted in the keys folder is refused below, not waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        why = "is missing" if isinstance(exc, FileNotFoundError) else f"cannot be opened: {exc}"
        raise KeyMaterialError(f"signing key file {why}", path=path) from exc
    try:
        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_KEY_FILE_BYTES:
            raise KeyMaterialError("signing key path is not a small regular file", path=path)
        _refuse_foreign(st, path)
        if private and mode & 0o077:
            raise KeyMaterialError(
                f"private key file mode is {mode:04o}, looser than 0600; run chmod 600 on it",
                path=path,
            )
        return os.read(fd, _MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyMaterialError(f"cannot read signing key file: {exc.strerror}", path=path) from exc
    finally:
        os.close(fd)


def _load_private(path: Path) -> object:
    try:
        return serialization.load_pem_private_key(_read_key_file(path, private=True), None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError("not an unencrypted PEM private key", path=path) from exc


def _load_cert(path: Path) -> x509.Certificate:
    try:
        certs = x509.load_pem_x509_certificates(_read_key_file(path, private=False))
    except ValueError as exc:
        raise KeyMaterialError("not a PEM certificate", path=path) from exc
    if len(certs) != 1:
        raise KeyMaterialError(f"expected one certificate, found {len(certs)}", path=path)
    return certs[0]


def _check_chain(material: SigningMaterial, keys_dir: Path) -> None:
    leaf, root = material.pdf_certificate, material.root_certificate
    problem = None
    if not is_self_signed_ca(root):
        problem = "root certificate is not a self-signed CA certificate"
    elif not issued_by(leaf, root):
        problem = "leaf certificate was not issued by the root CA"
    elif leaf.public_key() != material.pdf_private_key.public_key():
        problem = "PDF signing key does not match its certificate"
    elif not has_signing_key_usage(leaf):
        problem = "leaf certificate lacks digitalSignature and nonRepudiation key usage"
    elif manifest_key_binding(leaf) != material.manifest_key_fingerprint:
        problem = "leaf certificate does not name this manifest key; regenerate the key set"
    if problem is not None:
        raise KeyMaterialError(problem, path=keys_dir)


def load_signing_material(keys_dir: Path) -> SigningMaterial:
    """Load and cross-check a key set written by :func:`generate_keys`.

    Raises :class:`KeyMaterialError` with a one-line reason when a file is
    missing, unreadable, a symlink, of the wrong key type, when a private file
    is readable by group or others, or when the parts do not belong together.
    """
    if not keys_dir.is_dir():
        raise KeyMaterialError(
            "no signing keys folder; run 'auditkit keys generate' first", path=keys_dir
        )
    _own_keys_dir(keys_dir, fix_mode=False)
    manifest_key = _load_private(keys_dir / MANIFEST_PRIVATE_KEY_FILE)
    if not isinstance(manifest_key, Ed25519PrivateKey):
        raise KeyMaterialError(
            "manifest signing key is not an Ed25519 key", path=keys_dir / MANIFEST_PRIVATE_KEY_FILE
        )
    pub_path = keys_dir / MANIFEST_PUBLIC_KEY_FILE
    try:
        public = serialization.load_pem_public_key(_read_key_file(pub_path, private=False))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError("not a PEM public key", path=pub_path) from exc
    if not isinstance(public, Ed25519PublicKey) or public != manifest_key.public_key():
        raise KeyMaterialError("public key does not match the manifest signing key", path=pub_path)
    pdf_key = _load_private(keys_dir / PDF_PRIVATE_KEY_FILE)
    if not isinstance(pdf_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyMaterialError(
            "PDF signing key is not an ECDSA or RSA key", path=keys_dir / PDF_PRIVATE_KEY_FILE
        )
    material = SigningMaterial(
        manifest_private_key=manifest_key,
        pdf_private_key=pdf_key,
        pdf_certificate=_load_cert(keys_dir / CERT_FILE),
        root_certificate=_load_cert(keys_dir / ROOT_CERT_FILE),
    )
    _check_chain(material, keys_dir)
    return material


# --------------------------------------------------------------------------- pack output


def write_public_material(material: SigningMaterial, pack_dir: Path) -> list[Path]:
    """Write the public key and the PDF certificate chain into ``pack_dir/keys/``.

    Writes :data:`PACK_MANIFEST_KEY_PATH` (Ed25519 public key PEM) and
    :data:`PACK_CHAIN_PATH` (leaf certificate PEM followed by the root CA PEM),
    both mode 0644, and returns their paths.  Private material is never
    written into a pack.
    """
    keys_dir = pack_dir / "keys"
    try:
        keys_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot create pack keys folder: {exc.strerror}", path=keys_dir
        ) from exc
    key_name = PACK_MANIFEST_KEY_PATH.rsplit("/", 1)[1]
    chain_name = PACK_CHAIN_PATH.rsplit("/", 1)[1]
    chain = _pem_cert(material.pdf_certificate) + _pem_cert(material.root_certificate)
    _install(
        keys_dir,
        [
            (key_name, _pem_public(material.manifest_public_key), _PUBLIC_MODE),
            (chain_name, chain, _PUBLIC_MODE),
        ],
    )
    return [keys_dir / key_name, keys_dir / chain_name]
