-- One row per binding subject ("<Kind>/[<namespace>/]<name> -> <Kind>:<principal>") holding a
-- privileged permission in the current RBAC snapshot, listing each privileged permission with the
-- subject's last use of it in the period (from the audit log) and the permissions never used.
-- Subjects the workspace declares break-glass ([[break_glass]] in auditkit.toml, staged as the
-- table break_glass) are kept for emergencies: not using them is expected.
WITH classes(class, label) AS (
    VALUES ('secrets_read', 'read secrets'), ('pods_exec', 'exec into pods'),
        ('pods_attach', 'attach to pods'), ('pods_portforward', 'port-forward to pods'),
        ('cde_workload_create', 'create workloads in CDE namespaces'),
        ('escalate_bind', 'escalate or bind roles'), ('impersonate', 'impersonate identities'),
        ('wildcard', 'wildcard verbs or resources')
),
-- The RBAC permissions (API group, resource[/subresource], verb) that make up each class.
atoms(class, api_group, resource, verb) AS (
    VALUES ('secrets_read', '', 'secrets', 'get'), ('secrets_read', '', 'secrets', 'list'),
        ('secrets_read', '', 'secrets', 'watch'),
        ('pods_exec', '', 'pods/exec', 'create'), ('pods_exec', '', 'pods/exec', 'get'),
        ('pods_attach', '', 'pods/attach', 'create'), ('pods_attach', '', 'pods/attach', 'get'),
        ('pods_portforward', '', 'pods/portforward', 'create'),
        ('pods_portforward', '', 'pods/portforward', 'get'),
        ('cde_workload_create', '', 'pods', 'create'),
        ('cde_workload_create', 'apps', 'deployments', 'create'),
        ('cde_workload_create', 'apps', 'statefulsets', 'create'),
        ('cde_workload_create', 'apps', 'daemonsets', 'create'),
        ('cde_workload_create', 'apps', 'replicasets', 'create'),
        ('cde_workload_create', 'batch', 'jobs', 'create'),
        ('cde_workload_create', 'batch', 'cronjobs', 'create'),
        ('escalate_bind', 'rbac.authorization.k8s.io', 'roles', 'escalate'),
        ('escalate_bind', 'rbac.authorization.k8s.io', 'clusterroles', 'escalate'),
        ('escalate_bind', 'rbac.authorization.k8s.io', 'roles', 'bind'),
        ('escalate_bind', 'rbac.authorization.k8s.io', 'clusterroles', 'bind'),
        ('impersonate', '', 'users', 'impersonate'), ('impersonate', '', 'groups', 'impersonate'),
        ('impersonate', '', 'serviceaccounts', 'impersonate'),
        ('impersonate', 'authentication.k8s.io', 'uids', 'impersonate')
),
cde AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
-- Each granting rule with the classes it gives (RBAC matching: "*" and "*/<subresource>").
-- Workload creation counts only where the grant reaches a CDE namespace.
granted AS (
    SELECT DISTINCT g.*, a.class
    FROM rbac_grants g
    JOIN atoms a
      ON (list_contains(g.api_groups, '*') OR list_contains(g.api_groups, a.api_group))
     AND (list_contains(g.verbs, '*') OR list_contains(g.verbs, a.verb))
     AND (list_contains(g.resources, '*') OR list_contains(g.resources, a.resource)
          OR (a.resource LIKE '%/%' AND list_contains(g.resources, '*/' || split_part(a.resource, '/', 2))))
    WHERE a.class <> 'cde_workload_create'
       OR g.grant_namespace IN (SELECT namespace FROM cde)
       OR (g.grant_namespace IS NULL AND EXISTS (SELECT 1 FROM cde))
    UNION ALL
    SELECT g.*, 'wildcard' AS class
    FROM rbac_grants g
    WHERE list_contains(g.verbs, '*') OR list_contains(g.resources, '*')
),
-- Allowed requests of the period (their stages share the audit ID). authorized_by: the binding
-- and subject the RBAC authorizer names in its reason, in rbac_grants' key format, when it does.
req AS (
    SELECT audit_id, username, effective_user, user_groups,
        impersonated_user IS NOT NULL AS impersonating, coalesce(api_group, '') AS api_group,
        resource || coalesce('/' || subresource, '') AS res, resource, subresource, verb, namespace,
        event_time, source_sha256, locator,
        CASE WHEN a.bkind <> '' THEN
            a.bkind || '/' || CASE WHEN a.bkind = 'RoleBinding'
                                   THEN split_part(a.bname, '/', 2) || '/' || split_part(a.bname, '/', 1)
                                   ELSE a.bname END
            || ' -> ' || a.skind || ':'
            || CASE WHEN a.skind = 'ServiceAccount'
                    THEN 'system:serviceaccount:' || split_part(a.sname, '/', 2) || ':' || split_part(a.sname, '/', 1)
                    ELSE a.sname END
        END AS authorized_by
    FROM (
        SELECT *, regexp_extract(coalesce(authz_reason, ''),
            '^RBAC: allowed by (ClusterRoleBinding|RoleBinding) "([^"]*)" of (?:ClusterRole|Role) "[^"]*" to (User|Group|ServiceAccount) "([^"]*)"$',
            ['bkind', 'bname', 'skind', 'sname']) AS a
        FROM k8s_audit_events
    ) e
    WHERE event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND coalesce(stage, 'ResponseComplete') <> 'RequestReceived'
      AND resource IS NOT NULL AND verb IS NOT NULL
      AND coalesce(authz_decision = 'allow'
                   OR (authz_decision IS NULL AND response_code BETWEEN 100 AND 399), false)
),
-- Whom each request counts for, as RBAC subjects name identities: the identity it ran as and,
-- unless impersonated, that user's groups; for impersonation, the impersonating user and groups.
actor AS (
    SELECT *, effective_user AS principal, false AS is_group, false AS as_impersonator FROM req
    UNION ALL
    SELECT *, unnest(user_groups), true, false FROM req WHERE NOT impersonating
    UNION ALL
    SELECT *, username, false, true FROM req WHERE impersonating
    UNION ALL
    SELECT *, unnest(user_groups), true, true FROM req WHERE impersonating
),
-- The class each request exercises for its actor.
tagged AS (
    SELECT a.*, x.class
    FROM actor a JOIN atoms x ON x.api_group = a.api_group AND x.resource = a.res AND x.verb = a.verb
    WHERE NOT a.as_impersonator AND x.class NOT IN ('escalate_bind', 'impersonate')
    UNION ALL
    SELECT a.*, 'escalate_bind' FROM actor a
    WHERE NOT a.as_impersonator AND a.api_group = 'rbac.authorization.k8s.io' AND a.subresource IS NULL
      AND a.verb IN ('create', 'update', 'patch')
      AND a.resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings')
    UNION ALL
    SELECT a.*, 'impersonate' FROM actor a WHERE a.as_impersonator
    UNION ALL
    SELECT a.*, 'wildcard' FROM actor a WHERE NOT a.as_impersonator
),
-- Only (actor, class) pairs some grant needs, reduced to what the rule matching looks at.
sig AS (
    SELECT row_number() OVER () AS sig_id, *
    FROM (
        SELECT t.principal, t.is_group, t.class, t.api_group, t.res, t.subresource, t.verb,
            t.namespace, t.authorized_by,
            count(DISTINCT t.audit_id) AS requests, max(t.event_time) AS last_used,
            arg_max(t.source_sha256, t.event_time) AS use_sha256,
            arg_max(t.locator, t.event_time) AS use_locator
        FROM tagged t
        SEMI JOIN (SELECT DISTINCT subject_principal, subject_kind = 'Group' AS is_group, class
                   FROM granted) n
          ON n.subject_principal = t.principal AND n.is_group = t.is_group AND n.class = t.class
        GROUP BY ALL
    )
),
uses AS (
    SELECT DISTINCT gr.binding_subject, gr.class, e.sig_id, e.requests, e.last_used, e.use_sha256,
        e.use_locator, e.authorized_by IS NOT NULL AS named_by_authorizer
    FROM granted gr
    JOIN sig e
      ON e.principal = gr.subject_principal AND e.is_group = (gr.subject_kind = 'Group')
     AND e.class = gr.class
    WHERE (gr.class = 'impersonate' OR gr.grant_namespace IS NULL OR e.namespace = gr.grant_namespace)
      -- A request the authorizer credits to a binding counts for that binding only (the
      -- impersonation of another identity is authorized separately from the request it makes).
      AND (gr.class = 'impersonate' OR e.authorized_by IS NULL OR e.authorized_by = gr.binding_subject)
      AND (gr.class <> 'cde_workload_create' OR e.namespace IN (SELECT namespace FROM cde))
      AND (gr.class IN ('escalate_bind', 'impersonate')
           OR ((list_contains(gr.api_groups, '*') OR list_contains(gr.api_groups, e.api_group))
               AND (list_contains(gr.verbs, '*') OR list_contains(gr.verbs, e.verb))
               AND (list_contains(gr.resources, '*') OR list_contains(gr.resources, e.res)
                    OR (e.subresource IS NOT NULL
                        AND list_contains(gr.resources, '*/' || e.subresource)))))
),
used AS (
    SELECT binding_subject, class, sum(requests) AS requests, max(last_used) AS last_used,
        arg_max(use_sha256, last_used) AS use_sha256, arg_max(use_locator, last_used) AS use_locator,
        arg_max(CASE WHEN named_by_authorizer THEN 'the authorizer named this binding'
                     ELSE 'the granting rule covers the request' END, last_used) AS use_matched_by
    FROM uses GROUP BY ALL
),
items AS (
    SELECT binding_subject, class, binding_kind, binding_namespace, binding_name,
        binding_created_at, subject_kind, subject_principal, role_kind, role_name,
        grant_namespace, grant_zone, control_plane, binding_sha256, binding_locator,
        list_sort(list_distinct(list(rule_locator))) AS granting_rules
    FROM granted GROUP BY ALL
),
perms AS (
    SELECT i.*, k.label, u.last_used, u.requests, u.use_sha256, u.use_locator, u.use_matched_by
    FROM items i
    JOIN classes k USING (class)
    LEFT JOIN used u USING (binding_subject, class)
),
bindings AS (
    SELECT binding_subject,
        any_value(binding_kind) AS binding_kind, any_value(binding_namespace) AS binding_namespace,
        any_value(binding_name) AS binding_name, any_value(binding_created_at) AS binding_created_at,
        any_value(subject_kind) AS subject_kind, any_value(subject_principal) AS subject_principal,
        any_value(role_kind) AS role_kind, any_value(role_name) AS role_name,
        any_value(grant_namespace) AS grant_namespace, any_value(grant_zone) AS grant_zone,
        bool_or(control_plane) AS control_plane,
        any_value(binding_sha256) AS binding_sha256, any_value(binding_locator) AS binding_locator,
        list(label ORDER BY label) FILTER (last_used IS NULL) AS unused,
        list(label || ' (last used ' || strftime(last_used, '%Y-%m-%d %H:%M:%S') || ' UTC, '
             || requests || ' request(s), ' || use_matched_by || ')' ORDER BY label)
            FILTER (last_used IS NOT NULL) AS used,
        max(last_used) AS last_used, coalesce(sum(requests), 0) AS requests,
        arg_max(use_sha256, last_used) AS use_sha256, arg_max(use_locator, last_used) AS use_locator,
        list_sort(list_distinct(flatten(list(granting_rules)))) AS granting_rules
    FROM perms GROUP BY binding_subject
),
judged AS (
    SELECT b.*,
        coalesce(len(b.unused), 0) AS unused_count,
        g.justification AS break_glass,
        CAST(b.binding_created_at AS DATE) > least($as_of, $period_end) - $min_days_granted AS recent
    FROM bindings b
    LEFT JOIN break_glass g
      ON g.principal = CASE WHEN b.subject_kind = 'Group' THEN 'group:' || b.subject_principal
                            ELSE b.subject_principal END
)
SELECT
    binding_subject AS resource,
    CASE
        WHEN control_plane THEN 'not_applicable'
        WHEN grant_zone = 'out of scope' THEN 'not_applicable'
        WHEN unused_count = 0 THEN 'pass'
        WHEN break_glass IS NOT NULL THEN 'not_applicable'
        WHEN recent THEN 'not_applicable'
        ELSE 'fail'
    END AS status,
    CASE
        WHEN control_plane THEN 'Kubernetes control-plane grant'
        WHEN grant_zone = 'out of scope'
            THEN 'confined to namespace ' || grant_namespace || ', outside the declared scope'
        WHEN unused_count = 0 THEN 'every privileged permission was used in the period: '
            || array_to_string(used, '; ')
        WHEN break_glass IS NOT NULL THEN 'declared break-glass subject (auditkit.toml: ' || break_glass
            || '); unused in the period as expected: ' || array_to_string(unused, ', ')
        WHEN recent
            THEN 'granted on ' || CAST(binding_created_at AS DATE) || ', fewer than '
                || $min_days_granted || ' days before the end of the evaluated period: too recent to judge from use'
        ELSE 'granted through ' || role_kind || ' ' || role_name
            || CASE WHEN grant_namespace IS NULL THEN ' cluster-wide' ELSE ' in namespace ' || grant_namespace END
            || ', but not used in the period: ' || array_to_string(unused, ', ')
            || coalesce('; used: ' || array_to_string(used, '; '), '')
            || ' (candidates for removal)'
    END AS reason,
    CASE WHEN unused_count = 0 AND NOT control_plane AND grant_zone <> 'out of scope'
         THEN use_sha256 ELSE binding_sha256 END AS source_sha256,
    CASE WHEN unused_count = 0 AND NOT control_plane AND grant_zone <> 'out of scope'
         THEN use_locator ELSE binding_locator END AS locator,
    binding_kind, binding_namespace, binding_name, role_kind, role_name, subject_kind,
    subject_principal, coalesce(grant_namespace, 'cluster-wide') AS grant_scope,
    coalesce(unused, []::VARCHAR[]) AS unused_permissions,
    coalesce(used, []::VARCHAR[]) AS used_permissions, granting_rules, binding_created_at,
    last_used, requests, break_glass
FROM judged
