"""Kubernetes API audit logs (``audit.k8s.io`` v1 and v1beta1 ``Event``).

Shapes: JSON lines of Events; an ``EventList`` document; a single Event
document; and managed-cluster wrappers: AKS diagnostic records (the event is a
JSON *string* in ``properties.log``) and CloudWatch-style records (the event is
a JSON string in ``message``). Every stage of a request is stored; checks
de-duplicate on ``audit_id`` where they need one row per request.

Secret material never reaches the store: the request object of Secret,
TokenReview and token requests is dropped at ingest.
"""

from __future__ import annotations

import json
from typing import Any

from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff
from auditkit.ingest.jsonlines import LINES_TABLE, prepare_lines, reject_invalid_lines
from auditkit.ingest.safeload import pointer
from auditkit.store import first_row

PARSER_VERSION = "1"
EVENTS_TABLE = "_auditkit_audit_events"

_STRUCTURE = json.dumps(
    {
        "kind": "VARCHAR",
        "auditID": "VARCHAR",
        "stage": "VARCHAR",
        "level": "VARCHAR",
        "timestamp": "VARCHAR",
        "stageTimestamp": "VARCHAR",
        "requestReceivedTimestamp": "VARCHAR",
        "verb": "VARCHAR",
        "requestURI": "VARCHAR",
        "user": {"username": "VARCHAR", "groups": "VARCHAR[]"},
        "impersonatedUser": {"username": "VARCHAR"},
        "sourceIPs": "VARCHAR[]",
        "userAgent": "VARCHAR",
        "objectRef": {
            "apiGroup": "VARCHAR",
            "apiVersion": "VARCHAR",
            "resource": "VARCHAR",
            "subresource": "VARCHAR",
            "namespace": "VARCHAR",
            "name": "VARCHAR",
        },
        "responseStatus": {"code": "INTEGER"},
        "annotations": "JSON",
        "requestObject": "JSON",
    }
)


def _is_event(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("auditID"), str)
        and obj.get("kind", "Event") == "Event"
        and "stage" in obj
    )


