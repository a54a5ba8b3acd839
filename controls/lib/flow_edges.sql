-- Shared by the network checks: one row per observed connection, whatever flow sources saw it.
--
-- A connection is (client, server, server port, protocol). A side is the workload when the pod
-- is known ("namespace/workload"), the namespace when only that is known, and the address
-- otherwise. Every allowed record of the assessment period (from the period start to the
-- earlier of the as-of date and the period end) that belongs to the connection is attached to
-- it, in both directions: VPC Flow Logs, Hubble and Zeek records of the same connection make one
-- item, with their counts per format and every record's file and locator.
--
-- Who opened the connection (direction), per record, strongest evidence first:
--   1. the record itself: Hubble is_reply; TCP flags (VPC v3+ tcp-flags, where 2 = SYN and
--      18 = SYN-ACK, OR-ed over the aggregation window so 3 = SYN+FIN and 19 = SYN-ACK+FIN;
--      Hubble's per-packet flags use the same bits); Zeek's history (S/h: the handshake was
--      seen from the originator; s/H without S/h: the responder opened it).
--   2. another record of the same 5-tuple that was decided by 1 (a long VPC connection whose
--      later aggregation windows carry no SYN, a VPC record that Hubble also saw). When the
--      records of a 5-tuple contradict each other (both sides claim SYN-ACK), none of them is
--      trusted and ports decide.
--   3. Zeek's own originator when it saw no handshake (first packet; "^" in history means Zeek
--      flipped it by its port heuristic, which the basis says).
--   4. ports, only as a fallback: with the reverse record in the period, the lower port is the
--      service; without it, a well-known port (< 1024) talking to an unprivileged one is a reply.
-- direction_basis lists the bases used for the connection's records.
--
-- Sides are placed in zones: cde / connected (declared scope; a namespace wins over an
-- address), out_of_scope (a namespace outside the declared scope), internal / external (address
-- ranges), unknown. Addresses are turned into pods with the endpoints Hubble saw in the period
-- (one namespace/workload per address, else left as an address). Behind a NAT gateway the VPC
-- packet-level addresses (pkt-srcaddr, pkt-dstaddr) name the real endpoints and are used.
-- Each connection is matched against the approved-flow register: a side matches a flow when its
-- namespace is named there or every address it used lies in the flow's CIDRs.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
conn_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'connected'),
window_flows AS (
    SELECT f.*,
        coalesce(f.pkt_src_ip, f.src_ip) AS a_ip, f.src_port AS a_port,
        coalesce(f.pkt_dst_ip, f.dst_ip) AS b_ip, f.dst_port AS b_port
    FROM flows f
    WHERE f.action = 'allowed'
      AND f.start_time >= $period_start
      AND f.start_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
keyed AS (
    SELECT w.*,
        -- each endpoint, and the record's 5-tuple (the same for both directions), as hashes
        hash(w.a_ip, w.a_port) AS a_ep, hash(w.b_ip, w.b_port) AS b_ep,
        hash(w.protocol, least(hash(w.a_ip, w.a_port), hash(w.b_ip, w.b_port)),
             greatest(hash(w.a_ip, w.a_port), hash(w.b_ip, w.b_port))) AS tuple_key,
        -- 1: what the record itself says (true: its source opened the connection)
        CASE
            WHEN w.flow_format = 'hubble' AND w.is_reply IS NOT NULL THEN NOT w.is_reply
            WHEN w.protocol = 'tcp' AND (w.tcp_flags & 18) = 2 THEN true
            WHEN w.protocol = 'tcp' AND (w.tcp_flags & 18) = 18 THEN false
            WHEN w.flow_format = 'zeek-conn' AND regexp_matches(coalesce(w.conn_history, ''), '[Sh]') THEN true
            WHEN w.flow_format = 'zeek-conn' AND regexp_matches(coalesce(w.conn_history, ''), '[sH]') THEN false
        END AS own_opened,
        CASE
            WHEN w.flow_format = 'hubble' AND w.is_reply IS NOT NULL THEN 'Hubble is_reply'
            WHEN w.protocol = 'tcp' AND (w.tcp_flags & 18) = 2 THEN 'TCP flags (SYN)'
            WHEN w.protocol = 'tcp' AND (w.tcp_flags & 18) = 18 THEN 'TCP flags (SYN-ACK)'
            WHEN w.flow_format = 'zeek-conn' AND regexp_matches(coalesce(w.conn_history, ''), '[ShsH]')
                THEN 'Zeek history (handshake seen)'
        END AS own_basis
    FROM window_flows w
),
-- 2: a 5-tuple whose decided records all name the same opener; records of a 5-tuple whose own
-- evidence contradicts itself (both sides claim to have answered, say) are decided by ports.
-- 4: whether the period holds records of the tuple in both orientations.
tuples AS MATERIALIZED (
    SELECT tuple_key,
        count(DISTINCT CASE WHEN own_opened THEN a_ep WHEN NOT own_opened THEN b_ep END) AS openers,
        any_value(CASE WHEN own_opened THEN a_ep WHEN NOT own_opened THEN b_ep END) AS opener,
        string_agg(DISTINCT split_part(own_basis, ' (', 1), ', ' ORDER BY split_part(own_basis, ' (', 1)) AS bases,
        count(DISTINCT a_ep) AS sides
    FROM keyed
    GROUP BY tuple_key
),
decided AS (
    SELECT k.*,
        CASE
            WHEN k.own_opened IS NOT NULL AND t.openers = 1 THEN k.own_opened
            WHEN t.openers = 1 THEN t.opener = k.a_ep
            WHEN k.flow_format = 'zeek-conn' AND t.openers = 0 THEN true
            WHEN t.sides > 1 THEN NOT coalesce(k.a_port < k.b_port, false)
            ELSE NOT coalesce(k.a_port < 1024 AND k.b_port >= 1024, false)
        END AS opened,
        CASE
            WHEN k.own_opened IS NOT NULL AND t.openers = 1 THEN k.own_basis
            WHEN t.openers = 1 THEN t.bases || ' of another record of the connection'
            WHEN k.flow_format = 'zeek-conn' AND t.openers = 0 AND contains(coalesce(k.conn_history, ''), '^')
                THEN 'Zeek originator (flipped by Zeek''s port heuristic)'
            WHEN k.flow_format = 'zeek-conn' AND t.openers = 0 THEN 'Zeek originator (no handshake seen)'
            WHEN t.openers > 1 THEN 'ports (the records'' own direction evidence contradicts itself)'
            WHEN t.sides > 1 THEN 'ports (reverse record seen)'
            ELSE 'ports only'
        END AS direction_basis,
        CASE
            WHEN k.own_opened IS NOT NULL AND t.openers = 1 THEN 1
            WHEN t.openers = 1 THEN 2
            WHEN k.flow_format = 'zeek-conn' AND t.openers = 0 THEN 3
            ELSE 4
        END AS basis_rank
    FROM keyed k
    JOIN tuples t USING (tuple_key)
),
-- every record oriented from the side that opened the connection to the side that answered
oriented AS (
    SELECT source_sha256, locator, flow_format, start_time, end_time, protocol, bytes, service,
        direction_basis, basis_rank, NOT opened AS reply,
        CASE WHEN opened THEN a_ip ELSE b_ip END AS c_ip,
        CASE WHEN opened THEN b_ip ELSE a_ip END AS s_ip,
        CASE WHEN opened THEN b_port ELSE a_port END AS s_port,
        CASE WHEN opened THEN src_namespace ELSE dst_namespace END AS c_ns,
        CASE WHEN opened THEN coalesce(src_workload, src_pod) ELSE coalesce(dst_workload, dst_pod) END AS c_wl,
        CASE WHEN opened THEN src_pod ELSE dst_pod END AS c_pod,
        CASE WHEN opened THEN src_labels ELSE dst_labels END AS c_labels,
        CASE WHEN opened THEN dst_namespace ELSE src_namespace END AS s_ns,
        CASE WHEN opened THEN coalesce(dst_workload, dst_pod) ELSE coalesce(src_workload, src_pod) END AS s_wl,
        CASE WHEN opened THEN dst_pod ELSE src_pod END AS s_pod,
        CASE WHEN opened THEN dst_labels ELSE src_labels END AS s_labels
    FROM decided
),
-- the pods Hubble saw at each address in the period (an address that served several workloads
-- stays an address)
endpoint_rows AS (
    SELECT src_ip AS ip, src_namespace AS namespace, coalesce(src_workload, src_pod) AS workload,
        src_pod AS pod, src_labels AS labels, start_time
    FROM window_flows WHERE flow_format = 'hubble' AND src_namespace IS NOT NULL AND src_ip IS NOT NULL
    UNION ALL
    SELECT dst_ip, dst_namespace, coalesce(dst_workload, dst_pod), dst_pod, dst_labels, start_time
    FROM window_flows WHERE flow_format = 'hubble' AND dst_namespace IS NOT NULL AND dst_ip IS NOT NULL
),
pod_ips AS (
    SELECT ip, any_value(namespace) AS namespace, any_value(workload) AS workload,
        arg_max(pod, start_time) AS pod, arg_max(labels, start_time) AS labels
    FROM endpoint_rows GROUP BY ip
    HAVING count(DISTINCT namespace || '/' || coalesce(workload, '')) = 1
),
resolved AS (
    SELECT o.*,
        coalesce(o.c_ns, pc.namespace) AS c_namespace,
        CASE WHEN o.c_ns IS NOT NULL THEN o.c_wl ELSE pc.workload END AS c_workload,
        CASE WHEN o.c_ns IS NOT NULL THEN o.c_pod ELSE pc.pod END AS c_pod_name,
        CASE WHEN o.c_ns IS NOT NULL THEN o.c_labels ELSE pc.labels END AS c_pod_labels,
        coalesce(o.s_ns, ps.namespace) AS s_namespace,
        CASE WHEN o.s_ns IS NOT NULL THEN o.s_wl ELSE ps.workload END AS s_workload,
        CASE WHEN o.s_ns IS NOT NULL THEN o.s_pod ELSE ps.pod END AS s_pod_name,
        CASE WHEN o.s_ns IS NOT NULL THEN o.s_labels ELSE ps.labels END AS s_pod_labels
    FROM oriented o
    LEFT JOIN pod_ips pc ON o.c_ns IS NULL AND pc.ip = o.c_ip
    LEFT JOIN pod_ips ps ON o.s_ns IS NULL AND ps.ip = o.s_ip
),
placed AS MATERIALIZED (
    SELECT r.*,
        coalesce(r.c_namespace || '/' || r.c_workload, r.c_namespace, r.c_ip) AS src,
        coalesce(r.s_namespace || '/' || r.s_workload, r.s_namespace, r.s_ip) AS dst,
        CASE WHEN r.c_namespace IN (SELECT namespace FROM cde_ns) THEN 'cde'
             WHEN r.c_namespace IN (SELECT namespace FROM conn_ns) THEN 'connected'
             WHEN r.c_namespace IS NOT NULL THEN 'out_of_scope'
             ELSE coalesce(zc.zone, 'unknown') END AS src_zone,
        CASE WHEN r.s_namespace IN (SELECT namespace FROM cde_ns) THEN 'cde'
             WHEN r.s_namespace IN (SELECT namespace FROM conn_ns) THEN 'connected'
             WHEN r.s_namespace IS NOT NULL THEN 'out_of_scope'
             ELSE coalesce(zs.zone, 'unknown') END AS dst_zone,
        regexp_extract(s.path, '[^/\\]+$') AS file_name
    FROM resolved r
    LEFT JOIN ip_zones zc ON zc.ip = r.c_ip
    LEFT JOIN ip_zones zs ON zs.ip = r.s_ip
    LEFT JOIN sources s ON s.source_sha256 = r.source_sha256
),
per_file AS (
    SELECT src, dst, s_port, protocol, source_sha256, any_value(file_name) AS file_name,
        any_value(flow_format) AS flow_format, count(*) AS n,
        list(locator ORDER BY start_time, locator) AS locators
    FROM placed GROUP BY ALL
),
supporting AS (
    SELECT src, dst, s_port, protocol,
        list(flow_format || ' ' || coalesce(file_name, source_sha256) || ' (sha256 '
             || left(source_sha256, 12) || '): ' || n || ' record(s) at '
             || array_to_string(locators, ', ')
             ORDER BY flow_format, file_name, source_sha256) AS supporting_records
    FROM per_file GROUP BY ALL
),
edges AS (
    SELECT src, any_value(src_zone) AS src_zone, dst, any_value(dst_zone) AS dst_zone,
        s_port AS dst_port, protocol,
        any_value(c_namespace) AS src_namespace, any_value(c_workload) AS src_workload,
        any_value(s_namespace) AS dst_namespace, any_value(s_workload) AS dst_workload,
        list_sort(list_distinct(list(c_ip))) AS src_ips, list_sort(list_distinct(list(s_ip))) AS dst_ips,
        list_sort(list_distinct(list(s_pod_name))) AS dst_pods,
        -- single-address sides, for the checks that work on addresses
        CASE WHEN count(DISTINCT c_ip) = 1 THEN any_value(c_ip) END AS src_ip,
        CASE WHEN count(DISTINCT s_ip) = 1 THEN any_value(s_ip) END AS dst_ip,
        arg_max(c_pod_labels, start_time) FILTER (c_pod_labels IS NOT NULL) AS src_labels,
        arg_max(s_pod_labels, start_time) FILTER (s_pod_labels IS NOT NULL) AS dst_labels,
        count(*) AS records,
        count(*) FILTER (flow_format = 'aws-vpc-flow') AS vpc_records,
        count(*) FILTER (flow_format = 'hubble') AS hubble_records,
        count(*) FILTER (flow_format = 'zeek-conn') AS zeek_records,
        count(*) FILTER (reply) AS reply_records,
        sum(coalesce(bytes, 0)) AS bytes,
        -- application protocols the records name (Zeek service, Hubble L7), lower case
        list_sort(list_distinct(list(lower(service)) FILTER (service IS NOT NULL))) AS services,
        min(start_time) AS first_seen, max(coalesce(end_time, start_time)) AS last_seen,
        string_agg(DISTINCT flow_format, ',' ORDER BY flow_format) AS flow_format,
        string_agg(DISTINCT direction_basis, '; ' ORDER BY direction_basis) AS direction_basis,
        min(basis_rank) AS basis_rank,
        -- the record shown first: the earliest of those with the strongest direction evidence
        arg_min(source_sha256, (basis_rank, start_time, locator)) AS source_sha256,
        arg_min(locator, (basis_rank, start_time, locator)) AS locator
    FROM placed GROUP BY src, dst, s_port, protocol
),
numbered AS MATERIALIZED (
    SELECT e.*, row_number() OVER (ORDER BY src, dst, dst_port, protocol) AS edge_id FROM edges e
),
edge_ips AS (
    SELECT edge_id, 'source' AS side, unnest(src_ips) AS ip FROM numbered
    UNION ALL
    SELECT edge_id, 'destination', unnest(dst_ips) FROM numbered
),
candidates AS (
    SELECT e.edge_id, p.flow_id
    FROM numbered e
    JOIN approved_flow_ports p
      ON e.dst_port BETWEEN p.port_low AND p.port_high AND p.protocol IN (e.protocol, 'any')
),
side_ok AS (
    -- a side matches when its namespace is named, or every address it used is inside the CIDRs
    SELECT c.edge_id, c.flow_id, s.side
    FROM candidates c
    CROSS JOIN (VALUES ('source'), ('destination')) AS s(side)
    JOIN numbered e ON e.edge_id = c.edge_id
    WHERE EXISTS (SELECT 1 FROM approved_flow_namespaces n
                  WHERE n.flow_id = c.flow_id AND n.side = s.side
                    AND n.namespace = CASE s.side WHEN 'source' THEN e.src_namespace ELSE e.dst_namespace END)
       OR NOT EXISTS (SELECT 1 FROM edge_ips i
                      WHERE i.edge_id = c.edge_id AND i.side = s.side
                        AND NOT EXISTS (SELECT 1 FROM ip_approved a
                                        WHERE a.ip = i.ip AND a.flow_id = c.flow_id AND a.side = s.side))
),
matched AS (
    SELECT edge_id, min(flow_id) AS flow_id FROM (
        SELECT edge_id, flow_id FROM side_ok GROUP BY edge_id, flow_id HAVING count(DISTINCT side) = 2
    ) GROUP BY edge_id
)
SELECT e.* EXCLUDE (edge_id),
    e.src || ' -> ' || e.dst || ':' || coalesce(CAST(e.dst_port AS VARCHAR), '-') || '/'
        || coalesce(e.protocol, '-') AS edge,
    e.vpc_records || ' VPC, ' || e.hubble_records || ' Hubble, ' || e.zeek_records || ' Zeek'
        AS records_by_format,
    s.supporting_records,
    m.flow_id AS matched_flow
FROM numbered e
LEFT JOIN supporting s
  ON s.src = e.src AND s.dst = e.dst AND s.s_port IS NOT DISTINCT FROM e.dst_port
 AND s.protocol IS NOT DISTINCT FROM e.protocol
LEFT JOIN matched m ON m.edge_id = e.edge_id
