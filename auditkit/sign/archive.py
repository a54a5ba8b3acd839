"""Deterministic pack archives, and one safe way to read a pack (folder or zip).

Writing: :func:`write_deterministic_zip` stores every regular file of a pack
folder with sorted names, 1980-01-01 timestamps, mode 0644 and DEFLATE, into a
temporary file that is fsynced and then renamed over the target.

Reading: :func:`open_pack_source` returns a :class:`PackSource` that lists the
pack's files and streams their bytes the same way for a folder and for a zip.
Nothing is ever extracted to disk.

Error policy (what verify relies on):

* :class:`~auditkit.errors.PackError` is raised when the pack cannot be read at
  all: the path is missing, is neither a folder nor a zip archive, or the
  archive's central directory is unreadable.
* A container that *can* be read but is hostile or unsafe (``..`` or absolute
  names, backslashes, drive letters, control characters, duplicate names, also
  after casefold + NFC normalisation, symlinks or other non-regular entries,
  encrypted entries, unknown compression, overlapping entries, sizes or
  compression ratios beyond :class:`ZipLimits`) does not raise on open: the
  reasons are listed in :attr:`PackSource.problems`, and the source refuses to
  stream any file.  Verify reports these as a failed check (the pack is
  rejected as tampered, exit 1), not as "cannot run".
* Limits that can only be seen while inflating (the bytes actually produced,
  never the header's claims) raise :class:`PackError` from
  :meth:`PackSource.iter_chunks`; verify turns that into a failed check.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import unicodedata
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from auditkit.errors import PackError

_CHUNK = 1 << 20
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_FILE_ATTR = (stat.S_IFREG | 0o644) << 16
_DRIVE = re.compile(r"^[A-Za-z]:")
_LOCAL_HEADER = b"PK\x03\x04"


@dataclass(frozen=True)
class ZipLimits:
    """Bounds for reading a zip, checked against the headers when the zip is
    opened and against the bytes actually inflated while reading."""

    max_entries: int = 100_000
    max_entry_bytes: int = 4 << 30
    max_total_bytes: int = 16 << 30
    #: inflated/compressed ratio cap per entry, enforced once an entry has
    #: inflated more than ``ratio_grace_bytes`` (tiny files compress well).
    max_ratio: int = 200
    ratio_grace_bytes: int = 1 << 20


def check_member_name(name: str) -> str | None:
    """Return why ``name`` is not a safe relative POSIX pack path, or ``None``."""
    if not name:
        return "empty name"
    if len(name) > 4096:
        return "name too long"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        return "control or invisible formatting character in name"
    if "\\" in name:
        return "backslash in name"
    if name.startswith("/"):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive letter in name"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "'..', '.' or empty path component"
    return None


def name_key(name: str) -> str:
    """Collision key: NFC, casefolded, NFC again (how case-insensitive systems see it)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _q(name: str) -> str:
    """Quote an untrusted name for a message (escapes controls and non-ASCII)."""
    return ascii(name)


