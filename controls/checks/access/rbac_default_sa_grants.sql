-- One row per (binding, subject) whose subject includes a namespace's default service account.
WITH b AS (
    SELECT * FROM rbac_grants
    WHERE (subject_kind = 'ServiceAccount' AND subject_name = 'default')
       OR (subject_kind = 'Group' AND (subject_principal = 'system:serviceaccounts'
                                       OR subject_principal LIKE 'system:serviceaccounts:%'))
    QUALIFY row_number() OVER (PARTITION BY binding_subject ORDER BY rule_index NULLS FIRST) = 1
)
SELECT
    binding_subject AS resource,
    CASE
        WHEN role_kind = 'ClusterRole' AND list_contains($baseline_roles, role_name) THEN 'pass'
        WHEN control_plane THEN 'not_applicable'
        WHEN grant_zone = 'out of scope' THEN 'not_applicable'
        ELSE 'fail'
    END AS status,
    CASE
        WHEN role_kind = 'ClusterRole' AND list_contains($baseline_roles, role_name)
            THEN 'grants only the baseline discovery role ' || role_name
        WHEN control_plane THEN 'Kubernetes control-plane grant to a kube-system account'
        WHEN grant_zone = 'out of scope'
            THEN 'confined to namespace ' || grant_namespace || ', outside the declared scope'
        ELSE CASE WHEN subject_kind = 'ServiceAccount'
                      THEN 'the default service account of namespace ' || subject_namespace
                  WHEN subject_principal = 'system:serviceaccounts'
                      THEN 'every service account, each namespace''s default included,'
                  ELSE 'every service account of namespace ' || substr(subject_principal, 24)
                      || ', its default included,' END
            || ' holds ' || role_kind || ' ' || role_name
            || CASE WHEN grant_namespace IS NULL THEN ' cluster-wide' ELSE ' in namespace ' || grant_namespace END
            || ': any pod that names no service account gets these rights'
    END AS reason,
    binding_sha256 AS source_sha256, binding_locator AS locator,
    binding_kind, binding_namespace, binding_name, role_kind, role_name, subject_kind,
    subject_principal, coalesce(grant_namespace, 'cluster-wide') AS grant_scope
FROM b
