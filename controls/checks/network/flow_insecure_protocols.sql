-- One row per connection to an in-scope component (CDE or connected server) on a clear-text port
-- or carrying a clear-text service (see controls/lib/flow_edges.sql for connections; services
-- come from the records that name one: Zeek's service, Hubble's L7 type).
WITH ports AS (
    -- "23/tcp", "512-514/tcp", "161/udp", "80" (tcp)
    SELECT spec,
        CAST(split_part(split_part(spec, '/', 1), '-', 1) AS INTEGER) AS low,
        CAST(coalesce(nullif(split_part(split_part(spec, '/', 1), '-', 2), ''),
                      split_part(split_part(spec, '/', 1), '-', 1)) AS INTEGER) AS high,
        lower(coalesce(nullif(split_part(spec, '/', 2), ''), 'tcp')) AS protocol
    FROM (SELECT unnest(CAST($insecure_ports AS VARCHAR[])) AS spec)
),
e AS (
    SELECT fe.*,
        (SELECT string_agg(p.spec, ', ' ORDER BY p.spec) FROM ports p
          WHERE fe.dst_port BETWEEN p.low AND p.high AND p.protocol = fe.protocol) AS insecure_port,
        list_filter(fe.services, lambda x:
            list_contains(CAST($insecure_services AS VARCHAR[]), x)) AS insecure_services
    FROM flow_edges fe
    WHERE fe.dst_zone IN ('cde', 'connected')
)
SELECT
    edge AS resource,
    'fail' AS status,
    'connection to ' || dst_zone || ' component ' || dst || ' over '
        || CASE WHEN len(insecure_services) > 0 THEN 'clear-text service ' || array_to_string(insecure_services, ', ')
                ELSE 'clear-text port ' || insecure_port || ' (inferred from the port; no record names the service)' END
        || ' (' || records || ' record(s): ' || records_by_format || ')'
        || CASE WHEN matched_flow IS NOT NULL
                THEN '; approved flow ' || matched_flow || ' permits the connection, but the register records no security feature for the protocol'
                ELSE '' END AS reason,
    source_sha256, locator,
    src, src_zone, dst, dst_zone, dst_port, protocol, insecure_port,
    array_to_string(insecure_services, ', ') AS insecure_service,
    array_to_string(services, ',') AS services, records, records_by_format, first_seen,
    last_seen, flow_format, direction_basis, matched_flow, supporting_records
FROM e
WHERE insecure_port IS NOT NULL OR len(insecure_services) > 0
