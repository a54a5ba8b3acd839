-- One row per (ClusterRoleBinding, subject).
WITH g AS (
    SELECT *,
        (list_contains(resources, 'secrets') OR list_contains(resources, '*'))
        AND (list_contains(api_groups, '') OR list_contains(api_groups, '*'))
        AND len(list_intersect(verbs, ['get', 'list', 'watch', '*'])) > 0
        AND coalesce(len(resource_names), 0) = 0 AS reads_secrets,
        (list_contains(resources, 'secrets') OR list_contains(resources, '*'))
        AND (list_contains(api_groups, '') OR list_contains(api_groups, '*'))
        AND len(list_intersect(verbs, ['get', 'list', 'watch', '*'])) > 0
        AND len(resource_names) > 0 AS reads_named_secrets
    FROM rbac_grants
    WHERE binding_kind = 'ClusterRoleBinding'
),
s AS (
    SELECT binding_subject, binding_name, role_kind, role_name, subject_kind, subject_principal,
        role_found, control_plane, binding_sha256, binding_locator,
        coalesce(list_sort(list_distinct(flatten(
            list(list_intersect(verbs, ['get', 'list', 'watch', '*'])) FILTER (WHERE reads_secrets)))),
            []::VARCHAR[]) AS secret_verbs,
        arg_min(rule_locator, rule_index) FILTER (WHERE reads_secrets) AS rule_locator,
        coalesce(list_sort(list_distinct(flatten(list(resource_names) FILTER (WHERE reads_named_secrets)))),
                 []::VARCHAR[]) AS named_secrets
    FROM g
    GROUP BY ALL
)
SELECT
    binding_subject AS resource,
    CASE
        WHEN role_kind = 'ClusterRole' AND role_name = 'cluster-admin' THEN 'not_applicable'
        WHEN control_plane THEN 'not_applicable'
        WHEN NOT role_found THEN 'not_applicable'
        WHEN len(secret_verbs) > 0 AND list_contains($approved_subjects, subject_principal) THEN 'pass'
        WHEN len(secret_verbs) > 0 THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN role_kind = 'ClusterRole' AND role_name = 'cluster-admin'
            THEN 'cluster-admin holders are judged by rbac_cluster_admin_bindings'
        WHEN control_plane THEN 'Kubernetes control-plane grant'
        WHEN NOT role_found THEN 'the bound role was not in the RBAC export, so its rules are unknown'
        WHEN len(secret_verbs) > 0 AND list_contains($approved_subjects, subject_principal)
            THEN 'reads secrets cluster-wide (' || array_to_string(secret_verbs, ', ')
                || '); the subject is on the approved list'
        WHEN len(secret_verbs) > 0
            THEN coalesce(subject_kind, '') || ' ' || subject_principal || ' can ' || array_to_string(secret_verbs, ', ')
                || ' every secret in every namespace through ' || role_kind || ' ' || role_name
        WHEN len(named_secrets) > 0 THEN 'reads only the named secret(s) ' || array_to_string(named_secrets, ', ')
        ELSE 'no cluster-wide read of secrets'
    END AS reason,
    binding_sha256 AS source_sha256, binding_locator AS locator,
    binding_name, role_kind, role_name, subject_kind, subject_principal, secret_verbs,
    rule_locator AS secrets_rule
FROM s
