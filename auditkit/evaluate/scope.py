"""Stage the declared CDE scope and the registers as tables for check SQL.

The functions here run on the evaluation's sandbox cursor, whose default
database is the in-memory stage database (see :mod:`auditkit.evaluate.sandbox`):
unqualified ``CREATE`` statements land there, never in the store, and check
SQL (run read-only) cannot change them.

Tables every check may use (rebuilt for each evaluation):

- ``scope_namespaces(namespace, zone)``: zone ``cde`` or ``connected``; CDE
  namespaces are the declared ones plus Namespace objects whose labels match
  a declared selector.
- ``scope_images(pattern, zone)``: GLOB patterns of CDE images.
- ``ip_zones(ip, zone)``: every distinct address seen in flows or audit events,
  and CDE or connected nodes (``ip-a-b-c-d`` names) that raised runtime alerts,
  classified ``cde`` > ``connected`` > ``internal`` > ``external`` (first match).
- ``ip_approved(ip, flow_id, side)``: addresses inside an approved flow's CIDRs.
- ``approved_flows(flow_id, description, business_need, approved_by, approved_on)``,
  ``approved_flow_namespaces(flow_id, side, namespace)``,
  ``approved_flow_ports(flow_id, port_low, port_high, protocol)``.
- ``attestations(...)``: one row per attestation (see registers).
- ``break_glass(principal, justification, reference)``: the emergency identities
  auditkit.toml declares (``[[break_glass]]``).
- Declarations of auditkit.toml (:func:`stage_declarations`):
  ``scope_cloud_accounts(account_id)``, ``scope_cloud_resources(pattern)``,
  ``approved_registries(entry, pattern)`` (a GLOB over a full image repository,
  ``docker.io/library/redis``), ``developer_identities(kind, name)`` (kind
  ``user`` or ``group``), ``secret_consumers(secret_pattern, ns_glob,
  name_glob, principal)``.

Addresses are classified in Python over *distinct* values only; everything
per-record stays in SQL.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from typing import Any

import duckdb
import pyarrow as pa

from auditkit.errors import InternalError
from auditkit.evaluate.registers import Registers
from auditkit.evaluate.sandbox import STAGE_DB
from auditkit.store import first_row
from auditkit.workspace import BreakGlass, Scope, WorkspaceConfig

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(cidrs: tuple[str, ...]) -> list[_Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def _table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    schema: dict[str, pa.DataType],
    rows: list[dict[str, Any]],
) -> None:
    arrow = pa.table(
        {col: pa.array([r.get(col) for r in rows], type=t) for col, t in schema.items()}
    )
    con.register("_auditkit_stage", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _auditkit_stage")
    finally:
        con.unregister("_auditkit_stage")


def _on_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to stage anywhere but the stage database (never into the store)."""
    row = first_row(con.execute("SELECT current_database()"))
    if not row or row[0] != STAGE_DB:
        raise InternalError("scope staging must run on the evaluation sandbox's cursor")


