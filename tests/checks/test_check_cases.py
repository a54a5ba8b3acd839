"""Every check has a folder of small inputs and an expected outcome, found automatically.

Layout: ``tests/checks/<check_id>/expected.yaml`` plus input files (any format
auditkit ingests) and optional registers (``approved-flows.yaml``,
``exceptions.yaml``, ``attestations.yaml``). Further cases may live in
sub-folders, each with its own ``expected.yaml``. See tests/checks/README.md.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml

from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.engine import evaluate
from auditkit.evaluate.resource_keys import describe, key_matches
from auditkit.ingest import IngestOptions, ingest_file
from auditkit.store import open_store
from auditkit.workspace import Workspace

CASES_DIR = Path(__file__).resolve().parent
REGISTER_FILES = {"approved-flows.yaml", "exceptions.yaml", "attestations.yaml", "expected.yaml"}
DEFAULT_SCOPE = {
    "namespaces": ["payments"],
    "cidrs": ["10.20.0.0/16"],
    "images": ["registry.example.test/payments/*"],
    "connected_namespaces": ["checkout-web"],
    "connected_cidrs": ["10.30.0.0/16"],
    "internal_cidrs": ["10.0.0.0/8"],
}
STATUSES = ("pass", "fail", "not_applicable", "excepted")


def _cases() -> list[Path]:
    return sorted(p.parent for p in CASES_DIR.rglob("expected.yaml"))


def _check_of(case: Path) -> str:
    return case.relative_to(CASES_DIR).parts[0]


def test_every_check_has_a_case_folder() -> None:
    catalog = load_catalog()
    with_cases = {_check_of(c) for c in _cases()}
    missing = sorted(set(catalog.checks) - with_cases)
    assert not missing, f"checks without tests/checks/<id>/expected.yaml: {missing}"
    unknown = sorted(with_cases - set(catalog.checks))
    assert not unknown, f"case folders for unknown checks: {unknown}"


def _workspace(case: Path, expected: dict[str, Any], root: Path, check_id: str) -> Workspace:
    ws_dir = root / "ws"
    ws_dir.mkdir()
    for name in ("approved-flows.yaml", "exceptions.yaml", "attestations.yaml"):
        if (case / name).is_file():
            shutil.copy(case / name, ws_dir / name)
    controls = root / "controls"
    (controls / "frameworks").mkdir(parents=True)
    # The requirements the built-in framework maps the check to (or those the case names),
    # with their testing procedures, so the roll-up is the one the check really feeds.
    wanted = _requirements(expected, check_id)
    requirements = [
        {
            "id": req.id,
            "title": req.title,
            "applies_to": req.applies_to,
            "checks": [check_id],
            "procedures": [
                {"id": p.id, "methods": list(p.methods), "text": p.text} for p in req.procedures
            ],
        }
        for req in load_catalog().framework("pci-dss-v4.0.1").requirements
        if check_id in req.checks and req.id in wanted
    ]
    assert [r["id"] for r in requirements] == wanted, f"{check_id} is not mapped to {wanted}"
    (controls / "frameworks" / "case.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "case",
                "title": f"case for {check_id}",
                "version": "1",
                "requirements": requirements,
            }
        )
    )
    period = expected.get("period", {"start": "2026-07-01", "end": "2026-09-30"})
    scope = {**DEFAULT_SCOPE, **expected.get("scope", {})}
    config = {
        "framework": "case",
        "organisation": {
            "name": "Case Test Ltd",
            "entity_type": expected.get("entity_type", "service_provider"),
        },
        "period": {
            "start": dt.date.fromisoformat(str(period["start"])),
            "end": dt.date.fromisoformat(str(period["end"])),
        },
        "scope": scope,
        "paths": {
            "exceptions": "exceptions.yaml",
            "attestations": "attestations.yaml",
            "approved_flows": "approved-flows.yaml",
            "controls": [str(controls)],
        },
    }
    if "params" in expected:
        config["params"] = {check_id: expected["params"]}
    if "break_glass" in expected:
        config["break_glass"] = expected["break_glass"]
    # auditkit.toml declarations a check needs ([images], [identities], [[secret_consumers]])
    config.update(expected.get("workspace", {}))
    (ws_dir / "auditkit.toml").write_text(tomli_w.dumps(config))
    return Workspace(ws_dir)


@pytest.mark.parametrize("case", _cases(), ids=lambda p: str(p.relative_to(CASES_DIR)))
def test_check_case(case: Path, tmp_path: Path) -> None:
    check_id = _check_of(case)
    expected = yaml.safe_load((case / "expected.yaml").read_text())
    ws = _workspace(case, expected, tmp_path, check_id)
    observed = expected.get("observed_at", {})
    with open_store(ws, write=True) as con:
        for path in sorted(case.iterdir()):
            if path.name in REGISTER_FILES or path.is_dir() or path.name.startswith("."):
                continue
            snap = observed.get(path.name, expected.get("snapshot_date"))
            options = IngestOptions(
                vpc_fields=expected.get("vpc_fields", {}).get(path.name),
                observed_at=dt.datetime.fromisoformat(str(snap)) if snap else None,
            )
            result = ingest_file(con, path, options)
            assert result.status == "stored", (path.name, result.error)
    catalog = load_catalog(ws.config.controls_dirs)
    as_of = dt.date.fromisoformat(str(expected["as_of"]))
    with open_store(ws, write=True) as con:
        summary = evaluate(
            con, ws, catalog, as_of=as_of, claimed_time=dt.datetime(2026, 10, 1, 12, 0, 0)
        )
        outcome = next(c for c in summary.checks if c.check_id == check_id)
        if "not_tested" in expected:
            assert outcome.state == "not_tested"
            assert expected["not_tested"] in outcome.reason
            return
        assert outcome.state == "evaluated", outcome.reason
        rows = con.execute(
            "SELECT resource, status, reason, source_sha256, locator FROM run_results "
            "WHERE run_id = ? AND check_id = ? ORDER BY resource",
            [summary.run_id, check_id],
        ).fetchall()
    got = {status: sorted(r[0] for r in rows if r[1] == status) for status in STATUSES}
    want = {status: sorted(expected.get(status) or []) for status in STATUSES}
    assert got == want, json.dumps({"got": got, "want": want}, indent=1)
    formats = catalog.check(check_id).resource_key
    misshapen = [r[0] for r in rows if not key_matches(formats, r[0])]
    assert not misshapen, (
        f"resource keys that fit no shape of {check_id}'s resource_key "
        f"({describe(formats)}): {misshapen[:5]}; update resource_key in its YAML"
    )
    for resource, status, reason, sha, locator in rows:
        assert reason and reason.strip(), resource
        if status in ("fail", "excepted"):
            absent = (locator or "").startswith("absent:")
            assert (sha and locator) or absent, (
                f"finding {resource!r} leads neither to a source record nor to a named absence"
            )
    results = {r.id: r for r in summary.requirements}
    for key in ("result", "compensating_control"):
        want_per_req = _per_requirement(expected, key, check_id)
        for req, value in want_per_req.items():
            got_value = (
                results[req].result if key == "result" else results[req].compensating_control
            )
            assert got_value == value, (req, key, results[req].basis)


def _requirements(expected: dict[str, Any], check_id: str) -> list[str]:
    """The requirement ids the case maps its check to: those it names, or by default every
    requirement the built-in framework maps the check to (in the framework's order)."""
    value = expected.get("requirement")
    if value is None:
        framework = load_catalog().framework("pci-dss-v4.0.1")
        return [r.id for r in framework.requirements if check_id in r.checks]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _per_requirement(expected: dict[str, Any], key: str, check_id: str) -> dict[str, Any]:
    """``result`` or ``compensating_control`` per requirement (a mapping, or one value for the
    first requirement)."""
    if key not in expected:
        return {}
    value = expected[key]
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {_requirements(expected, check_id)[0]: value}
