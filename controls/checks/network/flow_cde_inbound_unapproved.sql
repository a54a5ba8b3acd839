-- One row per observed edge into the CDE from outside it (see controls/lib/flow_edges.sql).
SELECT
    edge AS resource,
    CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN matched_flow IS NOT NULL THEN 'matches approved flow ' || matched_flow
         ELSE flows || ' allowed flow(s) from ' || src_zone || ' source ' || src
              || ' into the CDE match no approved flow' END AS reason,
    source_sha256, locator,
    src, src_zone, dst, dst_zone, dst_port, protocol, flows, bytes, first_seen, last_seen,
    flow_format, direction_basis, matched_flow
FROM flow_edges
WHERE dst_zone = 'cde' AND src_zone <> 'cde'