def stage_scope(con: duckdb.DuckDBPyConnection, scope: Scope, registers: Registers) -> None:
    """Create the scope and register tables described in the module docstring."""
    _on_stage(con)
    s = pa.string()
    # Namespaces: declared, plus labelled Namespace objects.
    ns_rows = [{"namespace": n, "zone": "cde"} for n in scope.namespaces]
    ns_rows += [{"namespace": n, "zone": "connected"} for n in scope.connected_namespaces]
    _table(con, "scope_namespaces", {"namespace": s, "zone": s}, ns_rows)
    selectors = [tuple(sel.split("=", 1)) for sel in scope.labels]
    for key, value in selectors:
        con.execute(
            """
            INSERT INTO scope_namespaces
            SELECT DISTINCT name, 'cde' FROM current_k8s_objects
            WHERE kind = 'Namespace' AND json_extract_string(labels, '$."' || ? || '"') = ?
              AND name NOT IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde')
            """,
            [key.replace('"', ""), value],
        )
    _table(
        con,
        "scope_labels",
        {"label_key": s, "label_value": s},
        [{"label_key": k, "label_value": v} for k, v in selectors],
    )
    _table(
        con,
        "scope_images",
        {"pattern": s, "zone": s},
        [{"pattern": p, "zone": "cde"} for p in scope.images],
    )

    zones = [
        ("cde", _networks(scope.cidrs)),
        ("connected", _networks(scope.connected_cidrs)),
        ("internal", _networks(scope.internal_cidrs)),
    ]
    flow_nets = [
        (f.id, side, _networks(cidrs))
        for f in registers.approved_flows
        for side, cidrs in (("source", f.src_cidrs), ("destination", f.dst_cidrs))
    ]
    distinct = con.execute(
        """
        SELECT DISTINCT ip FROM (
            SELECT src_ip AS ip FROM flows UNION ALL SELECT dst_ip FROM flows
            UNION ALL SELECT source_ip FROM k8s_audit_events
        ) WHERE ip IS NOT NULL
        """
    ).fetchall()
    # Nodes named ip-a-b-c-d (EKS) that raised runtime alerts: a CDE or connected node places
    # the alerts raised outside its containers in scope even when no flow names its address.
    # Only those zones are added, and never to ip_approved: these are not observed traffic.
    nodes = con.execute(
        """
        SELECT DISTINCT replace(regexp_extract(hostname, '^ip-(\\d+-\\d+-\\d+-\\d+)', 1), '-', '.')
        FROM runtime_alerts WHERE regexp_matches(hostname, '^ip-\\d+-\\d+-\\d+-\\d+')
        """
    ).fetchall()
    zone_rows: list[dict[str, Any]] = []
    approved_rows: list[dict[str, Any]] = []
    for (text,) in distinct:
        try:
            addr = ipaddress.ip_address(text.strip("[]"))
        except ValueError:
            zone_rows.append({"ip": text, "zone": "unknown"})
            continue
        zone = next((name for name, nets in zones if any(addr in n for n in nets)), "external")
        zone_rows.append({"ip": text, "zone": zone})
        for flow_id, side, nets in flow_nets:
            if any(addr in n for n in nets):
                approved_rows.append({"ip": text, "flow_id": flow_id, "side": side})
    seen = {row[0] for row in distinct}
    for (text,) in nodes:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            continue  # not an address: the node stays out of every zone, as before
        in_scope = next((name for name, nets in zones[:2] if any(addr in n for n in nets)), None)
        if in_scope is not None and text not in seen:
            zone_rows.append({"ip": text, "zone": in_scope})
    _table(con, "ip_zones", {"ip": s, "zone": s}, zone_rows)
    _table(con, "ip_approved", {"ip": s, "flow_id": s, "side": s}, approved_rows)
    _stage_registers(con, registers)


def stage_break_glass(con: duckdb.DuckDBPyConnection, declared: tuple[BreakGlass, ...]) -> None:
    """Create ``break_glass``: the emergency identities auditkit.toml declares."""
    _on_stage(con)
    s = pa.string()
    _table(
        con,
        "break_glass",
        {"principal": s, "justification": s, "reference": s},
        [
            {"principal": b.principal, "justification": b.justification, "reference": b.reference}
            for b in declared
        ],
    )


_DOCKER_HUB_ALIASES = ("index.docker.io/", "registry-1.docker.io/", "registry.hub.docker.com/")


def registry_pattern(entry: str) -> str:
    """The GLOB an approved-registry entry stands for, over full repository names.

    ``registry.example.com`` and ``docker.io/library`` cover everything under
    them; an entry with ``*`` is a glob already. Docker Hub's other host names
    are written ``docker.io``, as the check writes image references.
    """
    text = entry.strip().rstrip("/")
    for alias in _DOCKER_HUB_ALIASES:
        if text.startswith(alias) or text + "/" == alias:
            text = "docker.io" + text[len(alias) - 1 :]
    return text if "*" in text else text + "/*"


def stage_declarations(con: duckdb.DuckDBPyConnection, config: WorkspaceConfig) -> None:
    """Create the declaration tables described in the module docstring."""
    _on_stage(con)
    s = pa.string()
    scope = config.scope
    _table(
        con,
        "scope_cloud_accounts",
        {"account_id": s},
        [{"account_id": a} for a in scope.cloud_accounts],
    )
    _table(
        con,
        "scope_cloud_resources",
        {"pattern": s},
        [{"pattern": p} for p in scope.cloud_resources],
    )
    _table(
        con,
        "approved_registries",
        {"entry": s, "pattern": s},
        [{"entry": e, "pattern": registry_pattern(e)} for e in config.approved_registries],
    )
    _table(
        con,
        "developer_identities",
        {"kind": s, "name": s},
        [
            {"kind": "group", "name": d[len("group:") :]}
            if d.startswith("group:")
            else {"kind": "user", "name": d}
            for d in config.developers
        ],
    )
    _table(
        con,
        "secret_consumers",
        {"secret_pattern": s, "ns_glob": s, "name_glob": s, "principal": s},
        [
            {
                "secret_pattern": pattern,
                "ns_glob": pattern.split("/", 1)[0],
                "name_glob": pattern.split("/", 1)[1],
                "principal": principal,
            }
            for consumer in config.secret_consumers
            for pattern in consumer.secrets
            for principal in consumer.principals
        ],
    )


SNAPSHOT_TABLES = (
    "rbac_roles",
    "rbac_rules",
    "rbac_bindings",
    "service_accounts",
    "network_policies",
    "k8s_objects",
    "users",
    "snapshot_kinds",
)


