-- One row per alert key, "<namespace>/<pod or container> <UTC day>: <rule>" ("host <node>" for
-- alerts outside containers), for runtime alerts at or above the priority, in the period, on
-- in-scope workloads (controls/lib/runtime_alerts_in_scope.sql says what is in scope).
--
-- Dispositions are attestations of kind alert_disposition whose date or period covers the alert's
-- day and whose evidence or justification names the alert: its key, or its rule.
WITH levels AS (
    SELECT CASE lower(trim($min_priority))
        WHEN 'emergency' THEN 0 WHEN 'alert' THEN 1 WHEN 'critical' THEN 2 WHEN 'error' THEN 3
        WHEN 'warning' THEN 4 WHEN 'notice' THEN 5 WHEN 'informational' THEN 6 WHEN 'info' THEN 6
        WHEN 'debug' THEN 7
        ELSE error('min_priority must be a Falco priority (Emergency ... Debug), got ' || $min_priority)
        END AS max_level
),
keyed AS (
    SELECT a.* FROM runtime_alerts_in_scope a, levels l WHERE a.priority_level <= l.max_level
),
grouped AS (
    SELECT alert_key, any_value(rule) AS rule, min(priority_level) AS priority_level,
        arg_min(priority, priority_level) AS priority, any_value(zone) AS zone,
        any_value(namespace) AS namespace, any_value(subject) AS subject,
        any_value(hostname) AS node, any_value(image) AS image, any_value(day) AS day,
        count(*) AS alerts, min(event_time) AS first_seen, max(event_time) AS last_seen,
        arg_min(proc_cmdline, event_time) AS first_cmdline,
        arg_min(source_sha256, event_time) AS source_sha256, arg_min(locator, event_time) AS locator
    FROM keyed GROUP BY alert_key
),
dispositions AS (
    SELECT g.alert_key, min(t.attestation_id) AS disposition,
        arg_min(t.evidence, t.attestation_id) AS disposition_evidence,
        arg_min(t.result, t.attestation_id) AS disposition_result
    FROM grouped g
    JOIN attestations t
      ON t.kind = 'alert_disposition' AND g.day BETWEEN t.date_start AND t.date_end
     AND (contains(lower(coalesce(t.evidence, '') || ' ' || coalesce(t.justification, '')), lower(g.alert_key))
          OR contains(lower(coalesce(t.evidence, '') || ' ' || coalesce(t.justification, '')), lower(g.rule)))
    GROUP BY g.alert_key
)
SELECT
    g.alert_key AS resource,
    CASE WHEN d.disposition IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN d.disposition IS NOT NULL
         THEN 'dispositioned by ' || d.disposition || coalesce(' (' || d.disposition_evidence || ')', '')
              || CASE WHEN d.disposition_result = 'fail' THEN '; the disposition records a real incident' ELSE '' END
         ELSE g.priority || ' alert ''' || g.rule || ''' on ' || g.zone || ' workload '
              || coalesce(g.namespace || '/', '') || coalesce(g.subject, g.node) || ' (' || g.alerts
              || ' event(s) on ' || g.day || ') has no recorded disposition' END AS reason,
    CASE WHEN d.disposition IS NOT NULL
         THEN (SELECT t.source_sha256 FROM attestations t WHERE t.attestation_id = d.disposition)
         ELSE g.source_sha256 END AS source_sha256,
    CASE WHEN d.disposition IS NOT NULL
         THEN (SELECT t.locator FROM attestations t WHERE t.attestation_id = d.disposition)
         ELSE g.locator END AS locator,
    CASE WHEN d.disposition IS NULL AND g.zone = 'cde' AND g.priority_level <= 2 THEN 'critical' END AS severity,
    g.rule, g.priority, g.zone, g.namespace, g.subject, g.node, g.image, g.day, g.alerts,
    g.first_seen, g.last_seen, g.first_cmdline, d.disposition, d.disposition_evidence
FROM grouped g
LEFT JOIN dispositions d ON d.alert_key = g.alert_key
