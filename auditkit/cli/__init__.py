"""The ``auditkit`` command line (Typer). The only package that imports typer.

It parses arguments, calls the library, prints results and maps exceptions to
exit codes in one place (``_common.run_cli``): 0 success, 1 a check failed,
2 bad input/usage/configuration, 3 internal error.
"""

from __future__ import annotations

import typer

from auditkit import __version__
from auditkit.cli import (
    _controls,
    _evaluate,
    _history,
    _ingest,
    _pack,
    _results,
    _scope,
    _workspace,
)
from auditkit.cli._common import run_cli

app = typer.Typer(
    name="auditkit",
    help="Offline PCI DSS v4.0.1 evidence auditing for container platforms.\n\n"
    "ingest -> evaluate -> report -> verify. Start with 'auditkit demo --out demo-pack'.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"auditkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Offline PCI DSS v4.0.1 evidence auditing for container platforms."""


_workspace.register(app)
_ingest.register(app)
_evaluate.register(app)
_results.register(app)
_pack.register(app)
_history.register(app)
_controls.register(app)
_scope.register(app)


def run(args: list[str] | None = None) -> int:
    """Run the CLI with ``args`` and return the exit code (used by tests)."""
    return run_cli(app, args)
