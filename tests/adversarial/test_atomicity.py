"""kill -9 in the middle of a load leaves the file entirely absent; committed files survive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditkit.ingest import OVERLAP_HASH_BYTES
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.adversarial.conftest import Ingest, Snapshot
from tests.adversarial.test_bad_input import VPC_HEADER, vpc_line

BIG_LINES = 700_000  # about 74 MB


def _big_vpc(path: Path) -> None:
    block = "".join(vpc_line(i) + "\n" for i in range(10_000))
    with path.open("w", encoding="ascii") as fh:
        fh.write(VPC_HEADER + "\n")
        for _ in range(BIG_LINES // 10_000):
            fh.write(block)


def _kill_inside_the_load(ws: Workspace, path: Path) -> bool:
    """Start ``auditkit ingest path`` and SIGKILL it while its INSERT is writing.

    The store file grows while the transaction writes row groups, and the WAL
    appears only at COMMIT, so "grown by 1 MiB and still no WAL" is inside the
    load (the poll is every 2 ms; the INSERT of BIG_LINES takes hundreds). Returns
    False when the process ended on its own.
    """
    db = ws.db_path
    wal = Path(str(db) + ".wal")
    assert not wal.exists()
    start_size = db.stat().st_size
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditkit", "ingest", str(path)] + ["-w", str(ws.root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if db.stat().st_size >= start_size + (1 << 20) and not wal.exists():
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        proc.wait()
    return proc.returncode == -signal.SIGKILL


def test_sigkill_mid_load_leaves_the_file_absent(
    ingest: Ingest, ws: Workspace, counts: Snapshot, tmp_path: Path
) -> None:
    small = tmp_path / "small.log"
    small.write_text(VPC_HEADER + "\n" + "\n".join(vpc_line(i) for i in range(3)) + "\n")
    assert ingest(small).code == 0
    before = counts()
    big = tmp_path / "big.log"
    _big_vpc(big)
    assert big.stat().st_size >= OVERLAP_HASH_BYTES
    if not _kill_inside_the_load(ws, big):
        pytest.fail("the ingest finished before it could be killed; make BIG_LINES larger")
    # The store opens cleanly; the killed file left nothing, the earlier one is intact.
    assert counts() == before
    with open_store(ws, write=False) as con:
        paths = [r[0] for r in con.execute("SELECT path FROM sources").fetchall()]
        small_rows = con.execute(
            "SELECT count(*) FROM flows f JOIN sources s USING (source_sha256) WHERE s.path = ?",
            [str(small)],
        ).fetchall()[0][0]
    assert paths == [str(small)]
    assert small_rows == 3

    # Same bytes again: reported as already present, nothing changes.
    again = ingest(small, "--json")
    assert again.code == 0
    assert json.loads(again.out)["files"][0]["status"] == "already present"
    assert counts() == before

    # The killed file can simply be ingested again, whole; then it too is already present
    # (a file this large is hashed while it is staged, and the check comes after).
    result = ingest(big, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["files"][0]["records_stored"] == BIG_LINES
    after = counts()
    assert after["flows"] == before["flows"] + BIG_LINES
    again = ingest(big, "--json")
    assert json.loads(again.out)["files"][0]["status"] == "already present"
    assert counts() == after
