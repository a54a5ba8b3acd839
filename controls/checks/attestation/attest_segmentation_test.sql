-- One row per requirement: 11.4.5 (every entity) and 11.4.6 (service providers only).
WITH reqs AS (
    SELECT * FROM (VALUES
        ('11.4.5', CAST($interval_months AS INTEGER), false),
        ('11.4.6', CAST($sp_interval_months AS INTEGER), true)
    ) AS t(requirement, interval_months, sp_only)
),
tests AS (
    SELECT attestation_id, performed_on AS test_date, result, performed_by, source_sha256, locator,
        source_file || locator AS attestation_ref
    FROM attestations
    WHERE kind = 'segmentation_test' AND NOT coalesce(not_applicable, false) AND performed_on <= $as_of
),
seq AS (
    SELECT *,
        coalesce(lag(test_date) OVER w, CAST($lookback_start AS DATE)) AS from_date
    FROM tests WINDOW w AS (ORDER BY test_date, attestation_id)
),
late AS (      -- intervals in the look-back, ending at a test, longer than the requirement allows
    SELECT r.requirement, s.*, s.test_date - s.from_date AS gap_days
    FROM reqs r JOIN seq s ON s.test_date >= $lookback_start
    WHERE s.test_date > CAST(s.from_date + to_months(r.interval_months) AS DATE)
),
worst AS (
    SELECT requirement, max(gap_days) AS longest_gap_days,
        arg_max(from_date, gap_days) AS longest_gap_from, arg_max(test_date, gap_days) AS longest_gap_to,
        arg_max(source_sha256, gap_days) AS gap_sha256, arg_max(locator, gap_days) AS gap_locator
    FROM late GROUP BY requirement
),
latest AS (
    SELECT * FROM tests ORDER BY test_date DESC, attestation_id DESC LIMIT 1
),
j AS (
    SELECT r.*, l.attestation_id, l.test_date AS latest_test, l.result, l.performed_by,
        l.source_sha256 AS l_sha256, l.locator AS l_locator, l.attestation_ref,
        CAST(l.test_date + to_months(r.interval_months) AS DATE) AS due_by,
        w.longest_gap_days, w.longest_gap_from, w.longest_gap_to, w.gap_sha256, w.gap_locator,
        r.sp_only AND $entity_type <> 'service_provider' AS not_for_entity
    FROM reqs r LEFT JOIN latest l ON true LEFT JOIN worst w USING (requirement)
),
s AS (
    SELECT *,
        latest_test IS NOT NULL AND $as_of > due_by AS overdue,
        coalesce(result = 'fail', false) AS latest_failed,
        longest_gap_days IS NOT NULL AS gap
    FROM j
)
SELECT
    'requirement ' || requirement AS resource,
    CASE WHEN not_for_entity THEN 'not_applicable'
         WHEN latest_test IS NULL OR overdue OR latest_failed OR gap THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN not_for_entity THEN 'applies to service providers only; the entity is a ' || $entity_type
         WHEN latest_test IS NULL THEN 'no segmentation test is recorded'
         WHEN overdue OR latest_failed OR gap THEN concat_ws('; ',
            CASE WHEN overdue THEN 'the latest test (' || attestation_id || ', ' || latest_test || ') is older than '
                || interval_months || ' months: the next was due by ' || due_by END,
            CASE WHEN latest_failed THEN 'the latest test (' || attestation_id || ', ' || latest_test
                || ') reports a failing result' END,
            CASE WHEN gap THEN 'no test for ' || longest_gap_days || ' days from ' || longest_gap_from
                || ' to ' || longest_gap_to || ', longer than ' || interval_months || ' months' END)
         ELSE 'the latest test (' || attestation_id || ', ' || latest_test || ') is '
              || (CAST($as_of AS DATE) - latest_test) || ' days old; the next is due by ' || due_by
              || '; no longer gap in the 12-month look-back'
    END AS reason,
    CASE WHEN not_for_entity OR latest_test IS NULL THEN NULL
         WHEN gap AND NOT (overdue OR latest_failed) THEN gap_sha256 ELSE l_sha256 END AS source_sha256,
    CASE WHEN not_for_entity THEN NULL
         WHEN latest_test IS NULL THEN 'absent:attestations kind=segmentation_test'
         WHEN gap AND NOT (overdue OR latest_failed) THEN gap_locator ELSE l_locator END AS locator,
    requirement, interval_months, attestation_id, latest_test, result, due_by,
    longest_gap_from, longest_gap_to, longest_gap_days, performed_by, attestation_ref
FROM s
