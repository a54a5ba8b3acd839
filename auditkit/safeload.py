"""Hardened JSON and YAML loading for untrusted input.

- JSON: duplicate keys, NaN/Infinity, lone surrogates, huge integers and deep
  nesting are errors with a location, never silently "last key wins".
- YAML: aliases (billion laughs) and duplicate keys are refused; only
  ``true``/``false`` are booleans and there is no sexagesimal arithmetic, so
  ``NO`` and ``22:22`` stay strings.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from auditkit.errors import InputError

MAX_YAML_BYTES = 64 * 1024 * 1024
MAX_SMALL_FILE_BYTES = 64 * 1024 * 1024


def read_regular(path: str | Path, *, max_bytes: int = MAX_SMALL_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; InputError otherwise.

    Opened without blocking, so a FIFO (or a device) named where a file is
    expected is refused at once instead of hanging the command (and any lock
    it holds).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file; only regular files are read", path=path)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise InputError(f"file larger than {max_bytes} bytes", path=path)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=path) from None
    finally:
        os.close(fd)


def pointer(*parts: str | int) -> str:
    """Build an RFC 6901 JSON pointer from path parts (``pointer("a", 0) == "/a/0"``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Flagged(dict[str, Any]):
    """A JSON object in which a problem was found while decoding."""

    problem: str = ""


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    problem = ""
    for key, value in pairs:
        if key in obj and not problem:
            problem = f"duplicate key {key!r}"
        if not problem and (
            _has_surrogate(key)
            or (isinstance(value, str) and _has_surrogate(value))
            or (
                isinstance(value, list)
                and any(isinstance(v, str) and _has_surrogate(v) for v in value)
            )
        ):
            problem = f"invalid Unicode (lone surrogate) at key {key!r}"
        obj[key] = value
    if problem:
        flagged = _Flagged(obj)
        flagged.problem = problem
        return flagged
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _find_flagged(doc: Any, path: tuple[str | int, ...] = ()) -> tuple[str, str] | None:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Flagged):
            return pointer(*where), node.problem
        if isinstance(node, dict):
            for key in reversed(list(node)):
                stack.append((node[key], (*where, key)))
        elif isinstance(node, list):
            for index in range(len(node) - 1, -1, -1):
                stack.append((node[index], (*where, index)))
    return None


def loads_json(text: str, *, source: str, line_offset: int = 0) -> Any:
    """Parse one JSON value strictly. Raises InputError naming the location.

    ``line_offset`` shifts reported line numbers (for a value that starts
    later in a file).
    """
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg} (column {exc.colno})",
            path=source,
            location=f"line:{exc.lineno + line_offset}",
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=source) from None
    except ValueError as exc:  # NaN/Infinity, integers too long to convert
        raise InputError(f"invalid JSON value: {exc}", path=source) from None
    found = _find_flagged(doc) if isinstance(doc, dict | list) else None
    if found:
        where, problem = found
        raise InputError(f"invalid JSON: {problem}", path=source, location="#" + where)
    if isinstance(doc, str) and _has_surrogate(doc):
        raise InputError("invalid Unicode (lone surrogate)", path=source)
    return doc


# -- YAML -----------------------------------------------------------------------


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader without aliases, duplicate keys, YAML-1.1 booleans or sexagesimals."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise InputError(
                "YAML aliases are not accepted (possible alias bomb)",
                location=f"line:{event.start_mark.line + 1}",
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hashable = key in seen
            except TypeError:
                raise InputError(
                    "YAML mapping key is not a scalar",
                    location=f"line:{key_node.start_mark.line + 1}",
                ) from None
            if hashable:
                raise InputError(
                    f"duplicate key {key!r}", location=f"line:{key_node.start_mark.line + 1}"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Rebuild the implicit resolvers: YAML 1.2 core-schema booleans and numbers only.
_StrictYamlLoader.yaml_implicit_resolvers = {}
for _first, _resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
    _StrictYamlLoader.yaml_implicit_resolvers[_first] = [
        (tag, regexp)
        for tag, regexp in _resolvers
        if tag
        not in (
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp",
        )
    ]
_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def load_yaml_documents(text: str, *, source: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(document_number, document)`` for each document (1-based), skipping empty ones."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError(f"YAML larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB", path=source)
    loader = _StrictYamlLoader(text)
    number = 0
    try:
        while loader.check_data():  # type: ignore[no-untyped-call]
            number += 1
            doc = loader.get_data()
            if doc is not None:
                yield number, doc
    except InputError as exc:
        raise InputError(exc.message, path=source, location=exc.location) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line:{mark.line + 1}" if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(f"invalid YAML: {problem}", path=source, location=where) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=source) from None
    except RecursionError:
        raise InputError("YAML nested too deeply", path=source) from None
    finally:
        loader.dispose()


def load_yaml_file_text(text: str, *, source: str) -> Any:
    """Load a single-document YAML configuration file (registers, checks)."""
    docs = list(load_yaml_documents(text, source=source))
    if not docs:
        return None
    if len(docs) > 1:
        raise InputError("expected one YAML document, found several", path=source)
    return docs[0][1]
