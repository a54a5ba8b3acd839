-- Two kinds of item:
--   grant    one per RBAC binding subject (current snapshot) that is a developer (a declared
--            user, a user the audit log shows in a declared group, or a declared group as the
--            binding's Group subject) and whose grant
--            applies in a CDE or connected namespace or cluster-wide: read-only passes; write,
--            exec/attach/port-forward or escalation rights fail;
--   activity one per developer identity (each declared user, and every user the audit log shows
--            in a declared group): any change accepted (2xx) to an object in a CDE or connected
--            namespace, or any exec/attach/port-forward into a pod there, in the period fails.
--            Requests refused by the API server are counted as evidence, not as failures.
WITH dev_groups AS (SELECT name FROM developer_identities WHERE kind = 'group'),
-- developers: the declared users, and every user the audit log of the look-back shows as a
-- member of a declared group (RBAC cannot tell who is in a group; the audit log can)
dev_users AS (
    SELECT name FROM developer_identities WHERE kind = 'user'
    UNION
    SELECT DISTINCT username FROM k8s_audit_events
    WHERE username IS NOT NULL
      AND list_has_any(coalesce(user_groups, []::VARCHAR[]), (SELECT list(name ORDER BY name) FROM dev_groups))
      AND event_time >= $lookback_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
ns AS (SELECT namespace, min(zone) AS zone FROM scope_namespaces GROUP BY namespace),
grants AS (
    SELECT g.*,
        list_has_any(coalesce(g.verbs, []), ['create', 'update', 'patch', 'delete', 'deletecollection', '*'])
            AS writes,
        list_has_any(coalesce(g.verbs, []), ['create', 'get', '*'])
            AND list_has_any(coalesce(g.resources, []),
                             ['pods/exec', 'pods/attach', 'pods/portforward', 'pods/*', '*']) AS execs,
        list_has_any(coalesce(g.verbs, []), ['escalate', 'bind', 'impersonate']) AS escalates
    FROM rbac_grants g
    WHERE g.grant_zone IN ('cde', 'connected', 'cluster-wide')
      AND ((g.subject_kind = 'User' AND g.subject_principal IN (SELECT name FROM dev_users))
           OR (g.subject_kind = 'Group' AND g.subject_principal IN (SELECT name FROM dev_groups)))
),
grant_items AS (
    SELECT binding_subject, any_value(subject_principal) AS identity,
        any_value(binding_kind || '/' || coalesce(binding_namespace || '/', '') || binding_name) AS binding,
        any_value(grant_namespace) AS namespace, any_value(grant_zone) AS zone,
        bool_or(writes OR execs OR escalates) AS powerful,
        bool_and(NOT role_found) AS role_missing,
        string_agg(DISTINCT CASE WHEN writes OR execs OR escalates
                            THEN array_to_string(verbs, ',') || ' on ' || array_to_string(resources, ',') END,
                   '; ' ORDER BY CASE WHEN writes OR execs OR escalates
                            THEN array_to_string(verbs, ',') || ' on ' || array_to_string(resources, ',') END)
            AS rights,
        any_value(binding_sha256) AS source_sha256, any_value(binding_locator) AS locator
    FROM grants
    GROUP BY binding_subject
),
requests AS (
    SELECT e.*, n.zone,
        e.subresource IN ('exec', 'attach', 'portforward') AS is_exec,
        e.verb IN ('create', 'update', 'patch', 'delete', 'deletecollection')
            AND coalesce(e.subresource, '') NOT IN ('exec', 'attach', 'portforward')
            AND e.resource NOT IN ('selfsubjectaccessreviews', 'localsubjectaccessreviews',
                                   'subjectaccessreviews', 'tokenreviews') AS is_change,
        e.response_code BETWEEN 200 AND 299 OR e.response_code = 101 AS accepted
    FROM k8s_audit_events e
    JOIN ns n USING (namespace)
    WHERE e.event_time >= $period_start AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND e.stage IN ('ResponseComplete', 'ResponseStarted', 'Panic')
      AND (e.username IN (SELECT name FROM dev_users)
           OR list_has_any(coalesce(e.user_groups, []::VARCHAR[]), (SELECT list(name ORDER BY name) FROM dev_groups)))
    QUALIFY row_number() OVER (PARTITION BY coalesce(e.audit_id, e.source_sha256 || e.locator)
                               ORDER BY e.stage = 'ResponseComplete' DESC, e.locator) = 1
),
identities AS (
    SELECT name AS identity FROM developer_identities WHERE kind = 'user'
    UNION SELECT DISTINCT username FROM requests
),
activity AS (
    SELECT i.identity,
        count(*) FILTER (WHERE r.accepted AND r.is_change) AS changes,
        count(*) FILTER (WHERE r.accepted AND r.is_exec) AS execs,
        count(*) FILTER (WHERE NOT r.accepted AND (r.is_change OR r.is_exec)) AS refused,
        min(r.event_time) FILTER (WHERE r.accepted AND (r.is_change OR r.is_exec)) AS first_at,
        max(r.event_time) FILTER (WHERE r.accepted AND (r.is_change OR r.is_exec)) AS last_at,
        string_agg(DISTINCT r.verb || ' ' || r.resource || coalesce('/' || r.subresource, '') || ' '
                       || r.namespace || '/' || coalesce(r.name, '*'), '; '
                   ORDER BY r.verb || ' ' || r.resource || coalesce('/' || r.subresource, '') || ' '
                       || r.namespace || '/' || coalesce(r.name, '*'))
            FILTER (WHERE r.accepted AND (r.is_change OR r.is_exec)) AS targets,
        string_agg(DISTINCT r.namespace, ', ' ORDER BY r.namespace)
            FILTER (WHERE r.accepted AND (r.is_change OR r.is_exec)) AS namespaces,
        arg_min(r.source_sha256, (r.event_time, r.locator))
            FILTER (WHERE r.accepted AND (r.is_change OR r.is_exec)) AS sha,
        arg_min(r.locator, (r.event_time, r.locator))
            FILTER (WHERE r.accepted AND (r.is_change OR r.is_exec)) AS loc
    FROM identities i
    LEFT JOIN requests r ON r.username = i.identity
    GROUP BY i.identity
)
SELECT
    'grant ' || binding_subject AS resource,
    CASE WHEN powerful THEN 'fail' ELSE 'pass' END AS status,
    CASE WHEN powerful THEN binding || ' gives developer ' || identity || ' '
              || rights || CASE WHEN namespace IS NULL THEN ' cluster-wide'
                                ELSE ' in ' || namespace || ' (' || zone || ')' END
         WHEN role_missing THEN binding || ' names a role that is not in the export; it grants ' || identity
              || ' nothing that can be shown'
         ELSE binding || ' gives developer ' || identity || ' read-only access'
              || CASE WHEN namespace IS NULL THEN ' cluster-wide' ELSE ' in ' || namespace END END AS reason,
    source_sha256, locator,
    'grant' AS item, identity, binding, namespace, zone, rights,
    NULL::BIGINT AS changes, NULL::BIGINT AS execs, NULL::BIGINT AS refused,
    NULL::TIMESTAMP AS first_at, NULL::TIMESTAMP AS last_at, NULL::VARCHAR AS targets
FROM grant_items
UNION ALL
SELECT
    'activity ' || identity,
    CASE WHEN changes + execs > 0 THEN 'fail' ELSE 'pass' END,
    CASE WHEN changes + execs > 0
         THEN 'developer ' || identity || ' changed or exec-ed into production in the period: '
              || changes || ' change(s), ' || execs || ' exec/attach/port-forward session(s) in '
              || namespaces || ' (first ' || strftime(first_at, '%Y-%m-%d %H:%M') || ' UTC)'
         ELSE 'no change to, or session in, a CDE or connected namespace by ' || identity
              || ' in the period' || CASE WHEN refused > 0 THEN ' (' || refused || ' attempt(s) refused)'
                                          ELSE '' END END,
    sha,
    coalesce(loc, 'absent:k8s_audit_events changes and exec sessions in CDE and connected namespaces by '
                  || identity),
    'activity', identity, NULL, NULL, NULL, NULL, changes, execs, refused, first_at, last_at, targets
FROM activity
