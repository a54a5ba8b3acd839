"""The workspace survives its own commands: output paths, keys, modes, spill, temp files.

Attack classes (see README.md): an output path that is, holds or lies in the
workspace's own files (exit 2, nothing deleted); ``--force`` over a folder that
is not a previous pack (exit 2); a keys folder left world-writable or key
files owned by someone else; the store readable by everyone; spill files and
renderer temp files left behind by ``kill -9``.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CliRunner, use_mini_framework

FOREIGN_UID = 54321


@pytest.fixture
def reported(cli: CliRunner, mini_workspace: Path) -> Path:
    """The mini workspace with run 1 and signing keys."""
    use_mini_framework(mini_workspace)
    assert cli("evaluate", "-w", mini_workspace).code in (0, 1)
    assert cli("keygen", "-w", mini_workspace).code == 0
    return mini_workspace


def _fingerprint(ws: Path) -> dict[str, bytes]:
    """Every file of the workspace with its content."""
    return {
        str(p.relative_to(ws)): p.read_bytes()
        for p in sorted(ws.rglob("*"))
        if p.is_file() and ".auditkit/tmp" not in str(p) and not p.name.endswith(".wal")
    }


def _refused(result: object, *words: str) -> None:
    code, out, err = result.code, result.out, result.err  # type: ignore[attr-defined]
    assert code == 2, out + err
    assert "Traceback" not in err
    assert all(w in err for w in words), err


# -- Medium 4: report --out ------------------------------------------------------------------


def test_report_out_refuses_the_workspace_its_parents_and_its_state(
    cli: CliRunner, reported: Path, tmp_path: Path
) -> None:
    before = _fingerprint(reported)
    link = tmp_path / "innocent-looking"
    link.symlink_to(reported, target_is_directory=True)
    for out in (
        reported,
        reported.parent,
        reported / ".auditkit",
        reported / ".auditkit" / "keys",
        link,
    ):
        res = cli("report", "--run", "1", "--out", out, "--force", "-w", reported)
        _refused(res, "workspace")
    for target in ("auditkit.duckdb", "auditkit.toml", ".auditkit/keys/pub.json"):
        res = cli(
            "report",
            "--run",
            "1",
            "--format",
            "oscal",
            "--out",
            reported / target,
            "-w",
            reported,
        )
        _refused(res, "workspace")
    res = cli("gap", "--out", reported / "auditkit.duckdb", "-w", reported)
    _refused(res, "workspace")
    res = cli("diff", "1", "--out", reported / "auditkit.toml", "-w", reported)
    _refused(res, "workspace")
    assert _fingerprint(reported) == before


def test_demo_refuses_to_write_its_pack_over_the_kept_workspace(
    cli: CliRunner, tmp_path: Path
) -> None:
    ws = tmp_path / "demo-ws"
    for out in (ws, ws / ".auditkit" / "keys"):
        res = cli("demo", "--out", out, "--keep-workspace", ws, "--force")
        _refused(res, "workspace")
    assert not (ws / ".auditkit" / "keys" / "manifest.json").exists()


def test_force_replaces_only_a_previous_pack(
    cli: CliRunner, reported: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "notes.txt").write_text("a QSA's working notes\n")
    res = cli("report", "--run", "1", "--out", mine, "--force", "-w", reported)
    _refused(res, "not a previous evidence pack")
    assert (mine / "notes.txt").read_text() == "a QSA's working notes\n"

    single = tmp_path / "a-file"
    single.write_text("keep me\n")
    _refused(cli("report", "--run", "1", "--out", single, "--force", "-w", reported))
    assert single.read_text() == "keep me\n"

    pack = tmp_path / "q3-pack"
    assert cli("report", "--run", "1", "--out", pack, "-w", reported).code == 0
    (pack / "my-annotation.txt").write_text("added after the build\n")
    res = cli("report", "--run", "1", "--out", pack, "--force", "-w", reported)
    _refused(res, "not a previous evidence pack", "my-annotation.txt")
    (pack / "my-annotation.txt").unlink()
    again = cli("report", "--run", "1", "--out", pack, "--force", "-w", reported, "--json")
    assert again.code == 0, again.err
    assert (
        cli(
            "verify", pack, "--trust", reported / ".auditkit/keys/manifest-signing-key.pub.pem"
        ).code
        == 0
    )


def test_a_pack_inside_the_workspace_folder_is_still_allowed(
    cli: CliRunner, reported: Path
) -> None:
    """The README's tour writes the pack into the workspace folder: that stays possible."""
    res = cli("report", "--run", "1", "--out", reported / "q3-pack", "-w", reported)
    assert res.code == 0, res.err


# -- keys and modes ----------------------------------------------------------------------------


