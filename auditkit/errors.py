"""The auditkit exception tree.

The library raises only these; it never prints and never exits. The CLI maps
each class to an exit code in exactly one place (``auditkit.cli._errors``)::

    AuditkitError                      base of everything auditkit raises
    ├── UserError                      the user's input, usage or config is wrong (exit 2)
    │   ├── InputError                 a data file cannot be read or parsed
    │   │   ├── UnsupportedFormatError no parser recognises the file
    │   │   └── MalformedRecordsError  some records are malformed (file rejected whole)
    │   ├── ConfigError                auditkit.toml, exceptions, attestations, plans
    │   ├── CatalogError               controls/frameworks fail validation (all problems listed)
    │   ├── WorkspaceError             no workspace found, or it is not initialised
    │   │   └── WorkspaceBusyError     another process holds the workspace lock
    │   ├── KeyMaterialError           signing keys missing or unusable
    │   ├── NotFoundError              a run, check or requirement id does not exist
    │   └── PackError                  a pack cannot be read at all (verify cannot run)
    ├── CheckExecutionError            a check's SQL failed (exit 3, names the check)
    └── InternalError                  a bug or an environment failure (exit 3)

Every message is one line that names the file and the location (line number
or JSON pointer) when there is one.
"""

from __future__ import annotations

from pathlib import Path


class AuditkitError(Exception):
    """Base class for every error auditkit raises on purpose."""

    def __init__(
        self, message: str, *, path: str | Path | None = None, location: str | None = None
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.location = location
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Render as ``path:location: message`` on a single line."""
        prefix = ""
        if self.path is not None:
            prefix = self.path
            if self.location:
                prefix += f":{self.location}"
            prefix += ": "
        text = prefix + self.message
        return " ".join(text.splitlines())


class UserError(AuditkitError):
    """Something the user supplied is wrong; fixing the input fixes the run."""


class InputError(UserError):
    """A data file cannot be read or parsed."""


class UnsupportedFormatError(InputError):
    """No parser recognises the file's content."""


class MalformedRecordsError(InputError):
    """A file holds malformed records; it was rejected whole (nothing stored).

    ``bad`` lists ``(location, reason)`` pairs for the first few bad records and
    ``total_bad`` counts all of them.
    """

    def __init__(
        self,
        path: str | Path,
        bad: list[tuple[str, str]],
        total_bad: int,
    ) -> None:
        self.bad = bad
        self.total_bad = total_bad
        first = "; ".join(f"{loc}: {why}" for loc, why in bad[:3])
        more = f" (and {total_bad - 3} more)" if total_bad > 3 else ""
        super().__init__(
            f"{total_bad} malformed record(s), file not stored: {first}{more}; "
            "use --skip-bad-records to store the good ones and quarantine the rest",
            path=path,
            location=bad[0][0] if bad else None,
        )

    def one_line(self) -> str:
        # The locations are already inside the message.
        text = f"{self.path}: {self.message}" if self.path else self.message
        return " ".join(text.splitlines())


class ConfigError(UserError):
    """auditkit.toml or another configuration file is invalid."""


class CatalogError(UserError):
    """The controls catalog failed validation; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        head = problems[0] if problems else "invalid catalog"
        more = (
            f" (and {len(problems) - 1} more problem(s); run 'auditkit controls lint')"
            if len(problems) > 1
            else ""
        )
        super().__init__(head + more)


class WorkspaceError(UserError):
    """No workspace was found or it is not usable."""


class WorkspaceBusyError(WorkspaceError):
    """Another process holds the workspace's write lock."""

    def __init__(self, path: str | Path, pid: int | None) -> None:
        self.pid = pid
        who = f"PID {pid}" if pid is not None else "PID unknown"
        super().__init__(f"workspace busy ({who}); try again when it finishes", path=path)


class KeyMaterialError(UserError):
    """Signing keys are missing, unreadable or of the wrong kind."""


class NotFoundError(UserError):
    """A run, check or requirement id does not exist."""


class PackError(UserError):
    """A pack cannot be read at all, so verification cannot run."""


class CheckExecutionError(AuditkitError):
    """A check's SQL failed. Evaluation stops; nothing is recorded as passing."""

    def __init__(self, check_id: str, detail: str, *, path: str | Path | None = None) -> None:
        self.check_id = check_id
        super().__init__(f"check {check_id} failed to run: {detail}", path=path)


class InternalError(AuditkitError):
    """A bug in auditkit or a failure of the environment."""
