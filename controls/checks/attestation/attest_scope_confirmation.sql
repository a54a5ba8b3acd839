-- One row per requirement: 12.5.2 (every entity) and 12.5.2.1 (service providers only).
WITH reqs AS (
    SELECT * FROM (VALUES
        ('12.5.2', CAST($interval_months AS INTEGER), false),
        ('12.5.2.1', CAST($sp_interval_months AS INTEGER), true)
    ) AS t(requirement, interval_months, sp_only)
),
confirmations AS (
    SELECT attestation_id, performed_on AS confirmed_on, result, performed_by, source_sha256, locator,
        source_file || locator AS attestation_ref
    FROM attestations
    WHERE kind = 'scope_confirmation' AND NOT coalesce(not_applicable, false) AND performed_on <= $as_of
),
seq AS (
    SELECT *,
        coalesce(lag(confirmed_on) OVER w, CAST($lookback_start AS DATE)) AS from_date
    FROM confirmations WINDOW w AS (ORDER BY confirmed_on, attestation_id)
),
late AS (      -- intervals in the look-back, ending at a confirmation, longer than the requirement allows
    SELECT r.requirement, s.*, s.confirmed_on - s.from_date AS gap_days
    FROM reqs r JOIN seq s ON s.confirmed_on >= $lookback_start
    WHERE s.confirmed_on > CAST(s.from_date + to_months(r.interval_months) AS DATE)
),
worst AS (
    SELECT requirement, max(gap_days) AS longest_gap_days,
        arg_max(from_date, gap_days) AS longest_gap_from, arg_max(confirmed_on, gap_days) AS longest_gap_to,
        arg_max(source_sha256, gap_days) AS gap_sha256, arg_max(locator, gap_days) AS gap_locator
    FROM late GROUP BY requirement
),
latest AS (
    SELECT * FROM confirmations ORDER BY confirmed_on DESC, attestation_id DESC LIMIT 1
),
j AS (
    SELECT r.*, l.attestation_id, l.confirmed_on AS latest_confirmation, l.result, l.performed_by,
        l.source_sha256 AS l_sha256, l.locator AS l_locator, l.attestation_ref,
        CAST(l.confirmed_on + to_months(r.interval_months) AS DATE) AS due_by,
        w.longest_gap_days, w.longest_gap_from, w.longest_gap_to, w.gap_sha256, w.gap_locator,
        r.sp_only AND $entity_type <> 'service_provider' AS not_for_entity
    FROM reqs r LEFT JOIN latest l ON true LEFT JOIN worst w USING (requirement)
),
s AS (
    SELECT *,
        latest_confirmation IS NOT NULL AND $as_of > due_by AS overdue,
        coalesce(result = 'fail', false) AS latest_failed,
        longest_gap_days IS NOT NULL AS gap
    FROM j
)
SELECT
    'requirement ' || requirement AS resource,
    CASE WHEN not_for_entity THEN 'not_applicable'
         WHEN latest_confirmation IS NULL OR overdue OR latest_failed OR gap THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN not_for_entity THEN 'applies to service providers only; the entity is a ' || $entity_type
         WHEN latest_confirmation IS NULL THEN 'no confirmation of the PCI DSS scope is recorded'
         WHEN overdue OR latest_failed OR gap THEN concat_ws('; ',
            CASE WHEN overdue THEN 'the latest confirmation (' || attestation_id || ', ' || latest_confirmation || ') is older than '
                || interval_months || ' months: the next was due by ' || due_by END,
            CASE WHEN latest_failed THEN 'the latest confirmation (' || attestation_id || ', ' || latest_confirmation
                || ') reports a failing result' END,
            CASE WHEN gap THEN 'no confirmation for ' || longest_gap_days || ' days from ' || longest_gap_from
                || ' to ' || longest_gap_to || ', longer than ' || interval_months || ' months' END)
         ELSE 'the latest confirmation (' || attestation_id || ', ' || latest_confirmation || ') is '
              || (CAST($as_of AS DATE) - latest_confirmation) || ' days old; the next is due by ' || due_by
              || '; no longer gap in the 12-month look-back'
    END AS reason,
    CASE WHEN not_for_entity OR latest_confirmation IS NULL THEN NULL
         WHEN gap AND NOT (overdue OR latest_failed) THEN gap_sha256 ELSE l_sha256 END AS source_sha256,
    CASE WHEN not_for_entity THEN NULL
         WHEN latest_confirmation IS NULL THEN 'absent:attestations kind=scope_confirmation'
         WHEN gap AND NOT (overdue OR latest_failed) THEN gap_locator ELSE l_locator END AS locator,
    requirement, interval_months, attestation_id, latest_confirmation, result, due_by,
    longest_gap_from, longest_gap_to, longest_gap_days, performed_by, attestation_ref
FROM s