def test_keygen_fixes_a_loose_keys_folder(cli: CliRunner, mini_workspace: Path) -> None:
    keys = mini_workspace / ".auditkit" / "keys"
    keys.mkdir(parents=True)
    keys.chmod(0o777)
    assert cli("keygen", "-w", mini_workspace).code == 0
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((mini_workspace / ".auditkit").stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_key_files_owned_by_someone_else_are_refused(
    cli: CliRunner, reported: Path, tmp_path: Path
) -> None:
    key = reported / ".auditkit" / "keys" / "manifest-signing-key.pem"
    os.chown(key, FOREIGN_UID, FOREIGN_UID)
    res = cli("report", "--run", "1", "--out", tmp_path / "p", "-w", reported)
    _refused(res, "owned by another user")
    res = cli("keygen", "--force", "-w", reported)
    _refused(res, "owned by another user")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_keys_folder_owned_by_someone_else_is_refused(cli: CliRunner, mini_workspace: Path) -> None:
    keys = mini_workspace / ".auditkit" / "keys"
    keys.mkdir(parents=True)
    os.chown(keys, FOREIGN_UID, FOREIGN_UID)
    _refused(cli("keygen", "-w", mini_workspace), "owned by another user")


def test_store_and_state_are_private(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    old = os.umask(0o022)
    try:
        assert cli("init", ws, "--org", "Private Ltd").code == 0
        flows = tmp_path / "f.log"
        from tests.adversarial.samples import sample

        flows.write_text(sample("aws-vpc-flow", 3, "victim"))
        assert cli("ingest", flows, "-w", ws).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((ws / "auditkit.duckdb").stat().st_mode) == 0o600
    for folder in (ws / ".auditkit", ws / ".auditkit" / "tmp"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    wal = ws / "auditkit.duckdb.wal"
    if wal.exists():
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600


# -- spill and temp files ----------------------------------------------------------------------


def test_stale_spill_is_removed_under_the_lock(cli: CliRunner, mini_workspace: Path) -> None:
    tmp = mini_workspace / ".auditkit" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    stale = [
        tmp / "duckdb_temp_storage_S32K-0.tmp",
        tmp / "duckdb_temp_block-4611686018427388032.block",
    ]
    for path in stale:
        path.write_bytes(b"\0" * (1 << 20))
    (tmp / "reader-4242").mkdir()
    (tmp / "reader-4242" / "duckdb_temp_storage_S32K-0.tmp").write_bytes(b"\0" * 1024)
    assert cli("runs", "list", "-w", mini_workspace).code == 0
    assert not any(p.exists() for p in stale)
    assert list(tmp.iterdir()) == []


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_kill_during_report_leaves_nothing_in_tmpdir(reported: Path, tmp_path: Path) -> None:
    tmpdir = tmp_path / "system-tmp"
    tmpdir.mkdir()
    out = tmp_path / "packs" / "q3"
    env = dict(os.environ, TMPDIR=str(tmpdir))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditkit",
            "report",
            "--run",
            "1",
            "--out",
            str(out),
            "-w",
            str(reported),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        rendering = _wait_for(
            lambda: any(out.parent.glob(f".{out.name}.partial-*/.render/report.html")), 120
        )
        assert rendering, "the render never started inside the pack's .partial folder"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    _wait_for(lambda: not list(tmpdir.iterdir()), 5)
    assert list(tmpdir.iterdir()) == []


def test_report_writes_its_temp_files_inside_the_partial_folder(
    cli: CliRunner, reported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every helper process gets the pack's .partial folder as TMPDIR, and the HTML it
    renders sits there: nothing of a killed build can outlive it in the system TMPDIR."""
    from auditkit.report import child

    seen: list[tuple[list[str], str]] = []
    original = child.ChildJob.__init__

    def record(self: child.ChildJob, module: str, args: list[str], **kw: object) -> None:
        env = kw.get("env") or {}
        seen.append((list(args), str(env.get("TMPDIR", ""))))  # type: ignore[union-attr]
        original(self, module, args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(child.ChildJob, "__init__", record)
    out = tmp_path / "pack"
    res = cli("report", "--run", "1", "--out", out, "-w", reported, "--json")
    assert res.code == 0, res.err
    assert seen
    for args, tmpdir in seen:
        assert f"/.{out.name}.partial-" in tmpdir, tmpdir
        assert all(f"/.{out.name}.partial-" in a for a in args if a.endswith(".html"))
    assert not any(p.name.startswith(f".{out.name}.partial") for p in tmp_path.iterdir())
    assert not list(out.rglob(".render"))
    assert json.loads(res.out)["files"] > 0


def test_spill_of_a_running_reader_is_left_alone(cli: CliRunner, mini_workspace: Path) -> None:
    """Cleaning happens only with the lock held alone: a second reader runs beside a
    first one and leaves its spill folder in place."""
    tmp = mini_workspace / ".auditkit" / "tmp"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from auditkit.workspace import Workspace\n"
            f"ws = Workspace(Path({str(mini_workspace)!r}))\n"
            "with ws.lock(exclusive=False):\n"
            "    (ws.tmp_dir / 'spill-busy').mkdir(parents=True, exist_ok=True)\n"
            "    print('holding', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert cli("runs", "list", "-w", mini_workspace).code == 0
        assert (tmp / "spill-busy").is_dir()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert cli("runs", "list", "-w", mini_workspace).code == 0
    assert not (tmp / "spill-busy").exists()
