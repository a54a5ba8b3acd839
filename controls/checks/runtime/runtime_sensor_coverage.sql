-- One row per node that should carry a runtime sensor: every host that produced runtime-sensor
-- output in the 12-month look-back, every node Hubble reported flows from in the period, and every
-- Kubernetes Node in the snapshot in force. Nodes are matched on the first label of their name
-- (Hubble prefixes the cluster: "cluster/node"; Falco may print a short host name).
WITH bounds AS (
    SELECT CAST($period_start AS TIMESTAMP) AS lo,
           CAST(least($as_of, $period_end) AS TIMESTAMP) + INTERVAL 1 DAY AS hi
),
sightings AS (
    SELECT lower(split_part(hostname, '.', 1)) AS node, hostname AS name, 'runtime sensor' AS via,
        event_time AS t
    FROM runtime_alerts
    WHERE hostname IS NOT NULL AND event_time >= $lookback_start
      AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    UNION ALL
    SELECT lower(split_part(regexp_extract(sensor, '[^/]+$'), '.', 1)), regexp_extract(sensor, '[^/]+$'),
        'hubble', start_time
    FROM flows, bounds
    WHERE flow_format = 'hubble' AND sensor IS NOT NULL AND start_time >= lo AND start_time < hi
    UNION ALL
    SELECT lower(split_part(name, '.', 1)), name, 'node object', NULL
    FROM current_k8s_objects WHERE kind = 'Node' AND name IS NOT NULL
),
nodes AS (
    SELECT node,
        -- show the longest (most qualified) name seen
        arg_max(name, length(name)) AS name,
        string_agg(DISTINCT via, ', ' ORDER BY via) AS seen_by,
        bool_or(via = 'node object') AS in_snapshot,
        min(t) FILTER (via <> 'runtime sensor' AND t >= (SELECT lo FROM bounds)) AS first_other_in_period,
        min(t) FILTER (t < (SELECT lo FROM bounds)) AS seen_before_period
    FROM sightings GROUP BY node
),
sensor AS (
    SELECT lower(split_part(hostname, '.', 1)) AS node, event_time AS t, source_sha256, locator
    FROM runtime_alerts, bounds
    WHERE hostname IS NOT NULL AND event_time >= lo AND event_time < hi
),
windows AS (
    -- a node that appears during the period is watched from its first sighting
    SELECT n.*,
        CASE WHEN n.seen_before_period IS NOT NULL OR n.in_snapshot THEN b.lo
             ELSE least(coalesce((SELECT min(s.t) FROM sensor s WHERE s.node = n.node), b.hi),
                        coalesce(n.first_other_in_period, b.hi)) END AS watch_from,
        b.hi AS watch_to
    FROM nodes n, bounds b
),
points AS (
    SELECT w.node, s.t FROM windows w JOIN sensor s ON s.node = w.node
    UNION ALL SELECT node, watch_from FROM windows
    UNION ALL SELECT node, watch_to FROM windows
),
gaps AS (
    SELECT node, t AS gap_start, lead(t) OVER (PARTITION BY node ORDER BY t) AS gap_end FROM points
),
longest AS (
    SELECT node, arg_max(gap_start, gap_end - gap_start) AS gap_start,
        arg_max(gap_end, gap_end - gap_start) AS gap_end,
        max(date_diff('minute', gap_start, gap_end)) AS minutes
    FROM gaps WHERE gap_end IS NOT NULL
    GROUP BY node
),
output AS (
    SELECT node, count(*) AS records, min(t) AS first_output, max(t) AS last_output,
        arg_max(source_sha256, t) AS source_sha256, arg_max(locator, t) AS locator
    FROM sensor GROUP BY node
),
judged AS (
    SELECT w.node, w.name, w.seen_by, w.watch_from, w.watch_to, w.in_snapshot,
        coalesce(o.records, 0) AS records, o.first_output, o.last_output,
        l.gap_start, l.gap_end, round(l.minutes / 60.0, 1) AS longest_silence_hours,
        o.source_sha256, o.locator,
        -- no output in the period and no other sign of the node in the period: it was gone
        o.records IS NULL AND w.first_other_in_period IS NULL AND NOT w.in_snapshot AS gone
    FROM windows w
    LEFT JOIN output o ON o.node = w.node
    LEFT JOIN longest l ON l.node = w.node
)
SELECT
    name AS resource,
    CASE WHEN gone THEN 'not_applicable'
         WHEN records = 0 OR longest_silence_hours > $max_silence_hours THEN 'fail'
         ELSE 'pass' END AS status,
    CASE
        WHEN gone THEN 'the node produced sensor output in the look-back but nothing shows it existed in the period'
        WHEN records = 0 THEN 'no runtime-sensor output at all in the period from a node seen by ' || seen_by
        WHEN longest_silence_hours > $max_silence_hours THEN
            'runtime sensor silent from ' || strftime(gap_start, '%Y-%m-%d %H:%M') || ' to '
            || strftime(gap_end, '%Y-%m-%d %H:%M') || ' UTC (' || longest_silence_hours
            || ' h, limit ' || $max_silence_hours || ' h): a failure of a critical security control'
            || ' occurred; follow up that it was detected, alerted and responded to (10.7.2, 10.7.3)'
        ELSE records || ' sensor record(s); longest silence ' || longest_silence_hours || ' h'
    END AS reason,
    CASE WHEN records = 0 THEN NULL ELSE source_sha256 END AS source_sha256,
    CASE WHEN gone THEN 'absent:runtime_alerts, flows and Node objects for ' || name || ' in the period'
         WHEN records = 0 THEN 'absent:runtime_alerts with hostname ' || name || ' in the period'
         WHEN longest_silence_hours > $max_silence_hours THEN
             'absent:runtime_alerts with hostname ' || name || ' from ' || strftime(gap_start, '%Y-%m-%d %H:%M')
             || ' to ' || strftime(gap_end, '%Y-%m-%d %H:%M') || ' UTC'
         ELSE locator END AS locator,
    -- a silence on a node whose sensor otherwise reports is a control failure (10.7.2), not a
    -- missing anti-malware deployment; a node without any output counts for every requirement
    CASE WHEN NOT gone AND records > 0 AND longest_silence_hours > $max_silence_hours
         THEN '10.7.2' END AS requirement,
    name AS node, seen_by, records, first_output, last_output, longest_silence_hours, gap_start, gap_end
FROM judged
