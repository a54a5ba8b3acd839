"""The build: reproducible with SOURCE_DATE_EPOCH, atomic on failure, rolls sheets over."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

import auditkit.pack.build as build_module
from auditkit.cli import run as cli_run
from auditkit.errors import PackError
from auditkit.pack.verify import verify_pack
from auditkit.report.limits import PackLimits
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.conftest import Built, build

pytestmark = pytest.mark.slow

EPOCH = "1790000000"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _subjects(folder: Path) -> dict[str, str]:
    envelope = json.loads((folder / "manifest.dsse.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    return {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}


@pytest.fixture(scope="module")
def twice(built: Built, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``auditkit report`` of run 2, twice, with SOURCE_DATE_EPOCH set."""
    root = tmp_path_factory.mktemp("repro")
    outs = (root / "a", root / "b")
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        for out in outs:
            code = cli_run(["report", "--run", "2", "--out", str(out), "-w", str(built.ws)])
            assert code == 0
    finally:
        if saved is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved
    return outs


def test_evidence_workbook_and_manifest_subjects_are_byte_identical(
    twice: tuple[Path, Path],
) -> None:
    a, b = (_files(p) for p in twice)
    assert a.keys() == b.keys()
    evidence = [name for name in a if name.startswith("evidence/")]
    assert len(evidence) > 10
    # the evidence references are the same in every rebuild of the run
    assert "evidence/index.csv" in evidence and b"EV-0001" in a["evidence/index.csv"]
    for name in [*evidence, "workbook.xlsx"]:
        assert a[name] == b[name], name
    assert _subjects(twice[0]) == _subjects(twice[1])


def test_the_whole_pack_is_byte_identical(twice: tuple[Path, Path]) -> None:
    # Also report.pdf (WeasyPrint with SOURCE_DATE_EPOCH, deterministic ECDSA in
    # the PAdES signature) and the manifest (Ed25519 is deterministic); see
    # docs/pack.md (Reproducibility) for what this depends on.
    a, b = (_files(p) for p in twice)
    different = [name for name in a if a[name] != b[name]]
    assert different == []


def test_the_claimed_time_is_the_epoch(twice: tuple[Path, Path]) -> None:
    envelope = json.loads((twice[0] / "manifest.dsse.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    expected = dt.datetime.fromtimestamp(int(EPOCH), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert statement["predicate"]["claimed_time"] == expected


def test_a_failure_mid_build_leaves_nothing(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build_module, "write_workbook", broken)
    out = tmp_path / "pack"
    with pytest.raises(RuntimeError, match="disk on fire"):
        build(built.ws, 2, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind


def test_a_killed_build_leaves_no_pack_that_verifies(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        import auditkit.pack.build as b
        real = b.write_workbook
        def killed(*args, **kwargs):
            real(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)  # after the workbook, before any signature
        b.write_workbook = killed
        from tests.report.conftest import build
        build(Path({str(built.ws)!r}), 2, Path({str(out)!r}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode(errors="replace")[-2000:]
    assert not out.exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".pack.partial-")]
    assert leftovers, "the staging folder is where a killed build stops"
    for folder in leftovers:
        assert not (folder / "manifest.dsse.json").exists()
        assert not (folder / "report.pdf").exists()
        with pytest.raises(PackError):
            verify_pack(folder)


@pytest.fixture(scope="module")
def rolled(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rollover") / "pack"
    build(built.ws, 2, out, limits=PackLimits(sheet_max_rows=11))
    return out


def test_sheets_roll_over_at_the_row_limit(built: Built, rolled: Path) -> None:
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = load_workbook(rolled / "workbook.xlsx", read_only=True)
    with open_store(Workspace(built.ws), write=False) as con:
        findings, population = con.execute(
            "SELECT count(*) FILTER (WHERE status IN ('fail', 'excepted')), count(*) "
            "FROM run_results WHERE run_id = 2"
        ).fetchone() or (0, 0)
    for base, expected in (("Exceptions noted", findings), ("Population", population)):
        parts = [n for n in book.sheetnames if n == base or n.startswith(f"{base} (")]
        assert len(parts) == -(-expected // 10) > 1
        assert parts[1] == f"{base} (2)"
        total = 0
        for name in parts:
            rows = list(book[name].iter_rows(values_only=True))
            assert rows[0][:2] == ("check_id", "requirements")  # every part repeats the header
            assert len(rows) - 1 <= 10
            total += len(rows) - 1
        assert total == expected
    log = list(book["Write log"].iter_rows(values_only=True))
    findings_row = next(r for r in log if r[0] == "Exceptions noted")
    assert findings_row[2] == findings and "Exceptions noted (2)" in findings_row[3]
    book.close()
    assert verify_pack(rolled).ok
