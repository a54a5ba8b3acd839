"""Library deprecation warnings never reach the user's terminal (issue: fresh installs)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from auditkit.__main__ import hide_library_deprecations, is_deprecation


class VendorDeprecationWarning(UserWarning):
    """Shaped like cryptography's CryptographyDeprecationWarning (a UserWarning)."""


def _emit(category: type[Warning], text: str) -> None:
    warnings.warn_explicit(text, category, "pyhanko/sign/signers/pdf_cms.py", 20, module="pyhanko")


def test_library_deprecations_are_hidden_other_warnings_are_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings.catch_warnings():
        warnings.resetwarnings()
        assert hide_library_deprecations({}) is True
        _emit(VendorDeprecationWarning, "DSA is deprecated")
        _emit(DeprecationWarning, "old api")
        _emit(FutureWarning, "will change")
        _emit(UserWarning, "font \x1b[31mmissing\nsecond line")
    err = capsys.readouterr().err
    assert err == "warning: UserWarning: font \\x1b[31mmissing\n"


def test_debug_keeps_every_warning() -> None:
    with warnings.catch_warnings():
        assert hide_library_deprecations({"AUDITKIT_DEBUG": "1"}) is False


def test_deprecation_is_recognised_by_hierarchy_or_name() -> None:
    assert is_deprecation(DeprecationWarning)
    assert is_deprecation(PendingDeprecationWarning)
    assert is_deprecation(VendorDeprecationWarning)
    assert not is_deprecation(UserWarning)
    assert not is_deprecation(RuntimeWarning)


def test_console_entry_point_prints_no_library_warning(tmp_path: Path) -> None:
    """The real entry point, in a fresh interpreter: keygen imports pyHanko, and
    neither it nor any other library prints a warning (cryptography 4x-5x warns
    about DSA when pyHanko imports it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AUDITKIT_DEBUG", "PYTHONWARNINGS")}
    ws = tmp_path / "ws"
    for args in (["init", str(ws), "--org", "X"], ["keygen", "-w", str(ws)]):
        proc = subprocess.run(
            [sys.executable, "-m", "auditkit", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Warning" not in proc.stderr, proc.stderr
        assert "warning" not in proc.stderr.lower(), proc.stderr
