-- One row per (binding, subject) that grants cluster-admin.
SELECT
    kind || '/' || coalesce(namespace || '/', '') || name || ' -> ' || coalesce(subject_kind, '-')
        || ':' || coalesce(subject_principal, '-') AS resource,
    CASE
        WHEN subject_principal = 'system:masters' AND subject_kind = 'Group' THEN 'not_applicable'
        WHEN subject_principal IS NULL THEN 'not_applicable'
        WHEN list_contains($approved_subjects, subject_principal) THEN 'pass'
        ELSE 'fail'
    END AS status,
    CASE
        WHEN subject_principal = 'system:masters' AND subject_kind = 'Group'
            THEN 'control-plane bootstrap binding for the system:masters group'
        WHEN subject_principal IS NULL THEN 'binding has no subjects'
        WHEN list_contains($approved_subjects, subject_principal) THEN 'subject is on the approved list'
        ELSE coalesce(subject_kind, '') || ' ' || subject_principal || ' holds cluster-admin'
            || CASE WHEN kind = 'RoleBinding' THEN ' in namespace ' || namespace ELSE ' cluster-wide' END
            || ' and is not on the approved list'
    END AS reason,
    source_sha256, locator,
    kind AS binding_kind, namespace AS binding_namespace, name AS binding_name,
    subject_kind, subject_principal
FROM current_rbac_bindings
WHERE role_kind = 'ClusterRole' AND role_name = 'cluster-admin'
-- The same binding may appear in several files of one snapshot: keep one row per item.
QUALIFY row_number() OVER (PARTITION BY resource ORDER BY source_sha256, locator) = 1
