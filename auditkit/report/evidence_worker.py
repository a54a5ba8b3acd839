"""Child process that writes the CSV twin of evidence Parquet files.

See :class:`auditkit.report.evidence.CsvJob`. Reads only the Parquet files named
as its arguments and writes each one's ``.csv`` beside it; never opens the store.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Convert each Parquet file in argv to CSV; one error line on stderr on failure."""
    from auditkit.report.child import die_with_parent

    die_with_parent()
    from auditkit.errors import AuditkitError
    from auditkit.report.evidence import convert_files

    try:
        convert_files([Path(a) for a in argv])
    except AuditkitError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, above all: one line with the real cause
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except MemoryError:
        print("out of memory while writing the evidence CSV files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