def _collisions(names: list[str]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name in names:
        key = name_key(name)
        if key in seen:
            other = seen[key]
            kind = "duplicate name" if other == name else "names collide after casefold/NFC"
            problems.append(f"{kind}: {_q(other)} and {_q(name)}")
        else:
            seen[key] = name
    keys = set(seen)
    for key, name in seen.items():
        parts = key.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in keys:
                problems.append(f"path is both a file and a folder: {_q(name)}")
                break
    return problems


class PackSource(ABC):
    """Read-only view of a pack's files: list them, stream their bytes.

    ``problems`` lists why the container is unsafe; when it is not empty,
    :meth:`iter_chunks` refuses to read anything.
    """

    kind: str
    location: Path
    problems: list[str]

    @abstractmethod
    def files(self) -> list[str]:
        """Sorted relative POSIX names of the regular files in the pack."""

    @abstractmethod
    def _has(self, name: str) -> bool:
        """Whether ``name`` is one of :meth:`files` (implementation)."""

    @abstractmethod
    def _chunks(self, name: str) -> Iterator[bytes]:
        """Yield the bytes of one file (implementation)."""

    def iter_chunks(self, name: str) -> Iterator[bytes]:
        """Yield the bytes of file ``name``; :class:`PackError` if it cannot be read."""
        if self.problems:
            raise PackError("refusing to read an unsafe pack container", path=self.location)
        if not self._has(name):
            raise PackError(f"no such file in the pack: {_q(name)}", path=self.location)
        yield from self._chunks(name)

    def read_bytes(self, name: str, max_bytes: int) -> bytes:
        """Return the whole file, or raise :class:`PackError` past ``max_bytes``."""
        buf = bytearray()
        for chunk in self.iter_chunks(name):
            buf += chunk
            if len(buf) > max_bytes:
                raise PackError(f"{_q(name)} is larger than {max_bytes} bytes", path=self.location)
        return bytes(buf)

    def sha256(self, name: str) -> str:
        """Stream file ``name`` through SHA-256; return the hex digest."""
        digest = hashlib.sha256()
        for chunk in self.iter_chunks(name):
            digest.update(chunk)
        return digest.hexdigest()

    @abstractmethod
    def close(self) -> None:
        """Release the underlying file handle, if any."""

    def __enter__(self) -> PackSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- folders


def walk_pack_dir(pack_dir: Path) -> tuple[list[str], list[str]]:
    """Return ``(files, problems)`` for a pack folder, never following symlinks.

    ``files`` holds the sorted relative POSIX names of regular files;
    ``problems`` names symlinks, special files, unsafe or colliding names.
    """
    files: list[str] = []
    problems: list[str] = []
    pending: list[tuple[Path, str]] = [(pack_dir, "")]
    while pending:  # iterative, so a hostile deep tree cannot exhaust the stack
        folder, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise PackError(f"cannot list folder: {exc.strerror}", path=folder) from exc
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            reason = check_member_name(rel)
            if reason is not None:
                problems.append(f"{reason}: {_q(rel)}")
            elif entry.is_symlink():
                problems.append(f"symlink not allowed: {_q(rel)}")
            elif entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), rel + "/"))
            elif entry.is_file(follow_symlinks=False):
                files.append(rel)
            else:
                problems.append(f"not a regular file: {_q(rel)}")
    files.sort()
    problems.extend(_collisions(files))
    return files, problems


class DirectorySource(PackSource):
    """A pack folder on disk (regular files only, symlinks refused)."""

    def __init__(self, root: Path) -> None:
        self.kind = "directory"
        self.location = root
        self._files, self.problems = walk_pack_dir(root)
        self._set = frozenset(self._files)

    def files(self) -> list[str]:
        return list(self._files)

    def _has(self, name: str) -> bool:
        return name in self._set

    def close(self) -> None:
        return None

    def _chunks(self, name: str) -> Iterator[bytes]:
        path = self.location.joinpath(*name.split("/"))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise PackError(f"cannot open {_q(name)}: {exc.strerror}", path=self.location) from exc
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise PackError(f"not a regular file: {_q(name)}", path=self.location)
            while True:
                try:
                    chunk = handle.read(_CHUNK)
                except OSError as exc:
                    raise PackError(
                        f"cannot read {_q(name)}: {exc.strerror}", path=self.location
                    ) from exc
                if not chunk:
                    return
                yield chunk


# --------------------------------------------------------------------------- zips


