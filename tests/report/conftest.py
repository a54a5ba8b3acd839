"""Fixtures for the report tests: a realistic run with hostile text, built once.

The workspace is ``tests/fixtures/mini`` plus an exceptions register (with a
compensating-control worksheet), an attestation, and a Trivy report whose
package name carries HTML that would fetch from a loopback listener if it were
ever treated as markup. It is evaluated twice (so run 2 has a trend); run 2
then gets extra rows inserted directly: every hostile string below as a
resource and as a reason, plus enough failing items that the PDF's sample is
bounded. ``run_checks`` is bumped to match, so the run stays consistent.

The listener binds 127.0.0.1 only and counts every request it receives.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auditkit.evaluate.catalog import load_catalog
from auditkit.evaluate.engine import evaluate
from auditkit.ingest import IngestOptions, ingest_paths
from auditkit.pack.build import PackResult, build_pack
from auditkit.report.limits import PackLimits
from auditkit.sign.keys import SigningMaterial, generate_keys, load_signing_material
from auditkit.store import create_store, open_store
from auditkit.workspace import Workspace
from tests.conftest import FIXTURES

CLAIMED = dt.datetime(2026, 10, 1, 12, 0, 0, tzinfo=dt.UTC)
EXTRA_FAILS = 60  # failing items added to one check: more than the PDF's sample of 25
EXTRA_CHECK = "users_inactive_accounts"
HOSTILE_CHECK = "rbac_wildcard_grants"


class Listener:
    """An HTTP server on 127.0.0.1 (never any other address) that records requests."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"fetched")

            do_POST = do_GET  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_strings(listener: Listener) -> list[str]:
    """Text an attacker controls in a scan or a log, one string per way it could bite."""
    return [
        '<img src="file:///etc/passwd">',
        '<link rel=attachment href="file:///etc/hostname">',
        f'<img src="{listener.url("img.png")}">',
        f'<div style="background: url({listener.url("bg.png")})">styled</div>',
        f'<style>@import url("{listener.url("import.css")}"); body {{ color: red }}</style>',
        f'<object data="{listener.url("object")}"></object>',
        f"plain loopback url {listener.url('plain')}",
        '<a href="file:///etc/passwd">link</a><script>alert(1)</script>',
        '=HYPERLINK("http://127.0.0.1/x","click")',
        '+cmd|" /C calc"!A0',
        "-2+3",
        "@SUM(1,2)",
        "\tleading tab",
        "\rleading carriage return",
        "#N/A",
        "escape \x1b[31mred\x1b[0m and bidi \u202eevil\u202c text",
    ]


XML_ILLEGAL = "nul \x00 vertical tab \x0b noncharacter \ufffe end"
LONG_TEXT = "L" * 40_000


@dataclass
class Built:
    """A workspace, its runs and the pack built from run 2."""

    ws: Path
    out: Path
    pack: PackResult
    listener: Listener
    hostile: list[str]
    material: SigningMaterial
    extra: dict[str, Any] = field(default_factory=dict)


def _hostile_trivy(ws: Path, package: str) -> None:
    """Add a critical, fixed, still-present vulnerability whose package name is hostile."""
    for name in ("payments-api-july.trivy.json", "payments-api.trivy.json"):
        path = ws / "scans" / name
        doc = json.loads(path.read_text())
        doc["Results"][0]["Vulnerabilities"].append(
            {
                "VulnerabilityID": "CVE-2026-66666",
                "PkgName": package,
                "InstalledVersion": "1.0",
                "FixedVersion": "1.1",
                "Status": "fixed",
                "Severity": "CRITICAL",
                "Title": package,
            }
        )
        path.write_text(json.dumps(doc))


