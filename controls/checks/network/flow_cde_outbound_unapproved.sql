-- One row per observed edge out of the CDE to anything outside it (see controls/lib/flow_edges.sql).
SELECT
    edge AS resource,
    CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN matched_flow IS NOT NULL THEN 'matches approved flow ' || matched_flow
         ELSE flows || ' allowed flow(s) from the CDE to ' || dst_zone || ' destination ' || dst
              || ' match no approved flow' END AS reason,
    source_sha256, locator,
    src, src_zone, dst, dst_zone, dst_port, protocol, flows, bytes, first_seen, last_seen,
    flow_format, direction_basis, matched_flow
FROM flow_edges
WHERE src_zone = 'cde' AND dst_zone <> 'cde'