class ZipSource(PackSource):
    """A pack zip, read in place: entries are inflated in memory, never extracted."""

    def __init__(self, path: Path, limits: ZipLimits | None = None) -> None:
        self.kind = "zip"
        self.location = path
        self.limits = limits or ZipLimits()
        self.problems = []
        self._inflated_total = 0
        try:
            self._archive_size = path.stat().st_size
            self._zip = zipfile.ZipFile(path, "r")
        except FileNotFoundError as exc:
            raise PackError("pack not found", path=path) from exc
        except OSError as exc:
            raise PackError(f"cannot read the pack: {exc.strerror}", path=path) from exc
        except Exception as exc:  # BadZipFile, EOFError, ValueError, NotImplementedError...
            raise PackError(f"not a readable zip archive ({exc})", path=path) from exc
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._files: list[str] = []
        try:
            self._scan()
        except Exception:
            self._zip.close()
            raise

    def _scan(self) -> None:
        infos = self._zip.infolist()
        lim = self.limits
        if len(infos) > lim.max_entries:
            self.problems.append(f"{len(infos)} entries exceed the limit of {lim.max_entries}")
            return
        names: list[str] = []
        declared_total = 0
        for info in infos:
            raw = info.orig_filename
            is_dir = raw.endswith("/")
            name = raw[:-1] if is_dir else raw
            reason = check_member_name(name)
            if reason is None and raw != info.filename:
                reason = "NUL byte in name"
            if reason is not None:
                self.problems.append(f"{reason}: {_q(raw)}")
                continue
            if info.flag_bits & 0x0041 or info.flag_bits & 0x2000:
                self.problems.append(f"encrypted entry: {_q(raw)}")
                continue
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                self.problems.append(f"unsupported compression method: {_q(raw)}")
                continue
            mode = info.external_attr >> 16
            fmt = stat.S_IFMT(mode)
            if fmt == stat.S_IFLNK:
                self.problems.append(f"symlink entry: {_q(raw)}")
                continue
            if (
                fmt not in (0, stat.S_IFREG, stat.S_IFDIR)
                or (fmt == stat.S_IFDIR and not is_dir)
                or (fmt == stat.S_IFREG and is_dir)
            ):
                self.problems.append(f"not a regular file entry: {_q(raw)}")
                continue
            if is_dir:
                if info.file_size or info.compress_size > 2:
                    self.problems.append(f"folder entry with content: {_q(raw)}")
                continue
            if info.file_size > lim.max_entry_bytes:
                self.problems.append(f"entry larger than {lim.max_entry_bytes} bytes: {_q(raw)}")
            if info.compress_size > self._archive_size:
                self.problems.append(f"entry claims more data than the archive has: {_q(raw)}")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > lim.ratio_grace_bytes and ratio > lim.max_ratio:
                self.problems.append(
                    f"compression ratio {ratio:.0f}:1 exceeds {lim.max_ratio}:1 "
                    f"(possible zip bomb): {_q(raw)}"
                )
            declared_total += info.file_size
            names.append(name)
            self._infos[name] = info
        if declared_total > lim.max_total_bytes:
            self.problems.append(f"entries total more than {lim.max_total_bytes} bytes")
        self.problems.extend(_collisions(names))
        self.problems.extend(self._overlaps(infos))
        self._files = sorted(self._infos)

    def _overlaps(self, infos: list[zipfile.ZipInfo]) -> list[str]:
        """The archive must be its entries and its directory, back to back, and nothing else.

        The manifest covers the entries' content only, so bytes anywhere else
        (prepended to the archive, hidden between entries or before the central
        directory, a zip comment, trailing bytes) are refused rather than left
        unverified. Overlapping entries (overlap-style zip bombs) are refused too.
        """
        problems: list[str] = []
        end_of_prev = 0
        prev_name = ""
        fp = self._zip.fp
        if fp is None:
            return ["archive handle is closed"]
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset < end_of_prev:
                problems.append(f"entries overlap: {_q(prev_name)} and {_q(info.orig_filename)}")
                break
            if info.header_offset > end_of_prev:
                where = (
                    f"before {_q(info.orig_filename)}" if prev_name else "before the first entry"
                )
                problems.append(
                    f"{info.header_offset - end_of_prev} bytes outside the entries ({where})"
                )
                break
            fp.seek(info.header_offset)
            header = fp.read(30)
            if len(header) != 30 or header[:4] != _LOCAL_HEADER:
                problems.append(f"bad local header: {_q(info.orig_filename)}")
                break
            extra = int.from_bytes(header[26:28], "little") + int.from_bytes(
                header[28:30], "little"
            )
            end_of_prev = info.header_offset + 30 + extra + info.compress_size
            end_of_prev += self._descriptor_length(fp, info, end_of_prev)
            prev_name = info.orig_filename
        start_dir = getattr(self._zip, "start_dir", None)
        if not problems and isinstance(start_dir, int):
            if end_of_prev > start_dir:
                problems.append(f"entry data runs into the central directory: {_q(prev_name)}")
            elif end_of_prev < start_dir:
                problems.append(
                    f"{start_dir - end_of_prev} bytes outside the entries "
                    "(before the central directory)"
                )
        if not problems:
            problems.extend(self._tail_problems(fp))
        return problems

    @staticmethod
    def _descriptor_length(fp: IO[bytes], info: zipfile.ZipInfo, at: int) -> int:
        """Length of the data descriptor after an entry's data (0 when it has none)."""
        if not info.flag_bits & 0x08:
            return 0
        fp.seek(at)
        head = fp.read(28)
        length = 4 if head[:4] == b"PK\x07\x08" else 0
        if head[length : length + 4] != info.CRC.to_bytes(4, "little"):
            return 0  # not a descriptor: the gap check reports the bytes
        zip64 = max(info.file_size, info.compress_size) >= 0xFFFFFFFF
        return length + 4 + (16 if zip64 else 8)

    def _tail_problems(self, fp: IO[bytes]) -> list[str]:
        """The end-of-central-directory record must end the file and carry no comment."""
        if self._zip.comment:
            return [
                f"the zip carries a comment ({len(self._zip.comment)} bytes), outside the entries"
            ]
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        fp.seek(max(0, size - (1 << 16) - 22))
        tail = fp.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0:
            return ["no end-of-central-directory record"]
        trailing = len(tail) - (at + 22)
        if trailing:
            return [f"{trailing} bytes outside the entries (after the end of the archive)"]
        start_dir = getattr(self._zip, "start_dir", 0)
        cd_size = int.from_bytes(tail[at + 12 : at + 16], "little")
        eocd = size - 22
        if (
            cd_size != 0xFFFFFFFF
            and start_dir + cd_size != eocd
            and not self._zip64_tail(fp, start_dir, cd_size, eocd)
        ):
            return ["bytes outside the entries (between the central directory and its end)"]
        return []

    @staticmethod
    def _zip64_tail(fp: IO[bytes], start_dir: int, cd_size: int, eocd: int) -> bool:
        """True when only the zip64 end record and its locator sit between directory and end."""
        fp.seek(start_dir + cd_size)
        record = fp.read(eocd - start_dir - cd_size)
        return (
            record[:4] == b"PK\x06\x06"
            and len(record) == 12 + int.from_bytes(record[4:12], "little") + 20
            and record[-20:-16] == b"PK\x06\x07"
        )

    def files(self) -> list[str]:
        return list(self._files)

    def _has(self, name: str) -> bool:
        return name in self._infos

    def _chunks(self, name: str) -> Iterator[bytes]:
        info = self._infos[name]
        lim = self.limits
        inflated = 0
        try:
            with self._zip.open(info, "r") as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    inflated += len(chunk)
                    self._inflated_total += len(chunk)
                    if inflated > lim.max_entry_bytes or inflated > info.file_size:
                        raise PackError(
                            f"{_q(name)} inflates beyond its limit (possible zip bomb)",
                            path=self.location,
                        )
                    if self._inflated_total > lim.max_total_bytes:
                        raise PackError(
                            "pack inflates beyond the total size limit", path=self.location
                        )
                    if (
                        inflated > lim.ratio_grace_bytes
                        and inflated / max(info.compress_size, 1) > lim.max_ratio
                    ):
                        raise PackError(
                            f"{_q(name)} exceeds a {lim.max_ratio}:1 compression ratio "
                            "(possible zip bomb)",
                            path=self.location,
                        )
                    yield chunk
        except PackError:
            raise
        except Exception as exc:  # BadZipFile (CRC, header mismatch), zlib.error, EOFError
            raise PackError(
                f"cannot read zip entry {_q(name)}: {type(exc).__name__}: {exc}",
                path=self.location,
            ) from exc

    def close(self) -> None:
        self._zip.close()


