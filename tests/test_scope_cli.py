"""`auditkit scope suggest|check`: the data against the declared scope, and a fragment to paste."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import tomli_w

from auditkit.evaluate.addresses import classify_sql, stage_ranges
from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.inventory import _ranges, build_inventory
from auditkit.evaluate.registers import Registers
from auditkit.evaluate.sandbox import CheckLimits, Sandbox
from auditkit.evaluate.scope import stage_scope, stage_snapshots
from auditkit.evaluate.scope_fragment import _toml_str
from auditkit.store import open_store
from auditkit.workspace import Workspace, load_config
from tests.conftest import CliRunner

Demo = tuple[Path, Path, dict[str, object]]


def _items(doc: dict[str, object], kind: str) -> dict[str, dict[str, object]]:
    items = doc["items"]
    assert isinstance(items, list)
    return {i["name"]: i for i in items if i["kind"] == kind}


def test_suggest_places_everything_the_demo_shows(cli: CliRunner, demo_pack: Demo) -> None:
    _, ws, _ = demo_pack
    res = cli("scope", "suggest", "-w", ws, "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["period"] == {"start": "2026-07-01", "as_of": "2026-09-30"}
    ns = _items(doc, "namespace")
    assert (ns["payments"]["status"], ns["payments"]["declared_by"]) == ("cde", "scope.namespaces")
    assert ns["checkout-web"]["status"] == "connected"
    assert ns["dev-sandbox"]["status"] == "out of scope"
    assert "out_of_scope_namespaces" in str(ns["dev-sandbox"]["declared_by"])
    assert (ns["ci"]["status"], ns["ci"]["blocking"]) == ("undeclared", True)
    assert (ns["default"]["status"], ns["default"]["blocking"]) == ("undeclared", False)
    nets = _items(doc, "address range")
    assert nets["10.20.1.0/24"]["status"] == "cde"
    assert nets["10.20.1.0/24"]["declared_by"] == "scope.cidrs 10.20.0.0/16"
    assert nets["10.99.1.0/24"]["status"] == "out of scope"
    assert nets["10.8.14.0/24"]["status"] == "undeclared" and nets["10.8.14.0/24"]["blocking"]
    assert nets["outside internal_cidrs"]["status"] == "external"
    images = _items(doc, "image")
    api = images["registry.northwind.example/payments/payments-api"]
    assert (api["status"], api["declared_by"]) == (
        "cde",
        "scope.images registry.northwind.example/payments/*",
    )
    assert images["postgres"]["status"] == "cde"  # runs in card-vault
    labels = _items(doc, "namespace label")
    assert labels["pci.northwind.example/zone=cde"]["status"] == "cde"
    assert doc["undeclared"] == sum(1 for i in doc["items"] if i["blocking"])
    tomllib.loads(doc["toml"])

    table = cli("scope", "suggest", "-w", ws)
    assert table.code == 0
    assert "namespaces" in table.out and "address ranges" in table.out and "images" in table.out
    assert "[scope]" in table.out
    assert f"{doc['undeclared']} observed item(s) undeclared" in table.err


def test_check_exits_1_while_anything_observed_is_undeclared(
    cli: CliRunner, demo_pack: Demo
) -> None:
    _, ws, _ = demo_pack
    res = cli("scope", "check", "-w", ws)
    assert res.code == 1
    assert "ci" in res.out and "10.8.14.0/24" in res.out
    assert "observed item(s) undeclared" in res.err
    doc = json.loads(cli("scope", "check", "-w", ws, "--json").out)
    assert doc["ok"] is False
    assert all(i["blocking"] for i in doc["items"]) and len(doc["items"]) == doc["undeclared"]


def test_undeclared_namespaces_are_those_the_check_fails(cli: CliRunner, demo_pack: Demo) -> None:
    _, ws, _ = demo_pack
    doc = json.loads(cli("scope", "suggest", "-w", ws, "--json").out)
    blocking = {n for n, i in _items(doc, "namespace").items() if i["blocking"]}
    items = json.loads(
        cli(
            "results",
            "-w",
            ws,
            "--run",
            "2",
            "--check",
            "inventory_undeclared_namespaces",
            "--json",
        ).out
    )
    failing = {i["resource"].removeprefix("namespace ") for i in items if i["status"] == "fail"}
    assert blocking == failing and failing


def test_sql_zones_agree_with_the_engine(demo_pack: Demo) -> None:
    """The engine's ip_zones (Python, per distinct address) and the SQL classification agree."""
    ws = Workspace(demo_pack[1])
    mapping = {
        "cde": "cde",
        "connected": "connected",
        "out of scope": "internal",
        "undeclared": "internal",
        "external": "external",
        "invalid": "unknown",
    }
    with open_store(ws, write=True) as con:
        inv = build_inventory(con, ws.config, load_catalog(ws.config.controls_dirs))
        assert inv.items
        with Sandbox(con, CheckLimits()) as box:
            stage_snapshots(box.con, ws.config.period_end)
            stage_ranges(box.con, _ranges(inv))  # the ranges the inventory classified with
            stage_scope(box.con, ws.config.scope, Registers())
            engine = dict(box.con.execute("SELECT ip, zone FROM ip_zones").fetchall())
            ours = dict(
                box.con.execute(
                    f"SELECT ip, zone FROM ({classify_sql('SELECT ip FROM ip_zones')})"
                ).fetchall()
            )
    assert len(engine) > 100
    assert {ip: mapping[z] for ip, z in ours.items()} == engine


