-- Shared by the admission checks: every piece of evidence about admission control in each CDE
-- and connected namespace, one row per (namespace, mechanism, policy). enforcing says whether
-- the mechanism refuses a non-compliant workload there (rather than only auditing or warning).
-- Sources:
--   * Pod Security admission labels on the Namespace objects of the current access snapshot:
--     pod-security.kubernetes.io/enforce baseline or restricted enforces; privileged, or only the
--     audit/warn labels, does not;
--   * admission policies of the current policy snapshot (Kyverno rules, Gatekeeper constraints,
--     ValidatingAdmissionPolicy bindings) that apply to workloads: no kind list, or one naming
--     Pod or a workload controller; a namespace is covered when no namespace list is given or a
--     listed glob matches it, and no exclusion matches it. A Kyverno
--     validationFailureActionOverrides entry naming the namespace sets the action there. A policy
--     that selects namespaces by label (selector_unresolved) is listed but never counts as
--     enforcing, since which namespaces it selects is not known;
--   * Pod Security decisions recorded in API audit events between the period start and the as-of
--     date (pod-security.kubernetes.io/enforce-policy): at baseline or restricted, the API
--     server enforcing that level on a request in that namespace; at privileged (what the API
--     server records when no enforce label is set), evidence that nothing was enforced.
WITH ns AS (SELECT namespace, min(zone) AS zone FROM scope_namespaces GROUP BY namespace),
labels AS (
    SELECT o.name AS namespace, o.source_sha256, o.locator,
        json_extract_string(o.labels, '$."pod-security.kubernetes.io/enforce"') AS enforce_level,
        json_extract_string(o.labels, '$."pod-security.kubernetes.io/enforce-version"') AS enforce_version,
        json_extract_string(o.labels, '$."pod-security.kubernetes.io/audit"') AS audit_level,
        json_extract_string(o.labels, '$."pod-security.kubernetes.io/warn"') AS warn_level
    FROM current_k8s_objects o
    WHERE o.kind = 'Namespace'
),
psa_labels AS (
    SELECT l.namespace, 'pod-security' AS mechanism,
        CASE WHEN l.enforce_level IS NOT NULL
             THEN 'enforce=' || l.enforce_level || coalesce(':' || l.enforce_version, '')
             WHEN l.audit_level IS NOT NULL THEN 'audit=' || l.audit_level
             ELSE 'warn=' || l.warn_level END AS policy,
        NULL::VARCHAR AS rule,
        CASE WHEN l.enforce_level IN ('baseline', 'restricted') THEN 'enforce'
             WHEN l.enforce_level IS NOT NULL THEN 'enforce-privileged'
             WHEN l.audit_level IS NOT NULL THEN 'audit' ELSE 'warn' END AS action,
        l.enforce_level IN ('baseline', 'restricted') AS enforcing,
        false AS unresolved, 'Namespace label' AS evidence, NULL::TIMESTAMP AS seen_at,
        l.source_sha256, l.locator
    FROM labels l
    WHERE l.enforce_level IS NOT NULL OR l.audit_level IS NOT NULL OR l.warn_level IS NOT NULL
),
policies AS (
    SELECT p.*,
        p.match_kinds IS NULL
            OR list_has_any(p.match_kinds, ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet',
                                            'ReplicaSet', 'Job', 'CronJob', '*']) AS workloads
    FROM current_admission_policies p
    WHERE p.action IS NOT NULL OR p.selector_unresolved
),
applied AS (
    SELECT n.namespace, p.engine AS mechanism,
        p.kind || '/' || coalesce(p.namespace || '/', '') || p.name AS policy, p.rule,
        coalesce(
            (SELECT lower(json_extract_string(o.value, '$.action'))
             FROM json_each(p.namespace_overrides) o
             WHERE list_bool_or(list_transform(
                       from_json(json_extract(o.value, '$.namespaces'), '["VARCHAR"]'),
                       lambda g: n.namespace GLOB g))
             LIMIT 1),
            p.action) AS action,
        p.selector_unresolved AS unresolved,
        p.source_sha256, p.locator
    FROM ns n
    JOIN policies p
      ON p.workloads
     AND (p.match_namespaces IS NULL
          OR list_bool_or(list_transform(p.match_namespaces, lambda g: n.namespace GLOB g)))
     AND NOT coalesce(list_bool_or(list_transform(p.exclude_namespaces,
                                                  lambda g: n.namespace GLOB g)), false)
),
from_policies AS (
    SELECT namespace, mechanism, policy, rule,
        CASE WHEN unresolved THEN 'selector unresolved' ELSE action END AS action,
        action = 'enforce' AND NOT unresolved AS enforcing, unresolved,
        'admission policy' AS evidence, NULL::TIMESTAMP AS seen_at, source_sha256, locator
    FROM applied
),
decisions AS (
    SELECT r.resource_namespace AS namespace, 'pod-security' AS mechanism,
        'enforce=' || r.policy || ' (audit events)' AS policy, NULL AS rule,
        CASE WHEN split_part(r.policy, ':', 1) = 'privileged' THEN 'enforce-privileged'
             ELSE 'enforce' END AS action,
        split_part(r.policy, ':', 1) <> 'privileged' AS enforcing,
        false AS unresolved, 'audit event' AS evidence,
        max(r.result_time) AS seen_at,
        arg_max(r.source_sha256, (r.result_time, r.locator)) AS source_sha256,
        arg_max(r.locator, (r.result_time, r.locator)) AS locator
    FROM current_admission_results r
    WHERE r.origin = 'audit-event' AND r.engine = 'pod-security' AND r.action = 'enforce'
      AND split_part(r.policy, ':', 1) IN ('privileged', 'baseline', 'restricted')
      AND r.result_time >= $period_start AND r.result_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND r.resource_namespace IN (SELECT namespace FROM ns)
    GROUP BY r.resource_namespace, r.policy
)
SELECT e.*, n.zone
FROM (
    SELECT * FROM psa_labels UNION ALL SELECT * FROM from_policies UNION ALL SELECT * FROM decisions
) e
JOIN ns n USING (namespace)
