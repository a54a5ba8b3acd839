-- One row per (audit-log source file with events in the period, required record element).
WITH src AS (
    SELECT s.source_sha256, regexp_extract(s.path, '[^/\\]+$') AS file_name
    FROM sources s
    WHERE s.format = 'k8s-audit'
      AND EXISTS (SELECT 1 FROM k8s_audit_events e
                  WHERE e.source_sha256 = s.source_sha256
                    AND e.event_time >= $period_start AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY)
),
named AS (     -- the file name, made unique with a digest prefix when two files share it
    SELECT source_sha256,
        CASE WHEN count(*) OVER (PARTITION BY file_name) > 1
             THEN file_name || '@' || left(source_sha256, 12) ELSE file_name END AS source_file
    FROM src
),
req AS (       -- one record per request: its most complete stage
    SELECT e.* FROM k8s_audit_events e
    WHERE e.source_sha256 IN (SELECT source_sha256 FROM src)
    QUALIFY row_number() OVER (
        PARTITION BY e.source_sha256, e.audit_id
        ORDER BY CASE e.stage WHEN 'ResponseComplete' THEN 0 WHEN 'Panic' THEN 1
                              WHEN 'ResponseStarted' THEN 2 ELSE 3 END, e.locator) = 1
),
flags AS (
    SELECT source_sha256, locator, event_time,
        response_code = 401 AS unauthenticated,
        nullif(username, '') IS NOT NULL AS has_who,
        nullif(verb, '') IS NOT NULL AND (nullif(resource, '') IS NOT NULL OR nullif(request_uri, '') IS NOT NULL) AS has_what,
        event_time IS NOT NULL AS has_when,
        response_code IS NOT NULL AS has_outcome,
        nullif(source_ip, '') IS NOT NULL AS has_origin,
        coalesce(nullif(name, ''), nullif(resource, ''), nullif(request_uri, '')) IS NOT NULL AS has_target
    FROM req
    WHERE event_time IS NULL
       OR (event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY)
),
long AS (
    SELECT source_sha256, locator, event_time, e.element, e.ord, e.fields, e.present
    FROM flags, LATERAL (VALUES
        (1, 'who', 'user name', CASE WHEN coalesce(unauthenticated, false) THEN NULL ELSE has_who END),
        (2, 'what', 'verb, and resource or request URI', has_what),
        (3, 'when', 'event time', has_when),
        (4, 'outcome', 'response code', has_outcome),
        (5, 'origin', 'source address', has_origin),
        (6, 'target', 'object name, resource or request URI', has_target)
    ) AS e(ord, element, fields, present)
),
agg AS (
    SELECT source_sha256, element, ord, fields,
        count(present) AS requests,
        count(*) FILTER (WHERE present = false) AS missing,
        first(locator ORDER BY event_time NULLS FIRST, locator) FILTER (WHERE present = false) AS example_missing,
        first(locator ORDER BY event_time NULLS LAST, locator) AS first_locator
    FROM long GROUP BY ALL
)
SELECT
    n.source_file || ': ' || a.element AS resource,
    CASE WHEN a.requests = 0 THEN 'not_applicable'
         WHEN 100.0 * (a.requests - a.missing) / a.requests < $min_percent THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN a.requests = 0 THEN 'every request was refused at authentication; there is no user to record'
         ELSE round(100.0 * (a.requests - a.missing) / a.requests, 3) || ' % of ' || a.requests
              || ' request(s) carry the ' || a.fields || ' (' || a.missing || ' without; threshold '
              || $min_percent || ' %)' END AS reason,
    a.source_sha256,
    coalesce(CASE WHEN a.missing > 0 THEN a.example_missing END, a.first_locator) AS locator,
    n.source_file, a.element, a.fields, a.requests, a.missing,
    round(100.0 * (a.requests - a.missing) / nullif(a.requests, 0), 3) AS percent_present,
    a.example_missing
FROM agg a JOIN named n USING (source_sha256)
