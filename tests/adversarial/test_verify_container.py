"""What verify vouches for: the zip container, and whether the signer was pinned.

Attack classes (see README.md): bytes prepended or appended to a pack zip, a
zip comment or bytes hidden between entries (exit 1: the container is refused,
since the manifest covers the entries only); a pack re-signed with another key
verified without ``--trust`` (exit 0 but the verdict says the signer is not
pinned; exit 1 with ``--require-trust``).
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from auditkit.sign.archive import write_deterministic_zip
from auditkit.sign.keys import SigningMaterial, generate_ephemeral
from tests.conftest import CliRunner
from tests.pack.conftest import build_pack

PUB = "keys/manifest-signing-key.pub.pem"


@pytest.fixture(scope="module")
def material() -> SigningMaterial:
    return generate_ephemeral("Example Payments Ltd")


@pytest.fixture(scope="module")
def plain_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from weasyprint import HTML

    data = HTML(string="<p>hi</p>").write_pdf()
    assert isinstance(data, bytes)
    path = tmp_path_factory.mktemp("pdf") / "plain.pdf"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, material: SigningMaterial, plain_pdf: Path
) -> Path:
    return build_pack(tmp_path_factory.mktemp("packs") / "pack", material, plain_pdf)


@pytest.fixture
def pack(tmp_path: Path, template: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "pack"))


@pytest.fixture
def zipped(tmp_path: Path, pack: Path) -> Path:
    return write_deterministic_zip(pack, tmp_path / "pack.zip")


def _trust(tmp_path: Path, pack: Path) -> Path:
    key = tmp_path / "pinned.pub.pem"
    key.write_bytes((pack / PUB).read_bytes())
    return key


def _container(result_out: str) -> dict[str, object]:
    doc = json.loads(result_out)
    return next(c for c in doc["checks"] if c["name"] == "container")


# -- the zip container -------------------------------------------------------------------------


def test_a_clean_zip_verifies_and_says_what_is_covered(
    cli: CliRunner, tmp_path: Path, pack: Path, zipped: Path
) -> None:
    res = cli("verify", zipped, "--trust", _trust(tmp_path, pack), "--json")
    assert res.code == 0, res.out
    detail = str(_container(res.out)["detail"])
    assert "no bytes outside the entries" in detail


def _end_of_central_directory(data: bytes) -> int:
    return data.rindex(b"PK\x05\x06")


def _with_comment(data: bytes, comment: bytes) -> bytes:
    eocd = _end_of_central_directory(data)
    return data[: eocd + 20] + struct.pack("<H", len(comment)) + comment


def _with_gap(data: bytes) -> bytes:
    """Hide bytes between the last entry's data and the central directory."""
    eocd = _end_of_central_directory(data)
    (cd_size, cd_offset) = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    hidden = b"HIDDEN-PAYLOAD" * 8
    moved = data[:cd_offset] + hidden + data[cd_offset:]
    eocd += len(hidden)
    return moved[: eocd + 16] + struct.pack("<I", cd_offset + len(hidden)) + moved[eocd + 20 :]


TAMPERS = {
    "prepended": lambda d: b"MZ" + b"\x00" * 510 + d,
    "appended": lambda d: d + b"trailing bytes after the archive",
    "comment": lambda d: _with_comment(d, b"anything the attacker likes"),
    "gap": _with_gap,
}


@pytest.mark.parametrize("how", sorted(TAMPERS))
def test_bytes_outside_the_entries_are_refused(
    how: str, cli: CliRunner, tmp_path: Path, pack: Path, zipped: Path
) -> None:
    zipped.write_bytes(TAMPERS[how](zipped.read_bytes()))
    res = cli("verify", zipped, "--trust", _trust(tmp_path, pack), "--json")
    assert res.code == 1, res.out + res.err
    container = _container(res.out)
    assert container["ok"] is False
    assert "outside the entries" in str(container["detail"]) or "comment" in str(
        container["detail"]
    )
    text = cli("verify", zipped, "--trust", _trust(tmp_path, pack))
    assert text.code == 1 and "VERIFICATION FAILED" in text.out


# -- trust ---------------------------------------------------------------------------------------


def _resign(pack: Path, plain_pdf: Path, tmp_path: Path) -> Path:
    """The same evidence, re-signed by an attacker's own key set."""
    mallory = generate_ephemeral("Mallory Ltd")
    forged = tmp_path / "forged"
    build_pack(forged, mallory, plain_pdf)
    return forged


def test_without_trust_the_verdict_says_the_signer_is_not_pinned(
    cli: CliRunner, tmp_path: Path, pack: Path, plain_pdf: Path
) -> None:
    forged = _resign(pack, plain_pdf, tmp_path)
    res = cli("verify", forged)
    assert res.code == 0
    assert "VERIFIED" not in res.out
    assert "INTERNALLY CONSISTENT, SIGNER NOT PINNED" in res.out
    doc = json.loads(cli("verify", forged, "--json").out)
    assert doc["verdict"] == "consistent, signer not pinned"
    assert doc["pinned"] is False


def test_require_trust_fails_without_a_pinned_key(
    cli: CliRunner, tmp_path: Path, pack: Path, plain_pdf: Path
) -> None:
    forged = _resign(pack, plain_pdf, tmp_path)
    res = cli("verify", forged, "--require-trust")
    assert res.code == 1
    assert "--require-trust" in res.out + res.err and "VERIFIED" not in res.out
    doc = json.loads(cli("verify", forged, "--require-trust", "--json").out)
    assert doc["verdict"] == "consistent, signer not pinned" and doc["ok"] is False


def test_pinned_verification_is_the_only_verified_verdict(
    cli: CliRunner, tmp_path: Path, pack: Path, plain_pdf: Path
) -> None:
    key = _trust(tmp_path, pack)
    res = cli("verify", pack, "--trust", key, "--require-trust")
    assert res.code == 0, res.out
    assert "VERIFIED" in res.out and "NOT PINNED" not in res.out
    doc = json.loads(cli("verify", pack, "--trust", key, "--json").out)
    assert (doc["verdict"], doc["pinned"], doc["ok"]) == ("verified", True, True)
    forged = _resign(pack, plain_pdf, tmp_path)
    bad = cli("verify", forged, "--trust", key, "--require-trust")
    assert bad.code == 1 and "VERIFICATION FAILED" in bad.out
