"""Ingest reads exactly the bytes it hashed, and only the files it was given.

Attack classes (see README.md): file names that are glob patterns, a file
swapped or rewritten while it is read, links inside an export folder, FIFOs
and other special files, decompression bombs, unrecognised files whose
content must not be echoed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.adversarial.conftest import Ingest, Snapshot, assert_rejected, error_line
from tests.adversarial.samples import LINE_FORMATS, VPC_HEADER, marker_value, sample, vpc_line


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(ws: Workspace, fmt: str, sha: str) -> tuple[list[object], list[str], int | None]:
    """(marker values, locators, records_stored) of one source file."""
    _, table, column = LINE_FORMATS[fmt]
    with open_store(ws, write=False) as con:
        rows = con.execute(
            f"SELECT {column}, locator FROM {table} WHERE source_sha256 = ? ORDER BY locator",
            [sha],
        ).fetchall()
        src = con.execute(
            "SELECT records_stored FROM sources WHERE source_sha256 = ?", [sha]
        ).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows], (src[0][0] if src else None)


# -- High 1: a file name is never a pattern -------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(LINE_FORMATS))
def test_brackets_in_a_name_read_that_file_only(
    fmt: str, ingest: Ingest, ws: Workspace, tmp_path: Path
) -> None:
    suffix = LINE_FORMATS[fmt][0]
    folder = tmp_path / "exports"
    folder.mkdir()
    victim = folder / f"flows[1]{suffix}"  # as a glob, [1] matches "flows1"
    decoy = folder / f"flows1{suffix}"
    victim.write_text(sample(fmt, 2, "victim"))
    decoy.write_text(sample(fmt, 3, "decoy"))
    result = ingest(victim, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["files"][0]["records_stored"] == 2
    values, locators, stored = _stored(ws, fmt, _sha(victim))
    assert values == [marker_value(fmt, "victim")] * 2
    assert stored == 2
    assert all(int(loc.split(":")[1].split("#")[0]) <= 3 for loc in locators), locators
    # The other file's bytes were never stored under the victim's hash, so it is new.
    again = ingest(decoy, "--json")
    assert json.loads(again.out)["files"][0]["status"] == "stored"
    assert _stored(ws, fmt, _sha(decoy))[0] == [marker_value(fmt, "decoy")] * 3


def test_star_and_question_mark_in_names(ingest: Ingest, ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    star = folder / "vpc-*.log"
    star.write_text(sample("aws-vpc-flow", 2, "victim"))
    for name in ("vpc-a.log", "vpc-b.log", "vpc-?.log"):
        (folder / name).write_text(sample("aws-vpc-flow", 40, "decoy"))
    result = ingest(star, folder / "vpc-?.log", "--json")
    assert result.code == 0, result.err
    assert [f["records_stored"] for f in json.loads(result.out)["files"]] == [2, 40]
    values, locators, _ = _stored(ws, "aws-vpc-flow", _sha(star))
    assert values == [443, 443] and locators == ["line:2", "line:3"]
    # A whole folder of such names: each file's rows are its own.
    result = ingest(folder, "--json")
    assert result.code == 0, result.err
    with open_store(ws, write=False) as con:
        per_file = con.execute(
            "SELECT s.path, s.records_stored, count(f.locator) FROM sources s "
            "LEFT JOIN flows f USING (source_sha256) GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert all(stored == rows for _, stored, rows in per_file), per_file


def test_files_read_one_after_another_never_share_content(
    ingest: Ingest, ws: Workspace, tmp_path: Path
) -> None:
    """Each file is read through /proc/self/fd/N, and N is reused from file to file:
    files of equal size and mtime must still each give their own rows."""
    folder = tmp_path / "exports"
    folder.mkdir()
    paths = []
    for i, port in enumerate((443, 444, 445)):
        path = folder / f"f{i}.log"
        path.write_text(sample("aws-vpc-flow", 3, "victim").replace(" 443 6 ", f" {port} 6 "))
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        paths.append((path, port))
    assert len({p.stat().st_size for p, _ in paths}) == 1
    assert ingest(folder).code == 0
    for path, port in paths:
        assert _stored(ws, "aws-vpc-flow", _sha(path))[0] == [port] * 3


def _swap_during_detection(monkeypatch: pytest.MonkeyPatch, action: object) -> None:
    """Run ``action(path)`` after the file was hashed, before its content is read."""
    import auditkit.ingest as ingest_pkg

    original = ingest_pkg.sniff

    def sniff_after(source: object) -> object:
        action(Path(source.path))  # type: ignore[attr-defined, operator]
        return original(source)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_pkg, "sniff", sniff_after)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_file_replaced_after_hashing_is_read_as_hashed(
    compressed: bool,
    ingest: Ingest,
    ws: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "flows.log"
    other = tmp_path / "other.log"
    data = sample("aws-vpc-flow", 2, "victim").encode()
    swap = sample("aws-vpc-flow", 5, "decoy").encode()
    target.write_bytes(gzip.compress(data) if compressed else data)
    other.write_bytes(gzip.compress(swap) if compressed else swap)
    hashed = _sha(target)
    _swap_during_detection(monkeypatch, lambda path: os.replace(other, path))
    result = ingest(target, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["files"][0]
    assert report["sha256"] == hashed
    assert _stored(ws, "aws-vpc-flow", hashed)[0] == [443, 443]


def test_file_rewritten_in_place_after_hashing_is_rejected(
    ingest: Ingest, counts: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "flows.log"
    target.write_text(sample("aws-vpc-flow", 2, "victim"))
    before = counts()

    def append(path: Path) -> None:
        with path.open("a") as fh:
            fh.write(vpc_line(99, dport=23) + "\n")

    _swap_during_detection(monkeypatch, append)
    result = ingest(target)
    assert_rejected(result, target, reason="changed while it was being read")
    assert counts() == before


# -- Medium 3: links -------------------------------------------------------------------------

SECRET = "root:$6$SECRETHASHabcdefghijklmnopqrstuvwxyz:19000:0:99999:7:::\n"


def test_links_inside_a_folder_are_skipped_and_counted(
    ingest: Ingest, ws: Workspace, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shadow = outside / "shadow"
    shadow.write_text(SECRET)
    elsewhere = outside / "flows.log"
    elsewhere.write_text(sample("aws-vpc-flow", 3, "decoy"))
    folder = tmp_path / "exports"
    (folder / "sub").mkdir(parents=True)
    good = folder / "good.log"
    good.write_text(sample("aws-vpc-flow", 2, "victim"))
    (folder / "shadow.log").symlink_to(shadow)
    (folder / "flows.log").symlink_to(elsewhere)
    (folder / "sub" / "linked-dir").symlink_to(outside, target_is_directory=True)

    result = ingest(folder, "--json")
    assert result.code == 0, result.err
    assert "SECRETHASH" not in result.out + result.err
    report = json.loads(result.out)
    by_path = {Path(f["path"]).name: f for f in report["files"]}
    assert by_path["good.log"]["status"] == "stored"
    for name in ("shadow.log", "flows.log", "linked-dir"):
        assert by_path[name]["status"] == "skipped", by_path[name]
        assert "symbolic link" in by_path[name]["error"]
    assert report["files_skipped"] == 3
    with open_store(ws, write=False) as con:
        paths = [r[0] for r in con.execute("SELECT path FROM sources").fetchall()]
    assert paths == [str(good)]

    text = ingest(folder)
    assert text.code == 0
    assert "SECRETHASH" not in text.out + text.err
    assert f"skipped {folder / 'shadow.log'}: symbolic link" in text.err


def test_link_named_on_the_command_line_is_followed_and_recorded_by_its_real_path(
    ingest: Ingest, ws: Workspace, tmp_path: Path
) -> None:
    real = tmp_path / "real" / "flows.log"
    real.parent.mkdir()
    real.write_text(sample("aws-vpc-flow", 2, "victim"))
    link = tmp_path / "link.log"
    link.symlink_to(real)
    result = ingest(link, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["files"][0]["path"] == str(real)
    with open_store(ws, write=False) as con:
        assert con.execute("SELECT path FROM sources").fetchall() == [(str(real),)]


@pytest.mark.parametrize(
    "content",
    [
        SECRET,
        '{"password": "hunter2-SECRETHASH", "SECRETHASH-key": 1}',
        "SECRETHASH " * 20,
    ],
    ids=["text", "json-object", "long-line"],
)
def test_unrecognised_content_is_never_echoed(
    content: str, ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "export.txt"
    path.write_text(content)
    before = counts()
    for args in ((), ("--json",)):
        result = ingest(path, *args)
        assert result.code == 2
        assert "SECRETHASH" not in result.out + result.err
        assert "hunter2" not in result.out + result.err
    line = error_line(ingest(path))
    assert "unrecognised content" in line
    assert counts() == before


# -- FIFOs and other special files ------------------------------------------------------------


def _run(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "auditkit", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"auditkit {' '.join(args)} hung (killed after {timeout} s)")


def test_fifo_on_the_command_line_is_refused(ws: Workspace, tmp_path: Path) -> None:
    fifo = tmp_path / "flows.log"
    os.mkfifo(fifo)
    done = _run(["ingest", str(fifo), "-w", str(ws.root)])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{fifo}: not a regular file" in done.stderr
    # The lock was released: the next command runs.
    assert _run(["runs", "list", "-w", str(ws.root)]).returncode == 0


def test_fifo_inside_a_folder_is_skipped_and_counted(ingest: Ingest, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "good.log").write_text(sample("aws-vpc-flow", 2, "victim"))
    os.mkfifo(folder / "pipe.log")
    result = ingest(folder, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    pipe = next(f for f in report["files"] if f["path"].endswith("pipe.log"))
    assert pipe["status"] == "skipped" and "not a regular file" in pipe["error"]
    assert report["files_skipped"] == 1


def test_fifo_as_verify_trust_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "key.pem"
    os.mkfifo(fifo)
    pack = tmp_path / "pack"
    pack.mkdir()
    done = _run(["verify", str(pack), "--trust", str(fifo)])
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


# -- Medium 5: decompression bombs -----------------------------------------------------------


def _gzip_stream(path: Path, head: bytes, filler: bytes, total: int) -> None:
    """A gzip file: ``head`` then ``filler`` repeated up to ``total`` bytes, compressed."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as fh:
        fh.write(comp.compress(head))
        block = filler * ((1 << 20) // len(filler))
        written = len(head)
        while written < total:
            fh.write(comp.compress(block))
            written += len(block)
        fh.write(comp.flush())


def test_gzip_of_blank_lines_beyond_the_cap_is_rejected(
    ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "flows.log.gz"
    head = (VPC_HEADER + "\n" + vpc_line(1) + "\n").encode()
    _gzip_stream(path, head, b"\n", 600 << 20)  # 600 MiB of blank lines in under 1 MiB
    assert path.stat().st_size < 1 << 20
    before = counts()
    result = ingest(path)
    line = assert_rejected(result, path, reason="decompresses to more than 512 MiB")
    assert "--max-input-size" in line
    assert counts() == before


def test_the_decompressed_size_cap_can_be_set(
    ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "flows.log.gz"
    text = VPC_HEADER + "\n" + "".join(vpc_line(i) + "\n" for i in range(30_000))
    path.write_bytes(gzip.compress(text.encode()))
    assert len(text) > 2 << 20
    before = counts()
    small = ingest(path, "--max-input-size", "1MiB")
    assert_rejected(small, path, reason="decompresses to more than 1 MiB")
    assert counts() == before
    raised = ingest(path, "--max-input-size", "8MiB", "--json")
    assert raised.code == 0, raised.err
    assert json.loads(raised.out)["files"][0]["records_stored"] == 30_000


@pytest.mark.parametrize("fmt", ["gke-audit", "aks-audit", "eks-audit-s3", "k8s-audit"])
def test_the_cap_holds_for_managed_audit_logs(
    fmt: str, ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    """The managed-cluster audit formats (GKE, AKS, EKS) are inflated under the same cap."""
    path = tmp_path / f"audit{LINE_FORMATS[fmt][0]}.gz"
    text = sample(fmt, 4_000, "victim")
    path.write_bytes(gzip.compress(text.encode()))
    assert len(text) > 1 << 20
    before = counts()
    small = ingest(path, "--max-input-size", "1MiB")
    assert_rejected(small, path, reason="decompresses to more than 1 MiB")
    assert counts() == before
    raised = ingest(path, "--max-input-size", "64MiB", "--json")
    assert raised.code == 0, raised.err
    assert json.loads(raised.out)["files"][0]["records_stored"] == 4_000


def test_plain_whole_document_over_the_cap_is_rejected(
    ingest: Ingest, counts: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "events.json"
    doc = {"kind": "List", "apiVersion": "v1", "items": [{"pad": "x" * 1000}] * 2000}
    path.write_text(json.dumps(doc))
    result = ingest(path, "--max-input-size", "1MiB")
    assert_rejected(result, path, reason="larger than 1 MiB")
