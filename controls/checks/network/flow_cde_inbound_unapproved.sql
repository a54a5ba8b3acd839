-- One row per connection observed into the CDE from outside it (see controls/lib/flow_edges.sql:
-- one item per client, server, port and protocol, whichever flow sources saw it).
SELECT
    edge AS resource,
    CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN matched_flow IS NOT NULL THEN 'matches approved flow ' || matched_flow
         ELSE 'connection opened from ' || src_zone || ' source ' || src || ' into the CDE ('
              || records || ' record(s): ' || records_by_format || ') matches no approved flow' END
        || '; direction from ' || direction_basis AS reason,
    source_sha256, locator,
    src, src_zone, dst, dst_zone, dst_port, protocol, records, records_by_format, bytes,
    first_seen, last_seen, flow_format, direction_basis, matched_flow, supporting_records
FROM flow_edges
WHERE dst_zone = 'cde' AND src_zone <> 'cde'
