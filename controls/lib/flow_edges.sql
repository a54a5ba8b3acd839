-- Shared by the network checks: allowed, non-reply flows observed in the assessment period,
-- aggregated into edges (source entity, destination entity, port, protocol), each endpoint placed
-- in a zone and each edge matched against the approved-flow register.
-- Zones: cde / connected (declared scope; a namespace wins over an address), out_of_scope (a
-- namespace outside the declared scope), internal / external (address ranges), unknown.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
conn_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'connected'),
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
    FROM flows fl
    LEFT JOIN ip_zones zs ON zs.ip = fl.src_ip
    LEFT JOIN ip_zones zd ON zd.ip = fl.dst_ip
    WHERE fl.action = 'allowed' AND coalesce(fl.is_reply, false) = false
      AND fl.start_time >= $period_start AND fl.start_time < $as_of + INTERVAL 1 DAY
),
edges AS (
    SELECT src, src_zone, dst, dst_zone, dst_port, protocol,
        any_value(src_ip) AS src_ip, any_value(dst_ip) AS dst_ip,
        any_value(src_namespace) AS src_namespace, any_value(dst_namespace) AS dst_namespace,
        count(*) AS flows, sum(coalesce(bytes, 0)) AS bytes,
        min(start_time) AS first_seen, max(coalesce(end_time, start_time)) AS last_seen,
        string_agg(DISTINCT flow_format, ',' ORDER BY flow_format) AS flow_format,
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
