-- One row per requirement whose frequency must rest on a targeted risk analysis: the listed
-- ones plus every requirement an analysis is recorded for.
WITH tra AS (
    SELECT * FROM attestations
    WHERE kind = 'targeted_risk_analysis' AND NOT coalesce(not_applicable, false) AND performed_on <= least($as_of, $period_end)
),
reqs AS (
    SELECT DISTINCT requirement FROM (
        SELECT CAST(unnest($tra_requirements) AS VARCHAR) AS requirement
        UNION ALL SELECT requirement FROM tra
    )
),
latest AS (
    SELECT * FROM tra
    QUALIFY row_number() OVER (PARTITION BY requirement ORDER BY performed_on DESC, attestation_id DESC) = 1
),
na AS (        -- requirements the entity declared not applicable by attestation
    SELECT requirement, first(attestation_id ORDER BY performed_on DESC, attestation_id) AS na_id,
        first(source_sha256 ORDER BY performed_on DESC, attestation_id) AS na_sha256,
        first(locator ORDER BY performed_on DESC, attestation_id) AS na_locator
    FROM attestations WHERE coalesce(not_applicable, false) GROUP BY requirement
),
j AS (
    SELECT r.requirement, l.attestation_id, l.performed_on AS reviewed_on, l.result, l.performed_by,
        l.source_sha256, l.locator, l.source_file || l.locator AS attestation_ref,
        CAST(l.performed_on + to_months($max_age_months) AS DATE) AS due_by,
        n.na_id, n.na_sha256, n.na_locator
    FROM reqs r LEFT JOIN latest l USING (requirement) LEFT JOIN na n USING (requirement)
)
SELECT
    'TRA for ' || requirement AS resource,
    CASE WHEN na_id IS NOT NULL THEN 'not_applicable'
         WHEN reviewed_on IS NULL OR least($as_of, $period_end) > due_by OR coalesce(result = 'fail', false) THEN 'fail'
         ELSE 'pass' END AS status,
    CASE WHEN na_id IS NOT NULL THEN 'requirement ' || requirement || ' is declared not applicable (' || na_id || ')'
         WHEN reviewed_on IS NULL THEN 'no targeted risk analysis is recorded for requirement ' || requirement
         WHEN least($as_of, $period_end) > due_by THEN 'analysis ' || attestation_id || ' was last reviewed ' || reviewed_on
              || '; a review was due by ' || due_by
         WHEN result = 'fail' THEN 'analysis ' || attestation_id || ' (' || reviewed_on || ') reports a failing result'
         ELSE 'analysis ' || attestation_id || ' reviewed ' || reviewed_on || '; next review due by ' || due_by
    END AS reason,
    CASE WHEN na_id IS NOT NULL THEN na_sha256 ELSE source_sha256 END AS source_sha256,
    CASE WHEN na_id IS NOT NULL THEN na_locator
         WHEN reviewed_on IS NULL THEN 'absent:attestations kind=targeted_risk_analysis requirement=' || requirement
         ELSE locator END AS locator,
    requirement, attestation_id, reviewed_on, due_by, result, performed_by, attestation_ref
FROM j
