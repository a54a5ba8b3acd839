-- One row per (verb, path) requested by an unauthenticated identity in the period.
WITH e AS (
    SELECT audit_id, coalesce(verb, '-') AS verb,
        coalesce(nullif(split_part(request_uri, '?', 1), ''), '(no URI)') AS path,
        event_time, source_ip, source_sha256, locator,
        coalesce(authz_decision = 'allow'
                 OR (authz_decision IS NULL AND response_code BETWEEN 100 AND 399), false) AS allowed
    FROM k8s_audit_events
    WHERE event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND coalesce(stage, 'ResponseComplete') <> 'RequestReceived'
      AND (effective_user = 'system:anonymous' OR list_contains(user_groups, 'system:unauthenticated'))
),
req AS (    -- one row per request: its stages share the audit ID
    SELECT audit_id, any_value(verb) AS verb, any_value(path) AS path, min(event_time) AS event_time,
        any_value(source_ip) AS source_ip, bool_or(allowed) AS allowed,
        arg_min(source_sha256, (NOT allowed, event_time)) AS source_sha256,
        arg_min(locator, (NOT allowed, event_time)) AS locator
    FROM e GROUP BY audit_id
),
g AS (
    SELECT verb, path,
        count(*) AS requests,
        count(*) FILTER (WHERE allowed) AS allowed_requests,
        count(*) FILTER (WHERE NOT allowed) AS denied_requests,
        min(event_time) FILTER (WHERE allowed) AS first_allowed,
        max(event_time) FILTER (WHERE allowed) AS last_allowed,
        list_sort(list_distinct(list(source_ip))) AS source_ips,
        arg_min(source_sha256, (NOT allowed, event_time)) AS source_sha256,
        arg_min(locator, (NOT allowed, event_time)) AS locator,
        len(list_filter($public_paths, lambda p: path GLOB p)) > 0 AS public_endpoint
    FROM req GROUP BY verb, path
)
SELECT
    verb || ' ' || path AS resource,
    CASE WHEN allowed_requests > 0 AND NOT public_endpoint THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN allowed_requests > 0 AND NOT public_endpoint
            THEN allowed_requests || ' unauthenticated request(s) allowed'
                || CASE WHEN CAST(first_allowed AS DATE) = CAST(last_allowed AS DATE)
                        THEN ' on ' || CAST(first_allowed AS DATE)
                        ELSE ' from ' || CAST(first_allowed AS DATE) || ' to ' || CAST(last_allowed AS DATE) END
                || ', from address(es) ' || array_to_string(source_ips, ', ')
        WHEN allowed_requests > 0
            THEN allowed_requests || ' unauthenticated request(s) to a public health or version endpoint'
        ELSE 'all ' || requests || ' unauthenticated request(s) were refused'
    END AS reason,
    source_sha256, locator,
    verb, path, requests, allowed_requests, denied_requests, first_allowed, last_allowed,
    source_ips, public_endpoint
FROM g
