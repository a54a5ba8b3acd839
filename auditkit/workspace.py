"""The workspace: ``auditkit.toml``, its folder layout and its lock.

A workspace is a folder holding ``auditkit.toml`` (organisation, assessment
period, declared CDE scope, paths to registers), the DuckDB store and the
signing keys. Commands find it as git finds ``.git``: the nearest folder at or
above the current one that holds ``auditkit.toml``.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import ipaddress
import os
import re
import shutil
import stat
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from auditkit.errors import ConfigError, WorkspaceBusyError, WorkspaceError

CONFIG_NAME = "auditkit.toml"
DB_NAME = "auditkit.duckdb"
STATE_DIR = ".auditkit"
ENTITY_TYPES = ("merchant", "service_provider")


@dataclass(frozen=True)
class Scope:
    """The declared cardholder data environment (CDE) and its neighbours."""

    namespaces: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    cidrs: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    connected_namespaces: tuple[str, ...] = ()
    connected_cidrs: tuple[str, ...] = ()
    internal_cidrs: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    cloud_accounts: tuple[str, ...] = ()  # AWS accounts, Azure subscriptions, GCP projects
    cloud_resources: tuple[str, ...] = ()  # globs of cloud resource ids (ARNs...) in scope

    def as_dict(self) -> dict[str, list[str]]:
        """Plain lists, for JSON and the report."""
        return {k: list(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class NotApplicable:
    """A requirement the entity declares not applicable, with its justification."""

    requirement: str
    justification: str


@dataclass(frozen=True)
class NotTested:
    """A requirement left out of the assessment (a partial assessment), and why."""

    requirement: str
    reason: str


@dataclass(frozen=True)
class CustomizedApproach:
    """A requirement met through the customized approach (a method flag on the result)."""

    requirement: str
    reference: str


@dataclass(frozen=True)
class BreakGlass:
    """An emergency identity the entity keeps unused on purpose ([[break_glass]])."""

    principal: (
        str  # user name as the API server sees it, group:<name>, or system:serviceaccount:ns:name
    )
    justification: str
    reference: str = ""


@dataclass(frozen=True)
class SecretConsumer:
    """Principals declared to read a set of Secrets (``[[secret_consumers]]``)."""

    secrets: tuple[str, ...]  # "namespace/name" globs
    principals: tuple[str, ...]  # user names, system:serviceaccount:<ns>:<name>, group:<name>


@dataclass(frozen=True)
class WorkspaceConfig:
    """The validated content of ``auditkit.toml``."""

    organisation: str
    entity_type: str
    period_start: dt.date
    period_end: dt.date
    scope: Scope
    exceptions_path: Path | None = None
    attestations_path: Path | None = None
    approved_flows_path: Path | None = None
    controls_dirs: tuple[Path, ...] = ()
    framework: str = "pci-dss-v4.0.1"
    not_applicable: tuple[NotApplicable, ...] = ()
    customized_approach: tuple[CustomizedApproach, ...] = ()
    not_tested: tuple[NotTested, ...] = ()
    break_glass: tuple[BreakGlass, ...] = ()
    approved_registries: tuple[str, ...] = ()  # [images] approved_registries
    developers: tuple[str, ...] = ()  # [identities] developers: user names or group:<name>
    secret_consumers: tuple[SecretConsumer, ...] = ()
    memory_limit: str = "2GB"
    threads: int | None = None
    # Bounds for each check's SQL (see auditkit.evaluate.sandbox and docs/workspace.md).
    check_timeout_seconds: float = 600.0
    check_memory_limit: str | None = None  # None: memory_limit
    check_temp_limit: str = "4GB"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def digest(self) -> str:
        """sha256 of the canonical configuration (recorded with every run)."""
        return hashlib.sha256(tomli_w.dumps(self.raw).encode()).hexdigest()


class Workspace:
    """A workspace folder and the paths inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.config_path = self.root / CONFIG_NAME
        self.db_path = self.root / DB_NAME
        self.state_dir = self.root / STATE_DIR
        self.keys_dir = self.state_dir / "keys"
        self.tmp_dir = self.state_dir / "tmp"
        self.lock_path = self.state_dir / "lock"
        self._config: WorkspaceConfig | None = None

    @property
    def config(self) -> WorkspaceConfig:
        """The parsed ``auditkit.toml`` (loaded once)."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @contextmanager
    def lock(self, *, exclusive: bool = True) -> Iterator[None]:
        """Hold the workspace lock: exclusive for writers, shared for readers.

        A second writer (or a reader while a writer works) gets
        ``WorkspaceBusyError`` naming the holder's PID. Whoever gets the lock
        alone first removes spill files a killed process left in the temp
        folder. On a read-only workspace (an archived audit on a read-only
        mount) readers run without writing anything; writers are refused.
        """
        fd = self._open_lock(exclusive)
        if fd is None:  # nothing here can be written, so nobody can be writing
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                alone = True
            except BlockingIOError:
                if exclusive:
                    raise WorkspaceBusyError(self.root, _read_pid(self.lock_path)) from None
                alone = False
            if alone:
                self._clear_stale_spill()
            if exclusive:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
            elif not _shared(fd, wait=READER_WAIT_SECONDS):
                raise WorkspaceBusyError(self.root, _read_pid(self.lock_path))
            yield
        finally:
            os.close(fd)

    def _open_lock(self, exclusive: bool) -> int | None:
        """The lock file's descriptor; None for a reader of a workspace nobody can write."""
        try:
            self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if exclusive:
                _make_private(self.state_dir)
            return os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise WorkspaceError(
                    f"cannot use the workspace: {exc.strerror}", path=self.root
                ) from None
            if exclusive:
                raise WorkspaceError(
                    f"the workspace is read-only ({exc.strerror}); this command changes it "
                    "and cannot run here",
                    path=self.root,
                ) from None
        try:
            return os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)  # flock works read-only
        except OSError:
            return None

    def _clear_stale_spill(self) -> None:
        """Remove what is left in the temp folder: only a killed process leaves anything."""
        try:
            entries = list(os.scandir(self.tmp_dir))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue

    def protected_paths(self) -> list[Path]:
        """What an output path must never replace, delete or write into."""
        paths = [self.state_dir, self.db_path, Path(f"{self.db_path}.wal"), self.config_path]
        try:
            cfg = self.config
        except ConfigError:
            return paths
        for extra in (cfg.exceptions_path, cfg.attestations_path, cfg.approved_flows_path):
            if extra is not None:
                paths.append(extra)
        return [*paths, *cfg.controls_dirs]

    def check_output(self, out: Path) -> None:
        """Refuse an output path that is the workspace, holds it, or is (or lies inside)
        its store, configuration, registers, controls or state folder (keys, temp, lock).

        A pack folder *inside* the workspace folder (``q3/q3-pack``) is fine.
        Links are resolved first, so a link to the workspace is refused too.
        """
        target = Path(os.path.realpath(out))
        root = Path(os.path.realpath(self.root))
        if target == root or root.is_relative_to(target):
            raise WorkspaceError(
                f"--out {out} is the workspace or a folder that holds it; "
                "choose a folder of its own for the output",
                path=self.root,
            )
        for kept in self.protected_paths():
            real = Path(os.path.realpath(kept))
            if target == real or target.is_relative_to(real):
                raise WorkspaceError(
                    f"--out {out} would overwrite the workspace's own {real.name}; "
                    "choose another path",
                    path=self.root,
                )


