"""The folder tree draws the pipeline: imports point down it or to the shared floor, never up,
and no two modules import each other (directly or through others).

ingest -> store -> evaluate -> history -> report -> sign -> pack, with the CLI and the
demo on top. Every import counts, including those inside functions and under
TYPE_CHECKING: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "auditkit"

#: The shared floor every stage may use: errors, clock, calendar, workspace, store and
#: its schema, packaged resources, the bounded document loader and the output sanitizers.
FLOOR = {
    "auditkit",
    "auditkit.errors",
    "auditkit.clock",
    "auditkit.calendar",
    "auditkit.workspace",
    "auditkit.store",
    "auditkit.resources",
    "auditkit.safeload",
    "auditkit.safe_output",
}

#: Stage -> the stages it may import (besides itself and the floor).
ALLOWED = {
    "ingest": set(),
    "evaluate": set(),
    "history": {"evaluate"},
    "report": {"evaluate", "history"},
    "sign": set(),
    "pack": {"evaluate", "history", "report", "sign"},
}
TOP = {"auditkit.cli", "auditkit.demo", "auditkit.__main__"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("auditkit"))
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("auditkit")
        ):
            found.add(node.module)
            # `from auditkit.report import workbook` imports a module, not a name
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if _path_of(candidate) is not None:
                    found.add(candidate)
    return found


def _path_of(module: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        if "_data" in path.parts:
            continue
        name = _module_name(path)
        graph[name] = {m for m in _imports(path) if _path_of(m) is not None and m != name}
    return graph


def _layer(module: str) -> str | None:
    """The stage a module belongs to, 'floor', 'top', or None when unplaced."""
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return "top"
    if any(module == f or module.startswith(f + ".") for f in FLOOR if f != "auditkit"):
        return "floor"
    if module == "auditkit":
        return "floor"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ALLOWED:
        return parts[1]
    return None


def test_every_module_has_a_place() -> None:
    unplaced = sorted(m for m in _graph() if _layer(m) is None)
    assert not unplaced, f"modules outside every stage and the floor: {unplaced}"


def test_imports_point_down_the_pipeline_or_to_the_floor() -> None:
    bad = []
    for module, targets in _graph().items():
        layer = _layer(module)
        for target in targets:
            to = _layer(target)
            if layer == "top" or to == "floor" or to == layer:
                continue
            if layer == "floor":
                bad.append(f"{module} (floor) imports {target} ({to})")
            elif to == "top" or to not in ALLOWED.get(layer or "", set()):
                bad.append(f"{module} ({layer}) imports {target} ({to})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles() -> None:
    graph = _graph()
    # a package's __init__ importing its own submodules is re-export, not a cycle
    edges = {
        m: {t for t in ts if not (t.startswith(m + ".") and _path_of(m).name == "__init__.py")}
        for m, ts in graph.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_each_stage_is_a_package(stage: str) -> None:
    assert (PACKAGE / stage / "__init__.py").is_file()
