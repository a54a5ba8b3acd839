-- Shared by every check that follows a vulnerability over time, the one definition of "resolved":
-- one row per (image repository, vulnerability, package) that a vulnerability scan of the image
-- (image_scans) reported in the 12-month look-back up to the as-of date.
-- Presence: every report of it counts, whatever severity that scan gave it and whether or not the
--   scanner suppressed it (Grype ignoredMatches; Trivy modified findings from a VEX document or an
--   ignore file; CycloneDX analysis not_affected / false_positive; SARIF suppressions). A
--   re-rating or a suppression is not a fix; accepted risks belong in the exceptions register.
-- Resolved: only by a later vulnerability scan of the same repository that shows the package
--   upgraded or removed: the scan no longer reports the finding, and does not show the same
--   package at the same installed version (through another finding on it, or the scan's own
--   component list). resolved_at is the first such scan after the last report. A finding that
--   later scans stop reporting while they still show the package unchanged stays open
--   (version_seen_at: the latest scan still showing it). Scans of other repositories, SBOMs
--   without a vulnerability analysis and configuration reports never resolve anything.
-- severity: the highest rating any scan gave it in the look-back (it sets the deadline class);
--   period_severity the highest in the assessment period; last_rec.severity the latest scan's.
-- fix_seen_at: the first scan that reported a fixed version. Scanners date the advisory, not the
--   patch release, so this is a conservative, evidenced proxy for "fix available".
-- zone, namespaces, out_of_scope_reason, seen_running, ran_in_period: the repository's scope and
--   whether it was seen running (ever in the look-back, and in the period) (image_scope).
WITH vs AS (
    SELECT * FROM image_scans
    WHERE scanned_at >= $lookback_start AND scanned_at < least($as_of, $period_end) + INTERVAL 1 DAY
),
latest AS (
    SELECT image_repo, max(scanned_at) AS last_scan FROM vs GROUP BY image_repo
),
scan_times AS (     -- one scan per repository and instant (the first by locator) to cite
    SELECT image_repo, scanned_at,
        arg_min({'sha': source_sha256, 'loc': locator, 'digest': image_digest}, (source_sha256, locator)) AS rec
    FROM vs GROUP BY image_repo, scanned_at
),
reports AS (
    SELECT s.image_repo, s.scanned_at, s.image_digest, v.vuln_id, coalesce(v.pkg_name, '') AS pkg_name,
        v.installed_version, v.fixed_version, v.fix_state, v.severity, v.suppressed, v.suppression,
        v.source_sha256, v.locator,
        CASE v.severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3
             WHEN 'low' THEN 2 WHEN 'info' THEN 1 ELSE 0 END AS severity_rank
    FROM vulnerabilities v JOIN vs s USING (scan_id)
    WHERE v.vuln_id IS NOT NULL
),
items AS (
    SELECT image_repo, vuln_id, pkg_name,
        min(scanned_at) AS first_seen,
        max(scanned_at) AS last_seen,
        min(scanned_at) FILTER (WHERE fix_state = 'fixed') AS fix_seen_at,
        max(severity_rank) AS severity_rank,
        max(severity_rank) FILTER (WHERE scanned_at >= $period_start) AS period_severity_rank,
        min(scanned_at) FILTER (WHERE suppressed) AS first_suppressed,
        -- The latest report; at one instant an unsuppressed report wins over a suppressed one.
        arg_max({'sha': source_sha256, 'loc': locator, 'digest': image_digest, 'severity': severity,
                 'installed': installed_version, 'fixed': fixed_version, 'fix_state': fix_state,
                 'suppressed': suppressed, 'suppression': suppression},
                (scanned_at, NOT suppressed, locator)) AS last_rec,
        arg_min({'sha': source_sha256, 'loc': locator}, (scanned_at, locator))
            FILTER (WHERE fix_state = 'fixed') AS fix_rec
    FROM reports
    GROUP BY image_repo, vuln_id, pkg_name
),
installed AS (      -- package versions each scan shows installed: its findings and components
    SELECT s.image_repo, s.scanned_at, v.pkg_name, v.installed_version AS version
    FROM vulnerabilities v JOIN vs s USING (scan_id)
    WHERE v.pkg_name IS NOT NULL AND v.installed_version IS NOT NULL
    UNION
    SELECT s.image_repo, s.scanned_at, p.name, p.version
    FROM sbom_packages p JOIN vs s USING (scan_id)
    WHERE p.version IS NOT NULL
),
held AS (
    SELECT i.image_repo, i.vuln_id, i.pkg_name, max(n.scanned_at) AS version_seen_at
    FROM items i JOIN installed n
      ON n.image_repo = i.image_repo AND n.pkg_name = i.pkg_name
     AND n.version = i.last_rec.installed AND n.scanned_at > i.last_seen
    GROUP BY i.image_repo, i.vuln_id, i.pkg_name
),
pending AS (
    SELECT i.*, h.version_seen_at, coalesce(h.version_seen_at, i.last_seen) AS open_until
    FROM items i LEFT JOIN held h USING (image_repo, vuln_id, pkg_name)
),
resolved AS (
    SELECT p.*, t.scanned_at AS resolved_at, t.rec AS resolved_rec
    FROM pending p ASOF LEFT JOIN scan_times t
      ON p.image_repo = t.image_repo AND p.open_until < t.scanned_at
)
SELECT
    r.image_repo, r.vuln_id, r.pkg_name,
    ['unknown', 'info', 'low', 'medium', 'high', 'critical'][r.severity_rank + 1] AS severity,
    ['unknown', 'info', 'low', 'medium', 'high', 'critical'][r.period_severity_rank + 1]
        AS period_severity,
    r.first_seen, r.fix_seen_at, r.last_seen, l.last_scan,
    r.resolved_at IS NULL AS open,
    r.last_seen = l.last_scan AS in_latest_scan,
    r.version_seen_at, r.resolved_at, r.resolved_rec, r.last_rec, r.fix_rec, r.first_suppressed,
    CASE
        WHEN r.resolved_at IS NOT NULL THEN
            'absent from the scan of ' || strftime(r.resolved_at, '%Y-%m-%d')
        WHEN r.last_seen = l.last_scan AND r.last_rec.suppressed THEN
            'suppressed in the scanner in the latest scan (' || strftime(l.last_scan, '%Y-%m-%d') || ': '
            || coalesce(r.last_rec.suppression, 'no reason given in the report')
            || '), with ' || r.pkg_name || coalesce(' ' || r.last_rec.installed, '')
            || ' still installed; a suppression is not a fix, only an exceptions-register entry can accept it'
        WHEN r.last_seen = l.last_scan THEN
            'still reported by the latest scan (' || strftime(l.last_scan, '%Y-%m-%d') || ')'
            || CASE WHEN r.severity_rank > CASE r.last_rec.severity WHEN 'critical' THEN 5
                        WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 WHEN 'info' THEN 1
                        ELSE 0 END
                    THEN ', re-rated ' || r.last_rec.severity || ' there with ' || r.pkg_name
                         || coalesce(' ' || r.last_rec.installed, '') || ' unchanged'
                    ELSE '' END
        ELSE
            'not reported after ' || strftime(r.last_seen, '%Y-%m-%d') || ', but the scan of '
            || strftime(r.version_seen_at, '%Y-%m-%d') || ' still shows ' || r.pkg_name || ' '
            || r.last_rec.installed || ' installed: no upgrade or removal is shown'
    END AS state,
    coalesce(z.zone, 'unknown') AS zone, coalesce(z.namespaces, []::VARCHAR[]) AS namespaces,
    z.out_of_scope_reason, coalesce(z.seen_running, false) AS seen_running,
    coalesce(z.ran_in_period, false) AS ran_in_period
FROM resolved r
JOIN latest l USING (image_repo)
LEFT JOIN image_scope z USING (image_repo)
