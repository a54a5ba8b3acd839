"""Shared fixtures: run the real CLI in-process and build small workspaces."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditkit.cli import run

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI_FRAMEWORK = FIXTURES / "mini-framework"


def use_mini_framework(ws: Path) -> None:
    """Point a workspace at the small test framework (tests/fixtures/mini-framework)."""
    cfg = ws / "auditkit.toml"
    text = cfg.read_text().replace(
        'approved_flows = "approved-flows.yaml"',
        f'approved_flows = "approved-flows.yaml"\ncontrols = ["{MINI_FRAMEWORK}"]',
    )
    cfg.write_text('framework = "mini"\n' + text)


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@dataclass
class CliResult:
    """Exit code and captured output of one CLI invocation."""

    code: int
    out: str
    err: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``auditkit`` with arguments; returns code, stdout and stderr."""

    def invoke(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def mini_workspace(tmp_path: Path, cli: CliRunner) -> Path:
    """The hand-made mini environment (tests/fixtures/mini), ingested."""
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "mini", ws)
    assert cli("ingest", ws / "scans", ws / "runtime", ws / "flows", "-w", ws).code == 0
    assert cli("ingest", ws / "access", "--observed-at", "2026-09-30", "-w", ws).code == 0
    return ws


@pytest.fixture(scope="session")
def demo_pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """``auditkit demo`` once per test session: (pack folder, kept workspace, JSON summary).

    The workspace holds both sample-company runs (2026-q2 as run 1, 2026-q3 as run 2).
    Tests read it or copy it; none may change it.
    """
    root = tmp_path_factory.mktemp("demo")
    out, ws = root / "demo-pack", root / "ws"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = run(["demo", "--out", str(out), "--keep-workspace", str(ws), "--json"])
    assert code == 0
    return out, ws, json.loads(buffer.getvalue())
