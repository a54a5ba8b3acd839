-- Shared by the configuration-scan checks: one row per target a configuration scanner examined
-- (kube-bench, kubescape, Trivy misconfiguration and k8s scans, SARIF linters...), dated and
-- placed in the declared scope.
-- A scan counts as a configuration scan when it is a Kubernetes-resource or CIS-benchmark scan,
-- or when it reported at least one configuration finding (a vulnerability-only image scan is not).
-- scanned_on: the scan time the report gives, else the --observed-at date given at ingest (some
--   reports, e.g. kube-bench's, carry no time); NULL when neither is known.
-- subject: what was scanned, stable across scans: namespace/Kind/name for Kubernetes resources,
--   the image repository for images, else the scanner's artifact name.
-- zone: cde / connected for resources in declared namespaces; 'not namespaced' for findings
--   without a namespace (cluster-scoped resources, nodes, images, files), which are always kept.
--   Resources in other namespaces are left out.
WITH cfg AS (
    SELECT DISTINCT scan_id FROM config_findings
)
SELECT
    s.scan_id, s.scanner, s.scan_kind, s.artifact_name,
    s.k8s_namespace, s.k8s_kind, s.k8s_name,
    CASE
        WHEN s.k8s_kind IS NOT NULL
            THEN coalesce(s.k8s_namespace, '-') || '/' || s.k8s_kind || '/' || coalesce(s.k8s_name, '-')
        WHEN s.image_repo IS NOT NULL THEN s.image_repo
        ELSE coalesce(s.artifact_name, '-')
    END AS subject,
    CASE
        WHEN s.k8s_namespace IS NULL THEN 'not namespaced'
        WHEN s.k8s_namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde') THEN 'cde'
        ELSE 'connected'
    END AS zone,
    coalesce(s.scanned_at, src.observed_at) AS scanned_on,
    CASE WHEN s.scanned_at IS NOT NULL THEN 'report'
         WHEN src.observed_at IS NOT NULL THEN 'observed-at' END AS dated_by,
    s.source_sha256, s.locator
FROM scans s
JOIN sources src USING (source_sha256)
WHERE (s.scan_kind IN ('k8s-resource', 'cis-benchmark') OR s.scan_id IN (SELECT scan_id FROM cfg))
  AND (s.k8s_namespace IS NULL OR s.k8s_namespace IN (SELECT namespace FROM scope_namespaces))
