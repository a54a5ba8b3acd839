-- Shared by periodic activities with a shorter interval for service providers (segmentation
-- tests 11.4.5/11.4.6, scope confirmations 12.5.2/12.5.2.1): one row per requirement, the first
-- for every entity, the second for service providers only. $activity_kind selects attestations.
WITH reqs AS (
    SELECT * FROM (VALUES
        ($requirement_all, CAST($interval_months AS INTEGER), false),
        ($requirement_sp, CAST($sp_interval_months AS INTEGER), true)
    ) AS t(requirement, interval_months, sp_only)
),
activities AS (
    SELECT attestation_id, performed_on AS activity_date, result, performed_by, source_sha256, locator,
        source_file || locator AS attestation_ref
    FROM attestations
    WHERE kind = $activity_kind AND NOT coalesce(not_applicable, false) AND performed_on <= least($as_of, $period_end)
),
seq AS (
    SELECT *,
        coalesce(lag(activity_date) OVER w, CAST($lookback_start AS DATE)) AS from_date
    FROM activities WINDOW w AS (ORDER BY activity_date, attestation_id)
),
late AS (      -- intervals in the look-back, ending at an activity, longer than the requirement allows
    SELECT r.requirement, s.*, s.activity_date - s.from_date AS gap_days
    FROM reqs r JOIN seq s ON s.activity_date >= $lookback_start
    WHERE s.activity_date > CAST(s.from_date + to_months(r.interval_months) AS DATE)
),
worst AS (
    SELECT requirement, max(gap_days) AS longest_gap_days,
        arg_max(from_date, gap_days) AS longest_gap_from, arg_max(activity_date, gap_days) AS longest_gap_to,
        arg_max(source_sha256, gap_days) AS gap_sha256, arg_max(locator, gap_days) AS gap_locator
    FROM late GROUP BY requirement
),
latest AS (
    SELECT * FROM activities ORDER BY activity_date DESC, attestation_id DESC LIMIT 1
),
j AS (
    SELECT r.*, l.attestation_id, l.activity_date AS latest_date, l.result, l.performed_by,
        l.source_sha256 AS l_sha256, l.locator AS l_locator, l.attestation_ref,
        CAST(l.activity_date + to_months(r.interval_months) AS DATE) AS due_by,
        w.longest_gap_days, w.longest_gap_from, w.longest_gap_to, w.gap_sha256, w.gap_locator,
        r.sp_only AND $entity_type <> 'service_provider' AS not_for_entity
    FROM reqs r LEFT JOIN latest l ON true LEFT JOIN worst w USING (requirement)
),
s AS (
    SELECT *,
        latest_date IS NOT NULL AND least($as_of, $period_end) > due_by AS overdue,
        coalesce(result = 'fail', false) AS latest_failed,
        longest_gap_days IS NOT NULL AS gap
    FROM j
)
SELECT
    'requirement ' || requirement AS resource,
    CASE WHEN not_for_entity THEN 'not_applicable'
         WHEN latest_date IS NULL OR overdue OR latest_failed OR gap THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN not_for_entity THEN 'applies to service providers only; the entity is a ' || $entity_type
         WHEN latest_date IS NULL THEN 'no ' || $activity_name || ' is recorded'
         WHEN overdue OR latest_failed OR gap THEN concat_ws('; ',
            CASE WHEN overdue THEN 'the latest ' || $activity_name || ' (' || attestation_id || ', ' || latest_date || ') is older than '
                || interval_months || ' months: the next was due by ' || due_by END,
            CASE WHEN latest_failed THEN 'the latest ' || $activity_name || ' (' || attestation_id || ', ' || latest_date
                || ') reports a failing result' END,
            CASE WHEN gap THEN 'no ' || $activity_name || ' for ' || longest_gap_days || ' days from ' || longest_gap_from
                || ' to ' || longest_gap_to || ', longer than ' || interval_months || ' months' END)
         ELSE 'the latest ' || $activity_name || ' (' || attestation_id || ', ' || latest_date || ') is '
              || (CAST(least($as_of, $period_end) AS DATE) - latest_date) || ' days old; the next is due by ' || due_by
              || '; no longer gap in the 12-month look-back'
    END AS reason,
    CASE WHEN not_for_entity OR latest_date IS NULL THEN NULL
         WHEN gap AND NOT (overdue OR latest_failed) THEN gap_sha256 ELSE l_sha256 END AS source_sha256,
    CASE WHEN not_for_entity THEN NULL
         WHEN latest_date IS NULL THEN 'absent:attestations kind=' || $activity_kind
         WHEN gap AND NOT (overdue OR latest_failed) THEN gap_locator ELSE l_locator END AS locator,
    requirement, interval_months, attestation_id, latest_date, result, due_by,
    longest_gap_from, longest_gap_to, longest_gap_days, performed_by, attestation_ref
FROM s
