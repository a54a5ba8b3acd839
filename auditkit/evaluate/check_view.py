"""What ``auditkit controls show`` says about one check, as plain data.

Parameters are shown with the value an evaluation of the workspace would use
and where it comes from: the check's default, the workspace's ``auditkit.toml``
(``[params.<check>]``), or an attestation, for the parameters a check declares
an attestation may set (``from_attestation``: the latest attestation of that
kind, for a requirement the check evidences, performed on or before the as-of
date, whose ``parameters`` name it; the check's SQL applies the same rule).

Procedures and the population are read from whatever the catalog exposes
(``Check.population`` and ``Check.procedures``, when present) by one small
rendering function, so this module follows the catalog rather than duplicating it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from auditkit.evaluate.catalog import Catalog, Check, Param
from auditkit.evaluate.engine import check_params
from auditkit.evaluate.registers import Attestation, Registers
from auditkit.workspace import WorkspaceConfig


@dataclass(frozen=True)
class ParamView:
    """One parameter: its declaration, and the value an evaluation would use and why."""

    name: str
    type: str
    default: Any
    provenance: str
    unit: str
    description: str
    value: Any
    source: str  # default | auditkit.toml | attestation
    detail: str  # e.g. "standard", "[params.x]", "TRA-1 (attestations/tra.yaml#/attestations/0)"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {k: _plain(v) for k, v in self.__dict__.items()}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _latest_attestation(
    param: Param, requirements: set[str], registers: Registers, as_of: dt.date
) -> tuple[Attestation, float] | None:
    found: list[tuple[dt.date, str, Attestation, float]] = []
    for att in registers.attestations:
        values = dict(att.parameters)
        performed = att.performed_on or att.date_end
        if (
            att.kind == param.from_attestation
            and not att.not_applicable
            and att.requirement in requirements
            and performed <= as_of
            and param.name in values
        ):
            found.append((performed, att.id, att, values[param.name]))
    if not found:
        return None
    _, _, att, value = max(found, key=lambda f: (f[0], f[1]))
    return att, value


def parameter_views(
    check: Check,
    catalog: Catalog,
    config: WorkspaceConfig | None,
    registers: Registers | None,
    as_of: dt.date | None = None,
) -> list[ParamView]:
    """Every parameter of ``check`` with its effective value and source.

    Without a workspace (``config`` None) every value is the default.
    """
    overrides: dict[str, Any] = {}
    if config is not None:
        raw = config.raw.get("params", {})
        overrides = dict(raw.get(check.id, {})) if isinstance(raw, dict) else {}
    effective = check_params(check, overrides)
    as_of = as_of or (config.period_end if config else None)
    requirements = {req for fw, req in catalog.requirements_for(check.id)}
    out: list[ParamView] = []
    for param in check.params:
        spec = effective[param.name]
        value, source, detail = spec["value"], "default", param.provenance
        if param.name in overrides:
            source, detail = "auditkit.toml", f"[params.{check.id}] {param.name}"
        if param.from_attestation and registers is not None and as_of is not None:
            hit = _latest_attestation(param, requirements, registers, as_of)
            if hit is not None:
                att, number = hit
                value = int(number) if number.is_integer() else number
                source = "attestation"
                detail = (
                    f"{att.id} ({param.from_attestation}, {att.performed_on or att.date_end}; "
                    f"{att.source_file}{att.locator})"
                )
            else:
                detail += f"; no {param.from_attestation} attestation on file sets it"
        out.append(
            ParamView(
                param.name,
                param.type,
                param.default,
                param.provenance,
                param.unit,
                param.description,
                value,
                source,
                detail,
            )
        )
    return out


def procedure_lines(check: Check) -> list[dict[str, Any]]:
    """The testing procedures the check declares it performs, as the catalog exposes them.

    Reads ``check.procedures`` when the catalog has it: each claim's procedure id, methods,
    extent and limits where present, else its text. Empty when the catalog has no procedures.
    """
    lines: list[dict[str, Any]] = []
    for claim in getattr(check, "procedures", ()) or ():
        if isinstance(claim, str):
            lines.append({"procedure": claim})
            continue
        item: dict[str, Any] = {}
        for attr in ("procedure", "id", "methods", "extent", "limits"):
            value = getattr(claim, attr, None)
            if value not in (None, "", ()):
                item["procedure" if attr == "id" else attr] = (
                    list(value) if isinstance(value, tuple) else value
                )
        lines.append(item or {"procedure": str(claim)})
    return lines


def population(check: Check) -> str:
    """The population the check tests, in words, when the catalog declares it."""
    return str(getattr(check, "population", "") or "").strip()
