"""Run one pack step in a child Python process, alongside the parent.

The PDF render and the CSV evidence conversion each run in their own process
while the parent writes the workbook: three CPU-bound jobs in pure Python
would otherwise queue behind one interpreter lock. A child gets a wall-clock
timeout counted from its start, its stderr is collected for a one-line error,
and :meth:`ChildJob.cancel` kills it when the build fails elsewhere.

No ``preexec_fn``: the parent runs DuckDB threads, and hooks between fork and
exec are unsafe with threads. A child that needs resource limits sets them
itself before importing anything heavy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence

from auditkit.errors import InternalError

PARENT_ENV = "AUDITKIT_PARENT_PID"


def die_with_parent() -> None:
    """In a child: ask Linux to kill this process when the builder dies.

    A builder killed mid-pack must not leave helpers writing into its staging
    folder. Best effort: elsewhere than Linux this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    expected = os.environ.get(PARENT_ENV, "")
    if expected.isdigit() and os.getppid() != int(expected):
        os._exit(1)  # the parent died before the request took effect


class ChildJob:
    """``python -m <module> <args>`` started now; :meth:`wait` collects it."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        *,
        what: str,
        timeout: float,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.what = what
        self.timeout = timeout
        environment = dict(os.environ)
        environment.update(env or {})
        environment[PARENT_ENV] = str(os.getpid())
        # stderr goes to a file, not a pipe: a chatty child must never block on a
        # full pipe while the parent is busy elsewhere.
        self._err = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            env=environment,
        )

    def wait(self) -> None:
        """Wait for the child; raise InternalError if it failed or ran out of time."""
        left = max(1.0, self.timeout - (time.monotonic() - self._started))
        try:
            code = self._proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise InternalError(
                f"{self.what} exceeded {self.timeout:.0f} s and was stopped"
            ) from None
        try:
            if code != 0:
                self._err.seek(0)
                lines = [line.strip() for line in self._err.read().splitlines() if line.strip()]
                detail = lines[-1] if lines else f"exit code {code}"
                raise InternalError(f"{self.what} failed: {detail}")
        finally:
            self._err.close()

    def cancel(self) -> None:
        """Stop the child if it still runs."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._err.close()
