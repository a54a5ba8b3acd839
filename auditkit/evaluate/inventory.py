"""The scope inventory: what the stored data shows, and where the declared scope puts it.

``auditkit scope suggest`` lists, from the data of the assessment period (and
the access snapshot in force at its end), every namespace, namespace label,
workload label, address range and image seen, each with whether the current
declarations put it in the CDE, connected, out of scope, or nowhere
(undeclared); ``auditkit scope check`` fails while something observed is
undeclared. The declarations are the ``[scope]`` table and, for "out of
scope", every check parameter named ``out_of_scope_namespaces`` or
``out_of_scope_cidrs`` (workspace value, else the check's default).

The rules follow evaluation's: a namespace is CDE when declared or when an
exported Namespace object carries a declared label selector; CDE wins over
connected, connected over out of scope. A namespace counts as undeclared, as in
``inventory_undeclared_namespaces``, only when it holds something (requests on
its objects, identities, traffic, policies...); one known only to exist is
listed without blocking. Addresses are classified in SQL (``addresses.py``) and
listed by /24 (IPv4) or /64 (IPv6) prefix: CDE, connected and out-of-scope
ranges first, then ``internal_cidrs`` (the entity's own, hence undeclared),
anything else is external. An image is CDE when it matches a CDE image pattern
or runs in a CDE namespace, else it takes the zone of the namespaces it runs
in. Nothing here decides scope: undeclared items are left for the entity to
place (the TOML fragment lists them commented out).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import duckdb

from auditkit.calendar import add_months
from auditkit.evaluate.addresses import NamedRange, classify_sql, stage_ranges
from auditkit.evaluate.catalog import Catalog
from auditkit.evaluate.sandbox import CheckLimits, Sandbox
from auditkit.evaluate.scope import stage_snapshots
from auditkit.workspace import Scope, WorkspaceConfig

ZONES = ("cde", "connected", "out of scope", "undeclared")
OUT_OF_SCOPE_PARAMS = ("out_of_scope_namespaces", "out_of_scope_cidrs")
_SEEN_IPS = "_auditkit_seen_ips"
# Labels that name one pod or one rollout, not a role: noise for scoping.
_NOISE_LABELS = (
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "controller-uid",
    "pod-template-generation",
)


@dataclass(frozen=True)
class Item:
    """One thing the data shows, and where the declarations put it."""

    kind: str  # namespace | namespace label | workload label | address range | image
    name: str
    status: str  # cde | connected | out of scope | undeclared | external | invalid | no namespace
    declared_by: str  # the declaration that places it ("" when none)
    seen_in: str  # the sources that show it ("" when declared but not seen)
    count: int  # records (addresses for an address range)
    note: str = ""
    blocking: bool = False  # keeps `scope check` failing

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class Inventory:
    """Everything seen, and the declarations it was compared with."""

    period_start: dt.date
    as_of: dt.date
    scope: Scope
    out_of_scope: dict[str, dict[str, list[str]]]  # check id -> {param: effective value}
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[Item]:
        """The observed items no declaration places."""
        return [i for i in self.items if i.blocking]

    @property
    def observed(self) -> bool:
        """The data of the period shows anything at all (no data is not a confirmed scope)."""
        return any(i.seen_in for i in self.items)

    def of_kind(self, kind: str) -> list[Item]:
        """Items of one kind, in listing order."""
        return [i for i in self.items if i.kind == kind]


def out_of_scope_declarations(
    catalog: Catalog, config: WorkspaceConfig
) -> dict[str, dict[str, list[str]]]:
    """Every check parameter that declares something out of scope, with its effective value."""
    raw = config.raw.get("params", {})
    out: dict[str, dict[str, list[str]]] = {}
    for check in sorted(catalog.checks.values(), key=lambda c: c.id):
        for param in check.params:
            if param.name in OUT_OF_SCOPE_PARAMS and param.type == "list":
                overrides = raw.get(check.id, {}) if isinstance(raw, dict) else {}
                value = (
                    overrides.get(param.name, param.default)
                    if isinstance(overrides, dict)
                    else param.default
                )
                out.setdefault(check.id, {})[param.name] = [str(v) for v in value or []]
    return out


def build_inventory(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    catalog: Catalog,
    as_of: dt.date | None = None,
) -> Inventory:
    """Compare what the store shows for the period with the declared scope (read-only store)."""
    as_of = as_of or config.period_end
    oos = out_of_scope_declarations(catalog, config)
    inv = Inventory(config.period_start, as_of, config.scope, oos)
    for param in OUT_OF_SCOPE_PARAMS:
        values = {c: tuple(sorted(p[param])) for c, p in oos.items() if param in p}
        if len(set(values.values())) > 1:
            inv.notes.append(
                f"checks declare different {param}: "
                + "; ".join(f"{c}: {', '.join(v) or '(none)'}" for c, v in values.items())
                + " (suggest uses them all)"
            )
    # The snapshot views are staged as the engine stages them: in the sandbox's own stage
    # database, never in the store (which may be open read-only).
    with Sandbox(con, CheckLimits()) as box:
        stage_snapshots(box.con, as_of)
        window = [config.period_start, as_of + dt.timedelta(days=1)]
        ns_status = _namespaces(box.con, inv, window)
        _labels(box.con, inv, window, ns_status)
        _addresses(box.con, inv, window)
        _images(box.con, inv, [add_months(as_of, -12), as_of + dt.timedelta(days=1)], ns_status)
    return inv


def _oos(inv: Inventory, param: str) -> dict[str, str]:
    """value -> the declaration, for one out-of-scope parameter."""
    out: dict[str, str] = {}
    for check_id, params in inv.out_of_scope.items():
        for value in params.get(param, []):
            out.setdefault(value, f"[params.{check_id}] {param}")
    return out


def _namespaces(
    con: duckdb.DuckDBPyConnection, inv: Inventory, window: list[dt.date]
) -> dict[str, str]:
    """Namespace items; returns namespace -> status for the label and image sections."""
    scope = inv.scope
    rows = con.execute(_NAMESPACES_SQL, window * 6).fetchall()
    seen = {str(ns): (bool(holds), str(src), int(n)) for ns, holds, src, n in rows}
    selected: dict[str, str] = {}
    for selector in scope.labels:
        key, _, value = selector.partition("=")
        for (name,) in con.execute(
            "SELECT DISTINCT name FROM current_k8s_objects WHERE kind = 'Namespace' "
            "AND json_extract_string(labels, '$.\"' || ? || '\"') = ?",
            [key.replace('"', ""), value],
        ).fetchall():
            selected.setdefault(str(name), f"scope.labels {selector} (Namespace object)")
    out_of_scope = _oos(inv, "out_of_scope_namespaces")
    names = sorted(
        set(seen)
        | set(scope.namespaces)
        | set(scope.connected_namespaces)
        | set(selected)
        | set(out_of_scope)
    )
    status: dict[str, str] = {}
    for name in names:
        if name in scope.namespaces:
            zone, by = "cde", "scope.namespaces"
        elif name in selected:
            zone, by = "cde", selected[name]
        elif name in scope.connected_namespaces:
            zone, by = "connected", "scope.connected_namespaces"
        elif name in out_of_scope:
            zone, by = "out of scope", out_of_scope[name]
        else:
            zone, by = "undeclared", ""
        holds, src, n = seen.get(name, (False, "", 0))
        note = ""
        if not src:
            note = "declared, but not seen in the data of the period"
        elif zone == "undeclared" and not holds:
            note = (
                "only its existence is on record (its default service account, Namespace "
                "object, creation or deletion): nothing shows it holds anything"
            )
        status[name] = zone
        inv.items.append(
            Item("namespace", name, zone, by, src, n, note, zone == "undeclared" and holds)
        )
    return status


def _labels(
    con: duckdb.DuckDBPyConnection,
    inv: Inventory,
    window: list[dt.date],
    ns_status: dict[str, str],
) -> None:
    rows = con.execute(_LABELS_SQL, [*window, *window, *window, list(_NOISE_LABELS)]).fetchall()
    selectors = set(inv.scope.labels)
    for kind, label, namespaces, src, n in rows:
        zones = sorted({ns_status.get(str(ns), "undeclared") for ns in namespaces or []})
        if kind == "namespace label" and label in selectors:
            status, by = "cde", f"scope.labels {label}"
        else:
            status = zones[0] if len(zones) == 1 else "mixed"
            by = ""
        where = ", ".join(
            f"{ns} ({ns_status.get(str(ns), 'undeclared')})" for ns in namespaces or []
        )
        note = f"on namespaces: {where}" if where else ""
        if kind == "namespace label" and not any(
            src_kind == "Namespace object" for src_kind in src.split(", ")
        ):
            note += (
                "; seen only in flow labels: a scope.labels selector applies through exported "
                "Namespace objects"
            )
        inv.items.append(Item(kind, str(label), status, by, str(src), int(n), note.strip("; ")))


def _ranges(inv: Inventory) -> list[NamedRange]:
    scope = inv.scope
    ranges = [NamedRange("cde", c, 0, f"scope.cidrs {c}") for c in scope.cidrs]
    ranges += [
        NamedRange("connected", c, 1, f"scope.connected_cidrs {c}") for c in scope.connected_cidrs
    ]
    for cidr, by in _oos(inv, "out_of_scope_cidrs").items():
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            inv.notes.append(f"{by}: {cidr!r} is not a CIDR; ignored")
            continue
        ranges.append(NamedRange("out of scope", cidr, 2, f"{by} {cidr}"))
    ranges += [
        NamedRange("undeclared", c, 3, f"scope.internal_cidrs {c}") for c in scope.internal_cidrs
    ]
    return ranges


def _addresses(con: duckdb.DuckDBPyConnection, inv: Inventory, window: list[dt.date]) -> None:
    ranges = _ranges(inv)
    stage_ranges(con, ranges)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_SEEN_IPS} AS
        SELECT ip, list_sort(list_distinct(list(src))) AS seen_in, sum(n) AS records FROM (
            SELECT src_ip AS ip, 'flows' AS src, count(*) AS n FROM flows
            WHERE start_time >= ? AND start_time < ? GROUP BY ALL
            UNION ALL
            SELECT dst_ip, 'flows', count(*) FROM flows
            WHERE start_time >= ? AND start_time < ? GROUP BY ALL
            UNION ALL
            SELECT source_ip, 'audit log', count(*) FROM k8s_audit_events
            WHERE event_time >= ? AND event_time < ? GROUP BY ALL
        ) WHERE ip IS NOT NULL AND ip <> '' GROUP BY ip
        """,
        window * 3,
    )
    rows = con.execute(
        f"""
        WITH c AS ({classify_sql(f"SELECT ip FROM {_SEEN_IPS}")}),
        j AS (SELECT c.*, s.seen_in, s.records FROM c JOIN {_SEEN_IPS} s USING (ip)),
        k AS (
            SELECT j.*,
                CASE WHEN zone IN ('external', 'invalid') THEN NULL
                     WHEN family = 4 THEN printf('%d.%d.%d.0/24',
                         CAST((value >> 24) & 255 AS INTEGER),
                         CAST((value >> 16) & 255 AS INTEGER),
                         CAST((value >> 8) & 255 AS INTEGER))
                     ELSE printf('%x:%x:%x:%x::/64',
                         CAST((value >> 112) & 65535 AS INTEGER),
                         CAST((value >> 96) & 65535 AS INTEGER),
                         CAST((value >> 80) & 65535 AS INTEGER),
                         CAST((value >> 64) & 65535 AS INTEGER))
                END AS prefix,
                CASE zone WHEN 'cde' THEN 0 WHEN 'connected' THEN 1 WHEN 'out of scope' THEN 2
                          WHEN 'undeclared' THEN 3 WHEN 'external' THEN 4 ELSE 5 END AS rank
            FROM j
        )
        SELECT zone, declared_by, prefix, count(*) AS addresses, sum(records) AS records,
            array_to_string(list_sort(list_distinct(flatten(list(seen_in)))), ', ') AS seen_in,
            min(ip) AS example
        FROM k GROUP BY zone, declared_by, prefix, rank
        ORDER BY rank, prefix, declared_by
        """
    ).fetchall()
    order = {z: n for n, z in enumerate((*ZONES, "external", "invalid"))}

    def key(row: Any) -> tuple[int, int, int]:
        net = ipaddress.ip_network(str(row[2])) if row[2] else None
        return (
            order.get(str(row[0]), 9),
            net.version if net else 0,
            int(net.network_address) if net else 0,
        )

    seen_ranges: set[str] = set()
    for zone, by, prefix, addresses, records, seen_in, example in sorted(rows, key=key):
        zone = str(zone)
        if by:
            seen_ranges.add(str(by))
        if zone in ("external", "invalid"):
            name = "outside internal_cidrs" if zone == "external" else "not an address"
            note = f"e.g. {example}; the entity's own ranges are scope.internal_cidrs"
            if zone == "invalid":
                note = f"e.g. {example!r}: text the flow or audit records give as an address"
            inv.items.append(
                Item("address range", name, zone, "", str(seen_in), int(addresses), note)
            )
            continue
        name = str(ipaddress.ip_network(str(prefix), strict=False))
        note = f"{addresses} address(es), {records} record(s)"
        inv.items.append(
            Item(
                "address range",
                name,
                zone,
                "" if zone == "undeclared" else str(by),
                str(seen_in),
                int(addresses),
                note + (f"; inside {by}" if zone == "undeclared" else ""),
                zone == "undeclared",
            )
        )
    for r in ranges:
        if r.zone != "undeclared" and r.declared_by not in seen_ranges:
            inv.items.append(
                Item(
                    "address range",
                    r.cidr,
                    r.zone,
                    r.declared_by,
                    "",
                    0,
                    "declared, but no address in it was seen in the period",
                )
            )


