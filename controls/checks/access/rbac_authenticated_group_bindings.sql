-- One row per (binding, subject) naming the group of every authenticated identity.
WITH b AS (
    SELECT * FROM rbac_grants
    WHERE subject_kind = 'Group' AND subject_principal = 'system:authenticated'
    QUALIFY row_number() OVER (PARTITION BY binding_subject ORDER BY rule_index NULLS FIRST) = 1
)
SELECT
    binding_subject AS resource,
    CASE WHEN role_kind = 'ClusterRole' AND list_contains($allowed_roles, role_name) THEN 'pass'
         ELSE 'fail' END AS status,
    CASE
        WHEN role_kind = 'ClusterRole' AND list_contains($allowed_roles, role_name)
            THEN 'grants only ' || role_name || ', which is on the allowed list'
        ELSE 'every authenticated user and service account holds ' || role_kind || ' ' || role_name
            || CASE WHEN grant_namespace IS NULL THEN ' cluster-wide' ELSE ' in namespace ' || grant_namespace END
    END AS reason,
    binding_sha256 AS source_sha256, binding_locator AS locator,
    binding_kind, binding_namespace, binding_name, role_kind, role_name, subject_kind,
    subject_principal, coalesce(grant_namespace, 'cluster-wide') AS grant_scope
FROM b
