"""Cilium Hubble flows (``hubble observe -o json``, the Hubble exporter).

A record is one flow: a line ``{"flow": {...}, "node_name", "time"}`` (the
GetFlowsResponse envelope) or, from older CLIs and the legacy JSON switch, the
bare Flow object (``verdict``, ``source``, ``destination`` at the top). A whole
JSON document holding one flow, or an array of them, is accepted too.

Responses that are not flows (``node_status``, ``lost_events``,
``agent_event``, ``debug_event``) are non-records: skipped, counted and kept
in the quarantine with their reason. ``lost_events`` says how many
observations Hubble dropped, which is a monitoring gap (PCI DSS 10.7), so its
count is in the reason.

Field names keep protobuf casing (``IP``, ``Type``, ``l4``, ``node_name``);
proto3 JSON omits zero values, so a missing key means "not set". Parsing is
set-based in DuckDB with explicit structures.
"""

from __future__ import annotations

import json
from typing import Any

from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff
from auditkit.ingest.jsonlines import (
    PORT_RANGE,
    RecordSpec,
    int_domain_sql,
    load_json_records,
    prepare_json_records,
    strict_int_sql,
    utc_time_sql,
)

PARSER_VERSION = "1"

# Ports are read as written (text) and checked as exact integers in 0-65535: a
# transform to BIGINT would round 22.5 to 22 and turn 1e400 into NULL.
_PORTS = {"source_port": "VARCHAR", "destination_port": "VARCHAR"}
_TCP_FLAGS = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS")
_ENDPOINT = {
    "ID": "BIGINT",
    "identity": "BIGINT",
    "namespace": "VARCHAR",
    "pod_name": "VARCHAR",
    "labels": "VARCHAR[]",
    "workloads": [{"name": "VARCHAR", "kind": "VARCHAR"}],
}
_POLICY_LISTS = ("ingress_allowed_by", "egress_allowed_by", "ingress_denied_by", "egress_denied_by")
FLOW_STRUCTURE: dict[str, Any] = {
    "time": "VARCHAR",
    "uuid": "VARCHAR",
    "verdict": "VARCHAR",
    "drop_reason": "VARCHAR",
    "drop_reason_desc": "VARCHAR",
    "IP": {"source": "VARCHAR", "destination": "VARCHAR", "ipVersion": "VARCHAR"},
    "l4": {
        "TCP": {**_PORTS, "flags": {flag: "BOOLEAN" for flag in _TCP_FLAGS}},
        "UDP": _PORTS,
        "SCTP": _PORTS,
        "ICMPv4": {"type": "BIGINT", "code": "BIGINT"},
        "ICMPv6": {"type": "BIGINT", "code": "BIGINT"},
    },
    "source": _ENDPOINT,
    "destination": _ENDPOINT,
    "Type": "VARCHAR",
    "node_name": "VARCHAR",
    "reply": "BOOLEAN",
    "is_reply": "BOOLEAN",
    "traffic_direction": "VARCHAR",
    "l7": {"type": "VARCHAR", "dns": "JSON", "http": "JSON", "kafka": "JSON"},
    **{name: "JSON" for name in _POLICY_LISTS},
}
_NON_FLOWS = ("lost_events", "node_status", "agent_event", "debug_event")
# The envelope; a bare Flow is recognised by its own top-level keys.
_ENVELOPE: dict[str, Any] = {
    "flow": "JSON",
    "node_name": "VARCHAR",
    "time": "VARCHAR",
    "verdict": "VARCHAR",
    "IP": "JSON",
    **{name: "JSON" for name in _NON_FLOWS},
}

_F = json.dumps(FLOW_STRUCTURE).replace("'", "''")
# rec: e is the Flow (NULL for other responses), w the envelope.
_UNWRAP = f"""
    SELECT line_no, line, w,
        CASE WHEN w.flow IS NOT NULL THEN
            CASE WHEN contains(locator, '#') THEN locator || '/flow' ELSE locator || '#/flow' END
        ELSE locator END AS locator,
        CASE
            WHEN w.flow IS NOT NULL THEN
                CASE WHEN json_type(w.flow) = 'OBJECT' THEN json_transform(w.flow, '{_F}') END
            WHEN w.verdict IS NOT NULL OR w.IP IS NOT NULL THEN json_transform(line, '{_F}')
        END AS e
    FROM (SELECT line_no, line, locator, e AS w FROM parsed)
"""

_ACTIONS = {
    "FORWARDED": "allowed",
    "REDIRECTED": "allowed",
    "AUDIT": "allowed",  # policy audit mode: would have been dropped, was forwarded
    "TRACED": "allowed",
    "TRANSLATED": "allowed",
    "DROPPED": "denied",
}
_TIME = "coalesce(e.time, w.time)"


def _endpoint(side: str, prefix: str) -> str:
    return f"""
    e.{side}.namespace AS {prefix}_namespace,
    e.{side}.pod_name AS {prefix}_pod,
    e.{side}.workloads[1].name AS {prefix}_workload,
    e.{side}.labels AS {prefix}_labels,"""


def _port(end: str) -> str:
    return f"coalesce(e.l4.TCP.{end}_port, e.l4.UDP.{end}_port, e.l4.SCTP.{end}_port)"


