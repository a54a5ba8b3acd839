-- One row per (CDE namespace, UTC day) of the period up to the as-of date. Counted from the API
-- audit log (each request once): pod starts (create) and stops (delete), exec/attach/port-forward
-- sessions, admission refusals and admitted policy violations. A day fails when the cluster's
-- audit log is silent longer than max_silence_minutes during it (whatever happened in the
-- namespace then is unrecorded), or when the runtime sensor saw an interactive shell in one of the
-- namespace's pods that day and no exec or attach request for that pod is in the audit log from
-- session_window_minutes before the shell to max_session_hours after it.
WITH cde AS (SELECT DISTINCT namespace FROM scope_namespaces WHERE zone = 'cde'),
bounds AS (
    SELECT CAST($period_start AS TIMESTAMP) AS lo,
           CAST(least($as_of, $period_end) AS TIMESTAMP) + INTERVAL 1 DAY AS hi
),
days AS (
    SELECT CAST(d AS DATE) AS day FROM bounds, range(lo, hi, INTERVAL 1 DAY) AS r(d)
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
    FROM gaps WHERE gap_end IS NOT NULL AND date_diff('minute', gap_start, gap_end) > $max_silence_minutes
),
req AS (
    SELECT e.*, CAST(e.event_time AS DATE) AS day
    FROM k8s_audit_events e, bounds
    WHERE e.namespace IN (SELECT namespace FROM cde)
      AND e.event_time >= lo AND e.event_time < hi
    QUALIFY row_number() OVER (PARTITION BY coalesce(e.audit_id, e.source_sha256 || e.locator)
                               ORDER BY e.stage = 'ResponseComplete' DESC, e.locator) = 1
),
counts AS (
    SELECT namespace, day, count(*) AS events,
        count(*) FILTER (WHERE resource = 'pods' AND subresource IS NULL AND verb = 'create'
                         AND response_code BETWEEN 200 AND 299) AS pod_starts,
        count(*) FILTER (WHERE resource = 'pods' AND subresource IS NULL
                         AND verb IN ('delete', 'deletecollection')
                         AND response_code BETWEEN 200 AND 299) AS pod_stops,
        count(*) FILTER (WHERE resource = 'pods' AND subresource IN ('exec', 'attach', 'portforward'))
            AS sessions,
        arg_min(source_sha256, (event_time, locator)) AS sha, arg_min(locator, (event_time, locator)) AS loc
    FROM req GROUP BY namespace, day
),
decisions AS (
    SELECT r.resource_namespace AS namespace, CAST(r.result_time AS DATE) AS day,
        count(DISTINCT r.audit_id) FILTER (WHERE r.result = 'fail' AND r.action = 'enforce') AS admission_refusals,
        count(DISTINCT r.audit_id) FILTER (WHERE r.result = 'fail' AND r.action IN ('audit', 'warn', 'dryrun'))
            AS policy_violations
    FROM current_admission_results r, bounds
    WHERE r.origin = 'audit-event' AND r.resource_namespace IN (SELECT namespace FROM cde)
      AND r.result_time >= lo AND r.result_time < hi
    GROUP BY ALL
),
shells AS (
    SELECT a.namespace, CAST(a.event_time AS DATE) AS day, a.pod, a.event_time, a.rule,
        a.source_sha256, a.locator
    FROM runtime_alerts a, bounds
    WHERE a.namespace IN (SELECT namespace FROM cde) AND a.pod IS NOT NULL
      AND a.event_time >= lo AND a.event_time < hi
      AND list_contains(CAST($shell_rules AS VARCHAR[]), a.rule)
),
unlogged AS (
    SELECT s.* FROM shells s
    WHERE NOT EXISTS (
        SELECT 1 FROM k8s_audit_events e
        WHERE e.namespace = s.namespace AND e.resource = 'pods' AND e.name = s.pod
          AND e.subresource IN ('exec', 'attach')
          AND e.event_time >= s.event_time - to_minutes(CAST($session_window_minutes AS BIGINT))
          AND e.event_time <= s.event_time + to_hours(CAST($max_session_hours AS BIGINT)))
),
unlogged_day AS (
    SELECT namespace, day, count(*) AS unlogged_shells,
        string_agg(DISTINCT pod || ' at ' || strftime(event_time, '%H:%M'), ', '
                   ORDER BY pod || ' at ' || strftime(event_time, '%H:%M')) AS shells_without_record,
        arg_min(source_sha256, (event_time, locator)) AS sha, arg_min(locator, (event_time, locator)) AS loc
    FROM unlogged GROUP BY namespace, day
),
grid AS (
    SELECT c.namespace, d.day,
        (SELECT max(g.minutes) FROM long_gaps g
          WHERE g.gap_start < d.day + INTERVAL 1 DAY AND g.gap_end > d.day) AS silence_minutes,
        (SELECT arg_max(g.gap_start, g.minutes) FROM long_gaps g
          WHERE g.gap_start < d.day + INTERVAL 1 DAY AND g.gap_end > d.day) AS gap_start,
        (SELECT arg_max(g.gap_end, g.minutes) FROM long_gaps g
          WHERE g.gap_start < d.day + INTERVAL 1 DAY AND g.gap_end > d.day) AS gap_end
    FROM cde c, days d
)
SELECT
    'audit-trail ' || g.namespace || ' ' || g.day AS resource,
    CASE WHEN g.silence_minutes IS NOT NULL OR u.unlogged_shells IS NOT NULL THEN 'fail' ELSE 'pass' END
        AS status,
    CASE WHEN g.silence_minutes IS NULL AND u.unlogged_shells IS NULL
         THEN coalesce(k.events, 0) || ' request(s) in ' || g.namespace || ': '
              || coalesce(k.pod_starts, 0) || ' pod start(s), ' || coalesce(k.pod_stops, 0) || ' stop(s), '
              || coalesce(k.sessions, 0) || ' exec/attach session(s), '
              || coalesce(x.admission_refusals, 0) || ' admission refusal(s), '
              || coalesce(x.policy_violations, 0) || ' policy violation(s); no silence, no unrecorded shell'
         ELSE concat_ws('; ',
             CASE WHEN g.silence_minutes IS NOT NULL
                  THEN 'the audit log is silent from ' || strftime(g.gap_start, '%Y-%m-%d %H:%M') || ' to '
                       || strftime(g.gap_end, '%Y-%m-%d %H:%M') || ' UTC (' || g.silence_minutes
                       || ' minutes): container starts, stops, sessions and admission decisions in '
                       || g.namespace || ' then are unrecorded' END,
             CASE WHEN u.unlogged_shells IS NOT NULL
                  THEN 'the runtime sensor saw an interactive shell in ' || u.shells_without_record
                       || ' UTC with no exec or attach request for the pod in the audit log (a session '
                       || 'opened outside the API, or not logged)' END) END AS reason,
    coalesce(u.sha, k.sha) AS source_sha256,
    coalesce(u.loc, k.loc, 'absent:k8s_audit_events in namespace ' || g.namespace || ' on ' || g.day)
        AS locator,
    g.namespace, g.day, coalesce(k.events, 0) AS events, coalesce(k.pod_starts, 0) AS pod_starts,
    coalesce(k.pod_stops, 0) AS pod_stops, coalesce(k.sessions, 0) AS sessions,
    coalesce(x.admission_refusals, 0) AS admission_refusals,
    coalesce(x.policy_violations, 0) AS policy_violations,
    g.silence_minutes, g.gap_start, g.gap_end, u.shells_without_record
FROM grid g
LEFT JOIN counts k USING (namespace, day)
LEFT JOIN decisions x USING (namespace, day)
LEFT JOIN unlogged_day u USING (namespace, day)
