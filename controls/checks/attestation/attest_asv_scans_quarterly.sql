-- One row per three-month window ending at the as-of date (calendar months), newest first.
WITH win AS (
    SELECT k,
        CAST(least($as_of, $period_end) - to_months(k * $window_months) AS DATE) + 1 AS window_start,
        CAST(least($as_of, $period_end) - to_months((k - 1) * $window_months) AS DATE) AS window_end
    FROM range(1, $windows + 1) AS t(k)
),
scans AS (
    SELECT *, coalesce(result = 'pass', false) AS passed FROM attestations
    WHERE kind = 'asv_scan' AND NOT coalesce(not_applicable, false)
),
per AS (
    SELECT w.k, w.window_start, w.window_end,
        count(s.attestation_id) AS scans,
        count(s.attestation_id) FILTER (WHERE s.passed) AS passing_scans,
        coalesce(list(s.attestation_id || ' (' || coalesce(s.result, 'no result') || ')'
                      ORDER BY s.performed_on, s.attestation_id)
                 FILTER (WHERE s.attestation_id IS NOT NULL), []) AS attestation_ids,
        -- the record shown: the latest passing scan, else the latest scan
        first(s.source_sha256 ORDER BY s.passed DESC, s.performed_on DESC, s.attestation_id) AS att_sha256,
        first(s.locator ORDER BY s.passed DESC, s.performed_on DESC, s.attestation_id) AS att_locator,
        first(s.source_file || s.locator ORDER BY s.passed DESC, s.performed_on DESC, s.attestation_id)
            AS attestation_ref
    FROM win w LEFT JOIN scans s ON s.performed_on BETWEEN w.window_start AND w.window_end
    GROUP BY ALL
)
SELECT
    'ASV window ' || window_start || ' to ' || window_end AS resource,
    CASE WHEN passing_scans > 0 THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN passing_scans > 0 THEN passing_scans || ' of ' || scans || ' scan(s) in the window passed: '
              || array_to_string(attestation_ids, ', ')
         WHEN scans > 0 THEN scans || ' scan(s) in the window, none recorded as passing: '
              || array_to_string(attestation_ids, ', ')
         ELSE 'no external scan is recorded in the window' END AS reason,
    att_sha256 AS source_sha256,
    CASE WHEN scans = 0 THEN 'absent:attestations kind=asv_scan completed ' || window_start
              || ' to ' || window_end
         ELSE att_locator END AS locator,
    window_start, window_end, scans, passing_scans, attestation_ids, attestation_ref
FROM per
