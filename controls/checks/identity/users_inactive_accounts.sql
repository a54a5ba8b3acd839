-- One row per human account in the current inventory snapshot.
WITH u AS (
    SELECT * FROM current_users WHERE user_type = 'human'
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY source_sha256, locator) = 1
),
api AS (
    SELECT effective_user, max(event_time) AS last_api_activity
    FROM k8s_audit_events WHERE event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY effective_user
),
j AS (
    SELECT u.*, a.last_api_activity,
        greatest(u.last_login, a.last_api_activity) AS last_activity
    FROM u LEFT JOIN api a ON a.effective_user = u.k8s_username
)
SELECT
    'user:' || user_id AS resource,
    CASE
        WHEN status = 'disabled' THEN 'not_applicable'
        WHEN date_diff('day', CAST(coalesce(last_activity, created) AS DATE), least($as_of, $period_end)) > $max_inactive_days THEN 'fail'
        WHEN last_activity IS NULL AND created IS NULL THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN status = 'disabled' THEN 'account is disabled'
        WHEN last_activity IS NULL AND created IS NULL THEN 'no recorded activity and no creation date'
        WHEN last_activity IS NULL THEN 'never used; created ' || created || ', '
            || date_diff('day', created, least($as_of, $period_end)) || ' days before the evaluation date'
        ELSE 'last active ' || CAST(last_activity AS DATE) || ', '
            || date_diff('day', CAST(last_activity AS DATE), least($as_of, $period_end)) || ' days before the evaluation date'
    END AS reason,
    source_sha256, locator,
    user_id, name, status AS account_status, role, k8s_username, last_login, last_api_activity, last_activity,
    date_diff('day', CAST(coalesce(last_activity, created) AS DATE), least($as_of, $period_end)) AS days_inactive
FROM j
