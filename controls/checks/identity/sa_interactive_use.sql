-- One row per (service account, client, source address) seen in the period.
WITH e AS (
    SELECT *, coalesce(split_part(user_agent, '/', 1), '(none)') AS client
    FROM k8s_audit_events
    WHERE effective_user LIKE 'system:serviceaccount:%'
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND coalesce(stage, 'ResponseComplete') <> 'RequestReceived'
),
g AS (
    SELECT effective_user AS service_account, client, coalesce(source_ip, '-') AS source_ip,
        count(DISTINCT audit_id) AS requests,
        count(DISTINCT audit_id) FILTER (WHERE subresource IN ('exec', 'attach', 'portforward'))
            AS interactive_subresources,
        min(event_time) AS first_seen, max(event_time) AS last_seen,
        arg_min(source_sha256, event_time) AS source_sha256, arg_min(locator, event_time) AS locator,
        bool_or(list_contains($interactive_agents, client)) AS interactive_client
    FROM e GROUP BY ALL
)
SELECT
    service_account || ' via ' || client || ' from ' || source_ip AS resource,
    CASE WHEN interactive_client OR interactive_subresources > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN interactive_client THEN requests || ' request(s) with the interactive client ' || client
            || ' from ' || source_ip
        WHEN interactive_subresources > 0 THEN interactive_subresources
            || ' exec/attach/port-forward request(s) under the service account'
        ELSE requests || ' request(s) from a workload client'
    END AS reason,
    source_sha256, locator,
    service_account, client, source_ip, requests, interactive_subresources, first_seen, last_seen
FROM g
