"""Kubernetes API audit logs (``audit.k8s.io`` v1 and v1beta1 ``Event``).

Shapes: JSON lines of Events; an ``EventList`` document; a single Event
document; and managed-cluster logs (GKE Cloud Audit Logs entries, AKS
diagnostic records, EKS events through CloudWatch), also mixed with native
Events line by line: ``auditkit.ingest.audit_managed`` maps them onto the same
columns. Every stage of a request is stored; checks de-duplicate on
``audit_id`` where they need one row per request.

Secret material never reaches the store: the request object of Secret,
TokenReview and token requests is dropped at ingest. The response object is kept
only for writes to workloads (Pods, Deployments, StatefulSets, DaemonSets,
ReplicaSets, Jobs, CronJobs and their scale subresource), without
``metadata.managedFields``: it is the spec the API server stored, which a patch
request alone does not show. Admission decisions the events record are also
written to ``admission_results`` (``auditkit.ingest.audit_admission``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from auditkit.ingest import audit_managed
from auditkit.ingest.audit_admission import extract_admission
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

PARSER_VERSION = "2"  # 2: response_object of workload writes

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
        "responseObject": "JSON",
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
    return audit_managed.is_wrapped(obj)


def _matches(sniff: Sniff) -> bool:
    if sniff.shape == "json-lines":
        return _is_event(sniff.first_record) or _wrapped_event(sniff.first_record)
    if sniff.shape == "json-document":
        doc = sniff.document
        if isinstance(doc, dict) and doc.get("kind") == "EventList":
            return isinstance(doc.get("items"), list)
        if isinstance(doc, list) and doc and _is_event(doc[0]):
            return True
        return _is_event(doc) or audit_managed.matches_document(doc)
    if sniff.shape == "yaml":
        return audit_managed.matches_yaml(sniff.document)
    if sniff.shape == "text":
        return audit_managed.matches_text(sniff.first_line)
    return False


def _prepare(ctx: LoadContext) -> None:
    """Stage the lines, or the records of a document (EventList items, array items, the
    log events of a CloudWatch export, the entries of a YAML stream, or the one Event)."""
    if ctx.sniff.shape in ("json-lines", "text"):
        stage_lines(ctx)
        if ctx.sniff.shape == "text":
            audit_managed.strip_export_timestamps(ctx)
        return
    if ctx.sniff.shape == "yaml":
        stage_records(ctx, audit_managed.yaml_records(ctx.sniff.document))
        return
    doc = ctx.sniff.document
    if isinstance(doc, dict) and doc.get("kind") == "EventList":
        records = [
            ("#" + pointer("items", i), json.dumps(item)) for i, item in enumerate(doc["items"])
        ]
    elif isinstance(doc, list):
        records = [(f"#/{i}", json.dumps(item)) for i, item in enumerate(doc)]
    else:
        records = audit_managed.document_records(doc) or [("#", json.dumps(doc))]
    stage_records(ctx, records)


# The Event structure plus the managed-cluster envelopes' keys.
_FULL_STRUCTURE = audit_managed.extend_structure(json.loads(_STRUCTURE))
_S = json.dumps(_FULL_STRUCTURE).replace("'", "''")
# AKS diagnostic records carry the Event in properties.log (a JSON string or object),
# CloudWatch records in message, GKE entries in their own schema: unwrap them all.
_UNWRAP = audit_managed.unwrap_sql(_S)

# The responseObject is kept only where it tells the spec a workload ran with after a write
# (docs/formats-runtime-flows-access.md): elsewhere it is bulk the checks never read.
_WORKLOAD_RESOURCES = ", ".join(
    f"'{r}'"
    for r in (
        "pods",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
    )
)

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
    END AS request_object,
    CASE
        WHEN e.objectRef.resource IN ({_WORKLOAD_RESOURCES})
             AND (e.objectRef.subresource IS NULL OR e.objectRef.subresource = 'scale')
             AND e.verb IN ('create', 'update', 'patch')
             AND e.stage = 'ResponseComplete'
             AND json_type(e.responseObject) = 'OBJECT'
        THEN CASE WHEN json_exists(e.responseObject, '$.metadata.managedFields')
             THEN json_merge_patch(e.responseObject, '{{"metadata": {{"managedFields": null}}}}')
             ELSE e.responseObject END
    END AS response_object
"""

_PROBLEM = f"""
    CASE
        WHEN provider_problem IS NOT NULL THEN provider_problem
        WHEN e IS NULL THEN 'the wrapped audit event is not valid JSON'
        WHEN e.auditID IS NULL THEN 'not a Kubernetes audit Event: auditID is missing'
        WHEN e.stage IS NULL THEN 'not a Kubernetes audit Event: stage is missing'
        WHEN coalesce(e.kind, 'Event') <> 'Event'
            THEN 'not a Kubernetes audit Event: kind is ' || e.kind
        WHEN NOT {int_domain_sql("e.responseStatus.code", None, None, "INTEGER")}
            THEN 'responseStatus.code is not an integer: ' || left(e.responseStatus.code, 40)
    END
"""

SPEC = RecordSpec(
    table="k8s_audit_events",
    structure=_FULL_STRUCTURE,
    columns=_COLUMNS + ", " + audit_managed.provider_columns(wrapped=True),
    problem=_PROBLEM,
    skip="skip_reason",
    unwrap=_UNWRAP,
    stats="count(*), min(event_time), max(event_time)",
)
# Plain events need no unwrapping, which saves a struct copy per record.
PLAIN_SPEC = dataclasses.replace(
    SPEC,
    unwrap=None,
    skip="NULL",
    problem=_PROBLEM.replace("WHEN provider_problem IS NOT NULL THEN provider_problem", ""),
    columns=_COLUMNS + ", " + audit_managed.provider_columns(wrapped=False),
)


def _load(ctx: LoadContext) -> LoadStats:
    """Load plain events directly; wrapped ones (or a mix) through the unwrapping SQL.

    The first record decides. When a file that started with plain events
    turns out to hold records that did not load, the plain attempt is undone
    and the file is read again with unwrapping, so a wrapper anywhere is
    still read and every reason is reported once.
    """
    plain = ctx.sniff.shape == "json-lines" and not _wrapped_event(ctx.sniff.first_record)
    if not plain:
        stored, time_min, time_max = load_json_records(ctx, SPEC)
    else:
        stored, time_min, time_max = load_json_records(ctx, PLAIN_SPEC)
        if ctx.bad_count or ctx.non_records:
            ctx.con.execute(
                "DELETE FROM k8s_audit_events WHERE source_sha256 = ?", [ctx.source.sha256]
            )
            ctx.bad.clear()
            ctx.non_records.clear()
            ctx.bad_count = 0
            stored, time_min, time_max = load_json_records(ctx, SPEC)
    extract_admission(ctx)
    return LoadStats(stored=stored, time_min=time_min, time_max=time_max)


FORMATS = [
    Format(
        name="k8s-audit",
        family="runtime",
        description="Kubernetes audit log: Event JSON lines, EventList; GKE, AKS, EKS (CloudWatch)",
        parser_version=PARSER_VERSION,
        matches=_matches,
        load=_load,
        shapes=("json-lines", "json-document", "yaml", "text"),
        prepare=_prepare,
    )
]
