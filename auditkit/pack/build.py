"""Build the signed evidence pack for one run.

Everything is written into a temporary folder beside the destination; the PDF
is signed, the manifest over every file is signed last, and only then is the
folder renamed into place. A crash at any point leaves no pack that verifies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from auditkit import __version__
from auditkit.errors import UserError
from auditkit.evaluate.catalog import Catalog
from auditkit.evaluate.registers import WORKSHEET_FIELDS
from auditkit.evaluate.rollup import (
    IN_PLACE,
    NO_EVIDENCE,
    NOT_APPLICABLE,
    NOT_IN_PLACE,
    NOT_TESTED,
    PARTIAL,
    RESULTS,
)
from auditkit.report import charts
from auditkit.report.analysis import analysis_sheets
from auditkit.report.browser import write_browser
from auditkit.report.data import RunReport, load_run
from auditkit.report.evidence import CsvJob, write_parquet_evidence
from auditkit.report.limits import PackLimits, WorkbookPlan
from auditkit.report.oscal import ITEMS_PER_CHECK as OSCAL_ITEMS_PER_CHECK
from auditkit.report.oscal import write_oscal
from auditkit.report.pdf import RenderJob, render_html
from auditkit.report.periods import PeriodEvidence, changes_since_previous, period_evidence
from auditkit.report.rows import exception_items
from auditkit.report.workbook import ExtraSheet, write_workbook

ATTESTATIONS_PER_REQUIREMENT = 8
RESULT_ABBREVIATIONS = {
    IN_PLACE: "IP",
    NOT_IN_PLACE: "NiP",
    PARTIAL: "Part.",
    NO_EVIDENCE: "NAE",
    NOT_TESTED: "NT",
    NOT_APPLICABLE: "N/A",
}
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
    workbook_rows: dict[str, int] = field(default_factory=dict)
    evidence_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    workbook_statements: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


REPORT_DUCKDB_MEMORY = "512MB"


@contextlib.contextmanager
def _duckdb_memory(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """Lower DuckDB's memory limit while the pack is built, then restore it.

    The report only streams and aggregates, so a small buffer pool suffices
    (DuckDB spills to the workspace's temp folder if ever needed); the rest of
    the machine's memory goes to the PDF render and the CSV workers running
    beside it. A connection whose configuration is locked keeps its limit.
    """
    try:
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        con.execute(f"SET memory_limit = '{limit}'")
    except duckdb.Error:
        yield
        return
    try:
        yield
    finally:
        if row is not None:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"SET memory_limit = '{row[0]}'")


#: The steps a pack build reports through ``on_step`` (and times), in order.
BUILD_STEPS = (
    "load run",
    "charts",
    "evidence parquet",
    "workbook",
    "wait evidence csv",
    "evidence browser",
    "wait pdf render",
    "sign pdf",
    "manifest",
)


class _Clock:
    """Seconds spent per build step (for the benchmark; no effect on the pack)."""

    def __init__(self, on_step: Callable[[str], None] | None = None) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.monotonic()
        self._on_step = on_step

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self._last, 2)
        self._last = now
        if self._on_step is not None:
            self._on_step(name)


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
2. Offline, with auditkit available (the pci-auditkit package on PyPI):

       auditkit verify PACK_DIR_OR_ZIP --trust manifest-signing-key.pub.pem

   Exit code 0: every check passed; 1: something was changed, added, removed or re-signed;
   2: the pack could not be read.
3. Without auditkit: base64-decode the envelope payload, verify the Ed25519 signature over
   `DSSEv1 <len(type)> <type> <len(payload)> <payload>`, check that the files present equal the
   subjects, and compare each file's `sha256sum`. Validate `report.pdf` with any PAdES-capable
   validator (for example `pdfsig report.pdf`), trusting `keys/pdf-signing-chain.pem`.
"""


def requirement_key(req_id: str) -> tuple[tuple[int, str], ...]:
    """Sort key for requirement numbers: 2.1 < 10.4.1, A1.1 after the numbers."""
    return tuple((int(p), "") if p.isdigit() else (1 << 30, p) for p in req_id.split("."))


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=dt.UTC, microsecond=0)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def report_context(
    report: RunReport,
    plan: WorkbookPlan,
    limits: PackLimits,
    claimed: dt.datetime,
    key_fingerprint: str,
    root_fingerprint: str,
    changes: dict[str, Any] | None = None,
    periods: PeriodEvidence | None = None,
) -> dict[str, Any]:
    """Everything the report template reads (charts drawn here, from aggregates only)."""
    # A check shared by several requirements is shown in full once, under the first.
    check_home: dict[str, tuple[int, str]] = {}
    for n, req in enumerate(report.automated, 1):
        for c in req.checks:
            check_home.setdefault(c.id, (n, req.id))
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for a in report.attestations:
        key = (str(a.get("requirement") or ""), str(a.get("kind") or ""))
        group = groups.setdefault(
            key,
            {
                "requirement": key[0],
                "kind": key[1],
                "count": 0,
                "first": None,
                "last": None,
                "performers": [],
                "results": {},
                "ids": [],
            },
        )
        group["count"] += 1
        start, end = str(a.get("date_start") or ""), str(a.get("date_end") or "")
        group["first"] = min(filter(None, (group["first"], start)), default=start)
        group["last"] = max(filter(None, (group["last"], end)), default=end)
        by = str(a.get("performed_by") or "")
        if by and by not in group["performers"]:
            group["performers"].append(by)
        result = (
            "not applicable" if a.get("not_applicable") else str(a.get("result") or "no result")
        )
        group["results"][result] = group["results"].get(result, 0) + 1
        if len(group["ids"]) < 3:
            group["ids"].append(str(a.get("id")))
    for group in groups.values():
        group["more_performers"] = max(0, len(group["performers"]) - 3)
        group["performers"] = group["performers"][:3]
    manual_counts = dict.fromkeys(RESULTS, 0)
    for r in report.manual:
        manual_counts[r.result] = manual_counts.get(r.result, 0) + 1
    return {
        "run": report,
        "counts": report.counts(),
        "manual_counts": manual_counts,
        "check_home": check_home,
        "attestation_groups": [
            groups[k] for k in sorted(groups, key=lambda k: (requirement_key(k[0]), k[1]))
        ],
        "attestations_na": [a for a in report.attestations if a.get("not_applicable")],
        "attestations_shown": ATTESTATIONS_PER_REQUIREMENT,
        "manual_notable": [
            r
            for r in report.manual
            if r.result != NO_EVIDENCE
            or r.attestations
            or r.compensating_control
            or r.customized_approach
        ],
        "result_abbrev": RESULT_ABBREVIATIONS,
        "check_evidence": [e for e in report.evidence if e["kind"] == "check population"],
        "register_evidence": [e for e in report.evidence if e["kind"] == "register"],
        "register_refs": {e["key"]: e["ref"] for e in report.evidence if e["kind"] == "register"},
        "source_refs": {e["key"]: e["ref"] for e in report.evidence if e["kind"] == "source file"},
        "plan": plan,
        "sample_per_check": limits.sample_per_check,
        "clip_at": limits.pdf_text_chars,
        "charts": {
            "principal": charts.results_by_principal(report.requirements),
            "severity": charts.severity_bar(report.severity_counts),
            "vuln_age": (
                charts.vuln_age_histogram(report.vuln_age)
                if report.vuln_age is not None and report.vuln_age.items
                else None
            ),
            "trend": charts.trend_chart(report.trend) if len(report.trend) > 1 else None,
        },
        "changes": changes,
        "periods": periods,
        "period_charts": {
            "logs": charts.log_coverage_timeline(periods)
            if periods and periods.log_families
            else None,
            "scans": charts.scan_timeline(periods) if periods and periods.scan_repos else None,
            "reviews": charts.review_timeline(periods) if periods else None,
        },
        "claimed_iso": claimed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "worksheet_fields": [(f, WORKSHEET_LABELS[f]) for f in WORKSHEET_FIELDS],
        "key_fingerprint": key_fingerprint,
        "root_fingerprint": root_fingerprint,
    }


