"""Child process that renders one HTML file to PDF (see auditkit.report.pdf.RenderJob)."""

from __future__ import annotations

import logging
import os
import resource
import sys
from pathlib import Path


def _limit_memory() -> None:
    raw = os.environ.get("AUDITKIT_RENDER_MEMORY_BYTES", "")
    if raw.isdigit():
        limit = int(raw)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str]) -> int:
    """Render argv[0] (HTML) to argv[1] (PDF); one error line on stderr on failure."""
    _limit_memory()  # before WeasyPrint is imported
    from auditkit.report.child import die_with_parent

    die_with_parent()
    from auditkit.errors import AuditkitError
    from auditkit.report.pdf import render_pdf_in_process

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        render_pdf_in_process(Path(argv[0]), Path(argv[1]))
    except AuditkitError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, above all: one line with the real cause
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except MemoryError:
        print("out of memory while rendering", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
