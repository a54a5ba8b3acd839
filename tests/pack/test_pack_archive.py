"""Deterministic zips and the safe pack reader (hostile archives, zip bombs)."""

from __future__ import annotations

import os
import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from auditkit.errors import PackError
from auditkit.pack.verify import verify_pack
from auditkit.sign.archive import (
    DirectorySource,
    ZipLimits,
    ZipSource,
    check_member_name,
    open_pack_source,
    write_deterministic_zip,
)

BOMB_BYTES = 200 << 20


def test_zip_is_byte_identical_twice(tmp_path: Path, pack: Path) -> None:
    a = write_deterministic_zip(pack, tmp_path / "a.zip")
    # touch every file: mtimes must not matter
    for path in pack.rglob("*"):
        if path.is_file():
            path.touch()
    b = write_deterministic_zip(pack, tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(a.stat().st_mode) == 0o644 & ~umask
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_zip_entries_are_normalised(tmp_path: Path, pack: Path) -> None:
    out = write_deterministic_zip(pack, tmp_path / "p.zip")
    with zipfile.ZipFile(out) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert "evidence/x/y.csv" in names
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.external_attr >> 16 == stat.S_IFREG | 0o644
        assert not info.is_dir()


def test_zip_inside_pack_refused(pack: Path) -> None:
    with pytest.raises(PackError, match="outside the pack"):
        write_deterministic_zip(pack, pack / "self.zip")


def test_symlink_in_folder_refused(tmp_path: Path, pack: Path) -> None:
    (pack / "link.txt").symlink_to(pack / "summary.txt")
    with pytest.raises(PackError, match="symlink"):
        write_deterministic_zip(pack, tmp_path / "p.zip")
    assert DirectorySource(pack).problems
    report = verify_pack(pack)
    assert not report.ok
    assert report.checks[0].name == "container" and "symlink" in report.checks[0].detail


def test_dir_source_and_zip_source_agree(tmp_path: Path, pack: Path) -> None:
    out = write_deterministic_zip(pack, tmp_path / "p.zip")
    with open_pack_source(pack) as folder, open_pack_source(out) as archive:
        assert folder.kind == "directory" and archive.kind == "zip"
        assert folder.files() == archive.files()
        for name in folder.files():
            assert folder.sha256(name) == archive.sha256(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", ".."),
        ("a/../../evil.txt", ".."),
        ("/etc/evil", "absolute"),
        ("evidence\\evil.txt", "backslash"),
        ("C:/evil.txt", "drive"),
        ("a//b", "empty"),
        ("./a", "'.'"),
        ("a\x1b[31m", "control"),
        ("report\u202egpj.pdf", "formatting"),
        ("", "empty"),
    ],
)
def test_member_names(name: str, reason: str) -> None:
    result = check_member_name(name)
    assert result is not None and reason in result


def test_good_member_names() -> None:
    for name in ("report.pdf", "evidence/x/y.csv", "café/naïve.txt", "a b/c"):
        assert check_member_name(name) is None


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in entries:
                archive.writestr(info, data)
    return path


def _assert_rejected(path: Path, fragment: str) -> None:
    with ZipSource(path) as source:
        assert any(fragment in p for p in source.problems), source.problems
        with pytest.raises(PackError, match="unsafe"):
            list(source.iter_chunks(next(iter(source.files()), "x")))
    report = verify_pack(path)
    assert not report.ok
    assert report.checks[0].name == "container" and not report.checks[0].ok
    assert all(not c.ok and c.detail.startswith("not run") for c in report.checks[1:])


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([("../evil.txt", b"x")], ".."),
        ([("/abs/evil.txt", b"x")], "absolute"),
        ([("evidence\\evil.txt", b"x")], "backslash"),
        ([("C:/evil.txt", b"x")], "drive letter"),
        ([("a.txt", b"1"), ("a.txt", b"2")], "duplicate name"),
        ([("Report.txt", b"1"), ("report.txt", b"2")], "casefold"),
        ([("caf\u00e9.txt", b"1"), ("cafe\u0301.txt", b"2")], "casefold/NFC"),
        ([("a", b"1"), ("a/b", b"2")], "both a file and a folder"),
    ],
    ids=["dotdot", "absolute", "backslash", "drive", "dup", "casefold", "nfc", "file-dir"],
)
def test_hostile_names_rejected(
    tmp_path: Path, entries: list[tuple[str, bytes]], fragment: str
) -> None:
    path = _zip(tmp_path / "hostile.zip", [(n, d) for n, d in entries])
    _assert_rejected(path, fragment)


def test_symlink_entry_rejected(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("evidence/link", date_time=(1980, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = _zip(tmp_path / "link.zip", [("ok.txt", b"x"), (info, b"/etc/passwd")])
    _assert_rejected(path, "symlink")


def test_encrypted_entry_rejected(tmp_path: Path) -> None:
    path = _zip(tmp_path / "enc.zip", [("secret.txt", b"x" * 100)])
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 0x01  # general purpose flag: encrypted
    data[central + 8] |= 0x01
    path.write_bytes(bytes(data))
    _assert_rejected(path, "encrypted")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 MB of zeros deflated to about 200 KB, written streaming."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    info = zipfile.ZipInfo("report.pdf", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = BOMB_BYTES
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w") as archive, archive.open(info, "w") as stream:
        for _ in range(BOMB_BYTES // len(chunk)):
            stream.write(chunk)
    assert path.stat().st_size < 1 << 20
    return path


def test_zip_bomb_rejected_from_its_headers(bomb: Path) -> None:
    _assert_rejected(bomb, "zip bomb")


def test_zip_bomb_stopped_while_inflating(bomb: Path) -> None:
    """Even when the headers pass, the bytes actually inflated are counted."""
    source = ZipSource(bomb, ZipLimits(max_ratio=10**9))
    assert not source.problems
    source.limits = ZipLimits(max_ratio=20)
    seen = 0
    with pytest.raises(PackError, match="zip bomb"):
        for chunk in source.iter_chunks("report.pdf"):
            seen += len(chunk)
    assert seen < BOMB_BYTES // 10
    source.close()


def test_lying_size_header_is_not_trusted(tmp_path: Path) -> None:
    """A central directory that understates the size gives an error, not short data."""
    path = _zip(tmp_path / "liar.zip", [("a.txt", b"A" * 5000)])
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with ZipSource(path) as source, pytest.raises(PackError):
        source.sha256("a.txt")


def test_overlapping_entries_rejected(tmp_path: Path) -> None:
    path = _zip(tmp_path / "overlap.zip", [("a.txt", b"A" * 100), ("b.txt", b"B" * 100)])
    data = bytearray(path.read_bytes())
    first = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", first + 4)
    data[second + 42 : second + 46] = data[first + 42 : first + 46]  # same local header
    path.write_bytes(bytes(data))
    with ZipSource(path) as source:
        assert any("overlap" in p for p in source.problems), source.problems


def test_not_a_pack_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="not found"):
        open_pack_source(tmp_path / "missing")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")
    with pytest.raises(PackError, match="zip"):
        open_pack_source(junk)
