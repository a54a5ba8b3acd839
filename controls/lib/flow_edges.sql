-- Shared by the network checks: allowed flows observed in the assessment period, replies removed,
-- aggregated into edges (source entity, destination entity, port, protocol), each endpoint placed
-- in a zone and each edge matched against the approved-flow register.
-- Zones: cde / connected (declared scope; a namespace wins over an address), out_of_scope (a
-- namespace outside the declared scope), internal / external (address ranges), unknown.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
conn_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'connected'),
window_flows AS (
    SELECT * FROM flows
    WHERE action = 'allowed'
      AND start_time >= $period_start AND start_time < $as_of + INTERVAL 1 DAY
),
-- VPC flow logs record each direction of a connection separately and do not say which side
-- opened it. A record is taken as a reply when the reverse record exists and the record comes
-- from the lower (service) port to the higher (client) port; without a reverse record, when it
-- comes from a well-known port (< 1024) to an unprivileged one. Hubble and Zeek report direction.
reverse AS (
    SELECT DISTINCT src_ip, src_port, dst_ip, dst_port, protocol FROM window_flows
    WHERE flow_format = 'aws-vpc-flow'
),
directed AS (
    SELECT w.*,
        CASE
            WHEN w.is_reply IS NOT NULL THEN w.is_reply
            WHEN w.flow_format <> 'aws-vpc-flow' THEN false
            WHEN r.src_ip IS NOT NULL THEN w.src_port < w.dst_port
            ELSE w.src_port < 1024 AND w.dst_port >= 1024
        END AS reply,
        CASE
            WHEN w.is_reply IS NOT NULL OR w.flow_format <> 'aws-vpc-flow' THEN 'reported'
            WHEN r.src_ip IS NOT NULL THEN 'reverse record and ports'
            ELSE 'ports only'
        END AS direction_basis
    FROM window_flows w
    LEFT JOIN reverse r
      ON w.flow_format = 'aws-vpc-flow' AND r.src_ip = w.dst_ip AND r.dst_ip = w.src_ip
     AND r.src_port = w.dst_port AND r.dst_port = w.src_port AND r.protocol = w.protocol
),
f AS (
    SELECT fl.*,
        CASE WHEN fl.src_namespace IN (SELECT namespace FROM cde_ns) THEN 'cde'
             WHEN fl.src_namespace IN (SELECT namespace FROM conn_ns) THEN 'connected'
             WHEN fl.src_namespace IS NOT NULL THEN 'out_of_scope'
             ELSE coalesce(zs.zone, 'unknown') END AS src_zone,
        CASE WHEN fl.dst_namespace IN (SELECT namespace FROM cde_ns) THEN 'cde'
             WHEN fl.dst_namespace IN (SELECT namespace FROM conn_ns) THEN 'connected'
             WHEN fl.dst_namespace IS NOT NULL THEN 'out_of_scope'
             ELSE coalesce(zd.zone, 'unknown') END AS dst_zone,
        coalesce(fl.src_namespace, fl.src_ip) AS src,
        coalesce(fl.dst_namespace, fl.dst_ip) AS dst
    FROM directed fl
    LEFT JOIN ip_zones zs ON zs.ip = fl.src_ip
    LEFT JOIN ip_zones zd ON zd.ip = fl.dst_ip
    WHERE NOT fl.reply
),
edges AS (
    SELECT src, src_zone, dst, dst_zone, dst_port, protocol,
        any_value(src_ip) AS src_ip, any_value(dst_ip) AS dst_ip,
        any_value(src_namespace) AS src_namespace, any_value(dst_namespace) AS dst_namespace,
        count(*) AS flows, sum(coalesce(bytes, 0)) AS bytes,
        min(start_time) AS first_seen, max(coalesce(end_time, start_time)) AS last_seen,
        string_agg(DISTINCT flow_format, ',' ORDER BY flow_format) AS flow_format,
        string_agg(DISTINCT direction_basis, ',' ORDER BY direction_basis) AS direction_basis,
        arg_min(source_sha256, start_time) AS source_sha256, arg_min(locator, start_time) AS locator
    FROM f GROUP BY src, src_zone, dst, dst_zone, dst_port, protocol
),
matched AS (
    SELECT e.src, e.src_zone, e.dst, e.dst_zone, e.dst_port, e.protocol, min(p.flow_id) AS flow_id
    FROM edges e
    JOIN approved_flow_ports p
      ON e.dst_port BETWEEN p.port_low AND p.port_high AND p.protocol IN (e.protocol, 'any')
    WHERE (EXISTS (SELECT 1 FROM ip_approved a
                   WHERE a.flow_id = p.flow_id AND a.side = 'source' AND a.ip = e.src_ip)
           OR EXISTS (SELECT 1 FROM approved_flow_namespaces n
                      WHERE n.flow_id = p.flow_id AND n.side = 'source' AND n.namespace = e.src_namespace))
      AND (EXISTS (SELECT 1 FROM ip_approved a
                   WHERE a.flow_id = p.flow_id AND a.side = 'destination' AND a.ip = e.dst_ip)
           OR EXISTS (SELECT 1 FROM approved_flow_namespaces n
                      WHERE n.flow_id = p.flow_id AND n.side = 'destination' AND n.namespace = e.dst_namespace))
    GROUP BY ALL
)
SELECT e.*,
    e.src || ' -> ' || e.dst || ':' || coalesce(CAST(e.dst_port AS VARCHAR), '-') || '/'
        || coalesce(e.protocol, '-') AS edge,
    m.flow_id AS matched_flow
FROM edges e
LEFT JOIN matched m
  ON m.src = e.src AND m.src_zone = e.src_zone AND m.dst = e.dst AND m.dst_zone = e.dst_zone
 AND m.dst_port IS NOT DISTINCT FROM e.dst_port AND m.protocol IS NOT DISTINCT FROM e.protocol
