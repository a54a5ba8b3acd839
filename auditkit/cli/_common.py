"""Shared CLI plumbing: options, output helpers and the one place errors become exit codes."""

from __future__ import annotations

import errno
import gc
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditkit.errors import AuditkitError, CheckExecutionError, UserError
from auditkit.safe_output import terminal_text
from auditkit.workspace import Workspace, find_workspace

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: nearest folder at or "
        "above the current one holding auditkit.toml).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def workspace(option: Path | None) -> Workspace:
    """Resolve the workspace from ``--workspace`` or the current folder."""
    return find_workspace(explicit=option)


def stdout_console() -> Console:
    """Console for results; no markup or highlighting is ever applied to data.

    Piped output gets a wide fixed width so rows are not folded for a terminal
    that is not there.
    """
    width = None if sys.stdout.isatty() else 200
    return Console(highlight=False, markup=False, soft_wrap=False, width=width)


def stderr_console() -> Console:
    """Console for messages."""
    return Console(stderr=True, highlight=False, markup=False)


def cell(value: Any) -> Text:
    """A table cell: escaped, never interpreted as markup."""
    if value is None:
        return Text("")
    return Text(terminal_text(value))


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    styles: dict[int, Callable[[Any], str]] | None = None,
) -> None:
    """Print a table to stdout with every value escaped."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        table.add_column(col)
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = cell(value)
            if styles and i in styles:
                text.stylize(styles[i](value))
            cells.append(text)
        table.add_row(*cells)
    stdout_console().print(table)


def print_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")


def say(message: str) -> None:
    """A one-line message on stderr (escaped, never wrapped)."""
    sys.stderr.write(terminal_text(message) + "\n")
    sys.stderr.flush()


RESULT_STYLE = {
    "In Place": "green",
    "Not in Place": "bold red",
    "No exceptions noted (partial)": "cyan",
    "No automated evidence": "yellow",
    "Not Tested": "yellow",
    "Not Applicable": "dim",
    "covered": "green",
    "partly covered": "cyan",
    "not covered": "yellow",
    "exceptions noted": "bold red",
    "pass": "green",
    "fail": "red",
    "excepted": "magenta",
    "not_tested": "yellow",
    "evaluated": "",
}


def result_style(value: Any) -> str:
    """Colour for a result word (only used on a terminal)."""
    return RESULT_STYLE.get(str(value), "")


Step = Callable[..., None]


@contextmanager
def progress(enabled: bool, description: str, total: int | None = None) -> Iterator[Step]:
    """A progress bar on stderr when both outputs are a terminal; silent when piped or disabled
    (``--json``). Yields ``step(label=None)``: advance by one, optionally naming what comes next.
    """
    if not enabled or not sys.stderr.isatty() or not sys.stdout.isatty():
        yield lambda label=None: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def step(label: str | None = None) -> None:
            bar.advance(task)
            if label is not None:
                bar.update(task, description=terminal_text(f"{description}: {label}"))

        yield step


def exit_code_for(exc: BaseException) -> int:
    """The single mapping from exceptions to exit codes."""
    if isinstance(exc, UserError):
        return EXIT_BAD_INPUT
    if isinstance(exc, CheckExecutionError | AuditkitError):
        return EXIT_INTERNAL
    return EXIT_INTERNAL


_STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_STORAGE_TEXT = {  # as other layers word it (DuckDB, lxml's IO_ENOSPC...) -> errno
    "no space left on device": errno.ENOSPC,
    "enospc": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
    "edquot": errno.EDQUOT,
    "file too large": errno.EFBIG,
}


def storage_failure(exc: BaseException) -> str | None:
    """The real cause when ``exc`` (or what caused it) is a full disk or quota, else None.

    Whichever layer noticed first (DuckDB, the zip writer, openpyxl, a pack
    step wrapping the OSError), the message names the storage, in one line.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _STORAGE_ERRNOS:
            where = f" ({current.filename})" if current.filename else ""
            return f"{current.strerror or os.strerror(current.errno)}{where}"
        text = str(current).splitlines()[0] if str(current) else ""
        code = next((c for t, c in _STORAGE_TEXT.items() if t in text.lower()), None)
        if code is not None:
            reason = os.strerror(code)
            return text if reason.lower() in text.lower() else f"{reason} ({text})"
        current = current.__cause__ or current.__context__
    return None


def _quiet_unraisable(previous: Any) -> Any:
    """A hook that drops what a failed write leaves behind for Python to ignore (a
    half-written ZipFile closing on a full disk: an OSError, or "seek of closed file"),
    so the one-line error stays alone; everything else (and, with AUDITKIT_DEBUG=1,
    that too) goes to ``previous``."""

    def hook(info: Any) -> None:
        owner = getattr(info.object, "__qualname__", "")
        leftover = isinstance(info.exc_value, OSError) or owner.startswith("ZipFile.")
        if not leftover or os.environ.get("AUDITKIT_DEBUG"):
            previous(info)

    return hook


def run_cli(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the app and translate every outcome into an exit code.

    Typer/click handle usage errors (exit 2), ``--help`` (0) and ``typer.Exit``;
    every exception auditkit raises is mapped here, in one place. A full disk is
    always exit 3 with the real cause, whichever step ran out of space.
    """
    previous = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(previous)
    try:
        return _run(app, args)
    finally:
        gc.collect()  # objects left by a failed step close now, under the quiet hook
        sys.unraisablehook = previous


def _run(app: typer.Typer, args: list[str] | None) -> int:
    try:
        app(args=args, prog_name="auditkit")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return EXIT_OK
        return code if isinstance(code, int) else EXIT_BAD_INPUT
    except Exception as exc:
        full = storage_failure(exc)
        if full is not None:
            say(f"internal error: out of storage: {full}")
            return EXIT_INTERNAL
        if not isinstance(exc, AuditkitError):
            return _bug(exc)
        code = exit_code_for(exc)
        label = "error" if code == EXIT_BAD_INPUT else "internal error"
        say(f"{label}: {exc.one_line()}")
        return code
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return EXIT_OK


def _bug(exc: BaseException) -> int:
    """A bug: one line, the traceback only on request."""
    say(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0])
    if os.environ.get("AUDITKIT_DEBUG"):
        traceback.print_exception(exc)
    else:
        say("set AUDITKIT_DEBUG=1 to see the traceback")
    return EXIT_INTERNAL
