-- One row per origin of refused requests in the period: a user name for 403 answers, a source
-- address for 401 answers (authentication failed, so no user was established).
WITH src AS (
    SELECT DISTINCT source_sha256 FROM k8s_audit_events
    WHERE event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
req AS (       -- one record per request: its most complete stage
    SELECT e.* FROM k8s_audit_events e
    WHERE e.source_sha256 IN (SELECT source_sha256 FROM src)
    QUALIFY row_number() OVER (
        PARTITION BY e.source_sha256, e.audit_id
        ORDER BY CASE e.stage WHEN 'ResponseComplete' THEN 0 WHEN 'Panic' THEN 1
                              WHEN 'ResponseStarted' THEN 2 ELSE 3 END, e.locator) = 1
),
f AS (
    SELECT *,
        response_code = 403 AND nullif(username, '') IS NULL AS no_user,
        event_time IS NULL AS no_time,
        nullif(source_ip, '') IS NULL AS no_origin,
        CASE WHEN response_code = 403 THEN '403 ' || coalesce(nullif(username, ''), '(no user name)')
             ELSE '401 from ' || coalesce(nullif(source_ip, ''), '(no source address)') END AS grp
    FROM req
    WHERE response_code IN (401, 403)
      AND (event_time IS NULL OR (event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY))
),
g AS (
    SELECT grp, any_value(response_code) AS response_code,
        CASE WHEN any_value(response_code) = 403 THEN any_value(nullif(username, '')) END AS identity,
        list(DISTINCT source_ip ORDER BY source_ip) FILTER (WHERE nullif(source_ip, '') IS NOT NULL)
            AS source_addresses,
        count(*) AS attempts,
        count(*) FILTER (WHERE no_user) AS missing_user,
        count(*) FILTER (WHERE no_time) AS missing_time,
        count(*) FILTER (WHERE no_origin) AS missing_origin,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        first(source_sha256 ORDER BY (no_user OR no_time OR no_origin) DESC, event_time NULLS FIRST, locator)
            AS source_sha256,
        first(locator ORDER BY (no_user OR no_time OR no_origin) DESC, event_time NULLS FIRST, locator)
            AS locator
    FROM f GROUP BY grp
)
SELECT
    grp AS resource,
    CASE WHEN missing_user + missing_time + missing_origin > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE WHEN missing_user + missing_time + missing_origin > 0 THEN
            attempts || ' refused request(s); ' || concat_ws(', ',
                CASE WHEN missing_user > 0 THEN missing_user || ' without a user name' END,
                CASE WHEN missing_time > 0 THEN missing_time || ' without a time' END,
                CASE WHEN missing_origin > 0 THEN missing_origin || ' without a source address' END)
         ELSE attempts || ' refused request(s) between ' || strftime(first_seen, '%Y-%m-%d %H:%M')
              || ' and ' || strftime(last_seen, '%Y-%m-%d %H:%M') || ' UTC, each with '
              || CASE WHEN response_code = 403 THEN 'user, time and origin'
                      ELSE 'time and origin (no user exists when authentication fails)' END
    END AS reason,
    source_sha256, locator,
    response_code, identity, coalesce(source_addresses, []) AS source_addresses, attempts,
    missing_user, missing_time, missing_origin, first_seen, last_seen
FROM g
