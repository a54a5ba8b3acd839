-- Shared by the RBAC checks: every grant in the current RBAC snapshot (current_* views), one row
-- per (binding, subject, rule of the bound role). A binding whose role is not in the export, or
-- has no rules, gives one row with NULL rule columns (role_found tells the two apart).
-- The same binding or rule exported in several files of one snapshot counts once.
--
-- binding_subject: the key the RBAC checks use, "<Kind>/[<namespace>/]<name> -> <Kind>:<principal>"
--   (the same shape as rbac_cluster_admin_bindings).
-- grant_namespace: where the rule applies; NULL means cluster-wide (a ClusterRoleBinding).
-- grant_zone: 'cluster-wide', or the zone of grant_namespace: 'cde', 'connected', or
--   'out of scope' for a namespace outside the declared scope.
-- control_plane: a Kubernetes bootstrap grant, managed by the control plane rather than the
--   entity: a system: ClusterRole bound to a system: identity of the control plane, or
--   cluster-admin bound to system:masters. Grants to the groups every identity belongs to
--   (system:authenticated, system:unauthenticated, system:serviceaccounts[:ns]) and to service
--   accounts outside kube-system are never control-plane grants.
WITH b AS (
    SELECT kind AS binding_kind, namespace AS binding_namespace, name AS binding_name,
        role_kind, role_name, subject_kind, subject_name, subject_namespace, subject_principal,
        created_at AS binding_created_at,
        source_sha256 AS binding_sha256, locator AS binding_locator,
        kind || '/' || coalesce(namespace || '/', '') || name || ' -> '
            || coalesce(subject_kind, '-') || ':' || subject_principal AS binding_subject
    FROM current_rbac_bindings
    WHERE subject_principal IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY binding_subject
                               ORDER BY source_sha256, locator) = 1
),
roles AS (
    SELECT DISTINCT kind, namespace, name FROM current_rbac_roles
),
rules AS (
    SELECT role_kind, role_namespace, role_name, rule_index, api_groups, resources, verbs,
        resource_names, non_resource_urls,
        source_sha256 AS rule_sha256, locator AS rule_locator
    FROM current_rbac_rules
    QUALIFY row_number() OVER (
        PARTITION BY role_kind, role_namespace, role_name, api_groups, resources, verbs,
                     resource_names, non_resource_urls
        ORDER BY source_sha256, rule_index, locator) = 1
)
SELECT
    b.binding_subject, b.binding_kind, b.binding_namespace, b.binding_name, b.binding_created_at,
    b.subject_kind, b.subject_name, b.subject_namespace, b.subject_principal,
    b.role_kind, CASE WHEN b.role_kind = 'Role' THEN b.binding_namespace END AS role_namespace,
    b.role_name,
    CASE WHEN b.binding_kind = 'RoleBinding' THEN b.binding_namespace END AS grant_namespace,
    CASE
        WHEN b.binding_kind <> 'RoleBinding' THEN 'cluster-wide'
        WHEN b.binding_namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde') THEN 'cde'
        WHEN b.binding_namespace IN (SELECT namespace FROM scope_namespaces) THEN 'connected'
        ELSE 'out of scope'
    END AS grant_zone,
    EXISTS (SELECT 1 FROM roles x
            WHERE x.kind = b.role_kind AND x.name = b.role_name
              AND x.namespace IS NOT DISTINCT FROM
                  CASE WHEN b.role_kind = 'Role' THEN b.binding_namespace END) AS role_found,
    (b.role_kind = 'ClusterRole'
        AND (b.role_name LIKE 'system:%'
             OR (b.role_name = 'cluster-admin' AND b.subject_principal = 'system:masters'))
        AND b.subject_principal LIKE 'system:%'
        AND b.subject_principal NOT IN ('system:authenticated', 'system:unauthenticated',
                                        'system:anonymous', 'system:serviceaccounts')
        AND b.subject_principal NOT LIKE 'system:serviceaccounts:%'
        AND (b.subject_principal NOT LIKE 'system:serviceaccount:%'
             OR b.subject_principal LIKE 'system:serviceaccount:kube-system:%')) AS control_plane,
    r.rule_index, r.api_groups, r.resources, r.verbs, r.resource_names, r.non_resource_urls,
    r.rule_sha256, r.rule_locator,
    b.binding_sha256, b.binding_locator
FROM b
LEFT JOIN rules r
  ON r.role_kind = b.role_kind AND r.role_name = b.role_name
 AND r.role_namespace IS NOT DISTINCT FROM CASE WHEN b.role_kind = 'Role' THEN b.binding_namespace END
