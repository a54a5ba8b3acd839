-- One row per critical runtime alert key on an in-scope workload in the period
-- (controls/lib/runtime_alerts_in_scope.sql: "<namespace>/<pod or container> <UTC day>: <rule>",
-- the same keys runtime_alerts_without_disposition reports), at or above the priority.
-- The incident register is the attestations of kind incident: an entry links an alert when its
-- date or period covers the alert's day and its evidence or justification names the alert key,
-- its rule, or its pod.
WITH levels AS (
    SELECT CASE lower(trim($min_priority))
        WHEN 'emergency' THEN 0 WHEN 'alert' THEN 1 WHEN 'critical' THEN 2 WHEN 'error' THEN 3
        WHEN 'warning' THEN 4 WHEN 'notice' THEN 5 WHEN 'informational' THEN 6 WHEN 'info' THEN 6
        WHEN 'debug' THEN 7
        ELSE error('min_priority must be a Falco priority (Emergency ... Debug), got ' || $min_priority)
        END AS max_level
),
grouped AS (
    SELECT a.alert_key, any_value(a.rule) AS rule, min(a.priority_level) AS priority_level,
        arg_min(a.priority, a.priority_level) AS priority, any_value(a.zone) AS zone,
        any_value(a.namespace) AS namespace, any_value(a.subject) AS subject,
        any_value(a.hostname) AS node, any_value(a.image) AS image, any_value(a.day) AS day,
        count(*) AS alerts, min(a.event_time) AS first_seen, max(a.event_time) AS last_seen,
        arg_min(a.proc_cmdline, a.event_time) AS first_cmdline,
        arg_min(a.user_name, a.event_time) AS user_name,
        arg_min(a.fd_name, a.event_time) AS first_fd,
        arg_min(a.source_sha256, a.event_time) AS source_sha256,
        arg_min(a.locator, a.event_time) AS locator
    FROM runtime_alerts_in_scope a, levels l
    WHERE a.priority_level <= l.max_level
    GROUP BY a.alert_key
),
linked AS (
    SELECT g.alert_key, min(t.attestation_id) AS incident,
        arg_min(t.evidence, t.attestation_id) AS incident_evidence,
        arg_min(t.result, t.attestation_id) AS incident_result,
        arg_min(t.source_sha256, t.attestation_id) AS incident_sha256,
        arg_min(t.locator, t.attestation_id) AS incident_locator
    FROM grouped g
    JOIN attestations t
      ON t.kind = 'incident' AND g.day BETWEEN t.date_start AND t.date_end
     AND (contains(lower(coalesce(t.evidence, '') || ' ' || coalesce(t.justification, '')), lower(g.alert_key))
          OR contains(lower(coalesce(t.evidence, '') || ' ' || coalesce(t.justification, '')), lower(g.rule))
          OR (g.subject IS NOT NULL AND g.namespace IS NOT NULL
              AND contains(lower(coalesce(t.evidence, '') || ' ' || coalesce(t.justification, '')),
                           lower(g.namespace || '/' || g.subject))))
    GROUP BY g.alert_key
)
SELECT
    g.alert_key AS resource,
    CASE WHEN l.incident IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN l.incident IS NOT NULL
         THEN 'handled as incident ' || l.incident || coalesce(' (' || l.incident_evidence || ')', '')
              || CASE l.incident_result WHEN 'fail' THEN '; the record confirms a security incident'
                                        WHEN 'pass' THEN '; the record closes it as not an incident'
                                        ELSE '' END
         ELSE g.priority || ' alert ''' || g.rule || ''' on ' || g.zone || ' workload '
              || coalesce(g.namespace || '/', '') || coalesce(g.subject, g.node)
              || coalesce(' as ' || g.user_name, '') || coalesce(' (' || g.first_cmdline || ')', '')
              || ' on ' || g.day || ' is a suspected security incident, and no incident record in'
              || ' the register (attestations of kind incident) links it: the incident response plan'
              || ' was not shown to be activated'
    END AS reason,
    coalesce(l.incident_sha256, g.source_sha256) AS source_sha256,
    coalesce(l.incident_locator, g.locator) AS locator,
    g.rule, g.priority, g.zone, g.namespace, g.subject, g.node, g.image, g.day, g.alerts,
    g.first_seen, g.last_seen, g.first_cmdline, g.user_name, g.first_fd, l.incident,
    l.incident_evidence, l.incident_result
FROM grouped g
LEFT JOIN linked l ON l.alert_key = g.alert_key
