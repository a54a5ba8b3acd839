-- One row per observed edge opened from an external (untrusted) address towards the entity:
-- a CDE, connected or internal destination, or an external address the approved-flow register
-- names as a destination (a public endpoint outside the declared ranges, such as a load
-- balancer's IPv6 address). See controls/lib/flow_edges.sql: replies are already removed.
WITH e AS (
    SELECT fe.*
    FROM flow_edges fe
    WHERE fe.src_zone = 'external'
      AND (fe.dst_zone IN ('cde', 'connected', 'internal', 'out_of_scope')
           OR EXISTS (SELECT 1 FROM ip_approved a
                      WHERE a.ip = fe.dst_ip AND a.side = 'destination'))
)
SELECT
    edge AS resource,
    CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN matched_flow IS NOT NULL THEN
             'reaches a service the register approves for outside sources: ' || matched_flow
         ELSE flows || ' allowed connection(s) opened from untrusted address ' || src || ' to '
              || dst_zone || ' destination ' || dst
              || ' match no approved flow and are not replies to sessions opened from inside'
              || CASE WHEN direction_basis NOT LIKE '%reported%'
                      THEN ' (direction inferred from VPC ports: ' || direction_basis || ')' ELSE '' END
    END AS reason,
    source_sha256, locator,
    CASE WHEN matched_flow IS NULL AND dst_zone = 'cde' THEN 'critical' END AS severity,
    src, dst, dst_zone, dst_port, protocol, flows, bytes, first_seen, last_seen, flow_format,
    direction_basis, matched_flow
FROM e
