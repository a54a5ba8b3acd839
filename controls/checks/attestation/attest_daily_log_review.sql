-- One row per calendar day of the assessment period, up to the as-of date.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST($period_start AS TIMESTAMP),
               CAST(least($as_of, $period_end) AS TIMESTAMP) + INTERVAL 1 DAY,
               INTERVAL 1 DAY) AS r(d)
),
lr AS (
    SELECT *, coalesce(result = 'fail', false) AS failed FROM attestations
    WHERE kind = 'log_review' AND requirement = '10.4.1' AND NOT coalesce(not_applicable, false)
),
cov AS (
    SELECT d.day,
        count(l.attestation_id) AS reviews,
        count(l.attestation_id) FILTER (WHERE l.failed) AS failed_reviews,
        coalesce(list(l.attestation_id ORDER BY l.attestation_id)
                     FILTER (WHERE l.attestation_id IS NOT NULL), []) AS attestation_ids,
        -- the record shown: a failing review first, else the one closest to the day
        first(l.attestation_id ORDER BY l.failed DESC, l.date_start DESC, l.attestation_id) AS shown_id,
        first(l.performed_by ORDER BY l.failed DESC, l.date_start DESC, l.attestation_id) AS performed_by,
        first(l.source_sha256 ORDER BY l.failed DESC, l.date_start DESC, l.attestation_id) AS att_sha256,
        first(l.locator ORDER BY l.failed DESC, l.date_start DESC, l.attestation_id) AS att_locator,
        first(l.source_file || l.locator ORDER BY l.failed DESC, l.date_start DESC, l.attestation_id)
            AS attestation_ref
    FROM days d LEFT JOIN lr l ON d.day BETWEEN l.date_start AND l.date_end
    GROUP BY d.day
)
SELECT
    'log-review ' || day AS resource,
    CASE WHEN reviews = 0 OR failed_reviews > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN reviews = 0 THEN 'no log review is recorded for this day'
        WHEN failed_reviews > 0 THEN 'log review ' || shown_id || ' reports a failing result'
        ELSE 'reviewed (' || array_to_string(attestation_ids, ', ') || ')'
    END AS reason,
    CASE WHEN reviews = 0 THEN NULL ELSE att_sha256 END AS source_sha256,
    CASE WHEN reviews = 0 THEN 'absent:attestations kind=log_review requirement=10.4.1 covering ' || day
         ELSE att_locator END AS locator,
    day, reviews, attestation_ids, performed_by, attestation_ref
FROM cov
