"""Managed-cluster audit logs, read into ``k8s_audit_events`` beside native Events.

Three providers hand the Kubernetes API audit log out in their own envelope:

- **GKE** (Cloud Audit Logs): each request is a ``LogEntry`` whose
  ``protoPayload`` is a ``google.cloud.audit.AuditLog`` (``resource.type:
  k8s_cluster``). It is mapped onto an audit Event: the verb is the last
  segment of ``methodName``, the target comes from ``resourceName``
  (``<group>/<version>/namespaces/<ns>/<resource>/<name>/<subresource>``),
  the user is ``principalEmail``, the outcome ``status.code`` (google.rpc codes
  turned into HTTP codes; a rejected write's own ``response.code`` wins), the
  admission and authorization annotations are the entry's ``labels``. Entries
  for other resource types (``gke_cluster`` cluster operations, ``gce_instance``…)
  are not Kubernetes API requests: they are skipped, counted and quarantined.
  Shapes: JSON lines, one JSON array (``gcloud logging read --format=json``),
  a YAML stream (``gcloud logging read``).
- **AKS** (diagnostic settings, categories ``kube-audit`` and
  ``kube-audit-admin``): the Event is ``properties.log``, as a JSON *string*
  or as an *object*; both may occur in one file. A record whose Event is an
  empty stub (``{"kind":"Event"}``, no auditID, stage, verb or user) is skipped.
- **EKS** through CloudWatch Logs: the Event is the JSON string in ``message``:
  JSON lines of log events, ``aws logs filter-log-events``/``get-log-events``
  output (``{"events": [...]}``), a decoded subscription payload
  (``messageType: DATA_MESSAGE`` with ``logEvents``; a ``CONTROL_MESSAGE`` is
  skipped), or an S3 export (``<ISO time> <Event JSON>`` per line).

Files may mix native Events and any of these, line by line. The provider's
identity fields are kept in added columns: ``principal_email`` (GKE),
``principal_object_id`` (the Entra object id in ``user.extra.oid``) and
``principal_arn`` (``user.extra.canonicalArn``/``arn``).

Admission annotations (Pod Security admission ``pod-security.kubernetes.io/*``,
``validation.policy.admission.k8s.io/validation_failure``) and admission-webhook
denials found in any of these events are also written to ``admission_results``
(:func:`extract_admission`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from auditkit.ingest.base import LoadContext
from auditkit.ingest.jsonlines import LINES_TABLE, RAW_TABLE, int_domain_sql
from auditkit.safeload import pointer

GKE_AUDIT_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
AKS_CATEGORIES = ("kube-audit", "kube-audit-admin")

# Keys the envelopes add to the audit Event's structure (merged into the loader's).
_EXTRA_STRUCTURE: dict[str, Any] = {
    "user": {"extra": "MAP(VARCHAR, VARCHAR[])"},
    "category": "VARCHAR",
    "properties": {"log": "VARCHAR"},
    "resourceId": "VARCHAR",
    "message": "VARCHAR",
    "logGroup": "VARCHAR",
    "logStream": "VARCHAR",
    "logStreamName": "VARCHAR",
    "insertId": "VARCHAR",
    "logName": "VARCHAR",
    "operation": {"id": "VARCHAR"},
    "resource": {"type": "VARCHAR", "labels": "MAP(VARCHAR, VARCHAR)"},
    "labels": "MAP(VARCHAR, VARCHAR)",
    "messageType": "VARCHAR",
    "protoPayload": {
        "@type": "VARCHAR",
        "serviceName": "VARCHAR",
        "methodName": "VARCHAR",
        "resourceName": "VARCHAR",
        "authenticationInfo": {"principalEmail": "VARCHAR"},
        "authorizationInfo": [{"granted": "BOOLEAN"}],
        "requestMetadata": {"callerIp": "VARCHAR", "callerSuppliedUserAgent": "VARCHAR"},
        "status": {"code": "INTEGER"},
        "request": "JSON",
        "response": "JSON",
    },
}


def extend_structure(structure: dict[str, Any]) -> dict[str, Any]:
    """The audit Event structure plus every envelope key this module reads."""
    out = copy.deepcopy(structure)

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            elif key not in into:
                into[key] = copy.deepcopy(value)

    merge(out, _EXTRA_STRUCTURE)
    return out


# -- detection (Python, on the first record or the whole document) ----------------


def is_gke_entry(obj: Any) -> bool:
    """A Cloud Audit Logs entry (any resource type; non-Kubernetes ones are skipped)."""
    if not isinstance(obj, dict):
        return False
    payload = obj.get("protoPayload")
    return isinstance(payload, dict) and payload.get("@type") == GKE_AUDIT_TYPE


def is_aks_record(obj: Any) -> bool:
    """An AKS diagnostic record of the API-server audit categories."""
    if not isinstance(obj, dict) or obj.get("category") not in AKS_CATEGORIES:
        return False
    props = obj.get("properties")
    return isinstance(props, dict) and isinstance(props.get("log"), str | dict)


def is_cloudwatch_record(obj: Any) -> bool:
    """A CloudWatch log event whose ``message`` is an audit Event."""
    if not isinstance(obj, dict):
        return False
    message = obj.get("message")
    return isinstance(message, str) and '"auditID"' in message and '"stage"' in message


def is_wrapped(obj: Any) -> bool:
    """A record of any managed-cluster envelope."""
    return is_gke_entry(obj) or is_aks_record(obj) or is_cloudwatch_record(obj)


def _cloudwatch_events(doc: Any) -> list[Any] | None:
    """The log events of a CloudWatch export document, or None."""
    if not isinstance(doc, dict):
        return None
    if doc.get("messageType") in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
        events = doc.get("logEvents")
        return events if isinstance(events, list) else []
    events = doc.get("events")
    if isinstance(events, list) and events and all(isinstance(e, dict) for e in events):
        if any(is_cloudwatch_record(e) for e in events):
            return events
    return None


def matches_document(doc: Any) -> bool:
    """A whole JSON document of managed-cluster audit records."""
    if is_wrapped(doc):
        return True
    if isinstance(doc, dict) and doc.get("messageType") in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
        return isinstance(doc.get("logGroup"), str)
    if _cloudwatch_events(doc) is not None:
        return True
    return isinstance(doc, list) and bool(doc) and is_wrapped(doc[0])


def matches_yaml(documents: list[tuple[int, Any]]) -> bool:
    """A YAML stream of Cloud Audit Logs entries (``gcloud logging read``)."""
    return bool(documents) and is_gke_entry(documents[0][1])


def matches_text(first_line: str) -> bool:
    """An S3 export of CloudWatch Logs: ``<ISO time> <audit Event JSON>`` per line."""
    head, _, rest = first_line.partition(" ")
    return (
        len(head) >= 20
        and head[:4].isdigit()
        and head[4] == "-"
        and "T" in head
        and rest.startswith("{")
        and '"auditID"' in rest
    )


def document_records(doc: Any) -> list[tuple[str, str]] | None:
    """``(locator, JSON text)`` records of a managed-cluster document, or None.

    CloudWatch log events get the export's log group and stream copied in, so
    every record knows its cluster.
    """
    events = _cloudwatch_events(doc)
    if events is not None:
        assert isinstance(doc, dict)
        if doc.get("messageType") == "CONTROL_MESSAGE":
            return [("#", json.dumps({"messageType": "CONTROL_MESSAGE"}))]
        key = "logEvents" if "logEvents" in doc else "events"
        shared = {k: doc[k] for k in ("logGroup", "logStream") if isinstance(doc.get(k), str)}
        out = []
        for i, event in enumerate(events):
            item = {**shared, **event} if isinstance(event, dict) else event
            out.append(("#" + pointer(key, i), json.dumps(item)))
        return out
    if isinstance(doc, list) and doc and is_wrapped(doc[0]):
        return [(f"#/{i}", json.dumps(item)) for i, item in enumerate(doc)]
    if is_wrapped(doc):
        return [("#", json.dumps(doc))]
    return None


def yaml_records(documents: list[tuple[int, Any]]) -> list[tuple[str, str]]:
    """``(locator, JSON text)`` for each document of a YAML stream."""
    return [(f"doc:{n}#", json.dumps(doc, default=str)) for n, doc in documents]


def strip_export_timestamps(ctx: LoadContext) -> None:
    """For a CloudWatch S3 export, read each line's JSON after its leading timestamp."""
    ctx.con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {LINES_TABLE} AS
        SELECT rowid + 1 AS line_no, NULL::VARCHAR AS loc,
            CASE WHEN regexp_matches(line, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[^ ]+ [{{]')
                 THEN substr(line, strpos(line, ' ') + 1) ELSE line END AS line
        FROM {RAW_TABLE}
        """
    )


# -- SQL: unwrapping every envelope into an audit Event -----------------------------


def _pointer_sql(suffix: str) -> str:
    """The locator of a wrapped payload: a JSON pointer appended to the record's locator."""
    return (
        f"CASE WHEN contains(locator, '#') THEN locator || '{suffix}' "
        f"ELSE locator || '#{suffix}' END"
    )


# google.rpc status codes as the HTTP status the API server would have answered.
_RPC_TO_HTTP = (
    "CASE coalesce(e.protoPayload.status.code, 0) WHEN 0 THEN 200 WHEN 1 THEN 499 "
    "WHEN 3 THEN 400 WHEN 4 THEN 504 WHEN 5 THEN 404 WHEN 6 THEN 409 WHEN 7 THEN 403 "
    "WHEN 8 THEN 429 WHEN 9 THEN 400 WHEN 10 THEN 409 WHEN 11 THEN 400 WHEN 12 THEN 501 "
    "WHEN 14 THEN 503 WHEN 16 THEN 401 ELSE 500 END"
)

_GKE_STATUS = "json_extract_string(line, '$.protoPayload.status.code')"
_GKE_FAILURE = "json_extract_string(e.protoPayload.response, '$.status') = 'Failure'"
_GKE_RESPONSE_CODE = "json_extract_string(e.protoPayload.response, '$.code')"

# The GKE entry as an audit.k8s.io Event (JSON text), read back with the Event structure.
_GKE_EVENT = f"""
    json_object(
        'kind', 'Event',
        'auditID', coalesce(e.operation.id, e.insertId),
        'stage', 'ResponseComplete',
        'level', CASE WHEN e.protoPayload.request IS NOT NULL
                        OR e.protoPayload.response IS NOT NULL THEN 'RequestResponse'
                      ELSE 'Metadata' END,
        'stageTimestamp', e.timestamp,
        'verb', regexp_extract(e.protoPayload.methodName, '([^.]+)$', 1),
        'requestURI', CASE WHEN g_resource IS NULL THEN '/' || e.protoPayload.resourceName END,
        'user', json_object('username', e.protoPayload.authenticationInfo.principalEmail),
        'sourceIPs', CASE WHEN e.protoPayload.requestMetadata.callerIp IS NOT NULL
                          THEN json_array(e.protoPayload.requestMetadata.callerIp) END,
        'userAgent', e.protoPayload.requestMetadata.callerSuppliedUserAgent,
        'objectRef', CASE WHEN g_resource IS NOT NULL THEN json_object(
            'apiGroup', g_api_group, 'apiVersion', g_api_version, 'resource', g_resource,
            'subresource', g_subresource, 'namespace', g_namespace, 'name', g_name) END,
        'responseStatus', json_object('code', coalesce(
            CASE WHEN {_GKE_FAILURE} THEN TRY_CAST({_GKE_RESPONSE_CODE} AS INTEGER) END,
            {_RPC_TO_HTTP})),
        'annotations', json_merge_patch(
            json_object('authorization.k8s.io/decision',
                CASE WHEN list_bool_or(list_transform(e.protoPayload.authorizationInfo,
                                                      lambda a: a.granted = false)) THEN 'forbid'
                     WHEN list_bool_or(list_transform(e.protoPayload.authorizationInfo,
                                                      lambda a: a.granted)) THEN 'allow' END),
            coalesce(to_json(e.labels), '{{}}')),
        'requestObject', e.protoPayload.request,
        'responseObject', CASE WHEN g_resource NOT IN ('secrets', 'tokenreviews')
                                AND g_subresource IS DISTINCT FROM 'token'
                               THEN e.protoPayload.response END
    )
"""


def unwrap_sql(structure_sql: str) -> str:
    """SELECT over ``parsed`` giving every record as an audit Event plus provider columns.

    ``structure_sql`` is the (extended) Event structure as a SQL-quoted JSON
    text. Output columns: ``line_no, line, locator, e`` and ``provider,
    log_category, provider_resource, cluster_name, principal_email,
    skip_reason, provider_problem`` (why a record's own values are out of their
    domain, or NULL).
    """
    s = structure_sql
    empty_event = " AND ".join(
        f"json_extract(e.properties.log, '$.{key}') IS NULL"
        for key in ("auditID", "stage", "verb", "user")
    )
    return f"""
    SELECT line_no, line,
        CASE wrap WHEN 1 THEN {_pointer_sql("/properties/log")}
                  WHEN 2 THEN {_pointer_sql("/message")} ELSE locator END AS locator,
        CASE wrap
            WHEN 1 THEN CASE WHEN json_valid(e.properties.log)
                             THEN json_transform(e.properties.log, '{s}') END
            WHEN 2 THEN CASE WHEN json_valid(e.message) THEN json_transform(e.message, '{s}') END
            WHEN 3 THEN CASE WHEN k8s THEN json_transform(({_GKE_EVENT}), '{s}') END
            ELSE e END AS e,
        CASE wrap WHEN 1 THEN 'aks' WHEN 2 THEN 'eks' WHEN 3 THEN 'gke'
                  ELSE 'kubernetes' END AS provider,
        CASE wrap WHEN 1 THEN e.category
                  WHEN 2 THEN coalesce(e.logStreamName, e.logStream)
                  WHEN 3 THEN url_decode(regexp_extract(e.logName, '/logs/(.*)$', 1)) END
            AS log_category,
        CASE wrap WHEN 1 THEN e.resourceId
                  WHEN 2 THEN e.logGroup
                  WHEN 3 THEN 'projects/' || e.resource.labels['project_id'] || '/locations/'
                      || e.resource.labels['location'] || '/clusters/'
                      || e.resource.labels['cluster_name'] END AS provider_resource,
        CASE wrap
            WHEN 1
                THEN nullif(regexp_extract(e.resourceId, '/managedclusters/([^/]+)$', 1, 'i'), '')
            WHEN 2 THEN nullif(regexp_extract(e.logGroup, '^/aws/eks/([^/]+)/', 1), '')
            WHEN 3 THEN e.resource.labels['cluster_name'] END AS cluster_name,
        CASE wrap WHEN 3 THEN e.protoPayload.authenticationInfo.principalEmail END
            AS principal_email,
        CASE
            WHEN wrap = 3 AND NOT k8s THEN 'a Cloud Audit Logs entry for '
                || coalesce(e.resource.type, 'an unnamed resource type') || ' ('
                || coalesce(e.protoPayload.serviceName, '?') || ' '
                || coalesce(e.protoPayload.methodName, '?')
                || '), not a Kubernetes API request'
            WHEN wrap = 0 AND e.messageType = 'CONTROL_MESSAGE'
                THEN 'a CloudWatch Logs subscription control message'
            WHEN wrap = 1 AND json_valid(e.properties.log) AND {empty_event}
                THEN 'an AKS record whose audit event is empty (no auditID, stage, verb or user)'
        END AS skip_reason,
        -- The codes the outcome is read from, checked as written (the structure would round
        -- 7.5 to 8, and turn "abc" into NULL, which reads as success).
        CASE WHEN wrap = 3 AND k8s AND NOT {int_domain_sql(_GKE_STATUS, 0, None, "INTEGER")}
                 THEN 'protoPayload.status.code is not a google.rpc code: '
                     || left({_GKE_STATUS}, 40)
             WHEN wrap = 3 AND k8s AND {_GKE_FAILURE}
                  AND NOT {int_domain_sql(_GKE_RESPONSE_CODE, 100, 599, "INTEGER")}
                 THEN 'protoPayload.response.code is not an HTTP status code: '
                     || coalesce(left({_GKE_RESPONSE_CODE}, 40), 'missing')
        END AS provider_problem
    FROM (
        SELECT t.*,
            CASE WHEN ok THEN CASE WHEN p[1] = 'core' THEN '' ELSE p[1] END END AS g_api_group,
            CASE WHEN ok THEN p[2] END AS g_api_version,
            CASE WHEN NOT ok THEN NULL WHEN namespaced THEN p[5] ELSE p[3] END AS g_resource,
            CASE WHEN namespaced THEN p[4] END AS g_namespace,
            CASE WHEN NOT ok THEN NULL WHEN namespaced THEN p[6] ELSE p[4] END AS g_name,
            CASE WHEN NOT ok THEN NULL WHEN namespaced THEN p[7] ELSE p[5] END AS g_subresource
        FROM (
            SELECT w.*, coalesce(ok, false) AND p[3] = 'namespaces' AND len(p) >= 5 AS namespaced
            FROM (
                SELECT v.*, coalesce(len(p) >= 3
                    AND regexp_matches(p[2], '^v[0-9]+([a-z]+[0-9]+)?$'), false) AS ok
                FROM (
                    SELECT parsed.*,
                        CASE WHEN e.category IN {AKS_CATEGORIES}
                                  AND e.properties.log IS NOT NULL THEN 1
                             WHEN e.protoPayload."@type" = '{GKE_AUDIT_TYPE}' THEN 3
                             WHEN e.auditID IS NULL AND e.message IS NOT NULL THEN 2
                             ELSE 0 END AS wrap,
                        coalesce(e.resource.type = 'k8s_cluster',
                                 e.protoPayload.serviceName = 'k8s.io', false) AS k8s,
                        string_split(e.protoPayload.resourceName, '/') AS p
                    FROM parsed
                ) v
            ) w
        ) t
    ) x
    """


def provider_columns(*, wrapped: bool) -> str:
    """The provider columns of the INSERT's SELECT list (over ``rec``)."""
    ids = """,
        e.user.extra['oid'][1] AS principal_object_id,
        coalesce(e.user.extra['canonicalArn'][1], e.user.extra['arn'][1]) AS principal_arn
    """
    if not wrapped:
        return "'kubernetes' AS provider" + ids
    return (
        "provider, log_category, provider_resource, cluster_name AS cluster, principal_email" + ids
    )
