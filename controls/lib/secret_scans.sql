-- Shared by the secret checks: one row per scanned target that was searched for hard-coded
-- secrets, at any date (checks choose their window), with the artifact it examined.
-- A target was searched for secrets when its report shows the secret scanner ran (scan_classes
-- includes secret: a Trivy Result of Class secret, a SARIF secret result, or any run of a
-- dedicated secret scanner: gitleaks, trufflehog, detect-secrets, ggshield, secretlint,
-- talisman), or when it is a Trivy image, filesystem, repository or VM target whose report shows
-- Trivy's default scanners ran (package vulnerability results: Trivy runs its vulnerability and
-- secret scanners by default, writes no Result for a clean secret search and does not record
-- which scanners ran). A configuration- or licence-only Trivy report (trivy k8s run for
-- misconfigurations, --scanners misconfig) chose its scanners and shows no secret search; a
-- Trivy report with no Result shows nothing. Targets the scanner could not scan, and reports
-- without a scan time, are left out. Rows stored before scan_classes existed (NULL) keep the
-- earlier rule: any Trivy image, filesystem, repository or VM target.
-- artifact: for an image, the repository (normalised as in image_scans) and its digest, else its
-- tag; for anything else, the scan kind and the name the scanner gave it; a report that names no
-- target (a bare SARIF run) is named by its scanner and file: "<scanner> run <sha256 prefix><locator>".
WITH s AS (
    SELECT s.*, src.format AS scan_format,
        regexp_replace(
            regexp_replace(s.image_repo, '^(docker\.io|index\.docker\.io|registry-1\.docker\.io)/', ''),
            '^library/([^/]+)$', '\1') AS repo
    FROM scans s JOIN sources src USING (source_sha256)
    WHERE s.scanned_at IS NOT NULL AND s.scan_error IS NULL
)
SELECT
    s.scan_id, s.source_sha256, s.locator, s.scanner, s.scan_format, s.scan_kind, s.scanned_at,
    s.repo AS image_repo, s.image_tag, s.image_digest, s.artifact_name,
    CASE WHEN s.repo IS NOT NULL
             THEN s.repo || coalesce('@' || s.image_digest, ':' || s.image_tag, '')
         WHEN s.artifact_name IS NOT NULL THEN s.scan_kind || ' ' || s.artifact_name
         ELSE s.scanner || ' run ' || left(s.source_sha256, 12) || s.locator
    END AS artifact,
    CASE WHEN s.repo IS NOT NULL THEN 'image' ELSE s.scan_kind END AS artifact_kind,
    EXISTS (SELECT 1 FROM scope_images p
            WHERE s.repo GLOB p.pattern OR s.image_repo GLOB p.pattern) AS matches_cde_image
FROM s
WHERE list_contains(s.scan_classes, 'secret')
   OR (s.scan_format IN ('trivy-json', 'trivy-k8s-json')
       AND s.scan_kind IN ('image', 'filesystem', 'repository', 'vm')
       AND (list_has_any(s.scan_classes, ['os-pkgs', 'lang-pkgs', 'vuln']) OR s.scan_classes IS NULL))
   OR s.scanner IN ('gitleaks', 'trufflehog', 'detect-secrets', 'ggshield', 'secretlint', 'talisman')
   OR EXISTS (SELECT 1 FROM secret_findings f WHERE f.scan_id = s.scan_id)
