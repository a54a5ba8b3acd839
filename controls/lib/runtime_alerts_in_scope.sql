-- Shared by the runtime-alert checks: runtime-sensor (Falco) alerts of the assessment period (up
-- to the earlier of the as-of date and the period end) on in-scope workloads, one row per alert
-- with its key, "<namespace>/<pod or container> <UTC day>: <rule>" ("host <node>" for alerts
-- outside containers).
-- In scope: a CDE or connected namespace, a CDE image, or (for alerts outside any container) a
-- node whose address lies in a CDE or connected range (nodes named ip-a-b-c-d, as on EKS, give
-- their address). Alerts about the cluster as a whole (k8s_audit alerts without a namespace) and
-- the sensor's own records (source internal) are left out.
WITH alerts AS (
    SELECT a.*,
        coalesce(a.pod, json_extract_string(a.output_fields, '$."ka.target.name"'), a.container_name,
                 a.container_id) AS subject,
        CASE WHEN regexp_matches(a.hostname, '^ip-\d+-\d+-\d+-\d+')
             THEN replace(regexp_extract(a.hostname, '^ip-(\d+-\d+-\d+-\d+)', 1), '-', '.') END AS node_ip
    FROM runtime_alerts a
    WHERE a.event_time >= $period_start
      AND a.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND coalesce(a.source, '') <> 'internal'
),
scoped AS (
    SELECT a.*,
        CASE WHEN a.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde')
                  OR EXISTS (SELECT 1 FROM scope_images p WHERE a.image GLOB p.pattern) THEN 'cde'
             WHEN a.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'connected') THEN 'connected'
             WHEN a.namespace IS NULL AND a.container_id IS NULL AND coalesce(a.source, '') = 'syscall'
                  THEN (SELECT z.zone FROM ip_zones z WHERE z.ip = a.node_ip AND z.zone IN ('cde', 'connected'))
        END AS zone
    FROM alerts a
)
SELECT *,
    coalesce(namespace || '/' || coalesce(subject, '-'), 'host ' || hostname) || ' '
        || strftime(event_time, '%Y-%m-%d') || ': ' || rule AS alert_key,
    CAST(event_time AS DATE) AS day
FROM scoped WHERE zone IS NOT NULL
