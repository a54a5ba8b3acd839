-- One row per calendar day (UTC) of the assessment period up to the as-of date, plus one row per
-- Hubble lost-events notice whose time cannot be read.
-- Capture losses: VPC Flow Logs SKIPDATA records (records the service could not capture) and
-- Hubble lost_events notices (the ingest keeps them in the quarantine, reason "Hubble
-- lost_events: N events lost at SOURCE", with the first 200 characters of the line, which carry
-- its time). A day with no flow record at all, of any format, is a gap too.
WITH bounds AS (
    SELECT CAST($period_start AS TIMESTAMP) AS lo,
           CAST(least($as_of, $period_end) AS TIMESTAMP) + INTERVAL 1 DAY AS hi
),
days AS (
    SELECT CAST(d AS DATE) AS day FROM bounds, range(lo, hi, INTERVAL 1 DAY) AS r(d)
),
recs AS (
    SELECT CAST(start_time AS DATE) AS day, count(*) AS records,
        count(*) FILTER (log_status = 'SKIPDATA') AS skipdata_records,
        string_agg(DISTINCT sensor, ', ' ORDER BY sensor) FILTER (log_status = 'SKIPDATA') AS skipdata_sensors,
        min(start_time) FILTER (log_status = 'SKIPDATA') AS skip_from,
        max(coalesce(end_time, start_time)) FILTER (log_status = 'SKIPDATA') AS skip_to,
        arg_min(source_sha256, start_time) FILTER (log_status = 'SKIPDATA') AS skip_sha,
        arg_min(locator, start_time) FILTER (log_status = 'SKIPDATA') AS skip_locator,
        arg_min(source_sha256, start_time) AS first_sha, arg_min(locator, start_time) AS first_locator,
        string_agg(DISTINCT flow_format, ',' ORDER BY flow_format) AS formats
    FROM flows, bounds
    WHERE start_time >= lo AND start_time < hi
    GROUP BY 1
),
lost AS (
    SELECT q.source_sha256, q.locator, s.path,
        try_cast(regexp_extract(q.reason, 'lost_events: (\d+) events', 1) AS BIGINT) AS events_lost,
        regexp_extract(q.excerpt, '"node_name"\s*:\s*"([^"]*)"', 1) AS node,
        regexp_extract(q.excerpt, '"time"\s*:\s*"([^"]+)"', 1) AS time_text
    FROM quarantine q
    JOIN sources s ON s.source_sha256 = q.source_sha256
    WHERE q.reason LIKE 'Hubble lost_events:%'
),
lost_timed AS (
    SELECT *,
        CASE WHEN time_text = '' THEN NULL
             WHEN ends_with(time_text, 'Z') THEN try_cast(time_text AS TIMESTAMP)
             ELSE try_cast(time_text AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END AS lost_at
    FROM lost
),
lost_days AS (
    SELECT CAST(lost_at AS DATE) AS day, count(*) AS notices, sum(events_lost) AS events_lost,
        string_agg(DISTINCT nullif(node, ''), ', ' ORDER BY nullif(node, '')) AS nodes,
        arg_min(source_sha256, lost_at) AS sha, arg_min(locator, lost_at) AS locator
    FROM lost_timed WHERE lost_at IS NOT NULL
    GROUP BY 1
),
per_day AS (
    SELECT d.day, coalesce(r.records, 0) AS records, coalesce(r.skipdata_records, 0) AS skipdata_records,
        r.skipdata_sensors, r.skip_from, r.skip_to, coalesce(l.events_lost, 0) AS hubble_events_lost,
        l.nodes AS hubble_nodes, r.formats,
        coalesce(r.skip_sha, l.sha, r.first_sha) AS source_sha256,
        coalesce(r.skip_locator, l.locator, r.first_locator) AS locator,
        l.notices
    FROM days d
    LEFT JOIN recs r ON r.day = d.day
    LEFT JOIN lost_days l ON l.day = d.day
)
SELECT
    'flows ' || day AS resource,
    CASE WHEN records = 0 OR skipdata_records > 0 OR notices IS NOT NULL THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN records = 0 AND notices IS NULL THEN 'no flow record of any format was captured on this day'
        ELSE concat_ws('; ',
            CASE WHEN skipdata_records > 0 THEN skipdata_records || ' VPC SKIPDATA record(s) from '
                 || skipdata_sensors || ' between ' || strftime(skip_from, '%H:%M') || ' and '
                 || strftime(skip_to, '%H:%M') || ' UTC: flow records were lost during capture' END,
            CASE WHEN notices IS NOT NULL THEN 'Hubble reported ' || hubble_events_lost
                 || ' lost event(s)' || coalesce(' on ' || hubble_nodes, '') END,
            CASE WHEN skipdata_records = 0 AND notices IS NULL THEN records
                 || ' flow record(s) (' || formats || '), no capture loss reported' END)
    END || CASE WHEN records = 0 OR skipdata_records > 0 OR notices IS NOT NULL
                THEN '; follow up that the failure was detected, alerted and responded to (10.7.2, 10.7.3)'
                ELSE '' END AS reason,
    CASE WHEN records = 0 AND notices IS NULL THEN NULL ELSE source_sha256 END AS source_sha256,
    CASE WHEN records = 0 AND notices IS NULL
         THEN 'absent:flows with start_time on ' || day ELSE locator END AS locator,
    day, records, skipdata_records, skipdata_sensors, hubble_events_lost, hubble_nodes, formats
FROM per_day
UNION ALL
SELECT
    'hubble lost_events ' || regexp_extract(path, '[^/\\]+$') || ' ' || locator AS resource,
    'fail' AS status,
    'Hubble reported ' || coalesce(CAST(events_lost AS VARCHAR), 'an unknown number of')
        || ' lost event(s)' || coalesce(' on ' || nullif(node, ''), '')
        || ' at a time the record does not show, so the gap cannot be placed in a day' AS reason,
    source_sha256, locator,
    NULL AS day, NULL AS records, NULL AS skipdata_records, NULL AS skipdata_sensors,
    events_lost AS hubble_events_lost, nullif(node, '') AS hubble_nodes, 'hubble' AS formats
FROM lost_timed
WHERE lost_at IS NULL
