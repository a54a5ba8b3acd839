-- One row per connection opened from an external (untrusted) address towards the entity: a CDE,
-- connected, internal or out-of-scope server, or an external address the approved-flow register
-- names as a destination (a public endpoint outside the declared ranges, such as a load
-- balancer's IPv6 address). See controls/lib/flow_edges.sql: records are oriented from the side
-- that opened the connection, so a reply to a session opened from inside is part of that
-- outbound connection, never an inbound one.
WITH e AS (
    SELECT fe.*
    FROM flow_edges fe
    WHERE fe.src_zone = 'external'
      AND (fe.dst_zone IN ('cde', 'connected', 'internal', 'out_of_scope')
           OR EXISTS (SELECT 1 FROM ip_approved a
                      WHERE list_contains(fe.dst_ips, a.ip) AND a.side = 'destination'))
)
SELECT
    edge AS resource,
    CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN matched_flow IS NOT NULL THEN
             'reaches a service the register approves for outside sources: ' || matched_flow
         ELSE 'connection opened from untrusted address ' || src || ' to ' || dst_zone
              || ' destination ' || dst || ' (' || records || ' record(s): ' || records_by_format
              || ') matches no approved flow'
    END || '; direction from ' || direction_basis AS reason,
    source_sha256, locator,
    CASE WHEN matched_flow IS NULL AND dst_zone = 'cde' THEN 'critical' END AS severity,
    src, dst, dst_zone, dst_port, protocol, records, records_by_format, bytes, first_seen,
    last_seen, flow_format, direction_basis, matched_flow, supporting_records
FROM e
