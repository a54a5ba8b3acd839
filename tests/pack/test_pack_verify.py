"""verify_pack end to end: clean packs pass, every kind of tampering fails."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from auditkit.errors import InternalError, KeyMaterialError, PackError
from auditkit.pack.verify import CHECK_NAMES, VerifyReport, verify_pack
from auditkit.sign.archive import write_deterministic_zip
from auditkit.sign.keys import PACK_CHAIN_PATH, PACK_MANIFEST_KEY_PATH, SigningMaterial
from auditkit.sign.keys import write_public_material as write_public
from auditkit.sign.manifest import (
    MANIFEST_NAME,
    PAYLOAD_TYPE,
    build_and_sign_manifest,
    pae,
)
from auditkit.sign.pdfsign import sign_pdf

Predicate = Callable[[str], dict[str, Any]]
PACK_FILES = [
    "report.pdf",
    "summary.txt",
    "findings.json",
    "evidence/x/y.csv",
    PACK_MANIFEST_KEY_PATH,
    PACK_CHAIN_PATH,
    MANIFEST_NAME,
]


def failed(report: VerifyReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.ok}


def flip(path: Path, where: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))


def write_pem(path: Path, obj: Any) -> Path:
    if hasattr(obj, "public_bytes") and hasattr(obj, "subject"):
        path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            obj.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return path


def test_clean_pack_verifies_as_folder_and_zip(tmp_path: Path, pack: Path) -> None:
    report = verify_pack(pack)
    assert report.ok, failed(report)
    assert [c.name for c in report.checks] == list(CHECK_NAMES)
    assert report.source_kind == "directory"
    zipped = write_deterministic_zip(pack, tmp_path / "pack.zip")
    zreport = verify_pack(zipped)
    assert zreport.ok, failed(zreport)
    assert zreport.source_kind == "zip"


def test_report_without_trust_says_key_from_pack(pack: Path, material: SigningMaterial) -> None:
    report = verify_pack(pack)
    detail = report.check("manifest-signature")
    assert detail is not None
    assert "key taken from the pack; pin its fingerprint out of band" in detail.detail
    assert material.manifest_key_fingerprint in detail.detail
    assert report.manifest_key_fingerprint == material.manifest_key_fingerprint
    assert report.root_fingerprint == material.root_fingerprint
    assert report.manifest_key_source == "pack" and report.root_source == "pack"
    data = report.to_json()
    json.dumps(data)  # serialisable
    assert data["ok"] is True and data["trust"]["mode"] == "none"
    assert data["claimed_signing_time"]["manifest"] == "2025-03-04T05:06:07+00:00"
    assert data["claimed_signing_time"]["pdf"] == "2025-03-04T05:06:07+00:00"
    assert "claimed by the signer" in data["claimed_signing_time"]["note"]
    pdf = report.check("pdf-signature")
    assert pdf is not None and "claimed by the signer" in pdf.detail
    assert data["pack_id"] == "pack-0001"


@pytest.mark.parametrize("name", PACK_FILES)
def test_flipped_byte_in_any_file_fails(pack: Path, name: str) -> None:
    flip(pack / name)
    report = verify_pack(pack)
    assert not report.ok
    assert report.checks[0].ok  # the container itself is fine


@pytest.mark.parametrize("name", ["summary.txt", MANIFEST_NAME, "report.pdf"])
def test_flipped_byte_fails_in_zip(tmp_path: Path, pack: Path, name: str) -> None:
    flip(pack / name)
    assert not verify_pack(write_deterministic_zip(pack, tmp_path / "p.zip")).ok


def test_content_change_names_the_file(pack: Path) -> None:
    (pack / "evidence" / "x" / "y.csv").write_text("host,port\nweb-1,80\n")
    assert failed(verify_pack(pack)) == {"digests": "sha256 differs for 'evidence/x/y.csv'"}


def test_added_file_fails(tmp_path: Path, pack: Path) -> None:
    (pack / "evidence" / "extra.txt").write_text("planted\n")
    problems = failed(verify_pack(pack))
    assert list(problems) == ["file-set"]
    assert "added" in problems["file-set"] and "evidence/extra.txt" in problems["file-set"]
    assert not verify_pack(write_deterministic_zip(pack, tmp_path / "p.zip")).ok


def test_removed_file_fails(pack: Path) -> None:
    (pack / "findings.json").unlink()
    problems = failed(verify_pack(pack))
    assert list(problems) == ["file-set"]
    assert "missing" in problems["file-set"] and "findings.json" in problems["file-set"]


def test_renamed_file_fails(pack: Path) -> None:
    (pack / "summary.txt").rename(pack / "evidence" / "summary.txt")
    problems = failed(verify_pack(pack))
    assert list(problems) == ["file-set"]
    assert "renamed: 'summary.txt' -> 'evidence/summary.txt'" in problems["file-set"]


def test_manifest_from_another_pack_fails(
    pack: Path, make_pack: Callable[..., Path], other_material: SigningMaterial
) -> None:
    other = make_pack("other", other_material, pack_id="pack-9999")
    shutil.copy(other / MANIFEST_NAME, pack / MANIFEST_NAME)
    assert "manifest-signature" in failed(verify_pack(pack))


def test_manifest_from_another_pack_same_key_fails(
    pack: Path, make_pack: Callable[..., Path], material: SigningMaterial
) -> None:
    other = make_pack("other", material, pack_id="pack-0002")
    shutil.copy(other / MANIFEST_NAME, pack / MANIFEST_NAME)
    problems = failed(verify_pack(pack))
    assert "digests" in problems and "summary.txt" in problems["digests"]
    assert "pack-id" in failed(verify_pack(pack, expect_pack_id="pack-0001"))


def test_pinned_manifest_key(tmp_path: Path, pack: Path, material: SigningMaterial) -> None:
    trust = write_pem(tmp_path / "trust.pub.pem", material.manifest_public_key)
    report = verify_pack(pack, trust=trust)
    assert report.ok, failed(report)
    assert report.trust_mode == "manifest-key" and report.manifest_key_source == "pinned"
    pdf = report.check("pdf-signature")
    assert pdf is not None and "authenticated by the pinned manifest key" in pdf.detail


def test_wrong_trust_key_fails(tmp_path: Path, pack: Path, other_material: SigningMaterial) -> None:
    trust = write_pem(tmp_path / "wrong.pub.pem", other_material.manifest_public_key)
    problems = failed(verify_pack(pack, trust=trust))
    assert "manifest-signature" in problems
    assert "pinned key" in problems["manifest-signature"]


def test_pinned_root_ca(tmp_path: Path, pack: Path, material: SigningMaterial) -> None:
    trust = write_pem(tmp_path / "root.pem", material.root_certificate)
    report = verify_pack(pack, trust=trust)
    assert report.ok, failed(report)
    assert report.trust_mode == "root-ca" and report.root_source == "pinned"
    assert "not independently pinned" in report.trust_summary
    sig = report.check("manifest-signature")
    assert sig is not None and "not independently pinned" in sig.detail


def test_wrong_root_ca_fails(tmp_path: Path, pack: Path, other_material: SigningMaterial) -> None:
    trust = write_pem(tmp_path / "root.pem", other_material.root_certificate)
    problems = failed(verify_pack(pack, trust=trust))
    assert "pdf-signature" in problems and "pinned root" in problems["pdf-signature"]
    assert "manifest-signature" in problems


def test_pinned_root_rejects_resigned_manifest(
    tmp_path: Path, pack: Path, material: SigningMaterial, other_material: SigningMaterial
) -> None:
    """Keep the genuine report.pdf, swap evidence, re-sign the manifest with another key."""
    (pack / "summary.txt").write_text("all compliant, honest\n")
    write_public(other_material, pack)
    build_and_sign_manifest(pack, other_material, _predicate("pack-0001"))
    trust = write_pem(tmp_path / "root.pem", material.root_certificate)
    problems = failed(verify_pack(pack, trust=trust))
    assert "not the one certified by the pinned root" in problems["manifest-signature"]
    # without --trust the mismatch between report.pdf's signer and the manifest key shows too
    assert "pdf-signature" in failed(verify_pack(pack))


def _predicate(pack_id: str) -> dict[str, Any]:
    return {"claimed_time": "2025-03-04T05:06:07+00:00", "pack_id": pack_id}


def test_appended_pdf_bytes_fail(pack: Path, material: SigningMaterial) -> None:
    with (pack / "report.pdf").open("ab") as handle:
        handle.write(b"\n%appended after signing\n")
    build_and_sign_manifest(pack, material, _predicate("pack-0001"))
    problems = failed(verify_pack(pack))
    assert list(problems) == ["pdf-signature"]
    assert "entire file" in problems["pdf-signature"]


def test_incremental_pdf_update_fails(
    pack: Path, material: SigningMaterial, info_update: Callable[[bytes], bytes]
) -> None:
    pdf = pack / "report.pdf"
    pdf.write_bytes(info_update(pdf.read_bytes()))
    build_and_sign_manifest(pack, material, _predicate("pack-0001"))
    problems = failed(verify_pack(pack))
    assert list(problems) == ["pdf-signature"]


def test_missing_report_pdf_fails(pack: Path, material: SigningMaterial) -> None:
    (pack / "report.pdf").unlink()
    build_and_sign_manifest(pack, material, _predicate("pack-0001"))
    assert list(failed(verify_pack(pack))) == ["pdf-signature"]


def _envelope(material: SigningMaterial, statement: Any, payload_type: str = PAYLOAD_TYPE) -> bytes:
    payload = json.dumps(statement).encode()
    sig = material.manifest_private_key.sign(pae(payload_type, payload))
    env = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": payload_type,
        "signatures": [{"keyid": "not-the-real-keyid", "sig": base64.b64encode(sig).decode()}],
    }
    return json.dumps(env).encode()


def _statement(pack: Path) -> dict[str, Any]:
    env = json.loads((pack / MANIFEST_NAME).read_bytes())
    result: dict[str, Any] = json.loads(base64.b64decode(env["payload"]))
    return result


def test_keyid_is_only_a_hint(pack: Path, material: SigningMaterial) -> None:
    (pack / MANIFEST_NAME).write_bytes(_envelope(material, _statement(pack)))
    report = verify_pack(pack)
    assert report.ok, failed(report)


@pytest.mark.parametrize(
    ("mutate", "check", "fragment"),
    [
        (lambda s: s.update(extra=1), "statement", "unknown ['extra']"),
        (lambda s: s["subject"].append(dict(s["subject"][0])), "statement", "duplicate subject"),
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "statement", "_type"),
        (lambda s: s.update(predicateType="https://x.test/other"), "statement", "predicateType"),
        (lambda s: s["subject"][0].update(name="../x"), "statement", "unsafe"),
        (lambda s: s["predicate"].pop("claimed_time"), "statement", "claimed_time"),
    ],
    ids=["unknown-field", "dup-subject", "type", "predicate-type", "unsafe-name", "no-time"],
)
def test_signed_but_malformed_statement_fails(
    pack: Path,
    material: SigningMaterial,
    mutate: Callable[[dict[str, Any]], None],
    check: str,
    fragment: str,
) -> None:
    statement = _statement(pack)
    mutate(statement)
    (pack / MANIFEST_NAME).write_bytes(_envelope(material, statement))
    problems = failed(verify_pack(pack))
    assert fragment in problems[check]
    assert problems["file-set"].startswith("not run")


def test_changed_payload_type_fails(pack: Path, material: SigningMaterial) -> None:
    env = _envelope(material, _statement(pack), payload_type="application/json")
    (pack / MANIFEST_NAME).write_bytes(env)
    problems = failed(verify_pack(pack))
    assert "payloadType" in problems["envelope"]
    assert problems["manifest-signature"].startswith("not run")


def test_duplicate_json_keys_in_envelope_fail(pack: Path) -> None:
    text = (pack / MANIFEST_NAME).read_text()
    (pack / MANIFEST_NAME).write_text(
        text.replace('"payloadType"', '"payloadType": "x", "payloadType"', 1)
    )
    assert "duplicate JSON key" in failed(verify_pack(pack))["envelope"]


def test_planted_pyhanko_yml_is_ignored(
    tmp_path: Path,
    pack: Path,
    monkeypatch: pytest.MonkeyPatch,
    other_material: SigningMaterial,
) -> None:
    before = verify_pack(pack).to_json()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    write_pem(cwd / "evil-root.pem", other_material.root_certificate)
    (cwd / "pyhanko.yml").write_text(
        "validation-contexts:\n"
        "  default:\n"
        "    trust: evil-root.pem\n"
        "    trust-replace: true\n"
        "    other-certs: evil-root.pem\n"
        "default-validation-context: default\n"
        "time-tolerance: 999999999\n"
        "retroactive-revinfo: true\n"
    )
    monkeypatch.chdir(cwd)
    after = verify_pack(pack)
    assert after.ok, failed(after)
    assert after.to_json() == before
    trust = write_pem(tmp_path / "evil.pem", other_material.root_certificate)
    assert not verify_pack(pack, trust=trust).ok


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            result[os.path.join(folder, name)] = (st.st_size, st.st_mtime_ns)
    return result


def test_verify_writes_nothing(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zipped = write_deterministic_zip(pack, tmp_path / "p.zip")
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    assert verify_pack(pack).ok and verify_pack(zipped).ok
    assert _snapshot(tmp_path) == before


def test_cannot_run_raises_pack_error(tmp_path: Path, pack: Path) -> None:
    with pytest.raises(PackError, match="not found"):
        verify_pack(tmp_path / "nope")
    (pack / MANIFEST_NAME).unlink()
    with pytest.raises(PackError, match="no manifest.dsse.json"):
        verify_pack(pack)
    notzip = tmp_path / "x.zip"
    notzip.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(PackError):
        verify_pack(notzip)


def test_unusable_trust_file(tmp_path: Path, pack: Path, material: SigningMaterial) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(KeyMaterialError, match="neither"):
        verify_pack(pack, trust=junk)
    leaf = write_pem(tmp_path / "leaf.pem", material.pdf_certificate)
    with pytest.raises(KeyMaterialError, match="self-signed CA"):
        verify_pack(pack, trust=leaf)


def test_sign_and_verify_open_no_socket(
    tmp_path: Path,
    pack: Path,
    plain_pdf: Path,
    material: SigningMaterial,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    claimed = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    sign_pdf(plain_pdf, tmp_path / "s.pdf", material, claimed_time=claimed, reason="r")
    trust = write_pem(tmp_path / "root.pem", material.root_certificate)
    assert verify_pack(pack).ok and verify_pack(pack, trust=trust).ok


def test_pack_id_is_optional_but_expected_when_asked(pack: Path, material: SigningMaterial) -> None:
    build_and_sign_manifest(pack, material, {"claimed_time": "2025-03-04T05:06:07Z"})
    report = verify_pack(pack)
    assert report.ok, failed(report)
    assert report.pack_id is None
    problems = failed(verify_pack(pack, expect_pack_id="pack-0001"))
    assert list(problems) == ["pack-id"] and "no authenticated pack id" in problems["pack-id"]


def test_bad_predicate_is_a_caller_bug(pack: Path, material: SigningMaterial) -> None:
    for predicate in (
        {"pack_id": "x"},
        {"claimed_time": "yesterday"},
        {"claimed_time": float("nan")},
    ):
        with pytest.raises(InternalError):
            build_and_sign_manifest(pack, material, predicate)
