"""The demo: a throwaway workspace over ``sample_data/``, evaluated and packed.

``sample_data/`` holds one fictional payments company (Northwind Payments
Ltd) over a quarter, written by ``sample_data/generate.py``. The demo copies its
workspace configuration and registers into a temporary folder, ingests every
export, evaluates, and writes the signed pack. It uses the workspace key when
one exists and a throwaway key otherwise.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditkit.calendar import add_months
from auditkit.clock import claimed_now
from auditkit.errors import InternalError
from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.engine import evaluate
from auditkit.evaluate.outcomes import RunSummary
from auditkit.ingest import IngestOptions, IngestResult, ingest_paths
from auditkit.pack.build import PackResult, build_pack
from auditkit.resources import sample_data_dir
from auditkit.store import open_store
from auditkit.workspace import CONFIG_NAME, Workspace

FAMILIES = ("scans", "runtime", "flows", "access", "policy", "cloud")


def _date_of(name: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(name)
    except ValueError:
        return None


def _ingest_plan(data: Path, period_end: dt.date) -> list[tuple[list[Path], dt.datetime | None]]:
    """Files to ingest, grouped by the date they were observed.

    A folder named after a date (``access/2026-06-30``, ``scans/trivy/k8s/2026-09-28``)
    holds exports observed on that date: snapshots, or reports that do not say when
    they ran. An access export outside such a folder counts as observed at the end
    of the assessment period; everything else carries its own times.
    """
    groups: dict[dt.datetime | None, list[Path]] = {}
    for family in FAMILIES:
        folder = data / family
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            dated = [d for d in map(_date_of, path.relative_to(folder).parts[:-1]) if d]
            observed = dated[-1] if dated else None
            if observed is None and family == "access":
                observed = dt.datetime.combine(period_end, dt.time())
            groups.setdefault(observed, []).append(path)
    order = sorted(groups, key=lambda d: (d is not None, d or dt.datetime.min))
    return [(groups[d], d) for d in order]


@dataclass
class DemoResult:
    """What the demo did."""

    workspace: Path
    ingested: list[IngestResult]
    summary: RunSummary
    pack: PackResult
    ephemeral_key: bool


def prepare_workspace(target: Path) -> Workspace:
    """Copy the sample workspace (config and registers) into ``target``."""
    source = sample_data_dir() / "workspace"
    if not (source / CONFIG_NAME).is_file():
        raise InternalError(f"sample workspace is missing: {source}")
    shutil.copytree(source, target, dirs_exist_ok=True)
    ws = Workspace(target)
    from auditkit.store import create_store

    with ws.lock():
        create_store(ws)
    return ws


def run_demo(
    out: Path,
    *,
    keep_workspace: Path | None = None,
    make_zip: bool = False,
    force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole chain on the sample data and write the pack to ``out``."""
    from auditkit.sign.keys import (
        MANIFEST_PRIVATE_KEY_FILE,
        generate_ephemeral,
        load_signing_material,
    )

    step = on_step or (lambda _msg: None)
    temp: str | None = None
    if keep_workspace is not None:
        root = keep_workspace
        root.mkdir(parents=True, exist_ok=True)
    else:
        temp = tempfile.mkdtemp(prefix="auditkit-demo-")
        root = Path(temp)
    try:
        ws = prepare_workspace(root)
        ws.check_output(out)  # --keep-workspace: never write the pack over the workspace
        data = sample_data_dir()
        step("ingesting sample data")
        results: list[IngestResult] = []
        with open_store(ws, write=True) as con:
            for files, observed in _ingest_plan(data, ws.config.period_end):
                results += ingest_paths(con, files, IngestOptions(observed_at=observed))
        rejected = [r for r in results if r.status == "rejected"]
        if rejected:
            raise InternalError(f"sample data did not ingest: {rejected[0].error}")
        catalog = load_catalog(ws.config.controls_dirs)
        start, end = ws.config.period_start, ws.config.period_end
        previous = (add_months(start, -3), start - dt.timedelta(days=1))
        with open_store(ws, write=True) as con:
            step(f"evaluating the previous quarter ({previous[0]} to {previous[1]})")
            evaluate(
                con,
                ws,
                catalog,
                claimed_time=claimed_now(),
                label="demo: previous quarter",
                period=previous,
            )
        with open_store(ws, write=True) as con:
            step(f"evaluating the assessment period ({start} to {end})")
            summary = evaluate(con, ws, catalog, claimed_time=claimed_now(), label="demo")
        ephemeral = not (ws.keys_dir / MANIFEST_PRIVATE_KEY_FILE).exists()
        material = (
            generate_ephemeral(ws.config.organisation)
            if ephemeral
            else load_signing_material(ws.keys_dir)
        )
        step("writing the signed pack")
        with open_store(ws, write=False) as con:
            pack = build_pack(
                con,
                catalog,
                summary.run_id,
                out,
                material,
                claimed_time=claimed_now(),
                make_zip=make_zip,
                force=force,
            )
        return DemoResult(root, results, summary, pack, ephemeral)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
