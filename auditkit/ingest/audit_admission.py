"""Admission decisions recorded in API audit events, as ``admission_results`` rows.

The API server annotates audit events with what admission control decided:

- Pod Security admission: ``pod-security.kubernetes.io/enforce-policy``
  (the level enforced; the request passed it, or was refused when the response
  is 403 with a PodSecurity message), ``.../audit-violations`` (the request
  violated the audit level but was admitted), ``.../exempt`` (not evaluated);
- ValidatingAdmissionPolicy: ``validation.policy.admission.k8s.io/validation_failure``,
  a JSON list of failures with the policy, binding and validation actions;
- a refusal by an admission webhook (Kyverno, Gatekeeper, others) or by a
  ValidatingAdmissionPolicy with the Deny action shows only in the response
  message (``admission webhook "<name>" denied the request: ...``).

GKE carries the same annotations as the entry's ``labels``. Rows are derived
from audit events already stored for the file (joined on the locator), so they
carry that event's provenance; they are not counted as records of their own.
"""

from __future__ import annotations

import json

from auditkit.ingest.audit_managed import AKS_CATEGORIES, GKE_AUDIT_TYPE
from auditkit.ingest.base import LoadContext
from auditkit.ingest.jsonlines import LINES_TABLE
from auditkit.store import first_row

_ENVELOPE = json.dumps(
    {
        "category": "VARCHAR",
        "properties": {"log": "VARCHAR"},
        "message": "VARCHAR",
        "auditID": "VARCHAR",
        "labels": "MAP(VARCHAR, VARCHAR)",
        "protoPayload": {
            "@type": "VARCHAR",
            "status": {"message": "VARCHAR"},
            "response": "JSON",
        },
    }
).replace("'", "''")
_EVENT = json.dumps(
    {"annotations": "MAP(VARCHAR, VARCHAR)", "responseStatus": {"message": "VARCHAR"}}
)
_VAP_FAILURES = json.dumps(
    [
        {
            "message": "VARCHAR",
            "policy": "VARCHAR",
            "binding": "VARCHAR",
            "validationActions": ["VARCHAR"],
        }
    ]
)
_PREFILTER = (
    "contains(line, 'pod-security.kubernetes.io') "
    "OR contains(line, 'validation.policy.admission.k8s.io') "
    "OR contains(line, 'denied the request') OR contains(line, 'denied request')"
)
_KIND = """CASE k.resource WHEN 'pods' THEN 'Pod' WHEN 'deployments' THEN 'Deployment'
    WHEN 'statefulsets' THEN 'StatefulSet' WHEN 'daemonsets' THEN 'DaemonSet'
    WHEN 'replicasets' THEN 'ReplicaSet' WHEN 'jobs' THEN 'Job' WHEN 'cronjobs' THEN 'CronJob'
    WHEN 'namespaces' THEN 'Namespace' WHEN 'services' THEN 'Service'
    WHEN 'configmaps' THEN 'ConfigMap' WHEN 'secrets' THEN 'Secret'
    ELSE k.resource END"""


_BASE = (
    "source_sha256, locator, audit_id, event_time, response_code, api_group, api_version, "
    "namespace, name, kind, msg"
)


def _pointer(suffix: str) -> str:
    return (
        f"CASE WHEN contains(locator, '#') THEN locator || '{suffix}' "
        f"ELSE locator || '#{suffix}' END"
    )