# Admission-control exports describe a moment too (reports and policies are overwritten
# on each scan), but on their own schedule: their snapshot is chosen among policy-family
# files only, so a weekly report export never displaces the quarter-end RBAC export.
POLICY_SNAPSHOT_TABLES = ("admission_policies", "admission_results")


def stage_snapshots(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Create ``current_<table>`` views: the access snapshot in force on ``as_of``.

    Access exports are snapshots. Sources ingested with ``--observed-at`` form
    dated snapshots: the latest observation date on or before ``as_of`` wins
    (all files of that date together). Undated sources (never given a date, not
    even by a later ingest of the same bytes) always count. Snapshots dated after
    ``as_of`` are ignored. The admission tables get the same rule,
    applied to the policy family's own files (``current_admission_results``
    keeps the rows that audit events yielded, which are events, not snapshots;
    checks bound those by time).
    """
    _on_stage(con)
    for family, table in (
        ("access", "current_snapshot_sources"),
        ("policy", "current_policy_sources"),
    ):
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            WITH fam AS (SELECT source_sha256, observed_at FROM sources WHERE family = ?),
            snap AS (
                -- undated only while no date was ever given (a later --observed-at dates it)
                SELECT source_sha256, CAST(observed_at AS DATE) AS day FROM fam
                WHERE observed_at IS NOT NULL
                   OR source_sha256 NOT IN (SELECT source_sha256 FROM observations)
                UNION
                SELECT o.source_sha256, CAST(o.observed_at AS DATE) FROM observations o
                JOIN fam a USING (source_sha256)
            ),
            latest AS (SELECT max(day) AS day FROM snap WHERE day <= ?)
            SELECT DISTINCT source_sha256 FROM snap
            WHERE day IS NULL OR day = (SELECT day FROM latest)
            """,
            [family, as_of],
        )
    for table in SNAPSHOT_TABLES:
        con.execute(
            f"CREATE OR REPLACE VIEW current_{table} AS SELECT * FROM {table} "
            "WHERE source_sha256 IN (SELECT source_sha256 FROM current_snapshot_sources)"
        )
    for table in POLICY_SNAPSHOT_TABLES:
        con.execute(
            f"CREATE OR REPLACE VIEW current_{table} AS SELECT * FROM {table} "
            "WHERE source_sha256 IN (SELECT source_sha256 FROM current_policy_sources)"
            + (" OR origin = 'audit-event'" if table == "admission_results" else "")
        )


def _stage_registers(con: duckdb.DuckDBPyConnection, registers: Registers) -> None:
    s, d = pa.string(), pa.date32()
    flows = registers.approved_flows
    _table(
        con,
        "approved_flows",
        {"flow_id": s, "description": s, "business_need": s, "approved_by": s, "approved_on": d},
        [
            {
                "flow_id": f.id,
                "description": f.description,
                "business_need": f.business_need,
                "approved_by": f.approved_by,
                "approved_on": f.approved_on,
            }
            for f in flows
        ],
    )
    _table(
        con,
        "approved_flow_namespaces",
        {"flow_id": s, "side": s, "namespace": s},
        [
            {"flow_id": f.id, "side": side, "namespace": n}
            for f in flows
            for side, names in (("source", f.src_namespaces), ("destination", f.dst_namespaces))
            for n in names
        ],
    )
    _table(
        con,
        "approved_flow_ports",
        {"flow_id": s, "port_low": pa.int32(), "port_high": pa.int32(), "protocol": s},
        [
            {"flow_id": f.id, "port_low": lo, "port_high": hi, "protocol": proto}
            for f in flows
            for lo, hi, proto in f.ports
        ],
    )
    _table(
        con,
        "attestations",
        {
            "attestation_id": s,
            "requirement": s,
            "kind": s,
            "date_start": d,
            "date_end": d,
            "performed_on": d,
            "performed_by": s,
            "evidence": s,
            "result": s,
            "not_applicable": pa.bool_(),
            "justification": s,
            "source_file": s,
            "locator": s,
            "source_sha256": s,
            "parameters": s,
        },
        [
            {
                "attestation_id": a.id,
                "requirement": a.requirement,
                "kind": a.kind,
                "date_start": a.date_start,
                "date_end": a.date_end,
                "performed_on": a.performed_on or a.date_end,
                "performed_by": a.performed_by,
                "evidence": a.evidence,
                "result": a.result,
                "not_applicable": a.not_applicable,
                "justification": a.justification,
                "source_file": a.source_file,
                "locator": a.locator,
                "source_sha256": a.source_sha256,
                # JSON text: checks read a value with json_extract(parameters, '$.<name>').
                "parameters": json.dumps(dict(a.parameters), sort_keys=True),
            }
            for a in registers.attestations
        ],
    )
