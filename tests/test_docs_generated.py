"""Generated documentation matches the catalog it is made from (docs/generate.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_generated_docs_are_current() -> None:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = module.stale()
    assert not stale, f"{stale} out of date: run python docs/generate.py"
    text = (DOCS / "registers.md").read_text(encoding="utf-8")
    # The table is really there, one row per check at least.
    assert "| `flow_cde_inbound_unapproved` | `<source> -> <destination>:<port>/<protocol>`" in text
