"""The ``auditkit`` console entry point (also ``python -m auditkit``).

It keeps libraries' deprecation notices off the user's terminal before any
library is imported, then hands over to :mod:`auditkit.cli`.

A deprecation warning raised inside a dependency (cryptography's
``CryptographyDeprecationWarning`` when pyHanko imports its DSA type, say)
tells *us* to change something; to an operator preparing an audit it is noise
that looks like a fault. The console entry point hides them unless
``AUDITKIT_DEBUG`` is set. Other warnings still reach stderr, as one escaped
line.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TextIO

from auditkit.safe_output import terminal_text

DEBUG_ENV = "AUDITKIT_DEBUG"
_DEPRECATION_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def is_deprecation(category: type[Warning]) -> bool:
    """True for the standard deprecation categories and libraries' own ones.

    Libraries define deprecation classes outside Python's hierarchy
    (cryptography's derives from ``UserWarning``), so the name counts too.
    """
    if issubclass(category, _DEPRECATION_CATEGORIES):
        return True
    return any("deprecat" in cls.__name__.lower() for cls in category.__mro__)


def _show_one_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    if is_deprecation(category):
        return
    out = file if file is not None else sys.stderr
    text = str(message).splitlines()[0] if str(message) else ""
    out.write(terminal_text(f"warning: {category.__name__}: {text}") + "\n")


def hide_library_deprecations(environ: dict[str, str] | None = None) -> bool:
    """Install the quiet warning display unless debugging; True when installed."""
    env = os.environ if environ is None else environ
    if env.get(DEBUG_ENV):
        return False
    for category in _DEPRECATION_CATEGORIES:
        warnings.filterwarnings("ignore", category=category)
    warnings.showwarning = _show_one_line
    return True


def main() -> None:
    """Console-script entry point: quiet library warnings, then run the CLI.

    Tests call :func:`auditkit.cli.run` directly, where the suite's
    ``filterwarnings = error`` still turns every warning into a failure.
    """
    hide_library_deprecations()
    from auditkit.cli import run

    sys.exit(run())


if __name__ == "__main__":
    main()