def extract_admission(ctx: LoadContext) -> int:
    """Write the admission decisions of the file's stored audit events; returns the row count."""
    sql = f"""
    INSERT INTO admission_results BY NAME
    WITH lines AS (
        SELECT coalesce(loc, 'line:' || line_no) AS locator, line FROM {LINES_TABLE}
        WHERE line IS NOT NULL AND ({_PREFILTER}) AND json_valid(line)
    ),
    env AS MATERIALIZED (
        SELECT locator, line, json_transform(line, '{_ENVELOPE}') AS w FROM lines
    ),
    kinds AS (
        SELECT *,
            CASE WHEN w.category IN {AKS_CATEGORIES} AND w.properties.log IS NOT NULL THEN 1
                 WHEN w.protoPayload."@type" = '{GKE_AUDIT_TYPE}' THEN 3
                 WHEN w.auditID IS NULL AND w.message IS NOT NULL THEN 2 ELSE 0 END AS wrap
        FROM env
    ),
    events AS (
        SELECT
            CASE wrap WHEN 1 THEN {_pointer("/properties/log")}
                      WHEN 2 THEN {_pointer("/message")} ELSE locator END AS locator,
            CASE wrap WHEN 3 THEN w.labels
                      ELSE json_transform(payload, '{_EVENT}').annotations END AS ann,
            CASE wrap WHEN 3
                THEN coalesce(json_extract_string(w.protoPayload.response, '$.message'),
                              w.protoPayload.status.message)
                      ELSE json_transform(payload, '{_EVENT}').responseStatus.message END AS msg
        FROM (
            SELECT *, CASE wrap WHEN 1 THEN w.properties.log WHEN 2 THEN w.message
                                WHEN 0 THEN line END AS payload
            FROM kinds
        )
        WHERE wrap = 3 OR json_valid(payload)
    ),
    joined AS (
        SELECT k.source_sha256, k.locator, k.audit_id, k.event_time, k.response_code,
            k.api_group, k.api_version, k.namespace,
            coalesce(nullif(k.name, ''), json_extract_string(k.request_object, '$.metadata.name'),
                     json_extract_string(k.request_object, '$.metadata.generateName')) AS name,
            {_KIND} AS kind, ev.ann, ev.msg
        FROM events ev
        JOIN k8s_audit_events k ON k.source_sha256 = ? AND k.locator = ev.locator
    ),
    found AS (
        -- Pod Security admission, enforce level: passed, or refused
        SELECT {_BASE}, 'pod-security' AS engine, ann['pod-security.kubernetes.io/enforce-policy']
                AS policy, NULL AS rule, 'enforce' AS action,
            CASE WHEN response_code BETWEEN 200 AND 299 THEN 'pass'
                 WHEN response_code = 403 AND (msg IS NULL OR contains(msg, 'PodSecurity'))
                     THEN 'fail'
                 ELSE 'unknown' END AS result,
            CASE WHEN response_code = 403 THEN msg END AS message, NULL AS properties
        FROM joined j WHERE ann['pod-security.kubernetes.io/enforce-policy'] IS NOT NULL
        UNION ALL
        -- Pod Security admission, audit level: admitted with a recorded violation
        SELECT {_BASE}, 'pod-security',
            coalesce(nullif(regexp_extract(ann['pod-security.kubernetes.io/audit-violations'],
                                           'PodSecurity "([^"]+)"', 1), ''), 'audit'),
            NULL, 'audit', 'fail', ann['pod-security.kubernetes.io/audit-violations'], NULL
        FROM joined j WHERE ann['pod-security.kubernetes.io/audit-violations'] IS NOT NULL
        UNION ALL
        SELECT {_BASE}, 'pod-security', 'exempt', ann['pod-security.kubernetes.io/exempt'],
            'exempt', 'skip', 'exempt from Pod Security admission by '
                || ann['pod-security.kubernetes.io/exempt'], NULL
        FROM joined j WHERE ann['pod-security.kubernetes.io/exempt'] IS NOT NULL
        UNION ALL
        -- ValidatingAdmissionPolicy failures recorded for the Audit action
        SELECT {_BASE}, 'validating-admission-policy', f.policy, f.binding,
            CASE WHEN list_contains(f.validationActions, 'Deny') THEN 'enforce'
                 WHEN list_contains(f.validationActions, 'Audit') THEN 'audit'
                 WHEN list_contains(f.validationActions, 'Warn') THEN 'warn' END,
            'fail', f.message,
            to_json({{'validationActions': f.validationActions}})
        FROM (
            SELECT j.*, unnest(CASE WHEN json_valid(raw) THEN from_json(raw, '{_VAP_FAILURES}')
                                    END) AS f
            FROM (SELECT *, ann['validation.policy.admission.k8s.io/validation_failure'] AS raw
                  FROM joined) j
            WHERE raw IS NOT NULL
        ) j
        UNION ALL
        -- refusals that only the response message names
        SELECT {_BASE},
            CASE WHEN webhook IS NULL THEN 'validating-admission-policy'
                 WHEN contains(lower(webhook), 'kyverno') THEN 'kyverno'
                 WHEN contains(lower(webhook), 'gatekeeper') THEN 'gatekeeper'
                 ELSE 'admission-webhook' END,
            coalesce(webhook, vap_policy), vap_binding, 'enforce', 'fail', msg, NULL
        FROM (
            SELECT j.*,
                nullif(regexp_extract(msg, 'admission webhook "([^"]+)" denied the request', 1), '')
                    AS webhook,
                nullif(regexp_extract(msg, 'ValidatingAdmissionPolicy ''([^'']+)''', 1), '')
                    AS vap_policy,
                nullif(regexp_extract(msg, 'with binding ''([^'']+)''', 1), '') AS vap_binding
            FROM joined j
            WHERE response_code BETWEEN 400 AND 499 AND msg IS NOT NULL
        ) j
        WHERE webhook IS NOT NULL OR vap_policy IS NOT NULL
    )
    SELECT source_sha256, locator, engine, 'audit-event' AS origin, policy, rule, result,
        result AS result_raw, action, message,
        kind AS resource_kind, namespace AS resource_namespace, name AS resource_name,
        event_time AS result_time, audit_id, properties,
        CASE WHEN api_group IS NOT NULL AND api_group <> ''
             THEN api_group || '/' || api_version ELSE api_version END AS resource_api_version
    FROM found
    """
    row = first_row(ctx.con.execute(sql, [ctx.source.sha256]))
    return int(row[0]) if row else 0
