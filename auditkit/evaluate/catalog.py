"""The controls catalog: checks (YAML + SQL) and frameworks (requirement -> checks).

Loading validates everything at once and reports every problem: schema of each
file, unknown keys, duplicate ids, file stem equal to id, missing SQL, mappings
to checks that do not exist, parameters of the wrong type. ``auditkit controls
lint`` prints that list; every other command refuses an invalid catalog.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.errors import CatalogError, InputError, NotFoundError
from auditkit.evaluate.framework import (
    Framework,
    ProcedureClaim,
    cross_check,
    parse_claims,
    parse_framework,
)
from auditkit.evaluate.resource_keys import KeyFormat, parse_resource_key
from auditkit.evaluate.sqlguard import select_problem
from auditkit.resources import controls_dir
from auditkit.safeload import load_yaml_file_text, read_regular

SEVERITIES = ("critical", "high", "medium", "low", "info")
PARAM_TYPES = ("integer", "number", "string", "boolean", "date", "list")
PROVENANCES = ("standard", "auditkit default")
RESERVED_PARAMS = ("as_of", "period_start", "period_end", "entity_type", "lookback_start")
CONTRACT_COLUMNS = ("resource", "status", "reason", "source_sha256", "locator")
ROW_STATUSES = ("pass", "fail", "not_applicable")

_CHECK_KEYS = {
    "id": str,
    "title": str,
    "description": str,
    "rationale": str,
    "severity": str,
    "resource_type": str,
    "requires": list,
    "params": dict,
    "evidence_columns": list,
    "remediation": str,
    "references": list,
    "aliases": list,
    "on_empty": str,
    "empty_reason": str,
    "timeliness": dict,
    "query": str,
    "population": str,
    "procedures": list,
    "resource_key": object,  # a mapping or a list of them: auditkit.evaluate.resource_keys
}
_CHECK_REQUIRED = (
    "id",
    "title",
    "description",
    "rationale",
    "severity",
    "requires",
    "evidence_columns",
    "remediation",
    "population",
)
_PARAM_KEYS = {"type", "default", "provenance", "description", "unit", "from_attestation"}
_REQUIRE_KEYS = {"table", "missing", "time_column", "supplementary"}
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{2,79}$")
_SQL_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_WALL_CLOCK_RE = re.compile(
    r"\bnow\s*\(|\bcurrent_(?:timestamp|date|time|localtimestamp)\b|\bget_current_\w+\s*\("
    r"|\btoday\s*\(|\btransaction_timestamp\s*\(",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Param:
    """A check parameter: its type, default and where the default comes from."""

    name: str
    type: str
    default: Any
    provenance: str
    description: str = ""
    unit: str = ""
    from_attestation: str = ""  # kind of attestation whose parameters may set it (the SQL reads it)


@dataclass(frozen=True)
class Requirement:
    """A data prerequisite: without rows in ``table`` the check is Not Tested.

    A ``supplementary`` table only blocks a pass: without it the check still
    runs, and the failures the other data proves are reported (Not in Place);
    with no such failure the check is Not Tested.
    """

    table: str
    missing: str
    time_column: str | None = None
    supplementary: bool = False


@dataclass(frozen=True)
class Check:
    """One check: metadata plus the SQL that returns one row per population item."""

    id: str
    title: str
    description: str
    rationale: str
    severity: str
    resource_type: str
    requires: tuple[Requirement, ...]
    params: tuple[Param, ...]
    evidence_columns: tuple[str, ...]
    remediation: str
    sql: str
    yaml_path: Path
    sql_path: Path
    domain: str
    references: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    on_empty: str = "not_tested"
    empty_reason: str = ""
    timeliness: dict[str, str] | None = None  # {opened, deadline, resolved} evidence columns
    population: str = ""  # the population the check tests, in words
    procedures: tuple[ProcedureClaim, ...] = ()  # testing procedures it performs, and how far
    resource_key: tuple[KeyFormat, ...] = ()  # the shapes of the resource column

    @property
    def sql_params(self) -> list[str]:
        """Every ``$name`` the SQL binds."""
        return sorted(set(_SQL_PARAM_RE.findall(self.sql)))

    @property
    def sql_digest(self) -> str:
        """sha256 of the SQL text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass
