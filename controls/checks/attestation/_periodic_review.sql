-- Shared by the periodic-review checks (user access reviews, NSC rule-set reviews): one row per
-- review of kind $activity_kind completed in the 12-month look-back, plus one row for the time from
-- the latest review to the as-of date. $activity_requirement narrows to one requirement ('' = any).
WITH rv AS (
    SELECT attestation_id, performed_on AS review_date, result, performed_by, source_sha256, locator,
        source_file || locator AS attestation_ref
    FROM attestations
    WHERE kind = $activity_kind AND ($activity_requirement = '' OR requirement = $activity_requirement)
      AND NOT coalesce(not_applicable, false) AND performed_on <= least($as_of, $period_end)
),
seq AS (
    SELECT *, lag(review_date) OVER w AS previous_review, lag(attestation_id) OVER w AS previous_attestation
    FROM rv WINDOW w AS (ORDER BY review_date, attestation_id)
),
reviews AS (
    SELECT *,
        coalesce(previous_review, CAST($lookback_start AS DATE)) AS from_date,
        CAST(coalesce(previous_review, CAST($lookback_start AS DATE)) + to_months($max_interval_months) AS DATE)
            AS due_by
    FROM seq WHERE review_date >= $lookback_start
),
latest AS (
    SELECT arg_max(attestation_id, review_date) AS attestation_id, max(review_date) AS review_date
    FROM rv
),
last_row AS (
    SELECT l.attestation_id, l.review_date,
        CAST(l.review_date + to_months($max_interval_months) AS DATE) AS due_by,
        r.result, r.performed_by, r.source_sha256, r.locator, r.attestation_ref
    FROM latest l LEFT JOIN rv r USING (attestation_id)
)
SELECT
    $activity_name || ' ' || attestation_id AS resource,
    CASE WHEN review_date > due_by OR result = 'fail' THEN 'fail' ELSE 'pass' END AS status,
    concat_ws('; ',
        'completed ' || review_date || ', ' || (review_date - from_date) || ' days after '
            || CASE WHEN previous_review IS NULL THEN 'the start of the look-back (' || from_date
                    || '), with no earlier review recorded'
                    ELSE $activity_name || ' ' || previous_attestation || ' of ' || previous_review END,
        CASE WHEN review_date > due_by THEN 'it was due by ' || due_by
             ELSE 'on time (due by ' || due_by || ')' END,
        CASE WHEN result = 'fail' THEN 'it reports a failing result' END) AS reason,
    source_sha256, locator,
    attestation_id, review_date, previous_review, previous_attestation,
    review_date - from_date AS days_since_previous, due_by, result, performed_by, attestation_ref
FROM reviews
UNION ALL
SELECT
    $activity_name || ': latest to the as-of date' AS resource,
    CASE WHEN review_date IS NULL OR least($as_of, $period_end) > due_by THEN 'fail' ELSE 'pass' END AS status,
    CASE WHEN review_date IS NULL THEN 'no ' || $activity_name || ' is recorded'
         WHEN least($as_of, $period_end) > due_by THEN 'the latest review (' || attestation_id || ', ' || review_date
              || ') is older than ' || $max_interval_months || ' months: the next was due by ' || due_by
              || ', ' || (CAST(least($as_of, $period_end) AS DATE) - due_by) || ' days before the evaluation date'
         ELSE 'the latest review (' || attestation_id || ', ' || review_date || ') is '
              || (CAST(least($as_of, $period_end) AS DATE) - review_date) || ' days old; the next is due by ' || due_by
    END AS reason,
    source_sha256,
    CASE WHEN review_date IS NULL THEN 'absent:attestations kind=' || $activity_kind
              || CASE WHEN $activity_requirement = '' THEN '' ELSE ' requirement=' || $activity_requirement END
         ELSE locator END AS locator,
    attestation_id, review_date, NULL AS previous_review, NULL AS previous_attestation,
    CAST(least($as_of, $period_end) AS DATE) - review_date AS days_since_previous, due_by, result, performed_by, attestation_ref
FROM last_row