def _images(
    con: duckdb.DuckDBPyConnection,
    inv: Inventory,
    window: list[dt.date],
    ns_status: dict[str, str],
) -> None:
    patterns = list(inv.scope.images)
    rows = con.execute(_IMAGES_SQL, [*window, inv.period_start, window[1], patterns]).fetchall()
    for repo, namespaces, src, n, pattern in rows:
        spaces = [str(ns) for ns in namespaces or []]
        zones = {ns: ns_status.get(ns, "undeclared") for ns in spaces}
        where = ", ".join(f"{ns} ({zones[ns]})" for ns in spaces)
        if pattern:
            status, by, blocking = "cde", f"scope.images {pattern}", False
        elif not spaces:
            status, by, blocking = "no namespace", "", False
        else:
            status = next(
                (z for z in ZONES if z in zones.values() and z != "undeclared"), "undeclared"
            )
            if status == "out of scope" and "undeclared" in zones.values():
                status = "undeclared"
            by = (
                ", ".join(f"namespace {ns}" for ns in spaces if zones[ns] == status)
                if status != "undeclared"
                else ""
            )
            blocking = status == "undeclared"
        note = (
            f"runs in: {where}"
            if where
            else "seen only outside Kubernetes namespaces (runtime sensor)"
        )
        inv.items.append(Item("image", str(repo), status, by, str(src), int(n), note, blocking))


