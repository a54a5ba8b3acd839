"""One input file, opened once: the bytes that are hashed are the bytes that are parsed.

:class:`SourceFile` opens a path a single time and keeps the descriptor. The
sha256 is computed from that descriptor, and every later read goes through
it too: Python reads with ``pread`` (an offset of their own, so a hash running
on another thread does not disturb them), and DuckDB's readers are given
``/proc/self/fd/N``, a name that is never expanded as a glob pattern and
that keeps naming the same open file if the path is renamed, replaced or
deleted meanwhile. A gzip file is inflated once, while it is hashed, into an
unnamed private file in the workspace's temp folder; everything reads that
copy, so the decompressed bytes come from exactly the compressed bytes that
were hashed, and a kill leaves nothing behind.

The same pass enforces what no reader should have to rediscover:

- only regular files are read (a FIFO, socket or device is refused before
  anything waits on it);
- a file found inside a folder is opened without following a link, and must
  be the file that was listed;
- a NUL byte anywhere is refused (UTF-16 text is named as such), since no
  supported format is binary;
- inflated data is capped (``max_bytes``, default 512 MiB, like whole documents
  held in memory): a small gzip cannot expand into gigabytes;
- a plain file must not change between the hash and the end of its load
  (:meth:`SourceFile.check_unchanged`: size, mtime and ctime as at opening).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import os
import re
import stat
import tempfile
import zlib
from pathlib import Path

from auditkit.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # inflated gzip data, and documents parsed in memory
_CHUNK = 1 << 20
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.IGNORECASE)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def format_size(n: int) -> str:
    """``536870912`` -> ``512 MiB`` (binary units; exact values only)."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def parse_size(text: str) -> int:
    """``512MiB``, ``2GiB``, ``1GB``, ``4096`` -> bytes (K/M/G/T; ``i`` or not, both binary)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 512MiB or 2GiB)")
    number, unit = float(match.group(1)), match.group(2).upper()
    value = int(number * (1 << (10 * " KMGT".index(unit or " "))))
    if value <= 0:
        raise ValueError(f"a size must be positive: {text!r}")
    return value


def decode_utf8(data: bytes, source: str, *, partial: bool = False) -> str:
    """Decode UTF-8 (BOM stripped); a bad byte is an InputError with its line number."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8")
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})", path=source, location=f"line:{line}"
        ) from None


def fd_path(fd: int) -> str:
    """A name DuckDB can open that means this open file (never a glob pattern)."""
    return f"/proc/self/fd/{fd}" if os.path.isdir("/proc/self/fd") else f"/dev/fd/{fd}"