def _wrapped_event(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    if obj.get("category") == "kube-audit":
        props = obj.get("properties")
        return isinstance(props, dict) and isinstance(props.get("log"), str)
    message = obj.get("message")
    return isinstance(message, str) and '"auditID"' in message and '"stage"' in message


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "json-lines":
        return _is_event(sniff.first_record) or _wrapped_event(sniff.first_record)
    if sniff.shape == "json-document":
        doc = sniff.document
        if isinstance(doc, dict) and doc.get("kind") == "EventList":
            return isinstance(doc.get("items"), list)
        return _is_event(doc) or _wrapped_event(doc)
    return False


def _stage_from_lines(ctx: LoadContext) -> None:
    reject_invalid_lines(ctx)
    ctx.con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {EVENTS_TABLE} AS
        WITH objs AS (
            SELECT line_no, line FROM {LINES_TABLE}
            WHERE line IS NOT NULL AND trim(line) <> ''
              AND json_valid(line) AND json_type(line) = 'OBJECT'
        )
        SELECT line_no,
            CASE
                WHEN json_extract_string(line, '$.category') = 'kube-audit'
                    THEN 'line:' || line_no || '#/properties/log'
                WHEN json_type(line, '$.message') = 'VARCHAR'
                     AND json_extract(line, '$.auditID') IS NULL
                    THEN 'line:' || line_no || '#/message'
                ELSE 'line:' || line_no
            END AS locator,
            CASE
                WHEN json_extract_string(line, '$.category') = 'kube-audit'
                    THEN json_extract_string(line, '$.properties.log')
                WHEN json_type(line, '$.message') = 'VARCHAR'
                     AND json_extract(line, '$.auditID') IS NULL
                    THEN json_extract_string(line, '$.message')
                ELSE line
            END AS ev
        FROM objs
        """
    )


def _stage_from_document(ctx: LoadContext) -> None:
    doc = ctx.sniff.document
    rows: list[dict[str, Any]] = []
    if isinstance(doc, dict) and doc.get("kind") == "EventList":
        for index, item in enumerate(doc["items"]):
            rows.append(
                {"line_no": index, "locator": "#" + pointer("items", index), "ev": json.dumps(item)}
            )
    elif isinstance(doc, dict) and doc.get("category") == "kube-audit":
        rows.append({"line_no": 0, "locator": "#/properties/log", "ev": doc["properties"]["log"]})
    elif isinstance(doc, dict) and "auditID" not in doc and isinstance(doc.get("message"), str):
        rows.append({"line_no": 0, "locator": "#/message", "ev": doc["message"]})
    else:
        rows.append({"line_no": 0, "locator": "#", "ev": json.dumps(doc)})
    ctx.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {EVENTS_TABLE} (line_no BIGINT, locator VARCHAR, ev VARCHAR)"
    )
    ctx.insert_rows(EVENTS_TABLE, rows)


def _load(ctx: LoadContext) -> LoadStats:
    con = ctx.con
    if ctx.sniff.shape == "json-lines":
        _stage_from_lines(ctx)
    else:
        _stage_from_document(ctx)
    # Records that are JSON but not audit events (or whose wrapped payload is not).
    for locator, excerpt in con.execute(
        f"""
        SELECT locator, left(ev, 200) FROM {EVENTS_TABLE}
        WHERE ev IS NULL OR NOT json_valid(ev) OR json_type(ev) <> 'OBJECT'
           OR json_extract_string(ev, '$.auditID') IS NULL
           OR json_extract(ev, '$.stage') IS NULL
           OR coalesce(json_extract_string(ev, '$.kind'), 'Event') <> 'Event'
        ORDER BY line_no
        """
    ).fetchall():
        ctx.reject(locator, "not a Kubernetes audit Event", excerpt or "")
    sha = ctx.source.sha256
    con.execute(
        f"""
        INSERT INTO k8s_audit_events BY NAME
        WITH t AS (
            SELECT locator, line_no, json_transform(ev, '{_STRUCTURE}') AS e
            FROM {EVENTS_TABLE}
            WHERE ev IS NOT NULL AND json_valid(ev) AND json_type(ev) = 'OBJECT'
              AND json_extract_string(ev, '$.auditID') IS NOT NULL
              AND json_extract(ev, '$.stage') IS NOT NULL
              AND coalesce(json_extract_string(ev, '$.kind'), 'Event') = 'Event'
        )
        SELECT
            ? AS source_sha256,
            locator,
            e.auditID AS audit_id,
            e.stage,
            e.level,
            (try_cast(coalesce(e.stageTimestamp, e.requestReceivedTimestamp, e.timestamp)
                AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS event_time,
            e.verb,
            e.requestURI AS request_uri,
            e.user.username AS username,
            e.user.groups AS user_groups,
            e.impersonatedUser.username AS impersonated_user,
            coalesce(e.impersonatedUser.username, e.user.username) AS effective_user,
            e.sourceIPs AS source_ips,
            e.sourceIPs[-1] AS source_ip,
            e.userAgent AS user_agent,
            e.objectRef.apiGroup AS api_group,
            e.objectRef.apiVersion AS api_version,
            e.objectRef.resource AS resource,
            e.objectRef.subresource AS subresource,
            e.objectRef.namespace AS namespace,
            e.objectRef.name AS name,
            e.responseStatus.code AS response_code,
            json_extract_string(e.annotations, '$."authorization.k8s.io/decision"')
                AS authz_decision,
            json_extract_string(e.annotations, '$."authorization.k8s.io/reason"') AS authz_reason,
            CASE
                WHEN e.objectRef.resource IN ('secrets', 'tokenreviews')
                     OR e.objectRef.subresource = 'token' THEN NULL
                ELSE e.requestObject
            END AS request_object
        FROM t
        ORDER BY line_no
        """,
        [sha],
    )
    stats = LoadStats()
    row = first_row(
        con.execute(
            "SELECT count(*), min(event_time), max(event_time) FROM k8s_audit_events "
            "WHERE source_sha256 = ?",
            [sha],
        )
    )
    if row:
        stats.stored = int(row[0])
        stats.time_min, stats.time_max = row[1], row[2]
    return stats


FORMATS = [
    Format(
        name="k8s-audit",
        family="runtime",
        description="Kubernetes audit log: Event JSON lines, EventList, AKS/CloudWatch wrappers",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("json-lines", "json-document"),
        prepare=prepare_lines,
    )
]
