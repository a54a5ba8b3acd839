"""Resource keys: the shape of each check's ``resource`` column, declared in its YAML.

An exception matches an item by its resource key (docs/registers.md), so the
key's shape must be written down where a user can read it. Every check
declares it in ``resource_key``: one format with a real example taken from the
check's output, or a list of them when its rows take several shapes::

    resource_key:
      format: "<namespace>/<kind>/<name>:<container>"
      example: "payments/Deployment/payments-api:payments-api"

    resource_key:
      - format: "user:<user id>"
        example: "user:u1010"
        when: the identity is in the user inventory
      - format: "k8s-user:<user name>"
        example: "k8s-user:jenkins"

A format is literal text with placeholders in angle brackets (lower-case
names; any other ``<`` or ``>``, as in ``->``, is literal text). A placeholder
stands for one word (no blanks) unless its name ends in ``...`` (any text,
blanks included); a final ``?`` lets it be empty; the names in :data:`TYPED`
have a fixed shape. The example
must match its format; the catalog loader rejects a check without a
``resource_key`` or with an example that does not fit, and the check case
tests match every key the check's cases produce against the declaration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Placeholders with a fixed shape; any other name is one word, or any text when it ends in "...".
TYPED: dict[str, tuple[str, str]] = {
    "date": (r"\d{4}-\d{2}-\d{2}", "a date, 2026-09-30"),
    "timestamp": (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "a UTC time, 2026-09-30T14:05:00Z"),
    "port": (r"\d{1,5}|-", "a port number, or - when the record has none"),
    "protocol": (r"[A-Za-z0-9-]+", "tcp, udp, icmp..., a protocol number, or -"),
    "requirement": (r"[A-Z]?\d+(?:\.\d+)*", "a requirement number, 10.4.1"),
    "digest": (r"sha256:[0-9a-f]{64}", "an image digest, sha256:<64 hex digits>"),
}
WORD = r"\S+"
TEXT = r".+"
_PLACEHOLDER_RE = re.compile(r"<([a-z][a-z0-9 _-]*?)(\.\.\.)?(\?)?>")
_KEYS = {"format", "example", "when"}
MISSING_HINT = (
    'add resource_key: {format: "<namespace>/<kind>/<name>", example: '
    '"payments/Deployment/payments-api"} giving the shape of the resource column this '
    "check's SQL returns and a real key from its output (placeholders: <name> is one word, "
    "<name...> any text, <name?> may be empty; typed: "
    + ", ".join(f"<{n}>" for n in TYPED)
    + "; docs/checks.md)"
)


@dataclass(frozen=True)
class KeyFormat:
    """One shape of a check's resource key, with a real example."""

    format: str
    example: str
    when: str = ""
    pattern: re.Pattern[str] = field(compare=False, repr=False, default=re.compile(""))

    def matches(self, key: str) -> bool:
        """The key has this shape."""
        return self.pattern.fullmatch(key) is not None


def compile_format(text: str) -> re.Pattern[str]:
    """The regular expression a format stands for; ValueError for a misused typed placeholder."""
    out: list[str] = []
    pos = 0
    for match in _PLACEHOLDER_RE.finditer(text):
        out.append(re.escape(text[pos : match.start()]))
        name, ellipsis, optional = match.group(1).strip(), match.group(2), match.group(3)
        if name in TYPED:
            if ellipsis:
                raise ValueError(f"<{name}...>: a typed placeholder cannot be free text")
            shape = TYPED[name][0]
        else:
            shape = TEXT if ellipsis else WORD
        out.append(f"(?:{shape}){'?' if optional else ''}")
        pos = match.end()
    out.append(re.escape(text[pos:]))
    return re.compile("".join(out), re.DOTALL)


def parse_resource_key(value: Any, problems: list[str]) -> tuple[KeyFormat, ...]:
    """Validate a check's ``resource_key`` declaration; append one line per problem."""
    if value is None:
        problems.append(f"missing key 'resource_key': {MISSING_HINT}")
        return ()
    entries = value if isinstance(value, list) else [value]
    if not entries:
        problems.append(f"resource_key is empty: {MISSING_HINT}")
        return ()
    formats: list[KeyFormat] = []
    for index, entry in enumerate(entries):
        where = "resource_key" if not isinstance(value, list) else f"resource_key[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a mapping with format and example")
            continue
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            problems.append(f"{where}: unknown key {unknown[0]!r} (format, example, when)")
        fmt, example, when = entry.get("format"), entry.get("example"), entry.get("when", "")
        if not isinstance(fmt, str) or not fmt.strip():
            problems.append(f'{where}.format must be text like "<namespace>/<kind>/<name>"')
            continue
        if not isinstance(example, str) or not example.strip():
            problems.append(f"{where}.example must be a real key from this check's output")
            continue
        if not isinstance(when, str):
            problems.append(f"{where}.when must be text")
            continue
        try:
            pattern = compile_format(fmt)
        except ValueError as exc:
            problems.append(f"{where}.format: {exc}")
            continue
        if pattern.fullmatch(example) is None:
            problems.append(f"{where}.example {example!r} does not match its format {fmt!r}")
            continue
        formats.append(KeyFormat(fmt, example, when.strip(), pattern))
    return tuple(formats)


def key_matches(formats: tuple[KeyFormat, ...], key: str) -> bool:
    """The key has one of the declared shapes (no declaration: nothing to check against)."""
    return not formats or any(f.matches(key) for f in formats)


def describe(formats: tuple[KeyFormat, ...]) -> str:
    """The declared shapes in one line, for messages: format (e.g. example) or ..."""
    return " or ".join(f"{f.format} (e.g. {f.example})" for f in formats)


def _cell(text: str, code: bool = False) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    if not code:
        return text
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_table(checks: Iterable[Any]) -> str:
    """Every check's resource-key shapes as a Markdown table (docs/registers.md is made from it).

    ``checks`` are catalog checks (anything with ``id`` and ``resource_key``), listed by id.
    """
    lines = ["| check | resource key | example | when |", "|---|---|---|---|"]
    for check in sorted(checks, key=lambda c: c.id):
        for n, shape in enumerate(check.resource_key):
            name = _cell(check.id, code=True) if n == 0 else ""
            lines.append(
                f"| {name} | {_cell(shape.format, code=True)} | "
                f"{_cell(shape.example, code=True)} | {_cell(shape.when)} |"
            )
    return "\n".join(lines) + "\n"
