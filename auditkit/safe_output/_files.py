"""Atomic file replacement and reproducible zip archives."""

from __future__ import annotations

import os
import secrets
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from auditkit.errors import UserError

if TYPE_CHECKING:
    from _typeshed import SizedBuffer, StrPath

# 1980-01-01 00:00:00 is the earliest timestamp a zip entry can carry; every
# member gets it, as for the evidence pack (security notes item 18).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def output_error(path: Path, exc: OSError) -> UserError:
    """Turn an OS error while writing ``path`` into the one-line auditkit error."""
    reason = exc.strerror or exc.__class__.__name__
    return UserError(f"cannot write output file: {reason}", path=path)


class AtomicFile:
    """A binary file that appears at ``path`` only when :meth:`commit` succeeds.

    The bytes go to a hidden temporary file in the same folder (so the final
    ``os.replace`` cannot cross file systems). ``commit`` flushes, fsyncs,
    renames over ``path`` and fsyncs the folder; ``abort`` removes the
    temporary file. The temporary file is created with mode 0666 minus the
    umask, like any file ``open()`` creates.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp_path = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.done = False

    def commit(self) -> None:
        """Flush and fsync the temporary file, then move it over ``path``."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp_path, self.path)
            self.done = True
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from exc

    def abort(self) -> None:
        """Discard the temporary file; ``path`` is left as it was."""
        if self.done:
            return
        self.done = True
        self.file.close()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass


class FixedTimeZipFile(zipfile.ZipFile):
    """A write-mode ``ZipFile`` whose members carry fixed metadata.

    Whatever calls ``write``/``writestr`` (openpyxl's ``ExcelWriter`` here),
    every member gets the timestamp :data:`ZIP_EPOCH`, mode 0600, Unix as
    the creating system and DEFLATE compression, so the archive's bytes depend
    only on the member names, their order and their contents.
    """

    def _fixed_info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o100600 << 16
        return info

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: SizedBuffer | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """Add ``data`` as a member with fixed metadata."""
        name = (
            zinfo_or_arcname.filename
            if isinstance(zinfo_or_arcname, zipfile.ZipInfo)
            else zinfo_or_arcname
        )
        super().writestr(self._fixed_info(name), data)

    def write(
        self,
        filename: StrPath,
        arcname: StrPath | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """Copy the file ``filename`` in as ``arcname``, with fixed metadata."""
        info = self._fixed_info(os.fspath(arcname if arcname is not None else filename))
        info.file_size = os.path.getsize(filename)
        with open(filename, "rb") as src, self.open(info, "w") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
