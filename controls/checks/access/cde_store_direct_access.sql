-- One row per (principal, store pod, exec/attach/port-forward, outcome, UTC day) in the period, plus
-- one row per declared store no such request reached.
-- Stores: pods named by "namespace/pod-name-prefix" entries of store_pods. Requests are counted
-- once per auditID (the most complete stage wins: exec sessions log ResponseStarted and
-- ResponseComplete with 101). Outcome: 101 or 2xx allowed, 401/403 denied; a request whose
-- outcome was never logged counts as allowed.
WITH stores AS (
    SELECT entry, split_part(entry, '/', 1) AS namespace, split_part(entry, '/', 2) AS prefix
    FROM (SELECT unnest(CAST($store_pods AS VARCHAR[])) AS entry)
),
requests AS (
    SELECT e.*, s.entry AS store
    FROM k8s_audit_events e
    JOIN stores s ON e.namespace = s.namespace AND starts_with(e.name, s.prefix)
    WHERE e.resource = 'pods' AND e.subresource IN ('exec', 'attach', 'portforward')
      AND e.event_time >= $period_start AND e.event_time < $as_of + INTERVAL 1 DAY
    QUALIFY row_number() OVER (
        PARTITION BY coalesce(e.audit_id, e.source_sha256 || e.locator)
        ORDER BY CASE e.stage WHEN 'ResponseComplete' THEN 0 WHEN 'ResponseStarted' THEN 1
                              WHEN 'Panic' THEN 2 ELSE 3 END, e.locator) = 1
),
classified AS (
    SELECT *,
        CASE WHEN response_code IN (401, 403) THEN 'denied'
             WHEN response_code = 101 OR response_code BETWEEN 200 AND 299 THEN 'allowed'
             WHEN response_code IS NULL THEN 'outcome not logged'
             ELSE 'failed (' || response_code || ')' END AS outcome,
        array_to_string(list_transform(regexp_extract_all(request_uri, '[?&]command=([^&]*)', 1),
                                       lambda c: url_decode(c)), ' ') AS command
    FROM requests
),
grouped AS (
    SELECT username || ' ' || subresource || ' ' || namespace || '/' || name || ' '
               || strftime(event_time, '%Y-%m-%d') || ' (' || outcome || ')' AS item,
        any_value(username) AS principal, any_value(namespace || '/' || name) AS pod,
        any_value(subresource) AS access, any_value(outcome) AS outcome, any_value(store) AS store,
        count(*) AS requests, min(event_time) AS first_at, max(event_time) AS last_at,
        string_agg(DISTINCT nullif(command, ''), '; ' ORDER BY nullif(command, '')) AS commands,
        string_agg(DISTINCT source_ip, ', ' ORDER BY source_ip) AS source_ips,
        string_agg(DISTINCT impersonated_user, ', ' ORDER BY impersonated_user) AS impersonating,
        list_sort(list_distinct(flatten(list(coalesce(user_groups, []::VARCHAR[]))))) AS groups,
        arg_min(source_sha256, event_time) AS source_sha256, arg_min(locator, event_time) AS locator
    FROM classified
    GROUP BY item
),
judged AS (
    SELECT g.*,
        list_contains(CAST($store_admins AS VARCHAR[]), g.principal)
        OR list_has_any(CAST($store_admins AS VARCHAR[]), list_transform(g.groups, lambda x: 'group:' || x))
            AS admin
    FROM grouped g
)
SELECT
    item AS resource,
    CASE WHEN outcome = 'denied' OR outcome LIKE 'failed%' THEN 'not_applicable'
         WHEN admin THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN outcome = 'denied' THEN 'the API server refused the ' || access || ' (the restriction worked)'
         WHEN outcome LIKE 'failed%' THEN 'the request ' || outcome || ' did not open a session'
         WHEN admin THEN 'declared database administrator ' || principal || ' opened ' || requests || ' '
              || access || ' session(s)' || coalesce(' (' || commands || ')', '')
         ELSE principal || ' opened ' || requests || ' ' || access || ' session(s) into the cardholder-data store '
              || pod || coalesce(' (' || commands || ')', '') || ' without being a declared database administrator'
              || CASE WHEN outcome = 'outcome not logged' THEN '; the outcome was not logged' ELSE '' END
    END AS reason,
    source_sha256, locator,
    principal, pod, store, access, outcome, requests, first_at, last_at, commands, source_ips,
    impersonating
FROM judged
UNION ALL
SELECT
    'store ' || s.entry AS resource, 'pass' AS status,
    'no exec, attach or port-forward request into ' || s.entry || '* pods is recorded in the period' AS reason,
    NULL AS source_sha256,
    'absent:k8s_audit_events pods exec/attach/portforward in ' || s.entry || '*' AS locator,
    NULL, NULL, s.entry, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL
FROM stores s
WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.store = s.entry)