class _PositionalReader(io.RawIOBase):
    """A read-only stream over a descriptor with its own offset (``os.pread``)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = os.pread(self._fd, len(buffer), self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _looks_utf16(head: bytes) -> bool:
    if head.startswith(_UTF16_BOMS):
        return True
    sample = head[:512]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    return even.count(0) > 0.4 * len(even) or odd.count(0) > 0.4 * len(odd)


class SourceFile:
    """One input file: its identity, its hash and how to read its (decompressed) bytes.

    Open it with :meth:`open` (then :meth:`hash`, unless the caller overlaps
    hashing with other work) and :meth:`close` it when done; it is also a
    context manager.
    """

    def __init__(
        self,
        path: Path,
        display: str,
        fd: int,
        st: os.stat_result,
        *,
        compressed: bool,
        max_bytes: int,
        staging_dir: Path | None,
    ) -> None:
        self.path = path
        self.display = display
        self.sha256 = ""
        self.size = st.st_size
        self.compressed = compressed
        self.max_bytes = max_bytes
        self._fd = fd
        self._stat = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        self._staging_dir = staging_dir
        self._data: io.BufferedRandom | None = None  # the inflated private copy

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        display: str | None = None,
        *,
        follow_links: bool = True,
        expect: tuple[int, int] | None = None,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        staging_dir: Path | None = None,
        hash_now: bool = True,
    ) -> SourceFile:
        """Open ``path`` (a regular file only) and, unless ``hash_now`` is false, hash it.

        ``follow_links=False`` refuses a symbolic link; ``expect`` is the
        ``(st_dev, st_ino)`` the caller listed, which the opened file must have.
        """
        shown = display or str(path)
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO must not block the open
        if not follow_links:
            flags |= os.O_NOFOLLOW
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP and not follow_links:
                raise InputError("is a symbolic link; it is not followed", path=shown) from None
            raise InputError(f"cannot read file: {exc.strerror}", path=shown) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError(
                    f"not a regular file ({_kind(st.st_mode)}); only regular files are read",
                    path=shown,
                )
            if expect is not None and (st.st_dev, st.st_ino) != expect:
                raise InputError(
                    "changed while it was being read (replaced after it was listed)", path=shown
                )
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            magic = os.pread(fd, 2, 0)
        except InputError:
            os.close(fd)
            raise
        except OSError as exc:
            os.close(fd)
            raise InputError(f"cannot read file: {exc.strerror}", path=shown) from None
        source = cls(
            path,
            shown,
            fd,
            st,
            compressed=magic == GZIP_MAGIC,
            max_bytes=max_bytes,
            staging_dir=staging_dir,
        )
        if hash_now:
            try:
                source.hash()
            except BaseException:
                source.close()
                raise
        return source

    def close(self) -> None:
        """Release the descriptor and the private copy (idempotent)."""
        if self._data is not None:
            self._data.close()
            self._data = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SourceFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hashing (and inflating) ---------------------------------------------------------

    def hash(self) -> str:
        """Hash the file from its descriptor; inflate a gzip file into the private copy.

        Also refuses a NUL byte anywhere (UTF-16 is named as such) and inflated
        data beyond ``max_bytes``. Safe to run on another thread while other
        reads go on (every read is positional).
        """
        digest = hashlib.sha256()
        inflater = _Inflater(self) if self.compressed else None
        first_nul: int | None = None
        offset = 0
        try:
            while chunk := os.pread(self._fd, _CHUNK, offset):
                digest.update(chunk)
                if inflater is not None:
                    inflater.feed(chunk)
                elif first_nul is None and b"\x00" in chunk:
                    first_nul = offset + chunk.index(b"\x00")
                offset += len(chunk)
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror}", path=self.display) from None
        if inflater is not None:
            first_nul = inflater.finish()
        self.size = offset
        if first_nul is not None:
            self.refuse_nul(first_nul)
        self.sha256 = digest.hexdigest()
        return self.sha256

    def refuse_nul(self, offset: int) -> None:
        """Raise the InputError for a NUL byte at decompressed ``offset`` (UTF-16 named)."""
        head = self.read_head(512)
        if _looks_utf16(head):
            raise InputError(
                "UTF-16 text, not UTF-8; convert it first (for example: iconv -f UTF-16 -t UTF-8)",
                path=self.display,
            )
        line = 1
        with self.open_binary() as fh:
            done = 0
            while done < offset:
                block = fh.read(min(_CHUNK, offset - done))
                if not block:
                    break
                line += block.count(b"\n")
                done += len(block)
        raise InputError(
            "binary data (a NUL byte), not a supported text format",
            path=self.display,
            location=f"line:{line}",
        )

    def _copy_file(self) -> io.BufferedRandom:
        where = self._staging_dir if self._staging_dir and self._staging_dir.is_dir() else None
        try:
            # An unnamed file where the platform allows it (O_TMPFILE), else created and
            # unlinked at once: either way nothing is left behind by a crash.
            return tempfile.TemporaryFile(dir=where, prefix="auditkit-inflated-")
        except OSError as exc:
            raise InputError(
                f"cannot create a private copy to inflate into: {exc.strerror}", path=self.display
            ) from None

    # -- reading -------------------------------------------------------------------------

    def open_binary(self) -> io.BufferedReader:
        """The decompressed bytes, from the start (an independent stream each call)."""
        fd = self._data.fileno() if self._data is not None else self._fd
        if fd < 0:
            raise InputError("file already closed", path=self.display)
        return io.BufferedReader(_PositionalReader(fd), buffer_size=_CHUNK)

    @property
    def reader_path(self) -> str:
        """The name DuckDB's readers use for the decompressed bytes of this open file."""
        if self.compressed and self._data is None:
            raise InputError("the file has not been inflated yet", path=self.display)
        return fd_path(self._data.fileno() if self._data is not None else self._fd)

    @property
    def duckdb_compression(self) -> str:
        """The value for DuckDB's ``compression`` reader option (the copy is inflated)."""
        return "none"

    def read_head(self, limit: int = HEAD_BYTES) -> bytes:
        """Up to ``limit`` decompressed bytes from the start."""
        with self.open_binary() as fh:
            return fh.read(limit)

    def read_text(self, limit: int | None = None) -> str:
        """The whole decompressed file as UTF-8 text (BOM removed), at most ``max_bytes``."""
        cap = self.max_bytes if limit is None else limit
        with self.open_binary() as fh:
            data = fh.read(cap + 1)
        if len(data) > cap:
            raise InputError(
                f"document larger than {format_size(cap)}; split it, use JSON lines, "
                "or raise the limit with --max-input-size",
                path=self.display,
            )
        return decode_utf8(data, self.display)

    def check_unchanged(self) -> None:
        """Refuse a plain file whose bytes may differ from those hashed (DuckDB read it
        after the hash). Size and mtime must be as at opening; when only the ctime
        moved (a rename over it, a chmod) the file is hashed again and must match.
        An inflated file is read from its private copy and cannot change."""
        if self.compressed or self._fd < 0:
            return
        st = os.fstat(self._fd)
        now = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if now == self._stat:
            return
        if now[:4] != self._stat[:4] or self._plain_digest() != self.sha256:
            raise InputError(
                "changed while it was being read; ingest it again once it is complete",
                path=self.display,
            )

    def _plain_digest(self) -> str:
        digest = hashlib.sha256()
        offset = 0
        while chunk := os.pread(self._fd, _CHUNK, offset):
            digest.update(chunk)
            offset += len(chunk)
        return digest.hexdigest()


