"""Key generation, loading and the public material written into packs."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from auditkit.errors import KeyMaterialError
from auditkit.sign import keys
from auditkit.sign.certs import manifest_key_binding
from auditkit.sign.keys import (
    SigningMaterial,
    generate_keys,
    load_signing_material,
    write_public_material,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_writes_private_0600_public_0644(tmp_path: Path) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="Example Payments Ltd")
    assert _mode(info.manifest_private_key) == 0o600
    assert _mode(info.pdf_private_key) == 0o600
    for public in (info.manifest_public_key, info.pdf_certificate, info.root_certificate):
        assert _mode(public) == 0o644
    assert _mode(info.keys_dir) == 0o700
    # nothing else (no root CA private key, no temp files) is left behind
    assert sorted(p.name for p in info.keys_dir.iterdir()) == sorted(
        [
            keys.MANIFEST_PRIVATE_KEY_FILE,
            keys.MANIFEST_PUBLIC_KEY_FILE,
            keys.PDF_PRIVATE_KEY_FILE,
            keys.CERT_FILE,
            keys.ROOT_CERT_FILE,
        ]
    )


def test_generate_with_restrictive_umask_still_0644_public(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        info = generate_keys(tmp_path / "keys", subject_name="Umask Ltd")
    finally:
        os.umask(old)
    assert _mode(info.manifest_public_key) == 0o644
    assert _mode(info.manifest_private_key) == 0o600


def test_fingerprints_and_roundtrip(tmp_path: Path) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="Example Payments Ltd")
    material = load_signing_material(info.keys_dir)
    raw = material.manifest_public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert info.manifest_key_fingerprint == hashlib.sha256(raw).hexdigest()
    root_der = material.root_certificate.public_bytes(serialization.Encoding.DER)
    assert info.root_fingerprint == hashlib.sha256(root_der).hexdigest()
    assert material.manifest_key_fingerprint == info.manifest_key_fingerprint
    # the leaf certificate binds the manifest key, and carries the right key usage
    assert manifest_key_binding(material.pdf_certificate) == info.manifest_key_fingerprint
    usage = material.pdf_certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    material.pdf_certificate.verify_directly_issued_by(material.root_certificate)


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="A")
    before = info.manifest_private_key.read_bytes()
    with pytest.raises(KeyMaterialError, match="already exist"):
        generate_keys(tmp_path / "keys", subject_name="A")
    assert info.manifest_private_key.read_bytes() == before
    again = generate_keys(tmp_path / "keys", subject_name="A", overwrite=True)
    assert again.manifest_key_fingerprint != info.manifest_key_fingerprint
    assert _mode(again.manifest_private_key) == 0o600


def test_loose_permissions_rejected(tmp_path: Path) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="A")
    info.pdf_private_key.chmod(0o640)
    with pytest.raises(KeyMaterialError, match="looser than 0600") as err:
        load_signing_material(info.keys_dir)
    assert "\n" not in str(err.value)


def test_missing_and_wrong_type_rejected(tmp_path: Path) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="A")
    with pytest.raises(KeyMaterialError, match="no signing keys folder"):
        load_signing_material(tmp_path / "nope")
    # the ECDSA leaf key where the Ed25519 key belongs
    manifest_key = info.manifest_private_key.read_bytes()
    info.manifest_private_key.write_bytes(info.pdf_private_key.read_bytes())
    with pytest.raises(KeyMaterialError, match="not an Ed25519 key"):
        load_signing_material(info.keys_dir)
    info.manifest_private_key.write_bytes(manifest_key)
    info.root_certificate.unlink()
    with pytest.raises(KeyMaterialError, match="missing"):
        load_signing_material(info.keys_dir)


def test_mismatched_sets_rejected(tmp_path: Path) -> None:
    a = generate_keys(tmp_path / "a", subject_name="A")
    b = generate_keys(tmp_path / "b", subject_name="B")
    b.root_certificate.replace(a.root_certificate)
    with pytest.raises(KeyMaterialError, match="not issued by the root"):
        load_signing_material(a.keys_dir)


def test_symlinked_private_key_rejected(tmp_path: Path) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="A")
    real = tmp_path / "elsewhere.pem"
    info.pdf_private_key.replace(real)
    info.pdf_private_key.symlink_to(real)
    with pytest.raises(KeyMaterialError):
        load_signing_material(info.keys_dir)


def test_public_material_in_pack(tmp_path: Path, material: SigningMaterial) -> None:
    written = write_public_material(material, tmp_path / "pack")
    assert [p.relative_to(tmp_path / "pack").as_posix() for p in written] == [
        keys.PACK_MANIFEST_KEY_PATH,
        keys.PACK_CHAIN_PATH,
    ]
    chain = x509.load_pem_x509_certificates(written[1].read_bytes())
    assert chain == [material.pdf_certificate, material.root_certificate]
    for path in written:
        assert _mode(path) == 0o644
        assert b"PRIVATE" not in path.read_bytes()


def test_private_keys_never_in_pack(tmp_path: Path, make_pack: Callable[..., Path]) -> None:
    info = generate_keys(tmp_path / "keys", subject_name="A")
    material = load_signing_material(info.keys_dir)
    pack = make_pack("pack", material)
    private_blobs = {info.manifest_private_key.read_bytes(), info.pdf_private_key.read_bytes()}
    for path in pack.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"PRIVATE KEY" not in data, path
            assert data not in private_blobs


def test_private_key_not_in_repr(material: SigningMaterial) -> None:
    text = repr(material)
    assert "manifest_private_key" not in text and "pdf_private_key" not in text