def _paste(ws: Path, fragment: str) -> None:
    """Replace [scope] and the fragment's parameter tables in auditkit.toml, as a user would."""
    config = tomllib.loads((ws / "auditkit.toml").read_text())
    new = tomllib.loads(fragment)
    config["scope"] = new["scope"]
    config.setdefault("params", {}).update(new.get("params", {}))
    (ws / "auditkit.toml").write_text(tomli_w.dumps(config))


def test_the_fragment_pastes_over_scope_and_places_what_is_uncommented(
    cli: CliRunner, demo_pack: Demo, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(demo_pack[1], ws)
    before = load_config(ws / "auditkit.toml")
    fragment = cli("scope", "suggest", "-w", ws, "--toml").out
    _paste(ws, fragment)
    after = load_config(ws / "auditkit.toml")
    assert after.scope == before.scope  # pasting as printed changes nothing
    assert after.raw["params"] == before.raw["params"]
    assert cli("scope", "check", "-w", ws).code == 1

    # The entity decides: ci is out of scope, every undeclared range connected.
    blocks = re.split(r"\n(?=\S)", fragment)
    chosen = []
    for block in blocks:
        if block.startswith("out_of_scope_namespaces") or block.startswith("connected_cidrs"):
            block = re.sub(r"^    # (\".*\",)  # .*$", r"    \1", block, flags=re.MULTILINE)
        chosen.append(block)
    _paste(ws, "\n".join(chosen))
    res = cli("scope", "check", "-w", ws)
    assert res.code == 0, res.out
    assert "is declared CDE, connected or out of scope" in res.err
    doc = json.loads(cli("scope", "suggest", "-w", ws, "--json").out)
    assert _items(doc, "namespace")["ci"]["status"] == "out of scope"
    assert _items(doc, "address range")["10.8.14.0/24"]["status"] == "connected"


def test_fragment_strings_are_ascii_and_round_trip() -> None:
    hostile = 'tools"\n[evil]\x1b[31m\u202e\x7f'
    text = _toml_str(hostile)
    assert text.isascii() and "\n" not in text and "\x1b" not in text and "\x7f" not in text
    assert tomllib.loads(f"x = {text}")["x"] == hostile


def test_mini_workspace_without_flows_in_scope(cli: CliRunner, mini_workspace: Path) -> None:
    res = cli("scope", "suggest", "-w", mini_workspace, "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert _items(doc, "namespace")["payments"]["status"] == "cde"
    code = cli("scope", "check", "-w", mini_workspace).code
    assert code == (1 if doc["undeclared"] else 0)


def test_check_without_data_does_not_confirm_the_scope(cli: CliRunner, tmp_path: Path) -> None:
    ws = tmp_path / "empty"
    assert (
        cli(
            "init",
            ws,
            "--org",
            "X",
            "--entity-type",
            "merchant",
            "--period-start",
            "2026-07-01",
            "--period-end",
            "2026-09-30",
        ).code
        == 0
    )
    assert cli("scope", "suggest", "-w", ws).code == 0
    res = cli("scope", "check", "-w", ws)
    assert res.code == 1
    assert "nothing to check the scope against; ingest the period's data first" in res.err
    doc = json.loads(cli("scope", "check", "-w", ws, "--json").out)
    assert doc["ok"] is False and "ingest" in doc["reason"]