class Catalog:
    """Every check and framework found in the catalog folders."""

    checks: dict[str, Check] = field(default_factory=dict)
    frameworks: dict[str, Framework] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)  # name -> SQL (shared TEMP tables)
    files: dict[str, str] = field(default_factory=dict)  # display path -> sha256
    problems: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """sha256 over every catalog file's path and content hash."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(f"{name}\0{self.files[name]}\n".encode())
        return h.hexdigest()

    def check(self, check_id: str) -> Check:
        """A check by id (or alias)."""
        if check_id in self.checks:
            return self.checks[check_id]
        for chk in self.checks.values():
            if check_id in chk.aliases:
                return chk
        raise NotFoundError(f"no check with id {check_id!r}; see 'auditkit controls list'")

    def framework(self, framework_id: str) -> Framework:
        """A framework by id."""
        if framework_id not in self.frameworks:
            known = ", ".join(sorted(self.frameworks)) or "none"
            raise NotFoundError(f"no framework {framework_id!r} (known: {known})")
        return self.frameworks[framework_id]

    def requirements_for(self, check_id: str) -> list[tuple[str, str]]:
        """(framework id, requirement id) pairs that map a check."""
        out = []
        for fw in self.frameworks.values():
            for req in fw.requirements:
                if check_id in req.checks:
                    out.append((fw.id, req.id))
        return out


def load_catalog(
    extra_dirs: list[Path] | tuple[Path, ...] = (), *, strict: bool = True, builtin: bool = True
) -> Catalog:
    """Load the built-in catalog plus extra folders; raise CatalogError listing every problem.

    With ``strict=False`` problems are returned in ``catalog.problems`` instead
    (for ``controls lint``).
    """
    catalog = Catalog()
    roots = ([controls_dir()] if builtin else []) + [Path(d) for d in extra_dirs]
    for root in roots:
        if not root.is_dir():
            catalog.problems.append(f"{root}: controls folder not found")
            continue
        for path in sorted((root / "checks").rglob("*.yaml")) if (root / "checks").is_dir() else []:
            _load_check(catalog, root, path)
        lib_dir = root / "lib"
        for path in sorted(lib_dir.glob("*.sql")) if lib_dir.is_dir() else []:
            _load_library(catalog, root, path)
        fw_dir = root / "frameworks"
        for path in sorted(fw_dir.glob("*.yaml")) if fw_dir.is_dir() else []:
            _load_framework(catalog, root, path)
    _cross_check(catalog)
    try:
        library_order(catalog.libraries)
    except ValueError as exc:
        catalog.problems.append(f"controls/lib: {exc}")
    if strict and catalog.problems:
        raise CatalogError(catalog.problems)
    return catalog


def _display(root: Path, path: Path) -> str:
    try:
        return f"{root.name}/{path.relative_to(root).as_posix()}"
    except ValueError:
        return str(path)


def _read_yaml(catalog: Catalog, root: Path, path: Path) -> Any:
    name = _display(root, path)
    try:
        data = read_regular(path)
    except InputError as exc:
        catalog.problems.append(f"{name}: cannot read: {exc.message}")
        return None
    catalog.files[name] = hashlib.sha256(data).hexdigest()
    try:
        return load_yaml_file_text(data.decode("utf-8"), source=name)
    except UnicodeDecodeError:
        catalog.problems.append(f"{name}: not UTF-8 text")
    except InputError as exc:
        catalog.problems.append(exc.one_line())
    return None


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        if isinstance(value, str):
            try:
                dt.date.fromisoformat(value)
                return True
            except ValueError:
                return False
        return isinstance(value, dt.date)
    if kind == "list":
        return isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)
    return False


def coerce_param(param: Param, value: Any) -> Any:
    """Validate (and convert dates) a parameter value; raises ValueError on a wrong type."""
    if not _type_ok(param.type, value):
        raise ValueError(f"parameter {param.name} must be {param.type}, got {value!r}")
    if param.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _load_check(catalog: Catalog, root: Path, path: Path) -> None:
    name = _display(root, path)
    doc = _read_yaml(catalog, root, path)
    if doc is None:
        return
    problems: list[str] = []
    if not isinstance(doc, dict):
        catalog.problems.append(f"{name}: a check file must be a mapping")
        return
    for key in sorted(set(doc) - set(_CHECK_KEYS)):
        problems.append(f"unknown key {key!r}")
    for key in _CHECK_REQUIRED:
        if key not in doc:
            problems.append(f"missing key {key!r}")
    for key, kind in _CHECK_KEYS.items():
        if key in doc and not isinstance(doc[key], kind):
            problems.append(f"{key} must be a {kind.__name__}")
    check_id = doc.get("id")
    if isinstance(check_id, str):
        if not _ID_RE.match(check_id):
            problems.append(f"id {check_id!r} must be snake_case (a-z, 0-9, _)")
        if path.stem != check_id:
            problems.append(f"file stem {path.stem!r} differs from id {check_id!r}")
    if doc.get("severity") not in SEVERITIES and "severity" in doc:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}")
    title = doc.get("title")
    if isinstance(title, str) and (len(title) > 120 or title.lower().startswith("ensure")):
        problems.append("title must be at most 120 characters and not start with 'Ensure'")
    if doc.get("on_empty", "not_tested") not in ("not_tested", "pass"):
        problems.append("on_empty must be not_tested or pass")
    params: list[Param] = []
    for pname, spec in (
        (doc.get("params") or {}).items() if isinstance(doc.get("params"), dict) else []
    ):
        if not isinstance(spec, dict):
            problems.append(f"params.{pname} must be a mapping")
            continue
        for key in sorted(set(spec) - _PARAM_KEYS):
            problems.append(f"params.{pname}: unknown key {key!r}")
        if pname in RESERVED_PARAMS or not _IDENT_RE.match(str(pname)):
            problems.append(f"params.{pname}: reserved or invalid parameter name")
        ptype = spec.get("type")
        if ptype not in PARAM_TYPES:
            problems.append(f"params.{pname}.type must be one of {', '.join(PARAM_TYPES)}")
            continue
        if "default" not in spec or not _type_ok(ptype, spec["default"]):
            problems.append(f"params.{pname}.default must be a {ptype}")
            continue
        if spec.get("provenance") not in PROVENANCES:
            problems.append(f"params.{pname}.provenance must be 'standard' or 'auditkit default'")
            continue
        params.append(
            Param(
                str(pname),
                ptype,
                spec["default"],
                spec["provenance"],
                str(spec.get("description", "")),
                str(spec.get("unit", "")),
                str(spec.get("from_attestation", "")),
            )
        )
    requires: list[Requirement] = []
    for index, item in (
        enumerate(doc.get("requires") or []) if isinstance(doc.get("requires"), list) else []
    ):
        if not isinstance(item, dict):
            problems.append(f"requires[{index}] must be a mapping")
            continue
        for key in sorted(set(item) - _REQUIRE_KEYS):
            problems.append(f"requires[{index}]: unknown key {key!r}")
        table, missing = item.get("table"), item.get("missing")
        if not isinstance(table, str) or not _IDENT_RE.match(table):
            problems.append(f"requires[{index}].table must be a table name")
            continue
        if not isinstance(missing, str) or not missing.strip():
            problems.append(f"requires[{index}].missing must say what is missing, for the report")
            continue
        time_column = item.get("time_column")
        if time_column is not None and (
            not isinstance(time_column, str) or not _IDENT_RE.match(time_column)
        ):
            problems.append(f"requires[{index}].time_column must be a column name")
            continue
        supplementary = item.get("supplementary", False)
        if not isinstance(supplementary, bool):
            problems.append(f"requires[{index}].supplementary must be true or false")
            continue
        requires.append(Requirement(table, missing.strip(), time_column, supplementary))
    evidence = doc.get("evidence_columns") or []
    if isinstance(evidence, list):
        for col in evidence:
            if not isinstance(col, str) or not _IDENT_RE.match(col):
                problems.append(f"evidence column {col!r} must be a lower-case identifier")
            elif col in CONTRACT_COLUMNS:
                problems.append(f"evidence column {col!r} is already part of the row contract")
    timeliness = doc.get("timeliness")
    if isinstance(timeliness, dict):
        keys = set(timeliness)
        if keys - {"opened", "deadline", "resolved"} or not {"opened", "deadline"} <= keys:
            problems.append("timeliness needs opened and deadline (and optionally resolved)")
        for role, col in timeliness.items():
            if isinstance(evidence, list) and col not in evidence:
                problems.append(f"timeliness.{role} names {col!r}, which is not an evidence column")
    population = doc.get("population")
    if isinstance(population, str) and not population.strip():
        problems.append("population must name the population the check tests")
    claims = parse_claims(doc.get("procedures"), problems)
    resource_key = parse_resource_key(doc.get("resource_key"), problems)
    sql_path = path.with_suffix(".sql")
    query = doc.get("query")
    if isinstance(query, str):
        # Several checks may share one SQL file that differs only in its parameters.
        sql_path = (path.parent / query).resolve()
        if not query.endswith(".sql") or not sql_path.is_relative_to(root.resolve()):
            problems.append(f"query {query!r} must name a .sql file inside {root.name}/")
            sql_path = path.with_suffix(".sql")
    sql = ""
    data = _read_sql(sql_path, problems)
    if data is not None:
        catalog.files[_display(root, sql_path)] = hashlib.sha256(data).hexdigest()
        sql = data.decode("utf-8", errors="replace").strip().rstrip(";").strip()
        if problem := select_problem(sql):
            problems.append(f"{sql_path.name}: {problem}")
        if _WALL_CLOCK_RE.search(sql):
            problems.append(f"{sql_path.name}: uses the wall clock; bind $as_of instead")
        declared = {p.name for p in params} | set(RESERVED_PARAMS)
        for used in sorted(set(_SQL_PARAM_RE.findall(sql)) - declared):
            problems.append(f"{sql_path.name}: binds ${used}, which is not a declared parameter")
    if problems:
        catalog.problems.extend(f"{name}: {p}" for p in problems)
        return
    assert isinstance(check_id, str)
    if check_id in catalog.checks:
        other = catalog.checks[check_id].yaml_path
        catalog.problems.append(f"{name}: duplicate check id {check_id!r} (also in {other})")
        return
    domain = path.parent.name
    catalog.checks[check_id] = Check(
        id=check_id,
        title=doc["title"].strip(),
        description=doc["description"].strip(),
        rationale=doc["rationale"].strip(),
        severity=doc["severity"],
        resource_type=str(doc.get("resource_type", "")),
        requires=tuple(requires),
        params=tuple(params),
        evidence_columns=tuple(evidence),
        remediation=doc["remediation"].strip(),
        sql=sql,
        yaml_path=path,
        sql_path=sql_path,
        domain=domain,
        references=tuple(str(r) for r in doc.get("references") or []),
        aliases=tuple(str(a) for a in doc.get("aliases") or []),
        on_empty=str(doc.get("on_empty", "not_tested")),
        empty_reason=str(doc.get("empty_reason", "")).strip(),
        timeliness={str(k): str(v) for k, v in timeliness.items()}
        if isinstance(timeliness, dict)
        else None,
        population=str(population or "").strip(),
        procedures=claims,
        resource_key=resource_key,
    )


def _read_sql(path: Path, problems: list[str]) -> bytes | None:
    """The bytes of a SQL file, or None with the reason added to ``problems``."""
    try:
        return read_regular(path)
    except InputError as exc:
        missing = exc.message == "file not found"
        problems.append(f"missing SQL file {path.name}" if missing else exc.one_line())
        return None


def _load_library(catalog: Catalog, root: Path, path: Path) -> None:
    name = _display(root, path)
    problems: list[str] = []
    data = _read_sql(path, problems)
    if data is None:
        catalog.problems.extend(f"{name}: {p}" for p in problems)
        return
    catalog.files[name] = hashlib.sha256(data).hexdigest()
    sql = data.decode("utf-8", errors="replace").strip().rstrip(";").strip()
    if problem := select_problem(sql):
        problems.append(problem)
    if not _IDENT_RE.match(path.stem):
        problems.append("library file names must be lower-case identifiers (they name a table)")
    if path.stem in catalog.libraries:
        problems.append(f"duplicate library {path.stem!r}")
    if _WALL_CLOCK_RE.search(sql):
        problems.append("uses the wall clock; bind $as_of instead")
    for used in sorted(set(_SQL_PARAM_RE.findall(sql)) - set(RESERVED_PARAMS)):
        problems.append(f"binds ${used}; libraries may bind only {', '.join(RESERVED_PARAMS)}")
    if problems:
        catalog.problems.extend(f"{name}: {p}" for p in problems)
        return
    catalog.libraries[path.stem] = sql


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)


def library_order(libraries: dict[str, str]) -> list[str]:
    """Library names ordered so each comes after the libraries its SQL reads.

    Dependencies are the other libraries' names appearing as whole words in the
    SQL (comments ignored). Raises ValueError on a cycle.
    """
    code = {name: _strip_comments(sql) for name, sql in libraries.items()}
    deps = {
        name: {o for o in libraries if o != name and re.search(rf"\b{re.escape(o)}\b", text)}
        for name, text in code.items()
    }
    order: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ValueError(f"libraries depend on each other in a cycle through {name!r}")
        visiting.add(name)
        for dep in sorted(deps[name]):
            visit(dep)
        visiting.discard(name)
        done.add(name)
        order.append(name)

    for name in sorted(libraries):
        visit(name)
    return order


def library_params(sql: str) -> list[str]:
    """Every ``$name`` a library binds."""
    return sorted(set(_SQL_PARAM_RE.findall(sql)))


def _load_framework(catalog: Catalog, root: Path, path: Path) -> None:
    name = _display(root, path)
    doc = _read_yaml(catalog, root, path)
    if doc is None:
        return
    framework, problems = parse_framework(doc, name, path)
    if problems or framework is None:
        catalog.problems.extend(problems)
        return
    if framework.id in catalog.frameworks:
        catalog.problems.append(f"{name}: duplicate framework id {framework.id!r}")
        return
    catalog.frameworks[framework.id] = framework


def _cross_check(catalog: Catalog) -> None:
    catalog.problems.extend(
        cross_check(
            catalog.frameworks,
            {
                c.id: (c.procedures, tuple(r.table for r in c.requires))
                for c in catalog.checks.values()
            },
        )
    )