class _Inflater:
    """Inflate gzip members (several may follow each other) into a private copy."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.out = source._copy_file()
        self.written = 0
        self.first_nul: int | None = None
        self._d: zlib._Decompress | None = zlib.decompressobj(31)
        self._tail = b""  # bytes after a member's end, not yet known to start another

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        self._tail = b""
        while data:
            if self._d is None:
                if len(data) < 2:
                    self._tail = data  # maybe the start of another member
                    return
                if data[:2] != GZIP_MAGIC:
                    if data.strip(b"\x00"):
                        self._fail("trailing data after the gzip stream")
                    return  # zero padding after the last member
                self._d = zlib.decompressobj(31)
            try:
                self._write(self._d.decompress(data, _CHUNK))
                while self._d.unconsumed_tail:
                    self._write(self._d.decompress(self._d.unconsumed_tail, _CHUNK))
            except zlib.error as exc:
                self._fail(str(exc))
            if self._d.eof:
                data = self._d.unused_data
                self._d = None
            else:
                data = b""

    def _write(self, out: bytes) -> None:
        if not out:
            return
        if self.first_nul is None and b"\x00" in out:
            self.first_nul = self.written + out.index(b"\x00")
        self.written += len(out)
        if self.written > self.source.max_bytes:
            self.out.close()
            raise InputError(
                f"gzip data decompresses to more than {format_size(self.source.max_bytes)}; "
                "if the file is genuine, raise the limit with --max-input-size",
                path=self.source.display,
            )
        try:
            self.out.write(out)
        except OSError as exc:
            self.out.close()
            raise InputError(
                f"cannot write the inflated copy: {exc.strerror}", path=self.source.display
            ) from exc

    def _fail(self, why: str) -> None:
        self.out.close()
        raise InputError(f"corrupt or truncated gzip data: {why}", path=self.source.display)

    def finish(self) -> int | None:
        if self._tail.strip(b"\x00"):
            self._fail("trailing data after the gzip stream")
        if self._d is not None:
            tail = self._d.flush()
            self._write(tail)
            if not self._d.eof:
                self._fail("compressed file ended before the end-of-stream marker was reached")
        try:
            self.out.flush()
        except OSError as exc:
            self.out.close()
            raise InputError(
                f"cannot write the inflated copy: {exc.strerror}", path=self.source.display
            ) from exc
        self.source._data = self.out
        return self.first_nul


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "a special file"


def close_quietly(source: SourceFile | None) -> None:
    """Close ``source`` if there is one (for ``finally`` blocks)."""
    if source is not None:
        with contextlib.suppress(OSError):
            source.close()
