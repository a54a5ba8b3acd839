-- Direct access to the declared cardholder-data stores, through the Kubernetes API and over the
-- network. Rows:
--   * one per (principal, store pod, exec/attach/port-forward, outcome, UTC day) in the period;
--   * one per network connection into a store (controls/lib/flow_edges.sql: client, server, port,
--     protocol, with every VPC, Hubble and Zeek record attached) on a query port;
--   * one per declared store neither kind of access reached.
-- Stores: pods named by "namespace/pod-name-prefix" entries of store_pods, and addresses in
-- store_addresses. API requests are counted once per auditID (the most complete stage wins: exec
-- sessions log ResponseStarted and ResponseComplete with 101). Outcome: 101 or 2xx allowed,
-- 401/403 denied; a request whose outcome was never logged counts as allowed.
-- A connection passes when its client is one of the store's declared application workloads or
-- administrators' access points (store_clients) or the store itself; any other client has direct
-- access. A client known only by an address no flow record ties to a workload cannot be compared
-- with declared workloads: when an approved flow covers it, it is not applicable; when none does,
-- nothing declares it and it fails. Connections from outside the CDE also show the store is directly reachable from a
-- less-trusted zone (1.4.4); the other rows evidence 7.2.6 only.
WITH stores AS (
    SELECT entry, split_part(entry, '/', 1) AS namespace, split_part(entry, '/', 2) AS prefix
    FROM (SELECT unnest(CAST($store_pods AS VARCHAR[])) AS entry)
),
ports AS (
    -- "5432/tcp", "3306" (tcp); none declared: every port
    SELECT CAST(split_part(split_part(spec, '/', 1), '-', 1) AS INTEGER) AS low,
        CAST(coalesce(nullif(split_part(split_part(spec, '/', 1), '-', 2), ''),
                      split_part(split_part(spec, '/', 1), '-', 1)) AS INTEGER) AS high,
        lower(coalesce(nullif(split_part(spec, '/', 2), ''), 'tcp')) AS protocol
    FROM (SELECT unnest(CAST($store_ports AS VARCHAR[])) AS spec)
),
requests AS (
    SELECT e.*, s.entry AS store
    FROM k8s_audit_events e
    JOIN stores s ON e.namespace = s.namespace AND starts_with(e.name, s.prefix)
    WHERE e.resource = 'pods' AND e.subresource IN ('exec', 'attach', 'portforward')
      AND e.event_time >= $period_start AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
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
),
api_rows AS (
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
        source_sha256, locator, '7.2.6' AS requirement,
        'api' AS channel, principal, pod, store, access, outcome, requests, first_at, last_at,
        commands, source_ips, impersonating, NULL AS records_by_format,
        NULL::VARCHAR[] AS supporting_records, NULL AS direction_basis
    FROM judged
),
-- IPv4 prefix test used for store_addresses and store_clients (an IPv6 entry matches only its
-- exact address)
net_conns AS (
    SELECT e.*,
        coalesce(
            (SELECT min(s.entry) FROM stores s
              WHERE e.dst_namespace = s.namespace
                AND (starts_with(coalesce(e.dst_workload, ''), s.prefix)
                     OR list_bool_or(list_transform(e.dst_pods, lambda p: starts_with(p, s.prefix))))),
            (SELECT min(a.entry) FROM (SELECT unnest(CAST($store_addresses AS VARCHAR[])) AS entry) a
              WHERE len(e.dst_ips) > 0 AND list_bool_and(list_transform(e.dst_ips, lambda ip:
                CASE WHEN regexp_full_match(ip, '\d+\.\d+\.\d+\.\d+')
                          AND regexp_full_match(a.entry, '\d+\.\d+\.\d+\.\d+(/\d+)?') THEN
                    coalesce(try_cast(split_part(a.entry, '/', 2) AS INTEGER), 32) = 0
                    OR (((CAST(split_part(ip, '.', 1) AS BIGINT) << 24) + (CAST(split_part(ip, '.', 2) AS BIGINT) << 16)
                         + (CAST(split_part(ip, '.', 3) AS BIGINT) << 8) + CAST(split_part(ip, '.', 4) AS BIGINT))
                        >> (32 - coalesce(try_cast(split_part(a.entry, '/', 2) AS INTEGER), 32)))
                       = (((CAST(split_part(split_part(a.entry, '/', 1), '.', 1) AS BIGINT) << 24)
                           + (CAST(split_part(split_part(a.entry, '/', 1), '.', 2) AS BIGINT) << 16)
                           + (CAST(split_part(split_part(a.entry, '/', 1), '.', 3) AS BIGINT) << 8)
                           + CAST(split_part(split_part(a.entry, '/', 1), '.', 4) AS BIGINT))
                          >> (32 - coalesce(try_cast(split_part(a.entry, '/', 2) AS INTEGER), 32)))
                     ELSE lower(ip) = lower(replace(a.entry, '/128', '')) END)))
        ) AS store
    FROM flow_edges e
    WHERE NOT EXISTS (SELECT 1 FROM ports)
       OR EXISTS (SELECT 1 FROM ports p
                  WHERE e.dst_port BETWEEN p.low AND p.high AND p.protocol = e.protocol)
),
net_judged AS (
    SELECT c.*,
        list_contains(CAST($store_clients AS VARCHAR[]), c.src)
        OR list_contains(CAST($store_clients AS VARCHAR[]), c.src_namespace || '/*')
        OR (len(c.src_ips) > 0 AND list_bool_and(list_transform(c.src_ips, lambda ip:
            coalesce(list_bool_or(list_transform(CAST($store_clients AS VARCHAR[]), lambda x:
                CASE WHEN regexp_full_match(ip, '\d+\.\d+\.\d+\.\d+')
                          AND regexp_full_match(x, '\d+\.\d+\.\d+\.\d+(/\d+)?') THEN
                    coalesce(try_cast(split_part(x, '/', 2) AS INTEGER), 32) = 0
                    OR (((CAST(split_part(ip, '.', 1) AS BIGINT) << 24) + (CAST(split_part(ip, '.', 2) AS BIGINT) << 16)
                         + (CAST(split_part(ip, '.', 3) AS BIGINT) << 8) + CAST(split_part(ip, '.', 4) AS BIGINT))
                        >> (32 - coalesce(try_cast(split_part(x, '/', 2) AS INTEGER), 32)))
                       = (((CAST(split_part(split_part(x, '/', 1), '.', 1) AS BIGINT) << 24)
                           + (CAST(split_part(split_part(x, '/', 1), '.', 2) AS BIGINT) << 16)
                           + (CAST(split_part(split_part(x, '/', 1), '.', 3) AS BIGINT) << 8)
                           + CAST(split_part(split_part(x, '/', 1), '.', 4) AS BIGINT))
                          >> (32 - coalesce(try_cast(split_part(x, '/', 2) AS INTEGER), 32)))
                     WHEN contains(ip, ':') THEN lower(ip) = lower(replace(x, '/128', ''))
                     ELSE false END)), false)))) AS declared_client,
        c.src = c.dst AS own_pods
    FROM net_conns c
    WHERE c.store IS NOT NULL
),
net_rows AS (
    SELECT
        edge AS resource,
        CASE WHEN declared_client OR own_pods THEN 'pass'
             WHEN src_namespace IS NULL AND matched_flow IS NOT NULL THEN 'not_applicable'
             ELSE 'fail' END AS status,
        CASE WHEN own_pods THEN 'the store''s own pods talk to each other (replication)'
             WHEN declared_client THEN src || ' is a declared client of the store (store_clients)'
             WHEN src_namespace IS NULL AND matched_flow IS NOT NULL
                 THEN 'no flow record identifies the workload behind ' || src || ', so whether it is a declared client '
                      || 'cannot be told; approved flow ' || matched_flow || ' covers the address'
             ELSE src_zone || ' ' || CASE WHEN src_namespace IS NOT NULL THEN 'workload ' ELSE 'address ' END
                  || src || ' opened connections straight to the cardholder-data store ' || dst || ' on '
                  || coalesce(CAST(dst_port AS VARCHAR), '-') || '/' || coalesce(protocol, '-') || ' ('
                  || records || ' record(s): ' || records_by_format || ', ' || strftime(first_seen, '%Y-%m-%d')
                  || ' to ' || strftime(last_seen, '%Y-%m-%d') || ') without being one of its declared'
                  || ' application workloads or administrators'
                  || CASE WHEN src_zone <> 'cde' THEN '; the store is directly reachable from outside the CDE' ELSE '' END
        END || '; direction from ' || direction_basis AS reason,
        source_sha256, locator,
        CASE WHEN src_zone = 'cde' THEN '7.2.6' END AS requirement,
        'network' AS channel, src AS principal, dst AS pod, store,
        coalesce(CAST(dst_port AS VARCHAR), '-') || '/' || coalesce(protocol, '-') AS access,
        CASE WHEN declared_client OR own_pods THEN 'declared client'
             WHEN src_namespace IS NULL AND matched_flow IS NOT NULL THEN 'unidentified client'
             ELSE 'undeclared client' END AS outcome,
        records AS requests, first_seen AS first_at, last_seen AS last_at,
        NULL AS commands, array_to_string(src_ips, ', ') AS source_ips,
        NULL AS impersonating, records_by_format, supporting_records, direction_basis
    FROM net_judged
),
-- a store's pods are identifiable in the flow data when some connection names them
visible AS (
    SELECT s.entry FROM stores s
    WHERE EXISTS (SELECT 1 FROM flow_edges e
                  WHERE (e.dst_namespace = s.namespace
                         AND (starts_with(coalesce(e.dst_workload, ''), s.prefix)
                              OR list_bool_or(list_transform(e.dst_pods, lambda p: starts_with(p, s.prefix)))))
                     OR (e.src_namespace = s.namespace AND starts_with(coalesce(e.src_workload, ''), s.prefix)))
)
SELECT * FROM api_rows
UNION ALL
SELECT * FROM net_rows
UNION ALL
SELECT
    'store ' || s.entry AS resource,
    CASE WHEN s.entry IN (SELECT entry FROM visible) THEN 'pass' ELSE 'not_applicable' END AS status,
    CASE WHEN s.entry IN (SELECT entry FROM visible)
         THEN 'no exec, attach or port-forward request into ' || s.entry || '* pods and no connection to them from another client is recorded in the period'
         ELSE 'no flow record of the period identifies the store''s pods, so connections into ' || s.entry
              || '* cannot be examined by pod name'
              || CASE WHEN len(CAST($store_addresses AS VARCHAR[])) > 0
                      THEN ' (connections to the declared store_addresses are examined)'
                      ELSE ' (supply Hubble flows naming the pods, or declare store_addresses)' END
    END AS reason,
    NULL AS source_sha256,
    'absent:k8s_audit_events pods exec/attach/portforward and flow_edges into ' || s.entry || '*' AS locator,
    NULL AS requirement,
    NULL, NULL, NULL, s.entry, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM stores s
WHERE s.entry NOT IN (SELECT entry FROM visible)
   OR (NOT EXISTS (SELECT 1 FROM requests r WHERE r.store = s.entry)
       AND NOT EXISTS (SELECT 1 FROM net_judged n WHERE n.store = s.entry))
