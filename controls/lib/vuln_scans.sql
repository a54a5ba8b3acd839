-- Shared by every vulnerability check, the one answer to "was this a vulnerability scan": one row
-- per scanned target that its report shows was searched for vulnerabilities, at any date (checks
-- choose their window), of any kind (image, filesystem, SBOM...; image_scans keeps the images).
-- A target was searched for vulnerabilities when the report shows vulnerability detection ran for
-- its packages (scans.scan_classes, set at ingest from the report itself): a Trivy Result of Class
-- os-pkgs or lang-pkgs, or one carrying a Vulnerabilities key (vulnerabilities may be none: a
-- clean scan); a Grype report (it only matches packages against its database); a CycloneDX BOM
-- with a vulnerabilities array; a SARIF run with a vulnerability result, or any Grype run.
-- Not vulnerability scans: configuration-, secret- or licence-only reports (a trivy k8s
-- misconfiguration report names images but never examined their packages), SBOMs without a
-- vulnerability analysis, Trivy reports without any Result (Trivy does not record which scanners
-- ran), and targets the scanner says it could not scan (trivy k8s Resources[].Error).
-- Rows stored before scan_classes existed (NULL) count only when they carry vulnerability
-- records; re-ingest those files to have their clean scans counted.
SELECT
    s.scan_id, s.source_sha256, s.locator, s.scanner, s.scanner_version, src.format AS scan_format,
    s.scan_kind, s.scanned_at, s.db_built_at, s.artifact_name, s.image_repo, s.image_tag,
    s.image_digest, s.image_id, s.os_family, s.os_name, s.os_eosl, s.scan_classes
FROM scans s JOIN sources src USING (source_sha256)
WHERE s.scan_error IS NULL
  AND (list_has_any(s.scan_classes, ['os-pkgs', 'lang-pkgs', 'vuln'])
       OR (s.scan_classes IS NULL
           AND EXISTS (SELECT 1 FROM vulnerabilities v WHERE v.scan_id = s.scan_id)))
