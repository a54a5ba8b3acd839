"""Locate the data folders that ship with auditkit.

In a source checkout ``controls/``, ``reports/`` and ``sample_data/`` sit at the
repository root. In an installed wheel they are copied to ``auditkit/_data/``
(see ``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

from auditkit.errors import InternalError

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``controls``, ``reports`` or ``sample_data``)."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise InternalError(f"packaged data folder {name!r} is missing from this installation")


def controls_dir() -> Path:
    """The built-in controls catalog (checks and frameworks)."""
    return data_dir("controls")


def reports_dir() -> Path:
    """Report templates and static assets (CSS, fonts)."""
    return data_dir("reports")


def sample_data_dir() -> Path:
    """The fictional environment used by ``auditkit demo``."""
    return data_dir("sample_data")
