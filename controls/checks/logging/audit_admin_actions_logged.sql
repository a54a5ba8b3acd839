-- One row per identity with administrative access that made API requests in the period: users,
-- service accounts and members of groups bound cluster-wide to cluster-admin or to a rule with
-- wildcard verbs and resources, or to escalate, bind or impersonate (controls/lib/rbac_grants.sql;
-- Kubernetes control-plane grants left out). Each request counts once (controls/lib/audit_requests.sql). The row fails when a
-- record of the identity's requests lacks what is needed to reconstruct the action: the verb and
-- target, the time, the outcome or the source address.
WITH admin_grants AS (
    SELECT DISTINCT subject_kind, subject_principal, binding_subject
    FROM rbac_grants
    WHERE grant_namespace IS NULL AND NOT control_plane
      AND (role_name = 'cluster-admin'
           OR (list_contains(verbs, '*') AND list_contains(resources, '*'))
           -- escalate, bind and impersonate let their holder become an administrator at will
           OR list_has_any(verbs, ['escalate', 'bind', 'impersonate']))
),
acts AS (
    SELECT r.*, g.binding_subject
    FROM audit_requests r
    JOIN admin_grants g
      ON (g.subject_kind <> 'Group' AND r.username = g.subject_principal)
      OR (g.subject_kind = 'Group' AND list_contains(r.user_groups, g.subject_principal))
    WHERE nullif(r.username, '') IS NOT NULL
),
per_identity AS (
    SELECT username,
        list(DISTINCT binding_subject ORDER BY binding_subject) AS admin_through,
        count(DISTINCT request_id) AS requests,
        count(DISTINCT request_id) FILTER (verb NOT IN ('get', 'list', 'watch')) AS changes,
        count(DISTINCT request_id) FILTER (impersonated_user IS NOT NULL) AS impersonating,
        count(DISTINCT request_id) FILTER (nullif(verb, '') IS NULL
            OR (nullif(resource, '') IS NULL AND nullif(request_uri, '') IS NULL)) AS missing_what,
        count(DISTINCT request_id) FILTER (event_time IS NULL) AS missing_when,
        count(DISTINCT request_id) FILTER (response_code IS NULL) AS missing_outcome,
        count(DISTINCT request_id) FILTER (nullif(source_ip, '') IS NULL) AS missing_origin,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        first(source_sha256 ORDER BY (nullif(verb, '') IS NULL OR response_code IS NULL
            OR nullif(source_ip, '') IS NULL) DESC, event_time, locator) AS source_sha256,
        first(locator ORDER BY (nullif(verb, '') IS NULL OR response_code IS NULL
            OR nullif(source_ip, '') IS NULL) DESC, event_time, locator) AS locator
    FROM acts GROUP BY username
)
SELECT
    'admin ' || username AS resource,
    CASE WHEN missing_what + missing_when + missing_outcome + missing_origin > 0 THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN missing_what + missing_when + missing_outcome + missing_origin > 0 THEN
            requests || ' request(s) by administrator ' || username || ' logged, but '
            || concat_ws(', ',
                CASE WHEN missing_what > 0 THEN missing_what || ' without verb and target' END,
                CASE WHEN missing_when > 0 THEN missing_when || ' without a time' END,
                CASE WHEN missing_outcome > 0 THEN missing_outcome || ' without an outcome' END,
                CASE WHEN missing_origin > 0 THEN missing_origin || ' without a source address' END)
         ELSE requests || ' request(s) by administrator ' || username || ' (' || changes
              || ' changing something' || CASE WHEN impersonating > 0 THEN ', ' || impersonating
                  || ' while impersonating another identity' ELSE '' END
              || ') logged between ' || strftime(first_seen, '%Y-%m-%d %H:%M') || ' and '
              || strftime(last_seen, '%Y-%m-%d %H:%M') || ' UTC, each with who, what, when, outcome and origin'
    END AS reason,
    source_sha256, locator,
    username AS identity, admin_through, requests, changes, impersonating, missing_what,
    missing_when, missing_outcome, missing_origin, first_seen, last_seen
FROM per_identity
