-- One row per observed time-synchronisation pair (client, server, port): NTP on udp/123 and NTS
-- key establishment on tcp/4460, opened by a system of the entity (see controls/lib/flow_edges.sql).
-- The approved-flow register is the declaration of the time hierarchy: an address that is the
-- destination of an approved time flow and lies inside the entity's ranges is a designated time
-- server; an external one is an approved upstream. A designated server passes when an approved
-- flow covers its source (external upstream or an internal reference clock); any other system
-- passes only towards a designated server, under an approved flow.
-- Every pair shows its client synchronises time (10.6.1). A wrong source is a 10.6.2 finding
-- only, so failing rows name 10.6.2 as their requirement.
WITH time_flows AS (
    SELECT DISTINCT flow_id FROM approved_flow_ports
    WHERE (protocol IN ('udp', 'any') AND 123 BETWEEN port_low AND port_high)
       OR (protocol IN ('tcp', 'any') AND 4460 BETWEEN port_low AND port_high)
),
declared AS (
    SELECT a.ip, CASE WHEN bool_or(z.zone = 'external') THEN 'upstream' ELSE 'designated' END AS role
    FROM ip_approved a
    JOIN ip_zones z ON z.ip = a.ip
    WHERE a.side = 'destination' AND a.flow_id IN (SELECT flow_id FROM time_flows)
    GROUP BY a.ip
),
e AS (
    SELECT fe.*,
        ds.role = 'designated' AS client_is_server,
        dd.role AS server_role
    FROM flow_edges fe
    LEFT JOIN declared ds ON ds.ip = fe.src_ip AND fe.src_namespace IS NULL
    LEFT JOIN declared dd ON dd.ip = fe.dst_ip AND fe.dst_namespace IS NULL
    WHERE ((fe.protocol = 'udp' AND fe.dst_port = 123) OR (fe.protocol = 'tcp' AND fe.dst_port = 4460))
      AND fe.src_zone IN ('cde', 'connected', 'internal', 'out_of_scope')
)
SELECT
    edge AS resource,
    CASE
        WHEN coalesce(client_is_server, false)
            THEN CASE WHEN matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END
        ELSE CASE WHEN server_role = 'designated' AND matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END
    END AS status,
    CASE
        WHEN coalesce(client_is_server, false) THEN
            CASE WHEN matched_flow IS NOT NULL
                     THEN 'designated time server ' || src || ' uses approved source ' || dst || ' (' || matched_flow || ')'
                 ELSE 'designated time server ' || src || ' takes time from ' || dst || ' (' || dst_zone
                      || '), which no approved flow names as its source' END
        WHEN server_role = 'designated' AND matched_flow IS NOT NULL
            THEN src || ' synchronises with designated time server ' || dst || ' (' || matched_flow || ')'
        WHEN server_role = 'designated'
            THEN src || ' uses designated time server ' || dst || ', but no approved flow covers this client'
        WHEN dst_zone = 'external'
            THEN src || ' takes time directly from external source ' || dst
                 || '; only designated time servers may use external sources'
        ELSE src || ' takes time from ' || dst || ', which is not a designated time server in the approved-flow register'
    END AS reason,
    source_sha256, locator,
    CASE
        WHEN coalesce(client_is_server, false) THEN CASE WHEN matched_flow IS NULL THEN '10.6.2' END
        WHEN server_role = 'designated' AND matched_flow IS NOT NULL THEN NULL
        ELSE '10.6.2'
    END AS requirement,
    CASE WHEN coalesce(client_is_server, false) THEN 'time server' ELSE 'client' END AS client_role,
    src AS client, src_zone AS client_zone, dst AS server, dst_zone AS server_zone,
    coalesce(server_role, 'undeclared') AS server_role, dst_port, protocol, records,
    records_by_format, first_seen, last_seen, flow_format, direction_basis, matched_flow,
    supporting_records
FROM e