_WINDOW = "{t} >= ? AND {t} < ?"

_NAMESPACES_SQL = f"""
WITH ev AS (
    SELECT namespace AS ns, 'API objects' AS seen, true AS holds FROM k8s_audit_events
    WHERE namespace IS NOT NULL AND (response_code BETWEEN 200 AND 299 OR response_code = 101)
      AND {_WINDOW.format(t="event_time")}
    UNION ALL
    SELECT split_part(username, ':', 3), 'service account in use', true FROM k8s_audit_events
    WHERE starts_with(username, 'system:serviceaccount:') AND {_WINDOW.format(t="event_time")}
    UNION ALL
    SELECT src_namespace, 'flows', true FROM flows
    WHERE src_namespace IS NOT NULL AND {_WINDOW.format(t="start_time")}
    UNION ALL
    SELECT dst_namespace, 'flows', true FROM flows
    WHERE dst_namespace IS NOT NULL AND {_WINDOW.format(t="start_time")}
    UNION ALL
    SELECT namespace, 'runtime alerts', true FROM runtime_alerts
    WHERE namespace IS NOT NULL AND {_WINDOW.format(t="event_time")}
    UNION ALL
    SELECT namespace, 'Roles', true FROM current_rbac_roles WHERE namespace IS NOT NULL
    UNION ALL
    SELECT namespace, 'RoleBindings', true FROM current_rbac_bindings WHERE namespace IS NOT NULL
    UNION ALL
    SELECT subject_namespace, 'bound service account', true FROM current_rbac_bindings
    WHERE subject_kind = 'ServiceAccount' AND subject_namespace IS NOT NULL
    UNION ALL
    SELECT namespace, 'service accounts', name <> 'default' FROM current_service_accounts
    UNION ALL
    SELECT namespace, 'NetworkPolicies', true FROM current_network_policies
    WHERE namespace IS NOT NULL
    UNION ALL
    SELECT namespace, kind || ' objects', true FROM current_k8s_objects
    WHERE namespace IS NOT NULL AND kind <> 'Namespace'
    UNION ALL
    SELECT name, 'Namespace object', false FROM current_k8s_objects
    WHERE kind = 'Namespace' AND name IS NOT NULL
    UNION ALL
    SELECT name, 'namespace ' || verb || 'd', false FROM k8s_audit_events
    WHERE resource = 'namespaces' AND subresource IS NULL AND name IS NOT NULL
      AND verb IN ('create', 'delete') AND response_code BETWEEN 200 AND 299
      AND {_WINDOW.format(t="event_time")}
)
SELECT ns, bool_or(holds), string_agg(DISTINCT seen, ', ' ORDER BY seen), count(*)
FROM ev WHERE ns IS NOT NULL AND ns <> '' GROUP BY ns
"""

