-- One row per Kubernetes namespace seen in the data or declared in the scope.
-- A namespace holds something when, in the period, the API server accepted a request on an object
-- in it (2xx or 101), a service account of it made requests, flows or runtime alerts name it, or,
-- in the access snapshot in force, it holds Roles, RoleBindings, NetworkPolicies, other exported
-- objects, service accounts other than the automatic "default", or service accounts bound by a
-- binding. A namespace known only to exist (Namespace object, its creation or deletion, its
-- "default" service account) is empty.
WITH ev AS (
    SELECT namespace, 'API objects' AS kind, resource AS detail, source_sha256, locator, event_time AS t, true AS holds
    FROM k8s_audit_events
    WHERE namespace IS NOT NULL AND (response_code BETWEEN 200 AND 299 OR response_code = 101)
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    UNION ALL
    SELECT split_part(username, ':', 3), 'service account in use', split_part(username, ':', 4),
        source_sha256, locator, event_time, true
    FROM k8s_audit_events
    WHERE starts_with(username, 'system:serviceaccount:')
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    UNION ALL
    SELECT ns, 'flows', NULL, source_sha256, locator, start_time, true FROM (
        SELECT src_namespace AS ns, source_sha256, locator, start_time FROM flows
        WHERE src_namespace IS NOT NULL AND start_time >= $period_start AND start_time < least($as_of, $period_end) + INTERVAL 1 DAY
        UNION ALL
        SELECT dst_namespace, source_sha256, locator, start_time FROM flows
        WHERE dst_namespace IS NOT NULL AND start_time >= $period_start AND start_time < least($as_of, $period_end) + INTERVAL 1 DAY)
    UNION ALL
    SELECT namespace, 'runtime alerts', rule, source_sha256, locator, event_time, true
    FROM runtime_alerts
    WHERE namespace IS NOT NULL AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    UNION ALL
    SELECT namespace, 'Roles', name, source_sha256, locator, NULL, true FROM current_rbac_roles
    WHERE namespace IS NOT NULL
    UNION ALL
    SELECT namespace, 'RoleBindings', name, source_sha256, locator, NULL, true FROM current_rbac_bindings
    WHERE namespace IS NOT NULL
    UNION ALL
    SELECT subject_namespace, 'bound service account',
        subject_name || ' via ' || kind || ' ' || name || ' to ' || role_kind || ' ' || role_name,
        source_sha256, locator, NULL, true
    FROM current_rbac_bindings WHERE subject_kind = 'ServiceAccount' AND subject_namespace IS NOT NULL
    UNION ALL
    SELECT namespace, 'service accounts', name, source_sha256, locator, NULL, name <> 'default'
    FROM current_service_accounts
    UNION ALL
    SELECT namespace, 'NetworkPolicies', name, source_sha256, locator, NULL, true FROM current_network_policies
    WHERE namespace IS NOT NULL
    UNION ALL
    SELECT namespace, kind || ' objects', name, source_sha256, locator, NULL, true FROM current_k8s_objects
    WHERE namespace IS NOT NULL AND kind <> 'Namespace'
    UNION ALL
    SELECT name, 'Namespace object', NULL, source_sha256, locator, NULL, false FROM current_k8s_objects
    WHERE kind = 'Namespace' AND name IS NOT NULL
    UNION ALL
    SELECT name, 'namespace ' || verb || 'd', NULL, source_sha256, locator, event_time, false
    FROM k8s_audit_events
    WHERE resource = 'namespaces' AND subresource IS NULL AND name IS NOT NULL
      AND verb IN ('create', 'delete') AND response_code BETWEEN 200 AND 299
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
seen AS (
    SELECT namespace, bool_or(holds) AS holds,
        string_agg(DISTINCT kind, ', ' ORDER BY kind) AS seen_in,
        string_agg(DISTINCT kind || ': ' || detail, '; ' ORDER BY kind || ': ' || detail)
            FILTER (holds AND detail IS NOT NULL AND kind IN ('service account in use', 'bound service account',
                                                              'service accounts', 'RoleBindings', 'Roles'))
            AS identities,
        min(t) AS first_seen, max(t) AS last_seen,
        arg_min(source_sha256, (NOT holds, t IS NULL, t, locator)) AS source_sha256,
        arg_min(locator, (NOT holds, t IS NULL, t, locator)) AS locator
    FROM ev WHERE namespace IS NOT NULL AND namespace <> ''
    GROUP BY namespace
),
declared AS (
    SELECT namespace, CASE WHEN bool_or(zone = 'cde') THEN 'CDE' ELSE 'connected' END AS declared_as
    FROM scope_namespaces GROUP BY namespace
    UNION ALL
    SELECT n, 'out of scope' FROM (SELECT unnest(CAST($out_of_scope_namespaces AS VARCHAR[])) AS n)
    WHERE n NOT IN (SELECT namespace FROM scope_namespaces)
),
items AS (
    SELECT coalesce(s.namespace, d.namespace) AS namespace, d.declared_as, s.holds, s.seen_in,
        s.identities, s.first_seen, s.last_seen, s.source_sha256, s.locator
    FROM seen s FULL OUTER JOIN declared d ON d.namespace = s.namespace
)
SELECT
    'namespace ' || namespace AS resource,
    CASE WHEN declared_as IS NULL AND holds THEN 'fail'
         WHEN declared_as IS NULL OR seen_in IS NULL THEN 'not_applicable'
         ELSE 'pass' END AS status,
    CASE WHEN declared_as IS NULL AND holds THEN
             'undeclared component: the namespace is neither CDE, connected nor declared out of scope, yet holds '
             || seen_in || coalesce(' (' || identities || ')', '')
         WHEN declared_as IS NULL THEN
             'the namespace exists (' || seen_in || ') but nothing in the data shows it holds anything'
         WHEN seen_in IS NULL THEN 'declared ' || declared_as || ' but not seen in any ingested source'
         ELSE 'declared ' || declared_as || '; seen in ' || seen_in END AS reason,
    CASE WHEN seen_in IS NULL THEN NULL ELSE source_sha256 END AS source_sha256,
    CASE WHEN seen_in IS NULL THEN 'absent:any record naming namespace ' || namespace ELSE locator END AS locator,
    namespace, coalesce(declared_as, 'undeclared') AS declared_as, seen_in, identities, first_seen,
    last_seen
FROM items
