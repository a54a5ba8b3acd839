-- One row per log family (Kubernetes audit log, runtime alerts, network flows) that has records.
WITH r AS (
    SELECT * FROM (
        SELECT 'Kubernetes audit log' AS family, event_time AS t, source_sha256, locator FROM k8s_audit_events
        UNION ALL SELECT 'runtime alerts', event_time, source_sha256, locator FROM runtime_alerts
        UNION ALL SELECT 'network flows', start_time, source_sha256, locator FROM flows
    ) WHERE t IS NOT NULL AND t < least($as_of, $period_end) + INTERVAL 1 DAY
),
fam AS (
    SELECT family, min(t) AS earliest_record, max(t) AS latest_record, count(*) AS records,
        arg_min(source_sha256, t) AS first_sha256, arg_min(locator, t) AS first_locator
    FROM r GROUP BY family
),
win AS (       -- the last online months, in calendar months back from the as-of date
    SELECT k, CAST(least($as_of, $period_end) - to_months(k) AS DATE) + 1 AS w_start,
              CAST(least($as_of, $period_end) - to_months(k - 1) AS DATE) AS w_end
    FROM range(1, $online_months + 1) AS t(k)
),
hits AS (
    SELECT r.family, w.k, count(*) AS n
    FROM r JOIN win w ON r.t >= w.w_start AND r.t < w.w_end + 1
    GROUP BY ALL
),
gaps AS (
    SELECT f.family,
        list(w.w_start || ' to ' || w.w_end ORDER BY w.k) FILTER (WHERE h.n IS NULL) AS empty_months
    FROM fam f CROSS JOIN win w LEFT JOIN hits h ON h.family = f.family AND h.k = w.k
    GROUP BY f.family
),
j AS (
    SELECT f.*, coalesce(g.empty_months, []) AS empty_months,
        -- 12 months of history as of D means records from D - 12 months + 1 day (D included).
        CAST(least($as_of, $period_end) - to_months($retention_months) + INTERVAL 1 DAY AS DATE) AS retain_from
    FROM fam f LEFT JOIN gaps g USING (family)
)
SELECT
    family AS resource,
    CASE WHEN CAST(earliest_record AS DATE) > retain_from OR len(empty_months) > 0 THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN CAST(earliest_record AS DATE) > retain_from OR len(empty_months) > 0 THEN concat_ws('; ',
            CASE WHEN CAST(earliest_record AS DATE) > retain_from THEN 'history starts '
                || CAST(earliest_record AS DATE) || ', ' || (CAST(earliest_record AS DATE) - retain_from)
                || ' days after ' || retain_from || ' (' || $retention_months || ' months before the evaluation date)' END,
            CASE WHEN len(empty_months) > 0 THEN 'no records from ' || array_to_string(empty_months, ', ') END)
         ELSE 'records from ' || CAST(earliest_record AS DATE) || ' to ' || CAST(latest_record AS DATE)
              || ', reaching back to ' || retain_from || ', with records in each of the last '
              || $online_months || ' months' END AS reason,
    CASE WHEN CAST(earliest_record AS DATE) > retain_from OR len(empty_months) = 0 THEN first_sha256 END
        AS source_sha256,
    CASE WHEN CAST(earliest_record AS DATE) > retain_from OR len(empty_months) = 0 THEN first_locator
         ELSE 'absent:' || family || ' records from ' || array_to_string(empty_months, ', ') END AS locator,
    family, earliest_record, latest_record, records, retain_from, empty_months
FROM j
