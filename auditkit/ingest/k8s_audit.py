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

import dataclasses
import json
from typing import Any

from auditkit.ingest.base import Format, LoadContext, LoadStats, Sniff
from auditkit.ingest.jsonlines import (
    RecordSpec,
    int_domain_sql,
    load_json_records,
    stage_lines,
    stage_records,
    strict_int_sql,
    utc_time_sql,
)
from auditkit.safeload import pointer

PARSER_VERSION = "1"

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
        "responseStatus": {"code": "VARCHAR"},  # checked as an exact integer below
        "annotations": {
            "authorization.k8s.io/decision": "VARCHAR",
            "authorization.k8s.io/reason": "VARCHAR",
        },
        "requestObject": "JSON",
        # wrappers (AKS diagnostic logs, CloudWatch)
        "category": "VARCHAR",
        "properties": {"log": "VARCHAR"},
        "message": "VARCHAR",
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


def _prepare(ctx: LoadContext) -> None:
    """Stage the lines, or the Events of a document (EventList items, or the one Event)."""
    if ctx.sniff.shape == "json-lines":
        stage_lines(ctx)
        return
    doc = ctx.sniff.document
    if isinstance(doc, dict) and doc.get("kind") == "EventList":
        records = [
            ("#" + pointer("items", i), json.dumps(item)) for i, item in enumerate(doc["items"])
        ]
    else:
        records = [("#", json.dumps(doc))]
    stage_records(ctx, records)


def _pointer_sql(suffix: str) -> str:
    """The locator of a wrapped payload: a JSON pointer appended to the record's locator."""
    return (
        f"CASE WHEN contains(locator, '#') THEN locator || '{suffix}' "
        f"ELSE locator || '#{suffix}' END"
    )


_S = _STRUCTURE.replace("'", "''")
# AKS diagnostic records carry the Event as a JSON string in properties.log,
# CloudWatch records in message: decode that string as the record.
_UNWRAP = f"""
    SELECT line_no, line,
        CASE wrap WHEN 1 THEN {_pointer_sql("/properties/log")}
                  WHEN 2 THEN {_pointer_sql("/message")} ELSE locator END AS locator,
        CASE wrap
            WHEN 1 THEN CASE WHEN json_valid(e.properties.log)
                             THEN json_transform(e.properties.log, '{_S}') END
            WHEN 2 THEN CASE WHEN json_valid(e.message) THEN json_transform(e.message, '{_S}') END
            ELSE e END AS e
    FROM (
        SELECT line_no, line, locator, e,
            CASE WHEN e.category = 'kube-audit' AND e.properties.log IS NOT NULL THEN 1
                 WHEN e.auditID IS NULL AND e.message IS NOT NULL THEN 2 ELSE 0 END AS wrap
        FROM parsed
    )
"""

_COLUMNS = f"""
    ? AS source_sha256,
    locator,
    e.auditID AS audit_id,
    e.stage,
    e.level,
    {utc_time_sql("coalesce(e.stageTimestamp, e.requestReceivedTimestamp, e.timestamp)")}
        AS event_time,
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
    {strict_int_sql("e.responseStatus.code", "INTEGER")} AS response_code,
    e.annotations['authorization.k8s.io/decision'] AS authz_decision,
    e.annotations['authorization.k8s.io/reason'] AS authz_reason,
    CASE
        WHEN e.objectRef.resource IN ('secrets', 'tokenreviews')
             OR e.objectRef.subresource = 'token' THEN NULL
        ELSE e.requestObject
    END AS request_object
"""

_PROBLEM = f"""
    CASE
        WHEN e IS NULL THEN 'the wrapped audit event is not valid JSON'
        WHEN e.auditID IS NULL THEN 'not a Kubernetes audit Event: auditID is missing'
        WHEN e.stage IS NULL THEN 'not a Kubernetes audit Event: stage is missing'
        WHEN coalesce(e.kind, 'Event') <> 'Event'
            THEN 'not a Kubernetes audit Event: kind is ' || e.kind
        WHEN NOT {int_domain_sql("e.responseStatus.code", None, None, "INTEGER")}
            THEN 'responseStatus.code is not an integer: ' || e.responseStatus.code
    END
"""

SPEC = RecordSpec(
    table="k8s_audit_events",
    structure=json.loads(_STRUCTURE),
    columns=_COLUMNS,
    problem=_PROBLEM,
    unwrap=_UNWRAP,
    stats="count(*), min(event_time), max(event_time)",
)
# Plain events need no unwrapping, which saves a struct copy per record.
PLAIN_SPEC = dataclasses.replace(SPEC, unwrap=None)


def _load(ctx: LoadContext) -> LoadStats:
    """Load plain events directly; wrapped ones (or a mix) through the unwrapping SQL.

    The first record decides. When a file that started with plain events
    turns out to hold records that did not load, the plain attempt is undone
    and the file is read again with unwrapping, so a wrapper anywhere is
    still read and every reason is reported once.
    """
    first = ctx.sniff.first_record if ctx.sniff.shape == "json-lines" else ctx.sniff.document
    if _wrapped_event(first):
        stored, time_min, time_max = load_json_records(ctx, SPEC)
        return LoadStats(stored=stored, time_min=time_min, time_max=time_max)
    stored, time_min, time_max = load_json_records(ctx, PLAIN_SPEC)
    if ctx.bad_count or ctx.non_records:
        ctx.con.execute("DELETE FROM k8s_audit_events WHERE source_sha256 = ?", [ctx.source.sha256])
        ctx.bad.clear()
        ctx.non_records.clear()
        ctx.bad_count = 0
        stored, time_min, time_max = load_json_records(ctx, SPEC)
    return LoadStats(stored=stored, time_min=time_min, time_max=time_max)


FORMATS = [
    Format(
        name="k8s-audit",
        family="runtime",
        description="Kubernetes audit log: Event JSON lines, EventList, AKS/CloudWatch wrappers",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("json-lines", "json-document"),
        prepare=_prepare,
    )
]
