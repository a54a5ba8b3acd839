-- One row per CDE container seen by the runtime sensor in the period: (namespace, pod, image) of
-- container-level output in a CDE namespace or from a CDE image. Shell evidence: an alert of one
-- of the shell rules, or any record of a process attached to a terminal (proc.tty not 0).
-- People who opened exec/attach sessions into the pod come from the Kubernetes audit log.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
recs AS (
    SELECT a.*,
        coalesce(a.namespace, '-') || '/' || coalesce(a.pod, a.container_name, a.container_id)
            || ' (' || coalesce(a.image, 'unknown image') || ')' AS container_key,
        list_contains(CAST($shell_rules AS VARCHAR[]), a.rule) AS shell_rule,
        coalesce(try_cast(json_extract_string(a.output_fields, '$."proc.tty"') AS BIGINT), 0) <> 0 AS on_tty
    FROM runtime_alerts a
    WHERE a.event_time >= $period_start AND a.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND a.container_id IS NOT NULL AND a.container_id <> 'host'
      AND (a.namespace IN (SELECT namespace FROM cde_ns)
           OR EXISTS (SELECT 1 FROM scope_images p WHERE a.image GLOB p.pattern))
),
grouped AS (
    SELECT container_key, any_value(namespace) AS namespace, any_value(pod) AS pod,
        any_value(image) AS image, string_agg(DISTINCT container_name, ', ' ORDER BY container_name) AS container,
        count(*) AS records,
        count(*) FILTER (shell_rule OR on_tty) AS shell_records,
        string_agg(DISTINCT rule, '; ' ORDER BY rule) FILTER (shell_rule OR on_tty) AS shell_rules_seen,
        string_agg(DISTINCT proc_cmdline, '; ' ORDER BY proc_cmdline) FILTER (shell_rule OR on_tty) AS commands,
        string_agg(DISTINCT user_name, ', ' ORDER BY user_name) FILTER (shell_rule OR on_tty) AS container_users,
        min(event_time) FILTER (shell_rule OR on_tty) AS first_shell,
        max(event_time) FILTER (shell_rule OR on_tty) AS last_shell,
        coalesce(arg_min(source_sha256, event_time) FILTER (shell_rule OR on_tty),
                 arg_min(source_sha256, event_time)) AS source_sha256,
        coalesce(arg_min(locator, event_time) FILTER (shell_rule OR on_tty),
                 arg_min(locator, event_time)) AS locator
    FROM recs GROUP BY container_key
),
sessions AS (
    SELECT namespace, name AS pod, string_agg(DISTINCT effective_user, ', ' ORDER BY effective_user) AS exec_by
    FROM k8s_audit_events
    WHERE subresource IN ('exec', 'attach') AND resource = 'pods'
      AND (response_code = 101 OR response_code BETWEEN 200 AND 299)
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY ALL
)
SELECT
    g.container_key AS resource,
    CASE WHEN g.shell_records > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE WHEN g.shell_records > 0
         THEN 'interactive shell in a CDE container: ' || g.shell_rules_seen || ' ('
              || coalesce(g.commands, 'command not recorded') || ') as ' || coalesce(g.container_users, 'an unknown user')
              || ' between ' || strftime(g.first_shell, '%Y-%m-%d %H:%M') || ' and '
              || strftime(g.last_shell, '%Y-%m-%d %H:%M') || ' UTC'
              || coalesce('; exec/attach sessions by ' || s.exec_by, '')
         ELSE g.records || ' runtime record(s) from the container, none of an interactive shell' END AS reason,
    g.source_sha256, g.locator,
    g.namespace, g.pod, g.container, g.image, g.records, g.shell_records, g.shell_rules_seen,
    g.commands, g.container_users, s.exec_by, g.first_shell, g.last_shell
FROM grouped g
LEFT JOIN sessions s ON s.namespace = g.namespace AND s.pod = g.pod