_HUBBLE_NS_LABEL = "io.cilium.k8s.namespace.labels."
_LABELS_SQL = f"""
WITH hubble AS (
    SELECT ns, substr(l, 5) AS l FROM (
        SELECT src_namespace AS ns, unnest(src_labels) AS l FROM flows
        WHERE src_labels IS NOT NULL AND {_WINDOW.format(t="start_time")}
        UNION ALL
        SELECT dst_namespace, unnest(dst_labels) FROM flows
        WHERE dst_labels IS NOT NULL AND {_WINDOW.format(t="start_time")}
    ) WHERE starts_with(l, 'k8s:')
),
specs AS (
    SELECT coalesce(namespace, json_extract_string(request_object, '$.metadata.namespace')) AS ns,
        TRY_CAST(coalesce(
            json_extract(request_object, '$.spec.template.metadata.labels'),
            json_extract(request_object, '$.spec.jobTemplate.spec.template.metadata.labels'),
            json_extract(request_object, '$.metadata.labels')) AS MAP(VARCHAR, VARCHAR)) AS labels
    FROM k8s_audit_events
    WHERE resource IN ('pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs',
                       'cronjobs')
      AND subresource IS NULL AND verb IN ('create', 'update') AND request_object IS NOT NULL
      AND response_code BETWEEN 200 AND 299 AND {_WINDOW.format(t="event_time")}
),
all_labels AS (
    SELECT 'namespace label' AS kind, substr(l, {len(_HUBBLE_NS_LABEL) + 1}) AS label, ns,
        'flow labels' AS src
    FROM hubble WHERE starts_with(l, '{_HUBBLE_NS_LABEL}')
    UNION ALL
    SELECT 'workload label', l, ns, 'flow labels' FROM hubble
    WHERE NOT starts_with(l, 'io.cilium.') AND NOT starts_with(l, 'io.kubernetes.')
    UNION ALL
    SELECT 'workload label', e.key || '=' || e.value, ns, 'workload specs'
    FROM (SELECT ns, unnest(map_entries(labels)) AS e FROM specs WHERE labels IS NOT NULL)
    UNION ALL
    SELECT 'namespace label', e.key || '=' || e.value, name, 'Namespace object'
    FROM (SELECT name, unnest(map_entries(TRY_CAST(labels AS MAP(VARCHAR, VARCHAR)))) AS e
          FROM current_k8s_objects WHERE kind = 'Namespace' AND labels IS NOT NULL)
)
SELECT kind, label,
    list_sort(list_distinct(list(ns) FILTER (ns IS NOT NULL))) AS namespaces,
    string_agg(DISTINCT src, ', ' ORDER BY src) AS src, count(*) AS n
FROM all_labels
WHERE label IS NOT NULL AND contains(label, '=')
  AND NOT list_contains(?, split_part(label, '=', 1))
GROUP BY kind, label
ORDER BY kind, label
"""

