-- Shared by the vulnerability and inventory checks: one row per vulnerability scan of a container
-- image, at any date (checks choose their window). Which reports are vulnerability scans is
-- decided once, in vuln_scans (a configuration-only report naming an image is not one).
-- Left out: reports without a scan time (they cannot be placed in a window).
-- image_repo is normalised so the Docker Hub spellings of one repository meet: nginx,
-- docker.io/library/nginx and index.docker.io/library/nginx are all "nginx". The same rule is
-- applied to running images in workload_running_images and to secret_scans.
WITH s AS (
    SELECT s.*,
        regexp_replace(
            regexp_replace(s.image_repo, '^(docker\.io|index\.docker\.io|registry-1\.docker\.io)/', ''),
            '^library/([^/]+)$', '\1') AS repo
    FROM vuln_scans s
    WHERE s.scan_kind = 'image' AND s.image_repo IS NOT NULL AND s.scanned_at IS NOT NULL
)
SELECT
    s.scan_id, s.source_sha256, s.locator, s.scanner, s.scanner_version, s.scan_format,
    s.repo AS image_repo, s.image_repo AS image_repo_reported, s.image_tag, s.image_digest,
    s.image_id, s.scanned_at, s.db_built_at, s.os_family, s.os_name, s.os_eosl, s.artifact_name,
    s.scan_classes,
    EXISTS (SELECT 1 FROM scope_images p
            WHERE s.repo GLOB p.pattern OR s.image_repo GLOB p.pattern) AS matches_cde_image
FROM s
