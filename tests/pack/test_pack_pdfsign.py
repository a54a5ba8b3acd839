"""The PDF signature: pdfsig's opinion, claimed-time labelling, determinism, tamper cases."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from auditkit.errors import InternalError
from auditkit.sign.keys import SigningMaterial
from auditkit.sign.pdfsign import SIGNATURE_FIELD_NAME, sign_pdf, validate_signed_pdf


def test_pdfsig_reports_valid_and_whole_document(signed_pdf: Path) -> None:
    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    result = subprocess.run(
        [pdfsig, str(signed_pdf)], capture_output=True, text=True, timeout=60, check=False
    )
    out = result.stdout
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "ETSI.CAdES.detached" in out, out
    assert "Mar 04 2025 05:06:07" in out, out  # the claimed time, not the wall clock


def test_reason_says_time_is_claimed(signed_pdf: Path, claimed: dt.datetime) -> None:
    reader = PdfFileReader(io.BytesIO(signed_pdf.read_bytes()))
    (sig,) = reader.embedded_signatures
    assert sig.field_name == SIGNATURE_FIELD_NAME
    reason = str(sig.sig_object["/Reason"])
    assert "2025-03-04T05:06:07Z" in reason
    assert "claimed by the signer, not a trusted timestamp" in reason
    assert sig.self_reported_timestamp == claimed
    assert str(sig.sig_object["/SubFilter"]) == "/ETSI.CAdES.detached"
    # invisible: the widget has an empty rectangle
    assert [float(v) for v in sig.sig_field["/Rect"]] == [0.0, 0.0, 0.0, 0.0]
    # B-B level: no timestamp token, no DSS
    unsigned = sig.signer_info["unsigned_attrs"]
    assert not any(a["type"].native == "signature_time_stamp_token" for a in unsigned)
    assert "/DSS" not in reader.root


def test_validation_reports_claimed_time(signed_pdf: Path, material: SigningMaterial) -> None:
    result = validate_signed_pdf(signed_pdf.read_bytes(), material.root_certificate)
    assert result.ok, result.problems
    assert result.reason is not None and "claimed by the signer" in result.reason


def test_signing_is_deterministic(
    tmp_path: Path, plain_pdf: Path, material: SigningMaterial, claimed: dt.datetime
) -> None:
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    sign_pdf(plain_pdf, a, material, claimed_time=claimed, reason="r")
    sign_pdf(plain_pdf, b, material, claimed_time=claimed, reason="r")
    assert a.read_bytes() == b.read_bytes()
    # pyHanko's wall-clock modification date is pinned to the claimed time
    reader = PdfFileReader(io.BytesIO(a.read_bytes()))
    info = reader.trailer["/Info"]
    if "/ModDate" in info:
        assert str(info["/ModDate"]).startswith("D:20250304050607")
    xmp = reader.root["/Metadata"].data.decode("utf-8")
    assert 'ModifyDate="2025-03-04T05:06:07+00:00"' in xmp


def test_naive_claimed_time_refused(
    tmp_path: Path, plain_pdf: Path, material: SigningMaterial
) -> None:
    with pytest.raises(InternalError, match="timezone-aware"):
        sign_pdf(
            plain_pdf,
            tmp_path / "o.pdf",
            material,
            claimed_time=dt.datetime(2025, 1, 1),
            reason="r",
        )


def test_wrong_root_not_trusted(signed_pdf: Path, other_material: SigningMaterial) -> None:
    result = validate_signed_pdf(signed_pdf.read_bytes(), other_material.root_certificate)
    assert not result.ok
    assert any("pinned root" in p for p in result.problems)


def test_appended_bytes_fail(signed_pdf: Path, material: SigningMaterial) -> None:
    result = validate_signed_pdf(signed_pdf.read_bytes() + b"\n%junk\n", material.root_certificate)
    assert not result.ok
    assert any("entire file" in p for p in result.problems)


def test_incremental_update_fails(
    signed_pdf: Path, material: SigningMaterial, info_update: Callable[[bytes], bytes]
) -> None:
    updated = info_update(signed_pdf.read_bytes())
    result = validate_signed_pdf(updated, material.root_certificate)
    assert not result.ok
    assert any("entire file" in p for p in result.problems)


def test_flipped_byte_and_truncation_fail(signed_pdf: Path, material: SigningMaterial) -> None:
    data = bytearray(signed_pdf.read_bytes())
    data[len(data) // 5] ^= 0x01
    assert not validate_signed_pdf(bytes(data), material.root_certificate).ok
    assert not validate_signed_pdf(signed_pdf.read_bytes()[:-100], material.root_certificate).ok
    assert not validate_signed_pdf(b"not a pdf", material.root_certificate).ok
