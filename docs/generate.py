"""Regenerate the parts of docs/ that are made from the catalog, so they cannot drift.

    python docs/generate.py          # rewrite the generated sections in place
    python docs/generate.py --check  # exit 1 when a generated section is out of date

Each generated section sits between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->``; everything outside the markers is written by hand.
tests/test_docs_generated.py runs the check.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.resource_keys import markdown_table

DOCS = Path(__file__).resolve().parent


def _resource_keys() -> str:
    return markdown_table(load_catalog().checks.values())


#: (file, section name) -> what goes between its markers.
SECTIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("registers.md", "resource keys"): _resource_keys,
}


def _replace(text: str, name: str, body: str, path: Path) -> str:
    pattern = re.compile(
        rf"(<!-- BEGIN GENERATED: {re.escape(name)} [^>]*-->\n)(.*?)(<!-- END GENERATED: "
        rf"{re.escape(name)} -->)",
        re.DOTALL,
    )
    if not pattern.search(text):
        raise SystemExit(f"{path}: no generated section {name!r}")
    return pattern.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def stale() -> list[str]:
    """The generated files whose content differs from what the catalog gives now."""
    out = []
    for path, text in _rendered().items():
        if path.read_text(encoding="utf-8") != text:
            out.append(str(path.relative_to(DOCS.parent)))
    return out


def _rendered() -> dict[Path, str]:
    texts: dict[Path, str] = {}
    for (name, section), render in SECTIONS.items():
        path = DOCS / name
        text = texts.get(path, path.read_text(encoding="utf-8"))
        texts[path] = _replace(text, section, render(), path)
    return texts


def main(argv: list[str]) -> int:
    """Rewrite the generated sections, or with --check report the stale ones (exit 1)."""
    if argv == ["--check"]:
        out_of_date = stale()
        for path in out_of_date:
            print(f"{path} is out of date: run python docs/generate.py")
        return 1 if out_of_date else 0
    for path, text in _rendered().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