_IMAGES_SQL = f"""
WITH refs AS (
    SELECT coalesce(e.namespace, json_extract_string(e.request_object, '$.metadata.namespace'))
            AS ns,
        unnest(list_concat(
            coalesce(from_json(json_extract(e.request_object, '$.spec.containers[*].image'),
                               '["VARCHAR"]'), []),
            coalesce(from_json(json_extract(e.request_object, '$.spec.initContainers[*].image'),
                               '["VARCHAR"]'), []),
            coalesce(from_json(json_extract(e.request_object,
                                            '$.spec.template.spec.containers[*].image'),
                               '["VARCHAR"]'), []),
            coalesce(from_json(json_extract(e.request_object,
                                            '$.spec.template.spec.initContainers[*].image'),
                               '["VARCHAR"]'), []),
            coalesce(from_json(json_extract(e.request_object,
                                   '$.spec.jobTemplate.spec.template.spec.containers[*].image'),
                               '["VARCHAR"]'), []))) AS image,
        'workload specs' AS src
    FROM k8s_audit_events e
    WHERE e.resource IN ('pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets',
                         'jobs', 'cronjobs')
      AND e.subresource IS NULL AND e.verb IN ('create', 'update') AND e.request_object IS NOT NULL
      AND e.response_code BETWEEN 200 AND 299 AND {_WINDOW.format(t="e.event_time")}
    UNION ALL
    SELECT namespace, image, 'runtime alerts' FROM runtime_alerts
    WHERE image IS NOT NULL AND image <> '' AND NOT starts_with(image, 'sha256:')
      AND {_WINDOW.format(t="event_time")}
),
repos AS (
    SELECT ns, src,
        regexp_replace(regexp_replace(image, '@sha256:[0-9a-f]+$', ''), ':[^:/]+$', '') AS reported
    FROM refs WHERE image IS NOT NULL AND image <> ''
),
named AS (
    SELECT *, regexp_replace(
            regexp_replace(reported,
                '^(docker\\.io|index\\.docker\\.io|registry-1\\.docker\\.io)/', ''),
            '^library/([^/]+)$', '\\1') AS repo
    FROM repos
),
patterns AS (SELECT unnest(CAST(? AS VARCHAR[])) AS pattern),
matched AS (
    SELECT n.*, (SELECT min(p.pattern) FROM patterns p
                 WHERE n.repo GLOB p.pattern OR n.reported GLOB p.pattern) AS pattern
    FROM named n
)
SELECT repo,
    list_sort(list_distinct(list(ns) FILTER (ns IS NOT NULL))) AS namespaces,
    string_agg(DISTINCT src, ', ' ORDER BY src) AS src, count(*) AS n, min(pattern) AS pattern
FROM matched
GROUP BY repo
ORDER BY repo
"""
