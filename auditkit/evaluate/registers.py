"""The entity's registers: exceptions (with compensating-control worksheets),
attestations and the approved-flow register. See docs/registers.md.

They are the human side of the evidence: read at evaluation time, validated
strictly (a typo is a ConfigError naming the file and the entry), staged into
TEMP tables that checks may query, and their digests recorded with the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from auditkit.errors import ConfigError, InputError
from auditkit.safeload import load_yaml_file_text, read_regular

EXCEPTION_KINDS = ("false_positive", "compensating_control", "risk_acceptance")
WORKSHEET_FIELDS = (
    "constraints",
    "definition",
    "objective",
    "identified_risk",
    "validation",
    "maintenance",
)


@dataclass(frozen=True)
class ExceptionEntry:
    """One entry of the exceptions register."""

    id: str
    check: str
    kind: str
    resource: str | None
    fingerprint: str | None
    justification: str
    approved_by: str
    approved_on: dt.date
    expires: dt.date
    requirement: str | None = None
    worksheet: dict[str, str] | None = None
    source_file: str = ""  # the register file, as shown to the user
    locator: str = ""  # JSON pointer of the entry, #/exceptions/<index>

    def active_on(self, day: dt.date) -> bool:
        """The exception applies on ``day`` (approved and not yet expired)."""
        return self.approved_on <= day <= self.expires


@dataclass(frozen=True)
class Attestation:
    """A dated statement by a person about something data cannot show."""

    id: str
    requirement: str
    kind: str
    date_start: dt.date
    date_end: dt.date
    performed_by: str
    evidence: str
    result: str | None
    not_applicable: bool
    justification: str | None
    notes: str | None
    source_file: str
    locator: str
    performed_on: dt.date | None = None
    source_sha256: str = ""
    procedures: tuple[str, ...] = ()  # testing procedures it stands for (documentation/interview)
    # Numeric values the statement sets (a targeted risk analysis's remediation windows, e.g.
    # high_days: 60), as (name, value) pairs; checks read them from the staged table.
    parameters: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class ApprovedFlow:
    """A flow the entity approved, with a business need and an approver."""

    id: str
    description: str
    src_namespaces: tuple[str, ...]
    src_cidrs: tuple[str, ...]
    dst_namespaces: tuple[str, ...]
    dst_cidrs: tuple[str, ...]
    ports: tuple[tuple[int, int, str], ...]  # (low, high, protocol)
    business_need: str
    approved_by: str
    approved_on: dt.date | None
    source_file: str
    locator: str


@dataclass
class Registers:
    """Everything read from the registers, plus their digests."""

    exceptions: list[ExceptionEntry] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    approved_flows: list[ApprovedFlow] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready snapshot (stored with the run)."""
        return {
            "digests": self.digests,
            "exceptions": [_jsonable(asdict(e)) for e in self.exceptions],
            "attestations": [_jsonable(asdict(a)) for a in self.attestations],
            "approved_flows": [_jsonable(asdict(f)) for f in self.approved_flows],
        }


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def _read(path: Path, digests: dict[str, str], base: Path) -> Any:
    try:
        data = read_regular(path)
    except InputError as exc:
        raise ConfigError(exc.message, path=path) from None
    digests[_shown(path, base)] = hashlib.sha256(data).hexdigest()
    try:
        return load_yaml_file_text(data.decode("utf-8"), source=str(path))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path) from None
    except InputError as exc:
        raise ConfigError(exc.message, path=path, location=exc.location) from None


class _Entry:
    """Typed access to one mapping entry, with errors that name file and pointer."""

    def __init__(self, data: Any, path: Path, where: str, allowed: set[str]) -> None:
        if not isinstance(data, dict):
            raise ConfigError("entry must be a mapping", path=path, location=where)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r}", path=path, location=where)
        self.data, self.path, self.where = data, path, where

    def err(self, key: str, msg: str) -> ConfigError:
        return ConfigError(msg, path=self.path, location=f"{self.where}/{key}")

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.err(key, f"{key} is required")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.err(key, f"{key} must be text")
        return value.strip()

    def date(self, key: str, *, required: bool = True) -> dt.date | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.err(key, f"{key} is required (a date like 2026-07-01)")
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise self.err(key, f"{key} must be a date like 2026-07-01, not {value!r}") from None

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.err(key, f"{key} must be a list of strings")
        return tuple(value)


def _entries(doc: Any, key: str, path: Path) -> list[Any]:
    if doc is None:
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise ConfigError(f"expected a top-level '{key}:' list", path=path)
    return list(doc[key])