def previous_pack_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be shown to be a pack we wrote (None when it can).

    It must hold only regular files (no links), among them our signed
    ``manifest.dsse.json``, and every other file must be one the manifest lists:
    only then may ``--force`` delete it. The signature is not checked (a pack
    signed with an earlier key is still ours to replace).
    """
    from auditkit.errors import PackError
    from auditkit.sign.archive import walk_pack_dir
    from auditkit.sign.manifest import (
        MANIFEST_NAME,
        MAX_MANIFEST_BYTES,
        parse_envelope,
        parse_statement,
    )

    try:
        files, problems = walk_pack_dir(folder)
    except PackError as exc:
        return exc.message
    if problems:
        return problems[0]
    if MANIFEST_NAME not in files:
        return f"it has no {MANIFEST_NAME}"
    try:
        manifest = folder / MANIFEST_NAME
        if manifest.stat().st_size > MAX_MANIFEST_BYTES:
            return f"its {MANIFEST_NAME} is too large"
        statement = parse_statement(parse_envelope(manifest.read_bytes()).payload)
    except (PackError, OSError) as exc:
        return f"its {MANIFEST_NAME} is not ours ({getattr(exc, 'message', exc)})"
    extra = sorted(set(files) - set(statement.subjects) - {MANIFEST_NAME})
    if extra:
        shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
        return f"it holds files the manifest does not list: {shown}"
    return None


def _check_destination(out: Path, *, force: bool) -> None:
    """``out`` may be new, an empty folder, or (with ``force``) a previous pack; a file,
    a link or any other folder is never deleted."""
    if not out.exists() and not out.is_symlink():
        return
    if out.is_symlink() or not out.is_dir():
        raise UserError(f"{out} exists and is not a folder; choose another --out")
    if not any(out.iterdir()):
        return
    if not force:
        raise UserError(f"{out} exists and is not empty (use --force to replace a previous pack)")
    problem = previous_pack_problem(out)
    if problem is not None:
        raise UserError(
            f"{out} is not a previous evidence pack ({problem}); refusing to delete it: "
            "choose a new or empty folder"
        )


@contextlib.contextmanager
def _temp_files_in(folder: Path) -> Iterator[None]:
    """Temp files made in this process (openpyxl's sheets) go into ``folder`` meanwhile."""
    before = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = before


def build_pack(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog | None,
    run_id: int,
    out: Path,
    material: Any,
    *,
    claimed_time: dt.datetime,
    make_zip: bool = False,
    force: bool = False,
    limits: PackLimits | None = None,
    extra_sheets: Sequence[ExtraSheet] = (),
    on_step: Callable[[str], None] | None = None,
) -> PackResult:
    """Write the complete, signed pack for ``run_id`` into ``out``.

    Order: the PDF render starts in a child process; meanwhile the evidence
    Parquet files are written, their CSV twins start in child processes, and
    the workbook is written here; then the PDF is signed, the public keys and
    VERIFY.md added, and the manifest over every file is signed last. All of it
    happens in a hidden staging folder beside ``out`` that is renamed into place
    only at the end, so a failure or a crash never leaves a pack at ``out``.
    ``claimed_time`` (naive means UTC) is the only clock: the workbook's
    document times, the PDF's dates and signing time, and the manifest's
    claimed time all come from it. ``on_step`` is called with each of
    :data:`BUILD_STEPS` as it completes (progress display).
    """
    with _duckdb_memory(con, REPORT_DUCKDB_MEMORY):
        return _build_pack(
            con,
            catalog,
            run_id,
            out,
            material,
            claimed_time=claimed_time,
            make_zip=make_zip,
            force=force,
            limits=limits,
            extra_sheets=extra_sheets,
            on_step=on_step,
        )


def _build_pack(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog | None,
    run_id: int,
    out: Path,
    material: Any,
    *,
    claimed_time: dt.datetime,
    make_zip: bool = False,
    force: bool = False,
    limits: PackLimits | None = None,
    extra_sheets: Sequence[ExtraSheet] = (),
    on_step: Callable[[str], None] | None = None,
) -> PackResult:
    from auditkit.sign.archive import write_deterministic_zip
    from auditkit.sign.keys import write_public_material
    from auditkit.sign.manifest import build_and_sign_manifest
    from auditkit.sign.pdfsign import sign_pdf

    limits = limits or PackLimits()
    claimed = _utc(claimed_time)
    claimed_iso = claimed.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = out.resolve()
    _check_destination(out, force=force)
    clock = _Clock(on_step)
    report = load_run(con, run_id, catalog, sample_per_check=limits.sample_per_check)
    clock.lap("load run")
    plan = WorkbookPlan.for_run(report, limits)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    scratch = staging / ".render"  # every temp file of the build; removed before signing
    render: RenderJob | None = None
    csv: CsvJob | None = None
    try:
        scratch.mkdir(mode=0o700)
        fingerprint = material.manifest_key_fingerprint
        changes = changes_since_previous(con, run_id)
        periods = period_evidence(con, run_id)
        context = report_context(
            report,
            plan,
            limits,
            claimed,
            fingerprint,
            material.root_fingerprint,
            changes=changes,
            periods=periods,
        )
        extra_sheets = [*analysis_sheets(con, catalog, report, changes, limits), *extra_sheets]
        clock.lap("charts")
        unsigned = staging / ".report.unsigned.pdf"
        # Three CPU-bound steps run side by side: the PDF render and the CSV
        # evidence files in child processes, the workbook here.
        render = RenderJob(
            render_html("report.html.j2", context),
            unsigned,
            source_date_epoch=int(claimed.timestamp()),
            workdir=scratch,
        )
        evidence_rows = write_parquet_evidence(
            con, report, staging / "evidence", sample=limits.sample_per_check
        )
        clock.lap("evidence parquet")
        csv = CsvJob(staging / "evidence", tmpdir=scratch)
        with _temp_files_in(scratch):  # openpyxl's temporary sheet files
            workbook = write_workbook(
                con,
                report,
                staging / "workbook.xlsx",
                claimed.replace(tzinfo=None),
                plan,
                max_rows=limits.sheet_max_rows,
                extra_sheets=extra_sheets,
            )
        clock.lap("workbook")
        csv.wait()
        csv = None
        clock.lap("wait evidence csv")
        # After the evidence files, which the page points to; the PDF renders meanwhile.
        write_browser(
            con,
            report,
            catalog,
            plan,
            limits,
            staging,
            claimed_iso=claimed_iso,
            key_fingerprint=fingerprint,
            changes=changes,
        )
        clock.lap("evidence browser")
        render.wait()
        render = None
        shutil.rmtree(scratch, ignore_errors=True)  # before the manifest lists the files
        clock.lap("wait pdf render")
        sign_pdf(
            unsigned,
            staging / "report.pdf",
            material,
            claimed_time=claimed,
            reason=f"auditkit evidence pack, run {run_id}",
        )
        unsigned.unlink()
        clock.lap("sign pdf")
        write_public_material(material, staging)
        (staging / "VERIFY.md").write_text(_verify_md(report, fingerprint), encoding="utf-8")
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
            "items": {
                "tested": report.population,
                "failing": report.failing_items,
                "excepted": report.excepted_items,
            },
        }
        write_oscal(
            report,
            staging / "oscal" / "assessment-results.json",
            claimed,
            exception_items(
                con, report.run_id, list(report.checks.values()), OSCAL_ITEMS_PER_CHECK
            ),
        )
        build_and_sign_manifest(staging, material, predicate)
        clock.lap("manifest")
        files = sum(1 for p in staging.rglob("*") if p.is_file())
        if out.exists():
            _check_destination(out, force=force)  # still a previous pack (or empty)
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        for child in (render, csv):
            if child is not None:
                child.cancel()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    zip_path = None
    if make_zip:
        zip_path = write_deterministic_zip(out, out.with_suffix(".zip"))
    return PackResult(
        out,
        zip_path,
        run_id,
        files,
        fingerprint,
        pack_id,
        report.counts(),
        workbook.cells_truncated,
        workbook_rows=workbook.rows,
        evidence_rows=evidence_rows,
        workbook_statements=plan.statements(),
        timings=clock.laps,
    )
