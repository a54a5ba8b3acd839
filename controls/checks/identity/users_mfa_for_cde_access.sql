-- One row per person (inventory account, or unmapped identity) with requests to a CDE namespace
-- in the period.
WITH u AS (
    SELECT * FROM current_users
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY source_sha256, locator) = 1
),
r AS (     -- accepted requests into CDE namespaces by an authenticated user
    SELECT e.* FROM k8s_audit_events e
    WHERE e.event_time >= $period_start AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND e.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde')
      AND nullif(e.username, '') IS NOT NULL
      AND e.stage <> 'RequestReceived' AND e.response_code IS NOT NULL  -- a response was given
      AND e.response_code NOT IN (401, 403)
),
per_identity AS (
    SELECT username,
        count(DISTINCT audit_id) AS requests,
        list(DISTINCT namespace ORDER BY namespace) AS cde_namespaces,
        min(event_time) AS first_request, max(event_time) AS last_request,
        arg_min(source_sha256, event_time) AS ev_sha256, arg_min(locator, event_time) AS ev_locator
    FROM r GROUP BY username
),
j AS (
    SELECT p.*, u.user_id, u.name, u.status AS account_status, u.mfa, u.user_type,
        u.source_sha256 AS inv_sha256, u.locator AS inv_locator,
        list_bool_or(list_transform($ignore_identities,
            lambda pat: p.username GLOB CAST(pat AS VARCHAR))) AS ignored
    FROM per_identity p LEFT JOIN u ON u.k8s_username = p.username
)
SELECT
    CASE WHEN user_id IS NULL THEN 'k8s-user:' || username ELSE 'user:' || user_id END AS resource,
    CASE WHEN coalesce(mfa, false) THEN 'pass' ELSE 'fail' END AS status,
    CASE
        WHEN user_id IS NULL THEN username || ' made ' || requests || ' request(s) to the CDE but no'
            || ' inventory account maps to it, so nothing shows MFA'
        WHEN mfa THEN 'MFA recorded; ' || requests || ' request(s) to the CDE'
        WHEN mfa IS NULL THEN 'the inventory does not state MFA; ' || requests || ' request(s) to the CDE, first '
            || strftime(first_request, '%Y-%m-%d %H:%M') || ' UTC'
        ELSE 'no MFA recorded; ' || requests || ' request(s) to the CDE, first '
            || strftime(first_request, '%Y-%m-%d %H:%M') || ' UTC'
    END AS reason,
    coalesce(inv_sha256, ev_sha256) AS source_sha256,
    coalesce(inv_locator, ev_locator) AS locator,
    username AS identity, user_id, name, account_status, mfa, requests, cde_namespaces,
    first_request, last_request
FROM j
WHERE (user_id IS NOT NULL AND user_type = 'human')
   OR (user_id IS NULL AND NOT coalesce(ignored, false))