def load_exceptions(path: Path | None, digests: dict[str, str], base: Path) -> list[ExceptionEntry]:
    """Read the exceptions register (absent file: no exceptions)."""
    if path is None or not path.exists():
        return []
    doc = _read(path, digests, base)
    out: list[ExceptionEntry] = []
    seen: set[str] = set()
    allowed = {
        "id",
        "check",
        "kind",
        "match",
        "justification",
        "approved_by",
        "approved_on",
        "expires",
        "requirement",
        "compensating_control",
    }
    for index, raw in enumerate(_entries(doc, "exceptions", path)):
        e = _Entry(raw, path, f"#/exceptions/{index}", allowed)
        exc_id = e.text("id")
        assert exc_id is not None
        if exc_id in seen:
            raise e.err("id", f"duplicate exception id {exc_id!r}")
        seen.add(exc_id)
        kind = e.text("kind")
        if kind not in EXCEPTION_KINDS:
            raise e.err("kind", f"kind must be one of {', '.join(EXCEPTION_KINDS)}")
        match = raw.get("match")
        if (
            not isinstance(match, dict)
            or not (set(match) & {"resource", "fingerprint"})
            or (set(match) - {"resource", "fingerprint"})
        ):
            raise e.err("match", "match needs exactly 'resource' or 'fingerprint'")
        worksheet = None
        if kind == "compensating_control":
            sheet = raw.get("compensating_control")
            if not isinstance(sheet, dict):
                raise e.err(
                    "compensating_control",
                    "a compensating control needs its worksheet: " + ", ".join(WORKSHEET_FIELDS),
                )
            missing = [f for f in WORKSHEET_FIELDS if not str(sheet.get(f) or "").strip()]
            extra = sorted(set(sheet) - set(WORKSHEET_FIELDS))
            if missing:
                raise e.err("compensating_control", f"worksheet field {missing[0]!r} is empty")
            if extra:
                raise e.err("compensating_control", f"unknown worksheet field {extra[0]!r}")
            worksheet = {f: str(sheet[f]).strip() for f in WORKSHEET_FIELDS}
        approved_on, expires = e.date("approved_on"), e.date("expires")
        assert approved_on is not None and expires is not None
        if expires < approved_on:
            raise e.err("expires", "expires is before approved_on")
        out.append(
            ExceptionEntry(
                id=exc_id,
                check=e.text("check") or "",
                kind=kind,
                resource=str(match["resource"]) if "resource" in match else None,
                fingerprint=str(match["fingerprint"]) if "fingerprint" in match else None,
                justification=e.text("justification") or "",
                approved_by=e.text("approved_by") or "",
                approved_on=approved_on,
                expires=expires,
                requirement=e.text("requirement", required=False),
                worksheet=worksheet,
                source_file=_shown(path, base),
                locator=f"#/exceptions/{index}",
            )
        )
    return out


def load_attestations(path: Path | None, digests: dict[str, str], base: Path) -> list[Attestation]:
    """Read every attestation file (a folder of YAML files, or one file)."""
    if path is None or not path.exists():
        return []
    files = (
        sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        if path.is_dir()
        else [path]
    )
    out: list[Attestation] = []
    seen: set[str] = set()
    allowed = {
        "id",
        "requirement",
        "kind",
        "date",
        "period",
        "performed_by",
        "evidence",
        "result",
        "not_applicable",
        "justification",
        "notes",
        "procedures",
        "parameters",
    }
    for file in files:
        doc = _read(file, digests, base)
        for index, raw in enumerate(_entries(doc, "attestations", file)):
            where = f"#/attestations/{index}"
            e = _Entry(raw, file, where, allowed)
            att_id = e.text("id")
            assert att_id is not None
            if att_id in seen:
                raise e.err("id", f"duplicate attestation id {att_id!r}")
            seen.add(att_id)
            # date: when the activity was performed; period: the span it covers.
            if "period" in raw:
                p = _Entry(raw["period"], file, where + "/period", {"start", "end"})
                start, end = p.date("start"), p.date("end")
                performed = e.date("date", required=False) or end
            else:
                start = end = performed = e.date("date")
            assert start is not None and end is not None and performed is not None
            if end < start:
                raise e.err("period", "period ends before it starts")
            not_applicable = raw.get("not_applicable", False)
            if not isinstance(not_applicable, bool):
                raise e.err("not_applicable", "not_applicable must be true or false")
            justification = e.text("justification", required=not_applicable)
            result = e.text("result", required=False)
            if result is not None and result not in ("pass", "fail"):
                raise e.err("result", "result must be pass or fail")
            parameters = _parameters(raw.get("parameters"), e)
            out.append(
                Attestation(
                    id=att_id,
                    requirement=e.text("requirement") or "",
                    kind=e.text("kind") or "",
                    date_start=start,
                    date_end=end,
                    performed_on=performed,
                    performed_by=e.text("performed_by") or "",
                    evidence=e.text("evidence") or "",
                    result=result,
                    not_applicable=not_applicable,
                    justification=justification,
                    notes=e.text("notes", required=False),
                    source_file=_shown(file, base),
                    locator=where,
                    source_sha256=digests[_shown(file, base)],
                    procedures=e.strings("procedures"),
                    parameters=parameters,
                )
            )
    return out


