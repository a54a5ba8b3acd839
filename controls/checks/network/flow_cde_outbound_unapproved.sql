-- One row per connection observed from the CDE to anything outside it (see
-- controls/lib/flow_edges.sql: one item per client, server, port and protocol).
SELECT
    edge AS resource,
    CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN matched_flow IS NOT NULL THEN 'matches approved flow ' || matched_flow
         ELSE 'connection opened from the CDE to ' || dst_zone || ' destination ' || dst || ' ('
              || records || ' record(s): ' || records_by_format || ') matches no approved flow' END
        || '; direction from ' || direction_basis AS reason,
    source_sha256, locator,
    src, src_zone, dst, dst_zone, dst_port, protocol, records, records_by_format, bytes,
    first_seen, last_seen, flow_format, direction_basis, matched_flow, supporting_records
FROM flow_edges
WHERE src_zone = 'cde' AND dst_zone <> 'cde'
