"""A bad day for the machine: a read-only workspace, a full disk.

Attack classes (see README.md): an archived workspace on a read-only mount
(read-only commands work, exit 0; writing ones fail with one line, exit 2);
a disk that fills during ingest or while a pack is written (one line naming
the real cause, exit 3, no traceback, nothing half-stored).

The real conditions are made with a private mount namespace (``unshare``): a
read-only bind mount and a small tmpfs. Where the system does not allow that,
the tests skip.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversarial.samples import sample
from tests.conftest import CliRunner, use_mini_framework


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null || "
            "mount -t tmpfs -o size=1m tmpfs /tmp",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_unshare(), reason="needs unshare -rm and tmpfs mounts")

AUDITKIT = f"{shlex.quote(sys.executable)} -m auditkit"


def _in_namespace(setup: str, command: str) -> subprocess.CompletedProcess[str]:
    """Run ``setup`` (mounts) then ``command`` in a private user + mount namespace."""
    script = f'set -e\n{setup}\nset +e\n{command}\necho "__exit=$?"\n'
    done = subprocess.run(
        ["unshare", "-rm", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    return done


def _exit(done: subprocess.CompletedProcess[str]) -> int:
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("__exit=")][-1]
    return int(line.split("=", 1)[1])


def _one_clean_error(err: str) -> str:
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln]
    assert len(errors) == 1, err
    return errors[0]


@pytest.fixture
def evaluated(cli: CliRunner, mini_workspace: Path) -> Path:
    use_mini_framework(mini_workspace)
    assert cli("evaluate", "-w", mini_workspace).code in (0, 1)
    assert cli("keygen", "-w", mini_workspace).code == 0
    return mini_workspace


# -- a read-only workspace ---------------------------------------------------------------------


def test_read_only_commands_work_on_a_read_only_workspace(evaluated: Path, tmp_path: Path) -> None:
    ws = shlex.quote(str(evaluated))
    out = shlex.quote(str(tmp_path / "pack"))
    ro = f"mount --bind {ws} {ws}\nmount -o remount,bind,ro {ws}"
    for command in (
        f"{AUDITKIT} runs list -w {ws}",
        f"{AUDITKIT} gap -w {ws}",
        f"{AUDITKIT} diff 1 1 -w {ws}",
        f"{AUDITKIT} controls list -w {ws}",
        f"{AUDITKIT} report --run 1 --out {out} -w {ws}",
    ):
        done = _in_namespace(ro, command)
        assert _exit(done) in (0, 1), (command, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    # The pack written from the read-only workspace verifies.
    assert (tmp_path / "pack" / "manifest.dsse.json").exists()
    # A writing command says why it cannot run, in one line, exit 2.
    flows = tmp_path / "f.log"
    flows.write_text(sample("aws-vpc-flow", 2, "victim"))
    done = _in_namespace(ro, f"{AUDITKIT} ingest {shlex.quote(str(flows))} -w {ws}")
    assert _exit(done) == 2, done.stderr
    line = _one_clean_error(done.stderr)
    assert "read-only" in line.lower()


# -- a full disk -----------------------------------------------------------------------------------


def test_disk_full_during_ingest_names_the_real_cause(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    flows = tmp_path / "flows.log"
    with flows.open("w") as fh:
        fh.write(sample("aws-vpc-flow", 400_000, "victim"))  # ~40 MB: far more than fits
    mount = f"mount -t tmpfs -o size=3m tmpfs {shlex.quote(str(small))}"
    ws = shlex.quote(str(small / "ws"))
    command = (
        f"{AUDITKIT} init {ws} --org 'Full Disk Ltd' >/dev/null\n"
        f"{AUDITKIT} ingest {shlex.quote(str(flows))} -w {ws}\n"
        'echo "__exit=$?"\n'
        f"{AUDITKIT} runs list -w {ws} --json"
    )
    done = _in_namespace(mount, command)
    exits = [ln for ln in done.stdout.splitlines() if ln.startswith("__exit=")]
    first_exit = int(exits[0].split("=")[1])
    assert first_exit == 3, (done.stdout[-2000:], done.stderr[-3000:])
    err = done.stderr.split('"runs"')[0]
    line = _one_clean_error(err)
    assert "No space left on device" in line, line
    assert "no transaction is active" not in line
    # The store still opens afterwards and holds nothing of the file.
    assert _exit(done) == 0, done.stderr[-2000:]


@pytest.mark.parametrize("size", ["128k", "512k", "720k"])
def test_disk_full_while_writing_a_pack_names_the_real_cause(
    evaluated: Path, tmp_path: Path, size: str
) -> None:
    """The mini pack is about 440 KiB and its zip as much again: the disk fills while the
    evidence is written, while the PDF renders or is signed, or while the zip is written."""
    small = tmp_path / "small"
    small.mkdir()
    mount = f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(small))}"
    out = shlex.quote(str(small / "pack"))
    listing = f"ls -A {shlex.quote(str(small))}"
    done = _in_namespace(
        mount,
        f"{AUDITKIT} report --run 1 --out {out} --zip -w {shlex.quote(str(evaluated))}\n"
        f'echo "__exit=$?"\n{listing}',
    )
    exits = [ln for ln in done.stdout.splitlines() if ln.startswith("__exit=")]
    assert int(exits[0].split("=")[1]) == 3, (done.stdout[-2000:], done.stderr[-3000:])
    line = _one_clean_error(done.stderr)
    assert "No space left on device" in line, line
    left = done.stdout.split(exits[0])[1].split()
    # Nothing half-written stays: no staging folder, no partial zip (a complete pack
    # folder may stay when only its zip did not fit).
    assert not [n for n in left if "partial" in n or ".tmp-" in n], left
