-- One row per CDE and connected namespace (does admission control refuse non-compliant
-- workloads there?), plus one row per failing result that the current policy snapshot holds for
-- a resource in those namespaces (policy reports, Gatekeeper audit violations), with its age.
WITH ns AS (SELECT namespace, min(zone) AS zone FROM scope_namespaces GROUP BY namespace),
per_ns AS (
    SELECT n.namespace, n.zone,
        coalesce(bool_or(e.enforcing), false) AS enforcing,
        string_agg(DISTINCT e.mechanism || ' ' || e.policy || coalesce('/' || e.rule, ''), '; '
                   ORDER BY e.mechanism || ' ' || e.policy || coalesce('/' || e.rule, ''))
            FILTER (WHERE e.enforcing) AS enforced_by,
        string_agg(DISTINCT e.mechanism || ' ' || e.policy || coalesce('/' || e.rule, '')
                       || ' (' || e.action || ')', '; '
                   ORDER BY e.mechanism || ' ' || e.policy || coalesce('/' || e.rule, '')
                       || ' (' || e.action || ')')
            FILTER (WHERE NOT e.enforcing) AS not_enforcing,
        arg_max(e.source_sha256, (e.enforcing, e.locator)) AS source_sha256,
        arg_max(e.locator, (e.enforcing, e.locator)) AS locator
    FROM ns n
    LEFT JOIN admission_enforcement e USING (namespace)
    GROUP BY n.namespace, n.zone
),
reported AS (
    SELECT r.*, s.observed_at,
        CASE WHEN r.resource_kind = 'Namespace' AND r.resource_namespace IS NULL
             THEN r.resource_name ELSE r.resource_namespace END AS ns_of,
        r.engine || ' ' || coalesce(r.policy, '-') || coalesce('/' || r.rule, '') AS policy_key,
        coalesce(r.resource_kind, '-') || ' ' || coalesce(r.resource_namespace || '/', '')
            || coalesce(r.resource_name, '-') AS resource_key
    FROM admission_results r
    LEFT JOIN sources s USING (source_sha256)
    WHERE r.origin IN ('policy-report', 'gatekeeper-audit') AND r.result = 'fail'
),
current_fail AS (
    SELECT r.ns_of AS namespace, n.zone, r.policy_key, r.resource_key,
        any_value(r.engine) AS engine, any_value(r.policy) AS policy, any_value(r.rule) AS rule,
        bool_or(r.engine IN ('kyverno', 'gatekeeper', 'validating-admission-policy', 'kubewarden',
                             'jspolicy', 'pod-security')
                OR starts_with(r.engine, 'kyverno')) AS admission,
        string_agg(DISTINCT r.action, ', ' ORDER BY r.action) AS action,
        min(r.message) AS message, max(r.severity) AS rule_severity,
        max(coalesce(r.result_time, r.report_time, r.observed_at)) AS last_reported,
        min(r.source_sha256 || ' ' || r.locator) AS rec
    FROM reported r
    JOIN current_policy_sources c USING (source_sha256)
    JOIN ns n ON n.namespace = r.ns_of
    GROUP BY r.ns_of, n.zone, r.policy_key, r.resource_key
),
first_seen AS (
    SELECT policy_key, resource_key, min(coalesce(result_time, report_time, observed_at)) AS first_failed
    FROM reported
    WHERE coalesce(result_time, report_time, observed_at) < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY policy_key, resource_key
)
SELECT
    'namespace ' || namespace AS resource,
    CASE WHEN enforcing THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN enforcing THEN 'admission control enforces here: ' || enforced_by
         WHEN not_enforcing IS NOT NULL
             THEN 'no admission policy enforces in ' || namespace || '; only: ' || not_enforcing
         ELSE 'no admission policy, Pod Security enforce label or enforce decision applies to '
              || namespace END AS reason,
    source_sha256,
    coalesce(locator, 'absent:admission policies, Pod Security labels and enforce decisions for '
                      || 'namespace ' || namespace) AS locator,
    NULL AS severity,
    'namespace' AS item, namespace, zone, enforced_by, not_enforcing,
    NULL::VARCHAR AS policy, NULL::VARCHAR AS rule, NULL::VARCHAR AS subject,
    NULL::VARCHAR AS action, NULL::VARCHAR AS message,
    NULL::TIMESTAMP AS first_failed, NULL::TIMESTAMP AS last_reported, NULL::BIGINT AS age_days
FROM per_ns
UNION ALL
SELECT
    'result ' || f.policy_key || ' ' || f.resource_key AS resource,
    CASE WHEN f.admission THEN 'fail' ELSE 'not_applicable' END AS status,
    CASE WHEN NOT f.admission
         THEN 'reported by ' || f.engine || ', which is not an admission controller: a scanner '
              || 'finding, judged by the vulnerability and configuration-scan checks'
         ELSE f.policy_key || ' fails on ' || f.resource_key
        || ' in the latest report (' || coalesce(CAST(CAST(f.last_reported AS DATE) AS VARCHAR), 'undated') || ')'
        || coalesce(', failing since ' || CAST(CAST(s.first_failed AS DATE) AS VARCHAR)
                    || ' (' || date_diff('day', CAST(s.first_failed AS DATE), least($as_of, $period_end)) || ' days)', '')
        || coalesce('; action ' || f.action, '') END AS reason,
    split_part(f.rec, ' ', 1) AS source_sha256, split_part(f.rec, ' ', 2) AS locator,
    CASE WHEN f.rule_severity IN ('critical', 'high', 'medium', 'low', 'info') THEN f.rule_severity END
        AS severity,
    'policy result', f.namespace, f.zone, NULL, NULL, f.policy, f.rule, f.resource_key, f.action,
    f.message, s.first_failed, f.last_reported,
    date_diff('day', CAST(s.first_failed AS DATE), least($as_of, $period_end))
FROM current_fail f
LEFT JOIN first_seen s USING (policy_key, resource_key)
