-- Changes to privileges and credentials, and whether the audit log recorded them.
-- Rows:
--   * one per RBAC role or binding that differs in existence between the previous dated RBAC
--     snapshot and the one in force (added or removed): it passes when the audit log holds a
--     successful request creating (create, update or patch) or deleting it between the two
--     snapshot days, and fails when no such request is logged;
--   * one per logged successful change in the period to RBAC roles and bindings, service
--     accounts, certificate signing requests and the EKS aws-auth mapping, grouped by object,
--     verb and UTC day: it passes when its records carry who, when, outcome and origin.
WITH rbac_days AS (
    SELECT d.day, d.in_force FROM access_snapshot_days d
    WHERE d.source_sha256 IN (SELECT source_sha256 FROM rbac_bindings
                              UNION SELECT source_sha256 FROM rbac_roles)
),
cur AS (SELECT max(day) AS day FROM rbac_days WHERE in_force),
prev AS (SELECT max(day) AS day FROM rbac_days WHERE day < (SELECT day FROM cur)),
objects AS (
    SELECT DISTINCT d.day, b.kind, b.namespace, b.name, b.source_sha256, b.locator
    FROM rbac_bindings b JOIN access_snapshot_days d USING (source_sha256)
    WHERE d.day IN ((SELECT day FROM cur), (SELECT day FROM prev))
    UNION ALL
    SELECT DISTINCT d.day, r.kind, r.namespace, r.name, r.source_sha256, r.locator
    FROM rbac_roles r JOIN access_snapshot_days d USING (source_sha256)
    WHERE d.day IN ((SELECT day FROM cur), (SELECT day FROM prev))
),
keyed AS (
    SELECT kind, namespace, name,
        bool_or(day = (SELECT day FROM cur)) AS now_present,
        bool_or(day = (SELECT day FROM prev)) AS before_present,
        arg_max(source_sha256, day) AS source_sha256, arg_max(locator, day) AS locator
    FROM objects GROUP BY kind, namespace, name
),
diff AS (
    SELECT *, CASE WHEN now_present THEN 'added' ELSE 'removed' END AS change,
        CASE kind WHEN 'Role' THEN 'roles' WHEN 'ClusterRole' THEN 'clusterroles'
                  WHEN 'RoleBinding' THEN 'rolebindings' ELSE 'clusterrolebindings' END AS resource
    FROM keyed
    WHERE (SELECT day FROM prev) IS NOT NULL AND now_present <> before_present
),
changes AS (   -- every successful change request to the objects above, in any stored log
    SELECT e.*, coalesce(nullif(e.name, ''), json_extract_string(e.request_object, '$.metadata.name')) AS object_name
    FROM k8s_audit_events e
    WHERE e.api_group = 'rbac.authorization.k8s.io'
      AND e.resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings')
      AND e.verb IN ('create', 'update', 'patch', 'delete')
      AND e.response_code BETWEEN 200 AND 299
      AND e.event_time >= (SELECT day FROM prev) AND e.event_time < (SELECT day FROM cur) + INTERVAL 1 DAY
),
diff_judged AS (
    SELECT d.*,
        (SELECT arg_max(c.source_sha256, c.event_time) FROM changes c
          WHERE c.resource = d.resource AND c.object_name = d.name
            AND c.namespace IS NOT DISTINCT FROM d.namespace
            AND ((d.change = 'added' AND c.verb IN ('create', 'update', 'patch'))
                 OR (d.change = 'removed' AND c.verb = 'delete'))) AS ev_sha256,
        (SELECT arg_max(c.locator, c.event_time) FROM changes c
          WHERE c.resource = d.resource AND c.object_name = d.name
            AND c.namespace IS NOT DISTINCT FROM d.namespace
            AND ((d.change = 'added' AND c.verb IN ('create', 'update', 'patch'))
                 OR (d.change = 'removed' AND c.verb = 'delete'))) AS ev_locator,
        (SELECT arg_max(c.username || ' (' || c.verb || ', ' || strftime(c.event_time, '%Y-%m-%d %H:%M') || ' UTC)', c.event_time)
           FROM changes c
          WHERE c.resource = d.resource AND c.object_name = d.name
            AND c.namespace IS NOT DISTINCT FROM d.namespace
            AND ((d.change = 'added' AND c.verb IN ('create', 'update', 'patch'))
                 OR (d.change = 'removed' AND c.verb = 'delete'))) AS logged_by
    FROM diff d
),
logged AS (    -- successful changes of the period to privileges and credentials
    SELECT r.*,
        coalesce(nullif(r.name, ''), json_extract_string(r.request_object, '$.metadata.name'), '-') AS object_name,
        CASE r.resource WHEN 'roles' THEN 'Role' WHEN 'clusterroles' THEN 'ClusterRole'
             WHEN 'rolebindings' THEN 'RoleBinding' WHEN 'clusterrolebindings' THEN 'ClusterRoleBinding'
             WHEN 'serviceaccounts' THEN 'ServiceAccount' WHEN 'configmaps' THEN 'ConfigMap'
             ELSE 'CertificateSigningRequest' END AS object_kind
    FROM audit_requests r
    WHERE r.response_code BETWEEN 200 AND 299
      AND r.verb IN ('create', 'update', 'patch', 'delete')
      AND ((r.api_group = 'rbac.authorization.k8s.io'
            AND r.resource IN ('roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'))
           OR (coalesce(r.api_group, '') = '' AND r.resource = 'serviceaccounts' AND r.subresource IS NULL
               AND r.verb IN ('create', 'delete'))
           OR (r.api_group = 'certificates.k8s.io' AND r.resource = 'certificatesigningrequests')
           OR (coalesce(r.api_group, '') = '' AND r.resource = 'configmaps'
               AND r.namespace = 'kube-system' AND r.name = 'aws-auth'))
),
logged_grouped AS (
    SELECT object_kind || '/' || coalesce(namespace || '/', '') || object_name || ' '
               || verb || coalesce('/' || subresource, '') || ' ' || strftime(event_time, '%Y-%m-%d') AS item,
        any_value(object_kind) AS object_kind, any_value(namespace) AS namespace,
        any_value(object_name) AS object_name, any_value(verb) AS verb,
        string_agg(DISTINCT username, ', ' ORDER BY username) AS changed_by,
        count(*) AS requests,
        count(*) FILTER (nullif(username, '') IS NULL OR event_time IS NULL OR response_code IS NULL
                         OR nullif(source_ip, '') IS NULL) AS incomplete,
        min(event_time) AS first_at,
        first(source_sha256 ORDER BY (nullif(username, '') IS NULL OR nullif(source_ip, '') IS NULL) DESC,
              event_time, locator) AS source_sha256,
        first(locator ORDER BY (nullif(username, '') IS NULL OR nullif(source_ip, '') IS NULL) DESC,
              event_time, locator) AS locator
    FROM logged GROUP BY item
)
SELECT
    'snapshot change: ' || change || ' ' || kind || '/' || coalesce(namespace || '/', '') || name AS resource,
    CASE WHEN ev_sha256 IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN ev_sha256 IS NOT NULL
         THEN kind || ' ' || coalesce(namespace || '/', '') || name || ' was ' || change
              || ' between the RBAC snapshots of ' || (SELECT day FROM prev) || ' and '
              || (SELECT day FROM cur) || '; the audit log records it: ' || logged_by
         ELSE kind || ' ' || coalesce(namespace || '/', '') || name || ' was ' || change
              || ' between the RBAC snapshots of ' || (SELECT day FROM prev) || ' and '
              || (SELECT day FROM cur) || ', but no successful '
              || CASE change WHEN 'added' THEN 'create, update or patch' ELSE 'delete' END
              || ' of it is in the audit log: a change to privileges was not recorded'
    END AS reason,
    CASE WHEN ev_sha256 IS NOT NULL THEN ev_sha256 ELSE source_sha256 END AS source_sha256,
    CASE WHEN ev_sha256 IS NOT NULL THEN ev_locator ELSE locator END AS locator,
    'snapshot comparison' AS basis, kind AS object_kind, namespace, name AS object_name,
    change, logged_by AS changed_by, NULL::BIGINT AS requests, NULL::TIMESTAMP AS first_at
FROM diff_judged
UNION ALL
SELECT
    'logged: ' || item AS resource,
    CASE WHEN incomplete > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE WHEN incomplete > 0
         THEN incomplete || ' of ' || requests || ' logged ' || verb || ' request(s) on ' || object_kind || ' '
              || coalesce(namespace || '/', '') || object_name || ' lack the user, time, outcome or source address'
         ELSE verb || ' of ' || object_kind || ' ' || coalesce(namespace || '/', '') || object_name || ' by '
              || changed_by || ' logged with who, when, outcome and origin ('
              || requests || ' request(s))'
              || CASE WHEN (SELECT day FROM prev) IS NULL
                      THEN '; no earlier RBAC snapshot, so changes the log missed cannot be found' ELSE '' END
    END AS reason,
    source_sha256, locator,
    'audit log' AS basis, object_kind, namespace, object_name, verb AS change, changed_by,
    requests, first_at
FROM logged_grouped
