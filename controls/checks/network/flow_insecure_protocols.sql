-- One row per observed edge to an in-scope component (CDE or connected destination) on a
-- clear-text port or with a clear-text service (see controls/lib/flow_edges.sql for edges).
-- Services come from the records that name one (Zeek service, Hubble L7), which report direction;
-- they are keyed like flow_edges (namespace, else address).
WITH ports AS (
    -- "23/tcp", "512-514/tcp", "161/udp", "80" (tcp)
    SELECT spec,
        CAST(split_part(split_part(spec, '/', 1), '-', 1) AS INTEGER) AS low,
        CAST(coalesce(nullif(split_part(split_part(spec, '/', 1), '-', 2), ''),
                      split_part(split_part(spec, '/', 1), '-', 1)) AS INTEGER) AS high,
        lower(coalesce(nullif(split_part(spec, '/', 2), ''), 'tcp')) AS protocol
    FROM (SELECT unnest(CAST($insecure_ports AS VARCHAR[])) AS spec)
),
services AS (
    SELECT coalesce(src_namespace, src_ip) AS src, coalesce(dst_namespace, dst_ip) AS dst,
        dst_port, protocol, string_agg(DISTINCT lower(service), ',' ORDER BY lower(service)) AS services
    FROM flows
    WHERE service IS NOT NULL AND action = 'allowed' AND NOT coalesce(is_reply, false)
      AND flow_format <> 'aws-vpc-flow'
      AND start_time >= $period_start AND start_time < $as_of + INTERVAL 1 DAY
    GROUP BY ALL
),
e AS (
    SELECT fe.*, s.services,
        (SELECT string_agg(p.spec, ', ' ORDER BY p.spec) FROM ports p
          WHERE fe.dst_port BETWEEN p.low AND p.high AND p.protocol = fe.protocol) AS insecure_port,
        list_filter(string_split(coalesce(s.services, ''), ','), lambda x:
            list_contains(CAST($insecure_services AS VARCHAR[]), x)) AS insecure_services
    FROM flow_edges fe
    LEFT JOIN services s
      ON s.src = fe.src AND s.dst = fe.dst AND s.dst_port IS NOT DISTINCT FROM fe.dst_port
     AND s.protocol IS NOT DISTINCT FROM fe.protocol
    WHERE fe.dst_zone IN ('cde', 'connected')
)
SELECT
    edge AS resource,
    'fail' AS status,
    flows || ' allowed flow(s) to ' || dst_zone || ' component ' || dst || ' over '
        || CASE WHEN len(insecure_services) > 0 THEN 'clear-text service ' || array_to_string(insecure_services, ', ')
                ELSE 'clear-text port ' || insecure_port END
        || CASE WHEN matched_flow IS NOT NULL
                THEN ' (approved flow ' || matched_flow || ' permits the connection, but the register records no security feature for the protocol)'
                ELSE '' END AS reason,
    source_sha256, locator,
    src, src_zone, dst, dst_zone, dst_port, protocol, insecure_port,
    array_to_string(insecure_services, ', ') AS insecure_service, services, flows, first_seen,
    last_seen, flow_format, direction_basis, matched_flow
FROM e
WHERE insecure_port IS NOT NULL OR len(insecure_services) > 0