_FLAGS = " + ".join(
    f"CASE WHEN e.l4.TCP.flags.{flag} THEN {1 << bit} ELSE 0 END"
    for bit, flag in enumerate(_TCP_FLAGS)
)
_POLICIES = ", ".join(f"'{name}', e.{name}" for name in _POLICY_LISTS)
_ANY_POLICY = " OR ".join(f"e.{name} IS NOT NULL" for name in _POLICY_LISTS)

_COLUMNS = f"""
    ? AS source_sha256,
    locator,
    'hubble' AS flow_format,
    coalesce(e.node_name, w.node_name) AS sensor,
    {utc_time_sql(_TIME)} AS start_time,
    {utc_time_sql(_TIME)} AS end_time,
    e.IP.source AS src_ip,
    {strict_int_sql(_port("source"), "INTEGER")} AS src_port,
    e.IP.destination AS dst_ip,
    {strict_int_sql(_port("destination"), "INTEGER")} AS dst_port,
    CASE WHEN e.l4.TCP IS NOT NULL THEN 'tcp' WHEN e.l4.UDP IS NOT NULL THEN 'udp'
         WHEN e.l4.ICMPv4 IS NOT NULL THEN 'icmp' WHEN e.l4.ICMPv6 IS NOT NULL THEN 'icmpv6'
         WHEN e.l4.SCTP IS NOT NULL THEN 'sctp' END AS protocol,
    CASE upper(e.verdict) {" ".join(f"WHEN '{v}' THEN '{a}'" for v, a in _ACTIONS.items())} END
        AS action,
    e.verdict AS verdict_raw,
    coalesce(e.is_reply, e.reply) AS is_reply,
    CASE upper(e.traffic_direction) WHEN 'INGRESS' THEN 'ingress' WHEN 'EGRESS' THEN 'egress' END
        AS direction,
    {_endpoint("source", "src")}
    {_endpoint("destination", "dst")}
    CASE WHEN e.l7.dns IS NOT NULL THEN 'dns' WHEN e.l7.http IS NOT NULL THEN 'http'
         WHEN e.l7.kafka IS NOT NULL THEN 'kafka' END AS service,
    coalesce(e.drop_reason_desc, e.drop_reason) AS drop_reason,
    CASE WHEN e.l4.TCP.flags IS NOT NULL THEN {_FLAGS} END AS tcp_flags,
    e.uuid AS flow_id,
    CASE WHEN {_ANY_POLICY} THEN json_object({_POLICIES}) END AS policies
"""

_SKIP = f"""
    CASE
        WHEN e IS NOT NULL THEN NULL
        WHEN w.lost_events IS NOT NULL THEN
            'Hubble lost_events: '
            || coalesce(json_extract_string(w.lost_events, '$.num_events_lost'), 'unknown')
            || ' events lost at '
            || coalesce(json_extract_string(w.lost_events, '$.source'), 'an unknown source')
            || ' (a monitoring gap)'
        {" ".join(f"WHEN w.{k} IS NOT NULL THEN 'Hubble {k}, not a flow'" for k in _NON_FLOWS[1:])}
    END
"""

_PORT_PROBLEMS = " ".join(
    f"WHEN NOT {int_domain_sql(_port(end), *PORT_RANGE, 'INTEGER')} "
    f"THEN '{end} port is not a port number (0-65535): ' || {_port(end)}"
    for end in ("source", "destination")
)
_PROBLEM = f"""
    CASE
        WHEN e IS NULL THEN 'not a Hubble flow (no flow, node_status or lost_events)'
        WHEN {_TIME} IS NULL THEN 'flow time is missing'
        WHEN {utc_time_sql(_TIME)} IS NULL THEN 'flow time is not a timestamp: ' || {_TIME}
        WHEN e.verdict IS NULL THEN 'flow verdict is missing'
        {_PORT_PROBLEMS}
    END
"""

SPEC = RecordSpec(
    table="flows",
    structure=_ENVELOPE,
    columns=_COLUMNS,
    problem=_PROBLEM,
    skip=_SKIP,
    unwrap=_UNWRAP,
    stats="count(*), min(start_time), max(end_time)",
)


def is_response(obj: Any) -> bool:
    """A Hubble GetFlowsResponse (flow or another response) or a bare Flow."""
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("flow"), dict):
        return True
    if any(isinstance(obj.get(key), dict) for key in _NON_FLOWS) and (
        "node_name" in obj or "time" in obj
    ):
        return True
    return isinstance(obj.get("verdict"), str) and (
        isinstance(obj.get("source"), dict) or isinstance(obj.get("IP"), dict)
    )


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "json-lines":
        return is_response(sniff.first_record)
    if sniff.shape == "json-document":
        doc = sniff.document
        if isinstance(doc, list):
            return bool(doc) and is_response(doc[0])
        return is_response(doc)
    return False


def _load(ctx: LoadContext) -> LoadStats:
    stored, time_min, time_max = load_json_records(ctx, SPEC)
    return LoadStats(stored=stored, time_min=time_min, time_max=time_max)


FORMATS = [
    Format(
        name="hubble-json",
        family="flows",
        description="Cilium Hubble flows (hubble observe -o json, with or without the envelope)",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("json-lines", "json-document"),
        prepare=prepare_json_records,
    )
]
