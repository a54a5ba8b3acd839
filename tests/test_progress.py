"""Progress on a terminal for ingest, evaluate and report; nothing when piped or with --json."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from auditkit.cli import run
from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.engine import evaluate
from auditkit.pack import build
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.conftest import FIXTURES, CliRunner


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_on_a_terminal(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> tuple[int, str, str]:
    out, err = _Tty(), _Tty()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = run([str(a) for a in args])
    monkeypatch.undo()
    return code, out.getvalue(), err.getvalue()


def test_ingest_and_evaluate_show_progress_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, cli: CliRunner, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "mini", ws)
    code, _, err = _run_on_a_terminal(monkeypatch, "ingest", ws / "flows", ws / "scans", "-w", ws)
    assert code == 0 and "ingesting" in err
    code, _, err = _run_on_a_terminal(monkeypatch, "evaluate", "-w", ws)
    assert code == 0 and "evaluating" in err
    code, out, err = _run_on_a_terminal(monkeypatch, "evaluate", "-w", ws, "--json")
    assert code == 0 and "evaluating" not in err
    json.loads(out)
    piped = cli("evaluate", "-w", ws)  # captured output is not a terminal
    assert piped.code == 0 and "evaluating" not in piped.err


def test_engine_reports_each_check_once(mini_workspace: Path) -> None:
    ws = Workspace(mini_workspace)
    catalog = load_catalog()
    seen: list[str] = []
    with open_store(ws, write=True) as con:
        summary = evaluate(
            con, ws, catalog, claimed_time=dt.datetime(2026, 10, 1), on_check=seen.append
        )
    assert seen == [c.check_id for c in summary.checks]
    assert len(seen) == len(set(seen))


def test_report_steps_are_the_steps_the_build_times() -> None:
    source = Path(build.__file__).read_text(encoding="utf-8")
    laps = re.findall(r'clock\.lap\("([^"]+)"\)', source)
    assert tuple(laps) == build.BUILD_STEPS
    steps: list[str] = []
    clock = build._Clock(steps.append)
    for name in build.BUILD_STEPS:
        clock.lap(name)
    assert steps == list(build.BUILD_STEPS) and set(clock.laps) == set(build.BUILD_STEPS)
