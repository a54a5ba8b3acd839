-- One row per (binding, subject) in the current RBAC snapshot.
-- perms: the permissions that amount to escalation. verb '*' means the literal wildcard only.
WITH perms(verb, api_group, resource, label) AS (
    VALUES
        ('escalate', 'rbac.authorization.k8s.io', 'roles', 'escalate roles'),
        ('escalate', 'rbac.authorization.k8s.io', 'clusterroles', 'escalate clusterroles'),
        ('bind', 'rbac.authorization.k8s.io', 'roles', 'bind roles'),
        ('bind', 'rbac.authorization.k8s.io', 'clusterroles', 'bind clusterroles'),
        ('impersonate', '', 'users', 'impersonate users'),
        ('impersonate', '', 'groups', 'impersonate groups'),
        ('impersonate', '', 'serviceaccounts', 'impersonate serviceaccounts'),
        ('impersonate', 'authentication.k8s.io', 'uids', 'impersonate uids'),
        ('*', 'rbac.authorization.k8s.io', 'rolebindings', 'all verbs on rolebindings'),
        ('*', 'rbac.authorization.k8s.io', 'clusterrolebindings', 'all verbs on clusterrolebindings')
),
hits AS (
    SELECT g.binding_subject, p.label, g.rule_index, g.rule_locator
    FROM rbac_grants g
    JOIN perms p
      ON (list_contains(g.verbs, '*') OR (p.verb <> '*' AND list_contains(g.verbs, p.verb)))
     AND (list_contains(g.api_groups, '*') OR list_contains(g.api_groups, p.api_group))
     AND (list_contains(g.resources, '*') OR list_contains(g.resources, p.resource))
),
s AS (
    SELECT g.binding_subject, g.binding_kind, g.binding_namespace, g.binding_name, g.role_kind,
        g.role_name, g.subject_kind, g.subject_principal, g.grant_namespace, g.grant_zone, g.role_found,
        g.control_plane, g.binding_sha256, g.binding_locator,
        (SELECT coalesce(list_sort(list_distinct(list(h.label))), []::VARCHAR[])
         FROM hits h WHERE h.binding_subject = g.binding_subject) AS escalation_permissions
    FROM rbac_grants g
    QUALIFY row_number() OVER (PARTITION BY g.binding_subject ORDER BY g.rule_index NULLS FIRST) = 1
)
SELECT
    binding_subject AS resource,
    CASE
        WHEN role_kind = 'ClusterRole' AND role_name = 'cluster-admin' THEN 'not_applicable'
        WHEN control_plane THEN 'not_applicable'
        WHEN grant_zone = 'out of scope' THEN 'not_applicable'
        WHEN NOT role_found THEN 'not_applicable'
        WHEN len(escalation_permissions) > 0 AND list_contains($approved_subjects, subject_principal)
            THEN 'pass'
        WHEN len(escalation_permissions) > 0 THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN role_kind = 'ClusterRole' AND role_name = 'cluster-admin'
            THEN 'cluster-admin holders are judged by rbac_cluster_admin_bindings'
        WHEN control_plane THEN 'Kubernetes control-plane grant'
        WHEN grant_zone = 'out of scope'
            THEN 'confined to namespace ' || grant_namespace || ', outside the declared scope'
        WHEN NOT role_found THEN 'the bound role was not in the RBAC export, so its rules are unknown'
        WHEN len(escalation_permissions) > 0 AND list_contains($approved_subjects, subject_principal)
            THEN 'holds ' || array_to_string(escalation_permissions, ', ') || '; the subject is on the approved list'
        WHEN len(escalation_permissions) > 0
            THEN coalesce(subject_kind, '') || ' ' || subject_principal || ' holds '
                || array_to_string(escalation_permissions, ', ')
                || CASE WHEN grant_namespace IS NULL THEN ' cluster-wide' ELSE ' in namespace ' || grant_namespace END
                || ' through ' || role_kind || ' ' || role_name
        ELSE 'no escalate, bind or impersonate permission'
    END AS reason,
    binding_sha256 AS source_sha256, binding_locator AS locator,
    binding_kind, binding_namespace, binding_name, role_kind, role_name, subject_kind,
    subject_principal, coalesce(grant_namespace, 'cluster-wide') AS grant_scope,
    escalation_permissions
FROM s
