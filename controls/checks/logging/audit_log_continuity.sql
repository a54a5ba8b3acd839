-- One row per calendar day (UTC) of the assessment period up to the as-of date.
WITH bounds AS (
    SELECT CAST($period_start AS TIMESTAMP) AS lo,
           CAST(least($as_of, $period_end) AS TIMESTAMP) + INTERVAL 1 DAY AS hi
),
t AS (
    SELECT DISTINCT event_time AS ts FROM k8s_audit_events, bounds
    WHERE event_time >= lo AND event_time < hi
    UNION SELECT lo FROM bounds
    UNION SELECT hi FROM bounds
),
gaps AS (
    SELECT ts AS gap_start, lead(ts) OVER (ORDER BY ts) AS gap_end FROM t
),
long_gaps AS (
    SELECT gap_start, gap_end, date_diff('minute', gap_start, gap_end) AS minutes
    FROM gaps WHERE gap_end IS NOT NULL
      AND date_diff('minute', gap_start, gap_end) > $max_silence_minutes
),
days AS (
    SELECT CAST(d AS DATE) AS day FROM bounds,
        range(lo, hi, INTERVAL 1 DAY) AS r(d)
),
per_day AS (
    SELECT d.day,
        (SELECT count(*) FROM k8s_audit_events e
          WHERE e.event_time >= d.day AND e.event_time < d.day + INTERVAL 1 DAY) AS events,
        (SELECT max(g.minutes) FROM long_gaps g
          WHERE g.gap_start < d.day + INTERVAL 1 DAY AND g.gap_end > d.day) AS longest_silence_minutes,
        (SELECT arg_max(g.gap_start, g.minutes) FROM long_gaps g
          WHERE g.gap_start < d.day + INTERVAL 1 DAY AND g.gap_end > d.day) AS gap_start,
        (SELECT arg_max(g.gap_end, g.minutes) FROM long_gaps g
          WHERE g.gap_start < d.day + INTERVAL 1 DAY AND g.gap_end > d.day) AS gap_end,
        (SELECT arg_min(e.source_sha256, e.event_time) FROM k8s_audit_events e
          WHERE e.event_time >= d.day AND e.event_time < d.day + INTERVAL 1 DAY) AS source_sha256,
        (SELECT arg_min(e.locator, e.event_time) FROM k8s_audit_events e
          WHERE e.event_time >= d.day AND e.event_time < d.day + INTERVAL 1 DAY) AS locator
    FROM days d
)
SELECT
    'audit-log ' || day AS resource,
    CASE WHEN longest_silence_minutes IS NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN longest_silence_minutes IS NULL THEN events || ' event(s); no silence over the threshold'
         ELSE 'no audit events from ' || strftime(gap_start, '%Y-%m-%d %H:%M') || ' to '
              || strftime(gap_end, '%Y-%m-%d %H:%M') || ' UTC (' || longest_silence_minutes || ' minutes)'
    END AS reason,
    source_sha256,
    -- a day inside a silence has no record of its own: name what was searched instead
    coalesce(locator, 'absent:k8s_audit_events from ' || strftime(gap_start, '%Y-%m-%d %H:%M')
        || ' to ' || strftime(gap_end, '%Y-%m-%d %H:%M') || ' UTC') AS locator,
    day, events, longest_silence_minutes, gap_start, gap_end
FROM per_day