def _parameters(value: Any, entry: _Entry) -> tuple[tuple[str, float], ...]:
    """An attestation's ``parameters``: a mapping of snake_case names to non-negative numbers."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise entry.err("parameters", "parameters must be a mapping of names to numbers")
    out: list[tuple[str, float]] = []
    for name, number in value.items():
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name.islower():
            raise entry.err("parameters", f"parameter name {name!r} must be snake_case")
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise entry.err(f"parameters/{name}", f"{name} must be a non-negative number")
        out.append((name, float(number)))
    return tuple(sorted(out))


def _parse_port(text: str, entry: _Entry) -> tuple[int, int, str]:
    spec, _, proto = text.partition("/")
    proto = (proto or "tcp").lower()
    low, _, high = spec.partition("-")
    try:
        lo, hi = int(low), int(high or low)
    except ValueError:
        raise entry.err(
            "ports", f"port must look like 443/tcp or 30000-32767/tcp: {text!r}"
        ) from None
    if not (0 <= lo <= hi <= 65535) or proto not in ("tcp", "udp", "sctp", "icmp", "icmpv6", "any"):
        raise entry.err("ports", f"invalid port or protocol: {text!r}")
    return lo, hi, proto


def load_approved_flows(
    path: Path | None, digests: dict[str, str], base: Path
) -> list[ApprovedFlow]:
    """Read the approved-flow register (absent file: nothing is approved)."""
    import ipaddress

    if path is None or not path.exists():
        return []
    doc = _read(path, digests, base)
    out: list[ApprovedFlow] = []
    allowed = {
        "id",
        "description",
        "source",
        "destination",
        "ports",
        "business_need",
        "approved_by",
        "approved_on",
        "change_ref",
        "carries_account_data",
    }
    for index, raw in enumerate(_entries(doc, "flows", path)):
        where = f"#/flows/{index}"
        e = _Entry(raw, path, where, allowed)
        sides = {}
        for side in ("source", "destination"):
            s = _Entry(raw.get(side) or {}, path, f"{where}/{side}", {"namespaces", "cidrs"})
            cidrs = s.strings("cidrs")
            for cidr in cidrs:
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise s.err("cidrs", f"not a CIDR: {cidr!r}") from None
            namespaces = s.strings("namespaces")
            if not cidrs and not namespaces:
                raise e.err(side, f"{side} needs namespaces or cidrs")
            sides[side] = (namespaces, cidrs)
        ports_raw = raw.get("ports") or []
        if not isinstance(ports_raw, list) or not ports_raw:
            raise e.err("ports", "ports must be a non-empty list like ['443/tcp']")
        ports = tuple(_parse_port(str(p), e) for p in ports_raw)
        out.append(
            ApprovedFlow(
                id=e.text("id") or "",
                description=e.text("description", required=False) or "",
                src_namespaces=sides["source"][0],
                src_cidrs=sides["source"][1],
                dst_namespaces=sides["destination"][0],
                dst_cidrs=sides["destination"][1],
                ports=ports,
                business_need=e.text("business_need") or "",
                approved_by=e.text("approved_by") or "",
                approved_on=e.date("approved_on", required=False),
                source_file=path.name,
                locator=where,
            )
        )
    return out


def load_registers(
    exceptions: Path | None, attestations: Path | None, approved_flows: Path | None, base: Path
) -> Registers:
    """Read all three registers."""
    regs = Registers()
    regs.exceptions = load_exceptions(exceptions, regs.digests, base)
    regs.attestations = load_attestations(attestations, regs.digests, base)
    regs.approved_flows = load_approved_flows(approved_flows, regs.digests, base)
    return regs