def open_pack_source(path: Path, *, limits: ZipLimits | None = None) -> PackSource:
    """Open a pack folder or pack zip for reading; :class:`PackError` if impossible."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise PackError("pack not found", path=path) from exc
    except OSError as exc:
        raise PackError(f"cannot access the pack: {exc.strerror}", path=path) from exc
    if stat.S_ISDIR(st.st_mode):
        return DirectorySource(path)
    if stat.S_ISREG(st.st_mode):
        return ZipSource(path, limits)
    raise PackError("pack is neither a folder nor a zip archive", path=path)


# --------------------------------------------------------------------------- writing


def write_deterministic_zip(pack_dir: Path, zip_path: Path) -> Path:
    """Write every regular file of ``pack_dir`` into a reproducible zip at ``zip_path``.

    Entries are sorted by name, dated 1980-01-01 00:00:00, mode 0644, DEFLATE
    at zlib's default level, no folder entries; the same folder gives the same
    bytes with the same zlib.  Written to a temporary file beside ``zip_path``,
    fsynced, then renamed into place, so a crash never leaves a half-written
    pack.  A folder holding symlinks, special files or unsafe names is refused
    (:class:`PackError`), as is a ``zip_path`` inside ``pack_dir``.
    """
    files, problems = walk_pack_dir(pack_dir)
    if problems:
        raise PackError(f"cannot archive the pack folder: {problems[0]}", path=pack_dir)
    target = zip_path.resolve()
    if target.is_relative_to(pack_dir.resolve()):
        raise PackError("the zip must be written outside the pack folder", path=zip_path)
    tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(6)}")
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise PackError(f"cannot create the zip: {exc.strerror}", path=zip_path) from exc
    try:
        with os.fdopen(fd, "w+b") as raw:
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                for name in files:
                    _add_file(archive, pack_dir, name)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PackError(f"cannot write the zip: {exc.strerror}", path=zip_path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return zip_path


def _add_file(archive: zipfile.ZipFile, pack_dir: Path, name: str) -> None:
    src_fd = os.open(
        pack_dir.joinpath(*name.split("/")), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    )
    with os.fdopen(src_fd, "rb") as src:
        st = os.fstat(src.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise PackError(f"not a regular file: {_q(name)}", path=pack_dir)
        info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = _FILE_ATTR
        info.file_size = st.st_size
        with archive.open(info, "w") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
