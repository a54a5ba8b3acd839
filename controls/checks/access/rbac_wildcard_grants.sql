-- One row per role that at least one binding grants to a subject.
WITH bound AS (
    SELECT role_kind,
        CASE WHEN role_kind = 'Role' THEN namespace END AS role_namespace,
        role_name,
        string_agg(DISTINCT subject_kind || ':' || subject_principal, ', '
                   ORDER BY subject_kind || ':' || subject_principal) AS bound_subjects
    FROM current_rbac_bindings
    WHERE subject_name IS NOT NULL
    GROUP BY ALL
),
roles AS (
    SELECT r.role_kind, r.role_namespace, r.role_name,
        -- The same role can appear in several files of one snapshot: count rules once.
        count(DISTINCT r.rule_index) FILTER (
            WHERE list_contains(r.verbs, '*') OR list_contains(r.resources, '*')) AS wildcard_rules,
        arg_min(r.source_sha256, r.rule_index) FILTER (
            WHERE list_contains(r.verbs, '*') OR list_contains(r.resources, '*')) AS bad_sha,
        arg_min(r.locator, r.rule_index) FILTER (
            WHERE list_contains(r.verbs, '*') OR list_contains(r.resources, '*')) AS bad_locator,
        min(r.source_sha256) AS any_sha, min(r.locator) AS any_locator
    FROM current_rbac_rules r
    GROUP BY ALL
)
SELECT
    b.role_kind || '/' || coalesce(b.role_namespace || '/', '') || b.role_name AS resource,
    CASE
        WHEN b.role_name = 'cluster-admin' OR b.role_name LIKE 'system:%' THEN 'not_applicable'
        WHEN r.role_name IS NULL THEN 'not_applicable'
        WHEN r.wildcard_rules > 0 THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN b.role_name = 'cluster-admin' THEN 'cluster-admin bindings are judged by rbac_cluster_admin_bindings'
        WHEN b.role_name LIKE 'system:%' THEN 'Kubernetes bootstrap role, managed by the control plane'
        WHEN r.role_name IS NULL THEN 'the bound role was not in the RBAC export, so its rules are unknown'
        WHEN r.wildcard_rules > 0 THEN r.wildcard_rules || ' rule(s) grant "*" verbs or resources to ' || b.bound_subjects
        ELSE 'no wildcard verbs or resources'
    END AS reason,
    coalesce(r.bad_sha, r.any_sha) AS source_sha256,
    coalesce(r.bad_locator, r.any_locator) AS locator,
    b.role_kind, b.role_namespace, b.role_name,
    coalesce(r.wildcard_rules, 0) AS wildcard_rules, b.bound_subjects
FROM bound b
LEFT JOIN roles r
  ON r.role_kind = b.role_kind AND r.role_name = b.role_name
 AND r.role_namespace IS NOT DISTINCT FROM b.role_namespace
