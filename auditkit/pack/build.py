"""Build the signed evidence pack for one run.

Everything is written into a temporary folder beside the destination; the PDF
is signed, the manifest over every file is signed last, and only then is the
folder renamed into place. A crash at any point leaves no pack that verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from auditkit import __version__
from auditkit.catalog import Catalog
from auditkit.errors import UserError
from auditkit.pack import charts
from auditkit.pack.data import RunReport, load_run
from auditkit.pack.evidence import write_evidence
from auditkit.pack.pdf import render_html, render_pdf
from auditkit.pack.workbook import write_workbook
from auditkit.registers import WORKSHEET_FIELDS

WORKSHEET_LABELS = {
    "constraints": "1. Constraints",
    "definition": "2. Definition of compensating controls",
    "objective": "3. Objective",
    "identified_risk": "4. Identified risk",
    "validation": "5. Validation of compensating controls",
    "maintenance": "6. Maintenance",
}


@dataclass
class PackResult:
    """What ``build_pack`` produced."""

    path: Path
    zip_path: Path | None
    run_id: int
    files: int
    key_fingerprint: str
    pack_id: str
    counts: dict[str, int]
    workbook_truncated_cells: int


def _verify_md(report: RunReport, fingerprint: str) -> str:
    return f"""# How to verify this evidence pack

Pack for {report.organisation}, run {report.run_id} (as of {report.as_of}),
made by auditkit {__version__}.

`manifest.dsse.json` is a DSSE envelope (payload type `application/vnd.in-toto+json`) over an
in-toto Statement v1. Its subjects are every other file in this pack with its SHA-256 digest; it is
signed with Ed25519. `report.pdf` also carries an embedded PAdES signature. Both signing times are
**claimed by the signer's clock**; neither is a trusted timestamp.

Manifest key fingerprint (SHA-256 of the raw 32-byte Ed25519 public key):

    {fingerprint}

1. Obtain this fingerprint (or the public key file) from the entity through a channel other than
   this pack, and compare.
2. Offline, with auditkit installed (`pip install pci-auditkit`):

       auditkit verify PACK_DIR_OR_ZIP --trust manifest-signing-key.pub.pem

   Exit code 0: every check passed; 1: something was changed, added, removed or re-signed;
   2: the pack could not be read.
3. Without auditkit: base64-decode the envelope payload, verify the Ed25519 signature over
   `DSSEv1 <len(type)> <type> <len(payload)> <payload>`, check that the files present equal the
   subjects, and compare each file's `sha256sum`. Validate `report.pdf` with any PAdES-capable
   validator (for example `pdfsig report.pdf`), trusting `keys/pdf-signing-chain.pem`.
"""


def build_pack(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    run_id: int,
    out: Path,
    material: Any,
    *,
    claimed_time: dt.datetime,
    make_zip: bool = False,
    force: bool = False,
) -> PackResult:
    """Write the complete, signed pack for ``run_id`` into ``out``."""
    from auditkit.pack.archive import write_deterministic_zip
    from auditkit.pack.keys import write_public_material
    from auditkit.pack.manifest import build_and_sign_manifest
    from auditkit.pack.pdfsign import sign_pdf

    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not force:
        raise UserError(f"{out} exists and is not empty (use --force to replace it)")
    report = load_run(con, run_id, catalog)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        fingerprint = material.manifest_key_fingerprint
        context = {
            "run": report,
            "counts": report.counts(),
            "charts": {
                "results": charts.results_bar(report.counts()),
                "severity": charts.severity_bar(report.severity_counts),
            },
            "claimed_iso": claimed_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "worksheet_fields": [(f, WORKSHEET_LABELS[f]) for f in WORKSHEET_FIELDS],
            "key_fingerprint": fingerprint,
        }
        unsigned = staging / ".report.unsigned.pdf"
        render_pdf(render_html("report.html.j2", context), unsigned)
        sign_pdf(
            unsigned,
            staging / "report.pdf",
            material,
            claimed_time=claimed_time.replace(tzinfo=dt.UTC),
            reason=f"auditkit evidence pack, run {run_id}",
        )
        unsigned.unlink()
        stats = write_workbook(con, report, staging / "workbook.xlsx", claimed_time)
        write_evidence(con, report, staging / "evidence")
        write_public_material(material, staging)
        (staging / "VERIFY.md").write_text(_verify_md(report, fingerprint), encoding="utf-8")
        claimed_iso = claimed_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        pack_id = hashlib.sha256(
            f"{report.config_digest}\n{run_id}\n{claimed_iso}".encode()
        ).hexdigest()[:24]
        predicate = {
            "pack_id": pack_id,
            "tool": {"name": "auditkit", "version": __version__},
            "run_id": run_id,
            "organisation": report.organisation,
            "framework": report.framework_id,
            "as_of": report.as_of.isoformat(),
            "period": {
                "start": report.period_start.isoformat(),
                "end": report.period_end.isoformat(),
            },
            "catalog_digest": report.catalog_digest,
            "config_digest": report.config_digest,
            "inputs": report.predicate_inputs(),
            "claimed_time": claimed_iso,
            "results": report.counts(),
        }
        build_and_sign_manifest(staging, material, predicate)
        files = sum(1 for p in staging.rglob("*") if p.is_file())
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    zip_path = None
    if make_zip:
        zip_path = write_deterministic_zip(out, out.with_suffix(".zip"))
    return PackResult(
        out, zip_path, run_id, files, fingerprint, pack_id, report.counts(), stats.cells_truncated
    )
