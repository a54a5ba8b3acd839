-- One row per identity: inventory accounts (humans, and any account with a generic name) and
-- person-like user names from the period's audit log that no inventory account maps to.
WITH u AS (
    SELECT * FROM current_users
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY source_sha256, locator) = 1
),
generic AS (SELECT list_transform($generic_names, lambda g: lower(CAST(g AS VARCHAR))) AS names),
ev AS (    -- authenticated user names of the period
    SELECT username,
        count(DISTINCT audit_id) AS requests_in_period,
        count(DISTINCT source_ip) AS source_ips,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        arg_min(source_sha256, event_time) AS ev_sha256, arg_min(locator, event_time) AS ev_locator
    FROM k8s_audit_events
    WHERE event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND nullif(username, '') IS NOT NULL
    GROUP BY username
),
inv AS (
    SELECT u.*,
        list_contains(g.names, lower(u.user_id))
            OR list_contains(g.names, lower(split_part(u.user_id, '@', 1)))
            OR list_contains(g.names, lower(coalesce(u.k8s_username, '')))
            OR list_contains(g.names, lower(split_part(coalesce(u.k8s_username, ''), '@', 1)))
            AS generic_name,
        CASE WHEN u.k8s_username IS NULL THEN 1
             ELSE count(*) OVER (PARTITION BY u.k8s_username) END AS accounts_sharing_name,
        e.requests_in_period, e.source_ips, e.first_seen, e.last_seen
    FROM u CROSS JOIN generic g LEFT JOIN ev e ON e.username = u.k8s_username
),
inv_rows AS (
    SELECT
        'user:' || user_id AS resource,
        CASE
            WHEN accounts_sharing_name > 1 THEN 'fail'
            WHEN generic_name AND (status = 'active' OR requests_in_period > 0) THEN 'fail'
            WHEN generic_name THEN 'not_applicable'
            ELSE 'pass'
        END AS status,
        CASE
            WHEN accounts_sharing_name > 1 THEN 'Kubernetes user name ' || k8s_username || ' is mapped to '
                || accounts_sharing_name || ' inventory accounts, so its use cannot be tied to one of them'
            WHEN generic_name AND requests_in_period > 0 THEN 'generic account, ' || status || ', used for '
                || requests_in_period || ' API request(s) in the period from ' || source_ips || ' address(es)'
            WHEN generic_name AND status = 'active' THEN 'generic account is active'
            WHEN generic_name THEN 'generic account, disabled'
                || CASE WHEN (SELECT count(*) FROM ev) > 0 THEN ' and not used in the period'
                        ELSE ' (its use in the period was not examined: no audit log)' END
            ELSE 'personal account' || coalesce(' of ' || name, '')
        END AS reason,
        source_sha256, locator,
        coalesce(k8s_username, user_id) AS identity, 'inventory' AS seen_in,
        user_id, name, status AS account_status, k8s_username, generic_name, accounts_sharing_name,
        coalesce(requests_in_period, 0) AS requests_in_period, coalesce(source_ips, 0) AS source_ips,
        first_seen, last_seen
    FROM inv
    WHERE user_type = 'human' OR generic_name
),
orphans AS (   -- audit identities with no inventory account
    SELECT e.*,
        list_contains(g.names, lower(e.username))
            OR list_contains(g.names, lower(split_part(e.username, '@', 1))) AS generic_name,
        list_bool_or(list_transform($ignore_identities, lambda p: e.username GLOB CAST(p AS VARCHAR))) AS ignored
    FROM ev e CROSS JOIN generic g
    WHERE e.username NOT IN (SELECT k8s_username FROM u WHERE k8s_username IS NOT NULL)
)
SELECT * FROM inv_rows
UNION ALL
SELECT
    'k8s-user:' || username AS resource,
    'fail' AS status,
    CASE WHEN generic_name THEN 'generic identity ' ELSE 'identity ' END || username || ' made '
        || requests_in_period || ' API request(s) in the period from ' || source_ips
        || ' address(es), and no inventory account maps to it' AS reason,
    ev_sha256 AS source_sha256, ev_locator AS locator,
    username AS identity, 'audit log only' AS seen_in,
    NULL AS user_id, NULL AS name, NULL AS account_status, NULL AS k8s_username, generic_name,
    0 AS accounts_sharing_name, requests_in_period, source_ips, first_seen, last_seen
FROM orphans
WHERE generic_name OR NOT coalesce(ignored, false)
