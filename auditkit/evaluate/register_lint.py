"""The registers checked against the catalog (``auditkit controls lint --workspace``).

Loading a register already refuses bad syntax, unknown keys and bad dates. What
only the catalog can tell is whether an entry can ever take effect: an
exception naming a check that does not exist (or that the workspace's
framework does not evaluate), a requirement its check does not evidence, a
``match.resource`` that does not have the check's resource-key shape (a typo
silently matches nothing), a fingerprint that is not one; an attestation for a
requirement the framework does not have. Every problem is one line naming the
file, the entry's JSON pointer and its id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from auditkit.errors import ConfigError
from auditkit.evaluate.catalog import Catalog
from auditkit.evaluate.registers import Registers, load_registers
from auditkit.evaluate.resource_keys import describe, key_matches
from auditkit.workspace import WorkspaceConfig

_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class RegisterLint:
    """What was checked and every problem found."""

    exceptions: int = 0
    attestations: int = 0
    approved_flows: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {
            "exceptions": self.exceptions,
            "attestations": self.attestations,
            "approved_flows": self.approved_flows,
            "problems": list(self.problems),
        }


def lint_registers(config: WorkspaceConfig, root: Path, catalog: Catalog) -> RegisterLint:
    """Check the workspace's registers against ``catalog``; never raises for a register problem."""
    out = RegisterLint()
    try:
        registers = load_registers(
            config.exceptions_path, config.attestations_path, config.approved_flows_path, root
        )
    except ConfigError as exc:
        out.problems.append(exc.one_line())
        return out
    out.exceptions = len(registers.exceptions)
    out.attestations = len(registers.attestations)
    out.approved_flows = len(registers.approved_flows)
    framework = catalog.frameworks.get(config.framework)
    if framework is None:
        out.problems.append(
            f"auditkit.toml: framework {config.framework!r} is not in the catalog; "
            "the registers cannot be checked against it"
        )
        return out
    mapped: dict[str, list[str]] = {}
    for req in framework.requirements:
        for check_id in req.checks:
            mapped.setdefault(check_id, []).append(req.id)
    _exceptions(registers, catalog, framework.id, mapped, out.problems)
    known = {req.id for req in framework.requirements}
    for att in registers.attestations:
        if att.requirement not in known:
            out.problems.append(
                f"{att.source_file}{att.locator} ({att.id}): requirement {att.requirement!r} "
                f"is not in framework {framework.id}"
            )
    return out


def _exceptions(
    registers: Registers,
    catalog: Catalog,
    framework_id: str,
    mapped: dict[str, list[str]],
    problems: list[str],
) -> None:
    for exc in registers.exceptions:
        where = f"{exc.source_file}{exc.locator} ({exc.id})"
        check = catalog.checks.get(exc.check)
        if check is None:
            renamed = [c.id for c in catalog.checks.values() if exc.check in c.aliases]
            hint = f"; it was renamed to {renamed[0]!r}" if renamed else ""
            problems.append(f"{where}: unknown check {exc.check!r}{hint}")
            continue
        requirements = mapped.get(check.id, [])
        if not requirements:
            problems.append(
                f"{where}: check {check.id} is not evaluated by framework {framework_id}, "
                "so the exception can never apply"
            )
        elif exc.requirement is not None and exc.requirement not in requirements:
            problems.append(
                f"{where}: requirement {exc.requirement!r} is not one check {check.id} "
                f"evidences ({', '.join(requirements)})"
            )
        if exc.resource is not None and not key_matches(check.resource_key, exc.resource):
            problems.append(
                f"{where}: match.resource {exc.resource!r} does not have the shape of "
                f"{check.id}'s resource keys: {describe(check.resource_key)}"
            )
        if exc.fingerprint is not None and not _FINGERPRINT_RE.match(exc.fingerprint):
            problems.append(
                f"{where}: match.fingerprint must be the 64 lower-case hex digits the "
                "workbook and 'auditkit results --json' show"
            )
