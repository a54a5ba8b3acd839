-- Shared by the secret checks: one row per artifact (image digest, repository, folder...) searched
-- for hard-coded secrets by a scan in the assessment period (secret_scans library). Findings count
-- when their rule id, category or title matches $finding_pattern (a regular expression over the
-- lower-cased text; '' = every finding), e.g. 'private[-_ ]?key' for Trivy private-key /
-- AsymmetricPrivateKey, gitleaks private-key, trufflehog PrivateKey. Every such finding of every scan
-- of the artifact in the period counts: a secret removed by a later build was still exposed.
WITH scans_p AS (
    SELECT * FROM secret_scans
    WHERE scanned_at >= $period_start AND scanned_at < least($as_of, $period_end) + INTERVAL 1 DAY
),
artifacts AS (
    SELECT artifact, any_value(artifact_kind) AS artifact_kind, any_value(image_repo) AS image_repo,
        any_value(image_digest) AS image_digest, bool_or(matches_cde_image) AS matches_cde_image,
        count(*) AS scans_in_period, max(scanned_at) AS last_scanned_at,
        list(DISTINCT scanner ORDER BY scanner) AS scanners,
        arg_max({'sha': source_sha256, 'loc': locator}, (scanned_at, locator)) AS scan_rec
    FROM scans_p GROUP BY artifact
),
findings AS (
    SELECT p.artifact, p.scanned_at, f.* REPLACE (coalesce(f.suppressed, false) AS suppressed)
    FROM secret_findings f JOIN scans_p p USING (scan_id)
    WHERE $finding_pattern = ''
       OR regexp_matches(lower(f.rule_id || ' ' || coalesce(f.category, '') || ' ' || coalesce(f.title, '')),
                         $finding_pattern)
),
found AS (
    SELECT artifact,
        count(DISTINCT rule_id || '|' || coalesce(target, '') || '|' || coalesce(CAST(start_line AS VARCHAR), ''))
            FILTER (WHERE NOT suppressed) AS open_findings,
        count(*) FILTER (WHERE suppressed) AS suppressed_findings,
        coalesce(list(DISTINCT rule_id ORDER BY rule_id) FILTER (WHERE NOT suppressed), []::VARCHAR[])
            AS rule_ids,
        coalesce(list(DISTINCT coalesce(title, category, rule_id) ORDER BY coalesce(title, category, rule_id))
                 FILTER (WHERE NOT suppressed), []::VARCHAR[]) AS finding_types,
        coalesce(list(DISTINCT layer_digest ORDER BY layer_digest)
                 FILTER (WHERE NOT suppressed AND layer_digest IS NOT NULL), []::VARCHAR[]) AS layers,
        coalesce(list(DISTINCT coalesce(target, '?') || coalesce(':' || start_line, '')
                      ORDER BY coalesce(target, '?') || coalesce(':' || start_line, ''))
                 FILTER (WHERE NOT suppressed), []::VARCHAR[]) AS locations,
        min(scanned_at) FILTER (WHERE NOT suppressed) AS first_found,
        max(scanned_at) FILTER (WHERE NOT suppressed) AS last_found,
        arg_max({'sha': source_sha256, 'loc': locator}, (scanned_at, locator))
            FILTER (WHERE NOT suppressed) AS finding_rec,
        arg_max({'sha': source_sha256, 'loc': locator}, (scanned_at, locator))
            FILTER (WHERE suppressed) AS suppressed_rec,
        string_agg(DISTINCT coalesce(suppression, 'no reason given in the report'), '; '
            ORDER BY coalesce(suppression, 'no reason given in the report'))
            FILTER (WHERE suppressed) AS suppression
    FROM findings GROUP BY artifact
),
running AS (
    SELECT image_repo,
        CASE WHEN bool_or(zone = 'cde') THEN 'cde' WHEN bool_or(zone = 'connected') THEN 'connected'
             WHEN bool_or(zone = 'unknown') THEN 'unknown' ELSE 'out_of_scope' END AS zone,
        coalesce(list(DISTINCT namespace ORDER BY namespace) FILTER (WHERE namespace IS NOT NULL),
                 []::VARCHAR[]) AS namespaces
    FROM workload_running_images GROUP BY image_repo
),
judged AS (
    SELECT a.*, coalesce(f.open_findings, 0) AS open_findings,
        coalesce(f.suppressed_findings, 0) AS suppressed_findings,
        coalesce(f.rule_ids, []::VARCHAR[]) AS rule_ids,
        coalesce(f.finding_types, []::VARCHAR[]) AS finding_types,
        coalesce(f.layers, []::VARCHAR[]) AS layers,
        coalesce(f.locations, []::VARCHAR[]) AS locations,
        f.first_found, f.last_found, f.finding_rec, f.suppressed_rec, f.suppression,
        CASE WHEN a.image_repo IS NULL THEN NULL
             WHEN a.matches_cde_image THEN 'cde'
             ELSE coalesce(r.zone, 'unknown') END AS zone,
        coalesce(r.namespaces, []::VARCHAR[]) AS namespaces
    FROM artifacts a LEFT JOIN found f USING (artifact) LEFT JOIN running r USING (image_repo)
)
SELECT
    artifact AS resource,
    CASE WHEN zone = 'out_of_scope' THEN 'not_applicable'
         WHEN open_findings > 0 THEN 'fail'
         WHEN suppressed_findings > 0 THEN 'not_applicable'
         ELSE 'pass' END AS status,
    CASE
        WHEN zone = 'out_of_scope' THEN
            'the image runs only in namespaces outside the declared CDE and connected scope ('
            || array_to_string(namespaces, ', ') || ')'
        WHEN open_findings > 0 THEN
            open_findings || ' ' || $finding_noun || '(s) found (' || array_to_string(rule_ids, ', ') || ') by '
            || CASE WHEN CAST(first_found AS DATE) = CAST(last_found AS DATE)
                    THEN 'the scan of ' || CAST(first_found AS DATE)
                    ELSE 'scans from ' || CAST(first_found AS DATE) || ' to ' || CAST(last_found AS DATE) END
            || CASE WHEN last_found < last_scanned_at
                    THEN '; the latest scan (' || CAST(last_scanned_at AS DATE) || ') found none, '
                         || 'but ' || $remedy
                    ELSE '' END
        WHEN suppressed_findings > 0 THEN
            'only suppressed ' || $finding_noun || ' findings (' || suppressed_findings || '): ' || suppression
        ELSE 'no ' || $finding_noun || ' found by ' || scans_in_period || ' scan(s) in the period, the latest on '
            || CAST(last_scanned_at AS DATE)
    END AS reason,
    CASE WHEN zone IS DISTINCT FROM 'out_of_scope' AND open_findings > 0 THEN finding_rec.sha
         WHEN zone IS DISTINCT FROM 'out_of_scope' AND suppressed_findings > 0 THEN suppressed_rec.sha
         ELSE scan_rec.sha END AS source_sha256,
    CASE WHEN zone IS DISTINCT FROM 'out_of_scope' AND open_findings > 0 THEN finding_rec.loc
         WHEN zone IS DISTINCT FROM 'out_of_scope' AND suppressed_findings > 0 THEN suppressed_rec.loc
         ELSE scan_rec.loc END AS locator,
    artifact, artifact_kind, image_repo, image_digest, zone, scanners, scans_in_period,
    CAST(last_scanned_at AS DATE) AS last_scanned_at, open_findings, rule_ids, finding_types,
    locations, layers, suppressed_findings, suppression
FROM judged
