"""The checked-in sample environment is exactly what its generator writes.

The generator (``sample_data/generate.py``) is standard-library only and
deterministic; these tests regenerate into a temporary folder and compare bytes,
keep the checked-in size in check, and prove the benchmark options write the
record counts they promise.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
GENERATOR = SAMPLE / "generate.py"
NOT_GENERATED = {"generate.py", "README.md", "generator"}
MAX_BYTES = 5_000_000


def _generate(out: Path, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def _files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every generated file under ``root``."""
    out = {}
    for top in sorted(root.iterdir()):
        if top.name in NOT_GENERATED or top.name.startswith(("__", ".")):
            continue
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def test_default_run_reproduces_checked_in_files(tmp_path: Path) -> None:
    _generate(tmp_path)
    fresh, checked_in = _files(tmp_path), _files(SAMPLE)
    assert sorted(fresh) == sorted(checked_in), "file set differs from the checked-in files"
    changed = sorted(p for p in fresh if fresh[p] != checked_in[p])
    assert not changed, f"regenerated files differ from the checked-in bytes: {changed[:10]}"


def test_checked_in_data_is_under_5_mb() -> None:
    total = sum(
        p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert total < MAX_BYTES, f"sample_data holds {total} bytes"


def test_scaled_run_writes_requested_counts(tmp_path: Path) -> None:
    _generate(tmp_path, "--flows", "20000", "--audit-events", "5000", "--no-gzip")
    assert not list(tmp_path.rglob("*.gz")), "--no-gzip still wrote gzip files"
    flow_files = sorted((tmp_path / "flows/vpc/2026-q3").glob("vpc-flow-logs-*.log"))
    audit_files = sorted((tmp_path / "runtime/k8s-audit/2026-q3").glob("*.jsonl"))
    assert len(flow_files) == 3 and len(audit_files) == 3
    assert sum(len(f.read_text().splitlines()) for f in flow_files) == 20000
    assert sum(len(f.read_text().splitlines()) for f in audit_files) == 5000
    manifest = json.loads((tmp_path / "ground-truth/manifest.json").read_text())
    assert manifest["options"]["flows"] == 20000
    assert manifest["options"]["audit_events"] == 5000


def test_too_few_records_for_the_story_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--flows", "10"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "flow records are needed" in proc.stderr


@pytest.mark.parametrize(
    "suffixes",
    [(".json", ".sarif"), (".jsonl", ".jsonl.gz"), (".yaml",)],
    ids=["json", "jsonl", "yaml"],
)
def test_checked_in_documents_parse(suffixes: tuple[str, ...]) -> None:
    paths = [
        p
        for p in SAMPLE.rglob("*")
        if p.is_file() and p.name.endswith(suffixes) and "generator" not in p.parts
    ]
    assert paths
    for path in paths:
        text = _read_text(path)
        if path.name.endswith((".jsonl", ".jsonl.gz")) or "captures" in path.parts:
            for line in text.splitlines():
                json.loads(line)
        elif path.name.endswith(".yaml"):
            assert list(yaml.safe_load_all(text)), path
        else:
            json.loads(text)


def test_readme_lists_every_ground_truth_scenario() -> None:
    scenarios = json.loads((SAMPLE / "ground-truth/scenarios.json").read_text())["scenarios"]
    readme = (SAMPLE / "README.md").read_text()
    for s in scenarios:
        row = f"| {s['id']} | {', '.join(s['requirements'])} | {s['title']} |"
        assert row in readme, f"{s['id']} missing from the README ground-truth table"
        assert f"| {s['expected']['2026-q3']} | {s['expected']['2026-q2']} |" in readme


def test_audit_logging_gap_is_empty() -> None:
    """The planted 10.2.1 gap (2026-08-14 02:00-09:30 UTC) holds no event at all."""
    path = SAMPLE / "runtime/k8s-audit/2026-q3/prod-eu1-audit-2026-08.jsonl.gz"
    stamps = [json.loads(line)["stageTimestamp"] for line in _read_text(path).splitlines()]
    assert stamps
    inside = [s for s in stamps if "2026-08-14T02:00:00" <= s < "2026-08-14T09:30:00"]
    assert not inside