# Another reader holds the lock alone for a moment while it clears stale spill: a reader
# arriving then waits this long before reporting the workspace busy.
READER_WAIT_SECONDS = 2.0


def _shared(fd: int, *, wait: float) -> bool:
    """Take (or turn the exclusive lock into) a shared lock, retrying for ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def _make_private(folder: Path) -> None:
    """Mode 0700 for a folder we own (best effort: someone else's folder stays as it is)."""
    try:
        st = folder.stat()
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != 0o700:
            folder.chmod(0o700)
    except OSError:
        pass


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def find_workspace(start: Path | None = None, explicit: Path | None = None) -> Workspace:
    """Return the workspace named explicitly, or the nearest one at or above ``start``."""
    if explicit is not None:
        if not (explicit / CONFIG_NAME).is_file():
            raise WorkspaceError(
                f"no {CONFIG_NAME} here; create one with 'auditkit init {explicit}'",
                path=explicit,
            )
        return Workspace(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return Workspace(folder)
    raise WorkspaceError(
        f"no {CONFIG_NAME} in this folder or any parent; run 'auditkit init DIR' "
        "or pass --workspace DIR",
        path=here,
    )


def default_config(
    organisation: str,
    entity_type: str,
    period_start: dt.date,
    period_end: dt.date,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """The document ``auditkit init`` writes, as a TOML-ready dict."""
    scope = scope or Scope()
    return {
        "organisation": {"name": organisation, "entity_type": entity_type},
        "period": {"start": period_start, "end": period_end},
        "scope": scope.as_dict(),
        "paths": {
            "exceptions": "exceptions.yaml",
            "attestations": "attestations",
            "approved_flows": "approved-flows.yaml",
            "controls": [],
        },
    }


# -- parsing and validation -------------------------------------------------

_TOP_KEYS = {
    "organisation",
    "period",
    "scope",
    "paths",
    "store",
    "framework",
    "not_applicable",
    "customized_approach",
    "not_tested",
    "break_glass",
    "params",
    "images",
    "identities",
    "secret_consumers",
}
_SCOPE_KEYS = set(Scope.__dataclass_fields__)
_SECTION_KEYS = {
    "organisation": {"name", "entity_type"},
    "period": {"start", "end"},
    "paths": {"exceptions", "attestations", "approved_flows", "controls"},
    "store": {
        "memory_limit",
        "threads",
        "check_timeout_seconds",
        "check_memory_limit",
        "check_temp_limit",
    },
    "images": {"approved_registries"},
    "identities": {"developers"},
}


def load_config(path: Path) -> WorkspaceConfig:
    """Parse and validate ``auditkit.toml``; every problem is a one-line ConfigError."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=path) from None
    base = path.parent

    def err(where: str, msg: str) -> ConfigError:
        return ConfigError(msg, path=path, location=where)

    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise err(sorted(unknown)[0], f"unknown section {sorted(unknown)[0]!r}")
    for section, allowed in _SECTION_KEYS.items():
        value = raw.get(section)
        if isinstance(value, dict):
            extra = sorted(set(value) - allowed)
            if extra:
                raise err(f"{section}.{extra[0]}", f"unknown key {extra[0]!r} in [{section}]")
    org = _table(raw, "organisation", err)
    name = org.get("name")
    if not isinstance(name, str) or not name.strip():
        raise err("organisation.name", "organisation.name must be a non-empty string")
    entity_type = org.get("entity_type")
    if entity_type not in ENTITY_TYPES:
        raise err(
            "organisation.entity_type", f"entity_type must be one of {', '.join(ENTITY_TYPES)}"
        )
    period = _table(raw, "period", err)
    start = _date(period.get("start"), "period.start", err)
    end = _date(period.get("end"), "period.end", err)
    if end < start:
        raise err("period.end", "period.end is before period.start")

    scope_raw = raw.get("scope", {})
    if not isinstance(scope_raw, dict):
        raise err("scope", "scope must be a table")
    bad = set(scope_raw) - _SCOPE_KEYS
    if bad:
        raise err(f"scope.{sorted(bad)[0]}", f"unknown scope key {sorted(bad)[0]!r}")
    scope_values: dict[str, tuple[str, ...]] = {}
    for key in _SCOPE_KEYS:
        if key not in scope_raw:
            continue
        items = scope_raw[key]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise err(f"scope.{key}", f"scope.{key} must be a list of strings")
        if key.endswith("cidrs"):
            for item in items:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise err(f"scope.{key}", f"not a CIDR: {item!r}") from None
        if key == "labels":
            for item in items:
                if "=" not in item:
                    raise err("scope.labels", f"label selector must be key=value: {item!r}")
        scope_values[key] = tuple(items)
    scope = Scope(**scope_values)

    paths = raw.get("paths", {})
    if not isinstance(paths, dict):
        raise err("paths", "paths must be a table")

    def opt_path(key: str) -> Path | None:
        value = paths.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise err(f"paths.{key}", f"paths.{key} must be a string")
        return (base / value).resolve()

    controls = paths.get("controls", [])
    if isinstance(controls, str):
        controls = [controls]
    if not isinstance(controls, list) or not all(isinstance(c, str) for c in controls):
        raise err("paths.controls", "paths.controls must be a list of folders")

    store = raw.get("store", {})
    memory_limit = store.get("memory_limit", "2GB") if isinstance(store, dict) else "2GB"
    threads = store.get("threads") if isinstance(store, dict) else None
    bounds = _check_bounds(store if isinstance(store, dict) else {}, err)

    na = tuple(
        NotApplicable(str(item.get("requirement", "")), str(item.get("justification", "")))
        for item in _list_of_tables(raw, "not_applicable", err)
    )
    for i, item in enumerate(na):
        if not item.requirement or not item.justification.strip():
            raise err(f"not_applicable[{i}]", "needs a requirement and a justification")
    ca = tuple(
        CustomizedApproach(str(item.get("requirement", "")), str(item.get("reference", "")))
        for item in _list_of_tables(raw, "customized_approach", err)
    )
    nt = tuple(
        NotTested(str(item.get("requirement", "")), str(item.get("reason", "")))
        for item in _list_of_tables(raw, "not_tested", err)
    )
    for i, left_out in enumerate(nt):
        if not left_out.requirement or not left_out.reason.strip():
            raise err(f"not_tested[{i}]", "needs a requirement and a reason")
    break_glass: list[BreakGlass] = []
    for i, item in enumerate(_list_of_tables(raw, "break_glass", err)):
        extra = sorted(set(item) - {"principal", "justification", "reference"})
        if extra:
            raise err(
                f"break_glass[{i}].{extra[0]}", f"unknown key {extra[0]!r} in [[break_glass]]"
            )
        principal, why = item.get("principal"), item.get("justification")
        if not isinstance(principal, str) or not principal.strip():
            raise err(
                f"break_glass[{i}].principal",
                "needs the principal (user, group:<name>, or service account)",
            )
        if not isinstance(why, str) or not why.strip():
            raise err(f"break_glass[{i}].justification", "needs a justification")
        ref = item.get("reference", "")
        if not isinstance(ref, str):
            raise err(f"break_glass[{i}].reference", "reference must be a string")
        break_glass.append(BreakGlass(principal.strip(), why.strip(), ref.strip()))
    framework = raw.get("framework", "pci-dss-v4.0.1")
    if not isinstance(framework, str):
        raise err("framework", "framework must be a string id")
    registries, developers, consumers = _declarations(raw, err)
    return WorkspaceConfig(
        organisation=name.strip(),
        entity_type=entity_type,
        period_start=start,
        period_end=end,
        scope=scope,
        exceptions_path=opt_path("exceptions"),
        attestations_path=opt_path("attestations"),
        approved_flows_path=opt_path("approved_flows"),
        controls_dirs=tuple((base / c).resolve() for c in controls),
        framework=framework,
        not_applicable=na,
        customized_approach=ca,
        not_tested=nt,
        break_glass=tuple(break_glass),
        approved_registries=registries,
        developers=developers,
        secret_consumers=consumers,
        memory_limit=str(memory_limit),
        threads=int(threads) if isinstance(threads, int) else None,
        check_timeout_seconds=bounds[0],
        check_memory_limit=bounds[1],
        check_temp_limit=bounds[2],
        raw=raw,
    )


def _strings(value: object, where: str, err: Any, *, what: str = "strings") -> tuple[str, ...]:
    """A list of non-empty strings without surrounding blanks, or a ConfigError."""
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v.strip() and v == v.strip() for v in value
    ):
        raise err(where, f"{where} must be a list of non-empty {what}")
    return tuple(value)


def _principal(value: str, where: str, err: Any) -> str:
    if value.startswith("group:") and not value[len("group:") :].strip():
        raise err(where, f"{where}: group:<name> needs a group name")
    return value


def _declarations(
    raw: dict[str, Any], err: Any
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[SecretConsumer, ...]]:
    """[images] approved_registries, [identities] developers and [[secret_consumers]]."""
    images = raw.get("images", {})
    if not isinstance(images, dict):
        raise err("images", "images must be a table")
    registries = _strings(
        images.get("approved_registries", []),
        "images.approved_registries",
        err,
        what="registry names",
    )
    for entry in registries:
        if "://" in entry or "@" in entry or any(c.isspace() for c in entry):
            raise err(
                "images.approved_registries",
                f"not a registry or repository prefix: {entry!r} (no scheme, tag or digest)",
            )
    identities = raw.get("identities", {})
    if not isinstance(identities, dict):
        raise err("identities", "identities must be a table")
    developers = tuple(
        _principal(d, "identities.developers", err)
        for d in _strings(
            identities.get("developers", []),
            "identities.developers",
            err,
            what="user names or group:<name> entries",
        )
    )
    consumers: list[SecretConsumer] = []
    for i, item in enumerate(_list_of_tables(raw, "secret_consumers", err)):
        where = f"secret_consumers[{i}]"
        extra = sorted(set(item) - {"secrets", "principals"})
        if extra:
            raise err(f"{where}.{extra[0]}", f"unknown key {extra[0]!r} in [[secret_consumers]]")
        secrets = _strings(
            item.get("secrets"), f"{where}.secrets", err, what="namespace/name globs"
        )
        for pattern in secrets:
            if pattern.count("/") != 1 or not all(pattern.split("/")):
                raise err(
                    f"{where}.secrets", f"must be namespace/name (globs allowed): {pattern!r}"
                )
        principals = tuple(
            _principal(p, f"{where}.principals", err)
            for p in _strings(item.get("principals"), f"{where}.principals", err)
        )
        consumers.append(SecretConsumer(secrets, principals))
    return registries, developers, tuple(consumers)


_SIZE_RE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


def _check_bounds(store: dict[str, Any], err: Any) -> tuple[float, str | None, str]:
    """``[store]`` check_timeout_seconds, check_memory_limit and check_temp_limit, validated."""
    timeout = store.get("check_timeout_seconds", 600)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise err("store.check_timeout_seconds", "check_timeout_seconds must be a positive number")
    sizes: list[str | None] = []
    for key, default in (("check_memory_limit", None), ("check_temp_limit", "4GB")):
        value = store.get(key, default)
        if value is not None and (not isinstance(value, str) or not _SIZE_RE.match(value)):
            raise err(f"store.{key}", f'{key} must be a size such as "2GB" or "512MiB"')
        sizes.append(value)
    return float(timeout), sizes[0], str(sizes[1])


def _table(raw: dict[str, Any], key: str, err: Any) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise err(key, f"missing [{key}] table")
    return value


def _list_of_tables(raw: dict[str, Any], key: str, err: Any) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise err(key, f"{key} must be an array of tables ([[{key}]])")
    return value


def _date(value: object, where: str, err: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise err(where, f"{where} must be a date like 2026-07-01")
