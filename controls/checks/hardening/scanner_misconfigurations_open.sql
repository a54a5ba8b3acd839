-- One row per (scanner, subject, file within it for non-Kubernetes targets, rule) that a
-- configuration scan dated in the period reported at or above the minimum severity. The latest
-- in-period scan of the subject decides the status.
WITH rank_of(severity, rank) AS (
    VALUES ('critical', 4), ('high', 3), ('medium', 2), ('low', 1), ('info', 0)
),
min_rank AS (
    SELECT coalesce((SELECT rank FROM rank_of WHERE severity = lower($min_severity)),
                    error('min_severity must be one of critical, high, medium, low, info')) AS r
),
t AS (
    SELECT * FROM config_scan_targets
    WHERE scanned_on >= $period_start AND scanned_on < least($as_of, $period_end) + INTERVAL 1 DAY
),
f AS (
    SELECT t.scanner, t.subject, t.zone, t.scanned_on,
        CASE WHEN t.k8s_kind IS NULL THEN coalesce(c.target, '') ELSE '' END AS part,
        c.rule_id, c.title, c.status, c.severity, c.message, c.source_sha256, c.locator,
        CASE c.status WHEN 'fail' THEN 0 WHEN 'exception' THEN 1 WHEN 'warn' THEN 2
                      WHEN 'info' THEN 2 ELSE 3 END AS status_order,
        r.rank AS sev_rank
    FROM t
    JOIN config_findings c USING (scan_id)
    LEFT JOIN rank_of r ON r.severity = c.severity
),
items AS (
    SELECT scanner, subject, part, rule_id,
        min(scanned_on) FILTER (WHERE status = 'fail') AS first_failed
    FROM f
    WHERE sev_rank >= (SELECT r FROM min_rank) OR (sev_rank IS NULL AND $include_unrated)
    GROUP BY ALL
),
latest_scan AS (
    SELECT scanner, subject, max(scanned_on) AS last_scanned,
        any_value(zone) AS zone,
        arg_max(source_sha256, scanned_on) AS scan_sha256, arg_max(locator, scanned_on) AS scan_locator
    FROM t GROUP BY ALL
),
latest AS (
    SELECT f.scanner, f.subject, f.part, f.rule_id,
        arg_min(f.status, f.status_order) AS last_status,
        arg_min(f.title, f.status_order) AS title,
        arg_min(f.severity, f.status_order) AS rule_severity,
        arg_min(f.message, f.status_order) AS message,
        arg_min(f.source_sha256, (f.status_order, f.locator)) AS source_sha256,
        arg_min(f.locator, (f.status_order, f.locator)) AS locator
    FROM f
    JOIN latest_scan l
      ON l.scanner = f.scanner AND l.subject = f.subject AND f.scanned_on = l.last_scanned
    GROUP BY ALL
),
earlier AS (    -- how the item was last described, for items the latest scan no longer reports
    SELECT scanner, subject, part, rule_id,
        arg_max(title, scanned_on) AS title, arg_max(severity, scanned_on) AS rule_severity,
        arg_max(message, scanned_on) AS message
    FROM f GROUP BY ALL
)
SELECT
    i.scanner || ' ' || i.subject || CASE WHEN i.part <> '' THEN ' ' || i.part ELSE '' END
        || ' ' || i.rule_id AS resource,
    CASE
        WHEN x.last_status IN ('fail', 'exception')
             AND list_contains(list_transform($advisory_rules, lambda r: lower(r)), lower(i.rule_id))
            THEN 'not_applicable'
        WHEN x.last_status IN ('fail', 'exception') THEN 'fail'
        WHEN x.last_status IN ('warn', 'info') THEN 'not_applicable'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN x.last_status IN ('fail', 'exception')
             AND list_contains(list_transform($advisory_rules, lambda r: lower(r)), lower(i.rule_id))
            THEN 'failing in the latest scan (' || CAST(l.last_scanned AS DATE)
                || '), but the rule is on the advisory list: a warning, not a failure'
        WHEN x.last_status = 'fail' THEN 'failing in the latest scan (' || CAST(l.last_scanned AS DATE) || ')'
            || CASE WHEN CAST(i.first_failed AS DATE) < CAST(l.last_scanned AS DATE)
                    THEN ', and since ' || CAST(i.first_failed AS DATE) ELSE '' END
        WHEN x.last_status = 'exception' THEN 'waived only in the scanner''s own configuration ('
            || CAST(l.last_scanned AS DATE) || '); record approved deviations in the exceptions register'
        WHEN x.last_status IN ('warn', 'info') THEN 'the scanner could not decide it automatically ('
            || x.last_status || ', ' || CAST(l.last_scanned AS DATE) || '): needs manual verification'
        WHEN x.last_status = 'pass' THEN 'passed in the latest scan (' || CAST(l.last_scanned AS DATE) || ')'
        ELSE 'no longer reported by the latest scan of this target (' || CAST(l.last_scanned AS DATE) || ')'
            || CASE WHEN i.first_failed IS NOT NULL
                    THEN '; it failed on ' || CAST(i.first_failed AS DATE) ELSE '' END
    END AS reason,
    coalesce(x.source_sha256, l.scan_sha256) AS source_sha256,
    coalesce(x.locator, l.scan_locator) AS locator,
    CASE WHEN coalesce(x.rule_severity, e.rule_severity) IN ('critical', 'high', 'medium', 'low', 'info')
         THEN coalesce(x.rule_severity, e.rule_severity) END AS severity,
    i.scanner, i.subject, l.zone, nullif(i.part, '') AS target, i.rule_id,
    coalesce(x.title, e.title) AS title, coalesce(x.rule_severity, e.rule_severity) AS rule_severity,
    coalesce(x.last_status, 'not reported') AS last_status,
    l.last_scanned, i.first_failed, coalesce(x.message, e.message) AS message
FROM items i
JOIN latest_scan l USING (scanner, subject)
JOIN earlier e USING (scanner, subject, part, rule_id)
LEFT JOIN latest x USING (scanner, subject, part, rule_id)