def make_workspace(root: Path, listener: Listener) -> Path:
    """mini + registers + hostile Trivy package; ingested, evaluated twice; keys."""
    ws = root / "ws"
    shutil.copytree(FIXTURES / "mini", ws)
    _hostile_trivy(ws, f'<img src="{listener.url("trivy-pkg.png")}">')
    (ws / "exceptions.yaml").write_text(
        f"""
exceptions:
  - id: EXC-CC-1
    check: rbac_cluster_admin_bindings
    kind: compensating_control
    match: {{resource: "ClusterRoleBinding/bob-admin -> User:bob@example.test"}}
    justification: "break-glass administrator; <img src='{listener.url("exc.png")}'>"
    approved_by: ciso@example.test
    approved_on: 2026-01-01
    expires: 2027-01-01
    requirement: "7.2.2"
    compensating_control:
      constraints: "=HYPERLINK(\\"{listener.url("ws")}\\")"
      definition: "session recording and dual control on every use"
      objective: "no unreviewed cluster-admin action"
      identified_risk: "misuse of standing admin rights"
      validation: "monthly review of recorded sessions"
      maintenance: "quarterly access review"
"""
    )
    (ws / "attestations").mkdir()
    (ws / "attestations" / "manual.yaml").write_text(
        """
attestations:
  - id: ATT-941
    requirement: "9.4.1"
    kind: media_inventory
    date: 2026-09-01
    performed_by: facilities team
    evidence: "INV-2026-09 <b>bold?</b>"
    result: pass
"""
    )
    workspace = Workspace(ws)
    with workspace.lock():
        create_store(workspace)
    catalog = load_catalog(workspace.config.controls_dirs)
    with open_store(workspace, write=True) as con:
        ingest_paths(con, [ws / "scans", ws / "runtime", ws / "flows"])
        ingest_paths(con, [ws / "access"], IngestOptions(observed_at=dt.datetime(2026, 9, 30)))
        evaluate(con, workspace, catalog, claimed_time=dt.datetime(2026, 9, 30, 18, 0))
    with open_store(workspace, write=True) as con:  # evaluation locks its connection down
        evaluate(con, workspace, catalog, claimed_time=dt.datetime(2026, 10, 1, 9, 0))
    generate_keys(
        workspace.keys_dir,
        subject_name="Mini Test Payments",
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    return ws


def add_results(ws: Path, run_id: int, check_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert failing result rows for a check and keep run_checks consistent."""
    workspace = Workspace(ws)
    with open_store(workspace, write=True) as con:
        source = con.execute("SELECT source_sha256 FROM sources ORDER BY path LIMIT 1").fetchone()
        assert source is not None
        for i, row in enumerate(rows):
            con.execute(
                """
                INSERT INTO run_results VALUES
                (?, ?, ?, 'fail', ?, 'high', sha256(? || chr(10) || ?), ?, ?, ?, NULL, NULL)
                """,
                [
                    run_id,
                    check_id,
                    row["resource"],
                    row["reason"],
                    check_id,
                    row["resource"],
                    source[0],
                    row.get("locator", f"line:{i + 1}"),
                    json.dumps(row.get("evidence", {"note": row["reason"]})),
                ],
            )
        con.execute(
            "UPDATE run_checks SET population = population + ?, failed = failed + ? "
            "WHERE run_id = ? AND check_id = ?",
            [len(rows), len(rows), run_id, check_id],
        )


def add_bulk(ws: Path, run_id: int, check_id: str, prefix: str, count: int) -> None:
    """Insert ``count`` plain failing rows set-based (``<prefix>-00001``...)."""
    workspace = Workspace(ws)
    with open_store(workspace, write=True) as con:
        con.execute(
            """
            INSERT INTO run_results
            SELECT ?, ?, ? || lpad(CAST(i AS VARCHAR), 5, '0'), 'fail', 'bulk finding ' || i,
                   'high',
                   sha256(? || chr(10) || ? || lpad(CAST(i AS VARCHAR), 5, '0')),
                   (SELECT source_sha256 FROM sources ORDER BY path LIMIT 1), 'line:' || (i + 1),
                   to_json({'note': 'bulk finding ' || i}), NULL, NULL
            FROM (SELECT range AS i FROM range(?))
            """,
            [run_id, check_id, prefix, check_id, prefix, count],
        )
        con.execute(
            "UPDATE run_checks SET population = population + ?, failed = failed + ? "
            "WHERE run_id = ? AND check_id = ?",
            [count, count, run_id, check_id],
        )


def build(
    ws: Path,
    run_id: int,
    out: Path,
    *,
    limits: PackLimits | None = None,
    make_zip: bool = False,
    claimed: dt.datetime = CLAIMED,
) -> PackResult:
    """build_pack exactly as ``auditkit report`` calls it."""
    workspace = Workspace(ws)
    material = load_signing_material(workspace.keys_dir)
    catalog = load_catalog(workspace.config.controls_dirs)
    with open_store(workspace, write=False) as con:
        return build_pack(
            con,
            catalog,
            run_id,
            out,
            material,
            claimed_time=claimed,
            make_zip=make_zip,
            force=True,
            limits=limits,
        )


def hostile_rows(strings: list[str]) -> list[dict[str, Any]]:
    """Each hostile string as a resource and as a reason (and in the evidence)."""
    rows = [
        {
            "resource": f"{s} #{i}",
            "reason": s,
            "locator": s[:200],
            "evidence": {"value": s, "note": "hostile"},
        }
        for i, s in enumerate(strings)
    ]
    rows.append({"resource": "illegal xml", "reason": XML_ILLEGAL})
    rows.append({"resource": "long text", "reason": LONG_TEXT})
    return rows


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> Built:
    """The hostile run 2 and its pack (session-wide: several modules read it, none writes)."""
    root = tmp_path_factory.mktemp("report")
    ws = make_workspace(root, listener)
    strings = hostile_strings(listener)
    add_results(ws, 2, HOSTILE_CHECK, hostile_rows(strings))
    add_bulk(ws, 2, EXTRA_CHECK, "user:bulk-", EXTRA_FAILS)
    out = root / "pack"
    pack = build(ws, 2, out, make_zip=True)
    material = load_signing_material(Workspace(ws).keys_dir)
    return Built(ws, out, pack, listener, strings, material)
