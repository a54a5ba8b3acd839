"""Fixtures for the pack tests: key sets, a signed PDF and a small signed pack."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from auditkit.sign.keys import SigningMaterial, generate_ephemeral, write_public_material
from auditkit.sign.manifest import build_and_sign_manifest
from auditkit.sign.pdfsign import sign_pdf

CLAIMED = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
REASON = "PCI DSS v4.0.1 evidence pack"


def predicate(pack_id: str = "pack-0001") -> dict[str, object]:
    """A predicate like the pack builder's."""
    return {
        "tool_version": "0.1.0",
        "run_id": "run-42",
        "catalog_sha256": "0" * 64,
        "config_sha256": "1" * 64,
        "inputs": [{"name": "trivy.json", "sha256": "2" * 64}],
        "claimed_time": CLAIMED.isoformat(),
        "pack_id": pack_id,
    }


@pytest.fixture(scope="session")
def claimed() -> dt.datetime:
    return CLAIMED


@pytest.fixture(scope="session")
def predicate_for() -> Callable[[str], dict[str, object]]:
    return predicate


@pytest.fixture(scope="session")
def material() -> SigningMaterial:
    return generate_ephemeral("Example Payments Ltd")


@pytest.fixture(scope="session")
def other_material() -> SigningMaterial:
    return generate_ephemeral("Mallory Ltd")


@pytest.fixture(scope="session")
def plain_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny unsigned PDF rendered by WeasyPrint."""
    with warnings.catch_warnings():
        # WeasyPrint warns at import time about an optional system library.
        warnings.simplefilter("ignore", DeprecationWarning)
        from weasyprint import HTML

        data = HTML(string="<p>hi</p>").write_pdf()
    assert isinstance(data, bytes)
    path = tmp_path_factory.mktemp("pdf") / "plain.pdf"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="session")
def signed_pdf(plain_pdf: Path, material: SigningMaterial) -> Path:
    out = plain_pdf.with_name("signed.pdf")
    sign_pdf(plain_pdf, out, material, claimed_time=CLAIMED, reason=REASON, location="Testville")
    return out


def build_pack(
    pack: Path, material: SigningMaterial, plain_pdf: Path, *, pack_id: str = "pack-0001"
) -> Path:
    """Write a small complete pack into ``pack`` and sign it."""
    (pack / "evidence" / "x").mkdir(parents=True)
    sign_pdf(plain_pdf, pack / "report.pdf", material, claimed_time=CLAIMED, reason=REASON)
    (pack / "summary.txt").write_text(f"summary of {pack_id}\n")
    (pack / "findings.json").write_text('{"findings": []}\n')
    (pack / "evidence" / "x" / "y.csv").write_text("host,port\nweb-1,443\n")
    write_public_material(material, pack)
    build_and_sign_manifest(pack, material, predicate(pack_id))
    return pack


@pytest.fixture(scope="session")
def pack_template(
    tmp_path_factory: pytest.TempPathFactory, material: SigningMaterial, plain_pdf: Path
) -> Path:
    return build_pack(tmp_path_factory.mktemp("template") / "pack", material, plain_pdf)


@pytest.fixture
def pack(tmp_path: Path, pack_template: Path) -> Path:
    """A fresh copy of the signed pack, free to tamper with."""
    return Path(shutil.copytree(pack_template, tmp_path / "pack"))


@pytest.fixture
def make_pack(tmp_path: Path, plain_pdf: Path) -> Callable[..., Path]:
    def make(name: str, material: SigningMaterial, pack_id: str = "pack-0001") -> Path:
        return build_pack(tmp_path / name, material, plain_pdf, pack_id=pack_id)

    return make


def incremental_info_update(pdf: bytes) -> bytes:
    """Append an incremental update that only changes the /Info dictionary."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    ref = writer.trailer.raw_get("/Info")
    ref.get_object()["/Title"] = generic.TextStringObject("tampered")
    writer.mark_update(ref)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    updated = out.getvalue()
    assert len(updated) > len(pdf) and updated.startswith(pdf)
    return updated


@pytest.fixture(scope="session")
def info_update() -> Callable[[bytes], bytes]:
    return incremental_info_update
