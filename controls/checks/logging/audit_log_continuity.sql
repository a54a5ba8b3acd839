-- One row per calendar day (UTC) of the assessment period up to the earlier of the as-of date
-- and the period end.
-- A silence is a stretch between consecutive audit events (or the window's edges) longer than
-- the threshold. A day fails when it holds more than the threshold of a silence; a silence no
-- single day holds that much of (one that straddles midnight) fails the day holding most of it,
-- so every silence fails at least one day and a day merely touched by one does not fail.
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
-- how much of each silence lies in each day it overlaps (in seconds)
parts AS (
    SELECT g.*, d.day,
        (epoch_ms(least(g.gap_end, CAST(d.day AS TIMESTAMP) + INTERVAL 1 DAY))
         - epoch_ms(greatest(g.gap_start, CAST(d.day AS TIMESTAMP)))) / 1000.0 AS seconds_in_day
    FROM long_gaps g
    JOIN days d ON g.gap_start < CAST(d.day AS TIMESTAMP) + INTERVAL 1 DAY
               AND g.gap_end > CAST(d.day AS TIMESTAMP)
),
ranked AS (
    SELECT *,
        max(seconds_in_day) OVER (PARTITION BY gap_start) AS most_in_a_day,
        row_number() OVER (PARTITION BY gap_start ORDER BY seconds_in_day DESC, day) AS rank_in_gap
    FROM parts
),
day_parts AS (
    SELECT *,
        seconds_in_day > 60 * $max_silence_minutes
            OR (most_in_a_day <= 60 * $max_silence_minutes AND rank_in_gap = 1) AS counts
    FROM ranked
),
per_day AS (
    SELECT d.day,
        (SELECT count(*) FROM k8s_audit_events e
          WHERE e.event_time >= d.day AND e.event_time < d.day + INTERVAL 1 DAY) AS events,
        (SELECT max(p.minutes) FROM day_parts p WHERE p.day = d.day AND p.counts) AS longest_silence_minutes,
        (SELECT arg_max(p.gap_start, p.minutes) FROM day_parts p WHERE p.day = d.day AND p.counts) AS gap_start,
        (SELECT arg_max(p.gap_end, p.minutes) FROM day_parts p WHERE p.day = d.day AND p.counts) AS gap_end,
        (SELECT round(max(p.seconds_in_day) / 60.0, 1) FROM day_parts p WHERE p.day = d.day AND p.counts)
            AS silent_minutes_in_day,
        (SELECT max(p.seconds_in_day) FROM day_parts p WHERE p.day = d.day AND NOT p.counts) AS touched_seconds,
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
              || CASE WHEN touched_seconds IS NOT NULL
                      THEN ' in this day (a longer silence runs into or out of it for '
                           || CASE WHEN touched_seconds < 60 THEN round(touched_seconds, 3) || ' second(s)'
                                   ELSE round(touched_seconds / 60.0, 1) || ' minute(s)' END
                           || ', and is reported on the day that holds it)'
                      ELSE '' END
         ELSE 'no audit events from ' || strftime(gap_start, '%Y-%m-%d %H:%M') || ' to '
              || strftime(gap_end, '%Y-%m-%d %H:%M') || ' UTC (' || longest_silence_minutes || ' minutes, '
              || silent_minutes_in_day || ' of them on this day): audit logging was not active;'
              || ' follow up that the failure was detected, alerted and responded to (10.7.2, 10.7.3)'
    END AS reason,
    source_sha256,
    -- a day inside a silence has no record of its own: name what was searched instead
    coalesce(locator, 'absent:k8s_audit_events from ' || strftime(gap_start, '%Y-%m-%d %H:%M')
        || ' to ' || strftime(gap_end, '%Y-%m-%d %H:%M') || ' UTC') AS locator,
    day, events, longest_silence_minutes, silent_minutes_in_day, gap_start, gap_end
FROM per_day
