"""The TOML fragment ``auditkit scope suggest`` prints: the current declarations, repeated so
that pasting over ``[scope]`` loses nothing, with each undeclared item commented out in every
list it could go to. Data values are written as ASCII-only TOML strings, so the fragment is
safe to show on a terminal and to paste.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import tomli_w

from auditkit.evaluate.inventory import Inventory
from auditkit.workspace import WorkspaceConfig


def _toml_str(text: str) -> str:
    """A TOML basic string; ASCII only, so a comment or a terminal shows nothing but text."""
    return json.dumps(text, ensure_ascii=True).replace("\x7f", "\\u007f")


def _toml_list(values: list[str], candidates: list[tuple[str, str]], hint: str) -> list[str]:
    """A multi-line array of ``values``, then each candidate commented out with its source."""
    if not candidates:
        return [f"[{', '.join(_toml_str(v) for v in values)}]"]
    lines = ["["] + [f"    {_toml_str(v)}," for v in values]
    lines.append(f"    # {hint}")
    lines += [f"    # {_toml_str(name)},  # {_toml_str(why)[1:-1]}" for name, why in candidates]
    return [*lines, "]"]


def toml_fragment(inv: Inventory, config: WorkspaceConfig) -> str:
    """A TOML text to paste over ``[scope]`` (and the out-of-scope parameter tables).

    It repeats every current declaration, so replacing the tables loses nothing, and
    lists each undeclared item commented out in every list it could go to.
    """
    ns = [(i.name, i.seen_in) for i in inv.of_kind("namespace") if i.blocking]
    nets: list[tuple[str, str]] = []
    for version in (4, 6):
        prefixes: list[tuple[Any, int]] = [
            (ipaddress.ip_network(i.name), i.count)
            for i in inv.of_kind("address range")
            if i.blocking and ipaddress.ip_network(i.name).version == version
        ]
        for net in ipaddress.collapse_addresses([p for p, _ in prefixes]):
            seen = sum(n for p, n in prefixes if p.subnet_of(net))
            nets.append((str(net), f"{seen} address(es) seen"))
    images = [(i.name, i.note) for i in inv.of_kind("image") if i.blocking]
    labels = [
        (i.name, i.note.split(";")[0])
        for i in inv.of_kind("namespace label")
        if i.name not in inv.scope.labels
    ]
    move = "undeclared, seen in the data: uncomment here if it is {}"
    candidates = {
        "namespaces": (ns, move.format("CDE")),
        "connected_namespaces": (ns, move.format("connected")),
        "cidrs": (nets, move.format("CDE")),
        "connected_cidrs": (nets, move.format("connected")),
        "labels": (labels, "Namespace labels seen; a selector here makes its namespaces CDE"),
        "images": (images, "images running only in undeclared namespaces; CDE pattern?"),
    }
    out = [
        f"# From 'auditkit scope suggest' over the data of {inv.period_start} to {inv.as_of}.",
        "# Replace [scope] (and the [params.<check>] tables below) in auditkit.toml with this",
        "# text, then uncomment each undeclared entry in the one list that describes it: CDE,",
        "# connected, or out of scope. Nothing undeclared is placed for you: scope is the",
        "# entity's decision. 'auditkit scope check' passes once nothing observed is undeclared.",
        "[scope]",
    ]
    for key, values in inv.scope.as_dict().items():
        found, hint = candidates.get(key, ([], ""))
        body = _toml_list([str(v) for v in values], found, hint)
        out.append(f"{key} = {body[0]}")
        out += body[1:]
    raw = config.raw.get("params", {}) if isinstance(config.raw.get("params"), dict) else {}
    for check_id, params in inv.out_of_scope.items():
        out += ["", f"[params.{check_id}]"]
        existing = raw.get(check_id, {}) if isinstance(raw.get(check_id), dict) else {}
        for key, value in existing.items():
            if key not in params:
                out.append(tomli_w.dumps({key: value}).rstrip("\n"))
        for name, values in params.items():
            found = ns if name == "out_of_scope_namespaces" else nets
            body = _toml_list(values, found, move.format("out of scope"))
            out.append(f"{name} = {body[0]}")
            out += body[1:]
    return "\n".join(out) + "\n"
