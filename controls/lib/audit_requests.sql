-- Shared by the audit-content checks: one record per Kubernetes API request of the assessment
-- period (up to the earlier of the as-of date and the period end), its most complete stage
-- (ResponseComplete, else Panic, ResponseStarted, RequestReceived). The same request repeated in
-- several files (a SIEM webhook batch, a relay) counts once.
SELECT e.*, coalesce(e.audit_id, e.source_sha256 || e.locator) AS request_id
FROM k8s_audit_events e
WHERE e.event_time >= $period_start
  AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
QUALIFY row_number() OVER (
    PARTITION BY coalesce(e.audit_id, e.source_sha256 || e.locator)
    ORDER BY CASE e.stage WHEN 'ResponseComplete' THEN 0 WHEN 'Panic' THEN 1
                          WHEN 'ResponseStarted' THEN 2 ELSE 3 END, e.source_sha256, e.locator) = 1
