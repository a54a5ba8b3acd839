-- One row per observed edge into the CDE: (source, destination workload, port, protocol), where
-- a side is namespace/workload when the pod is known and the address otherwise.
--
-- Connections: Hubble records (allowed, not replies; Hubble reports direction and the pods'
-- namespaces and labels) plus the address-only edges of controls/lib/flow_edges.sql (VPC and
-- Zeek; replies already removed). Addresses are turned into pods with the endpoints Hubble saw in
-- the period (one namespace/workload per address, else left as an address).
-- Policies: controls/lib/netpol_rules.sql (the NetworkPolicies in force on the as-of date).
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
win AS (
    SELECT * FROM flows
    WHERE flow_format = 'hubble'
      AND start_time >= $period_start AND start_time < $as_of + INTERVAL 1 DAY
),
-- Hubble labels: "k8s:key=value" for the pod, "k8s:io.cilium.k8s.namespace.labels.key=value"
-- for its namespace; Cilium's own io.cilium.* / io.kubernetes.* entries are not pod labels.
endpoint_rows AS (
    SELECT src_ip AS ip, src_namespace AS namespace, coalesce(src_workload, src_pod) AS workload,
        src_labels AS labels, start_time FROM win
    WHERE src_namespace IS NOT NULL AND src_ip IS NOT NULL
    UNION ALL
    SELECT dst_ip, dst_namespace, coalesce(dst_workload, dst_pod), dst_labels, start_time FROM win
    WHERE dst_namespace IS NOT NULL AND dst_ip IS NOT NULL
),
pod_ips AS (
    SELECT ip, any_value(namespace) AS namespace, any_value(workload) AS workload,
        arg_max(labels, start_time) AS labels
    FROM endpoint_rows GROUP BY ip
    HAVING count(DISTINCT namespace || '/' || coalesce(workload, '')) = 1
),
ns_labels AS (
    SELECT namespace, list_sort(list_distinct(flatten(list(labels)))) AS labels FROM (
        SELECT namespace, ['kubernetes.io/metadata.name=' || namespace] AS labels
        FROM (SELECT namespace FROM endpoint_rows UNION SELECT namespace FROM cde_ns
              UNION SELECT namespace FROM netpol_rules)
        UNION ALL
        SELECT name, list_transform(map_entries(
            from_json(labels, '"MAP(VARCHAR, VARCHAR)"')), lambda e: e.key || '=' || e.value)
        FROM current_k8s_objects WHERE kind = 'Namespace' AND labels IS NOT NULL
        UNION ALL
        SELECT namespace, list_transform(
            list_filter(labels, lambda l: starts_with(l, 'k8s:io.cilium.k8s.namespace.labels.')),
            lambda l: substr(l, length('k8s:io.cilium.k8s.namespace.labels.') + 1))
        FROM endpoint_rows WHERE labels IS NOT NULL
    ) GROUP BY namespace
),
-- one row per Hubble connection record, and one per address-only edge
conns AS (
    SELECT 'hubble' AS basis, src_ip, src_namespace AS src_ns,
        coalesce(src_workload, src_pod) AS src_wl, src_labels AS src_raw,
        dst_ip, dst_namespace AS dst_ns, coalesce(dst_workload, dst_pod) AS dst_wl,
        dst_labels AS dst_raw, dst_port, protocol, 1 AS flows,
        start_time AS first_seen, coalesce(end_time, start_time) AS last_seen,
        source_sha256, locator
    FROM win
    WHERE action = 'allowed' AND NOT coalesce(is_reply, false)
    UNION ALL
    SELECT 'address', e.src_ip, ps.namespace, ps.workload, ps.labels,
        e.dst_ip, pd.namespace, pd.workload, pd.labels, e.dst_port, e.protocol, e.flows,
        e.first_seen, e.last_seen, e.source_sha256, e.locator
    FROM flow_edges e
    LEFT JOIN pod_ips ps ON ps.ip = e.src_ip AND e.src_namespace IS NULL
    LEFT JOIN pod_ips pd ON pd.ip = e.dst_ip AND e.dst_namespace IS NULL
    WHERE e.flow_format NOT LIKE '%hubble%'
),
keyed AS (
    SELECT c.*,
        coalesce(c.src_ns || '/' || c.src_wl, c.src_ns, c.src_ip) AS src,
        coalesce(c.dst_ns || '/' || c.dst_wl, c.dst_ns, c.dst_ip) AS dst,
        list_transform(list_filter(coalesce(c.src_raw, []::VARCHAR[]), lambda l:
            starts_with(l, 'k8s:') AND NOT starts_with(l, 'k8s:io.cilium.')
            AND NOT starts_with(l, 'k8s:io.kubernetes.')), lambda l: substr(l, 5)) AS src_labels,
        list_transform(list_filter(coalesce(c.dst_raw, []::VARCHAR[]), lambda l:
            starts_with(l, 'k8s:') AND NOT starts_with(l, 'k8s:io.cilium.')
            AND NOT starts_with(l, 'k8s:io.kubernetes.')), lambda l: substr(l, 5)) AS dst_labels
    FROM conns c
    LEFT JOIN ip_zones z ON z.ip = c.dst_ip
    WHERE c.dst_ns IN (SELECT namespace FROM cde_ns)
       OR (c.dst_ns IS NULL AND z.zone = 'cde')
),
-- the policy question, asked once per distinct combination
combos AS (
    SELECT DISTINCT basis, src_ip, src_ns, src_labels, dst_ns, dst_labels, dst_port, protocol
    FROM keyed WHERE dst_ns IS NOT NULL
),
selecting AS (
    SELECT c.*, r.policy, r.rule_index, r.peer_index, r.port_list, r.peer_all,
        r.peer_same_namespace, r.peer_ns_selector, r.peer_ns_labels, r.peer_ns_exprs,
        r.peer_pod_selector, r.peer_pod_labels, r.peer_pod_exprs, r.peer_cidr, r.peer_cidr_except
    FROM combos c
    JOIN netpol_rules r ON r.namespace = c.dst_ns AND r.direction = 'ingress'
    WHERE list_has_all(c.dst_labels, r.pod_sel_labels)
      AND coalesce(list_bool_and(list_transform(r.pod_sel_exprs, lambda x: CASE x.operator
            WHEN 'In' THEN list_bool_or(list_transform(x."values", lambda v: list_contains(c.dst_labels, x.key || '=' || v)))
            WHEN 'NotIn' THEN NOT coalesce(list_bool_or(list_transform(x."values", lambda v: list_contains(c.dst_labels, x.key || '=' || v))), false)
            WHEN 'Exists' THEN list_bool_or(list_transform(c.dst_labels, lambda l: starts_with(l, x.key || '=')))
            WHEN 'DoesNotExist' THEN NOT coalesce(list_bool_or(list_transform(c.dst_labels, lambda l: starts_with(l, x.key || '='))), false)
            ELSE false END)), true)
),
-- IPv4 arithmetic for ipBlock peers (an IPv6 block matches only as ::/0)
ipv4 AS (
    SELECT s.*,
        CASE WHEN regexp_full_match(s.src_ip, '\d+\.\d+\.\d+\.\d+') THEN
            (CAST(split_part(s.src_ip, '.', 1) AS BIGINT) << 24) + (CAST(split_part(s.src_ip, '.', 2) AS BIGINT) << 16)
            + (CAST(split_part(s.src_ip, '.', 3) AS BIGINT) << 8) + CAST(split_part(s.src_ip, '.', 4) AS BIGINT) END
            AS src_int
    FROM selecting s
),
rule_match AS (
    SELECT i.*,
        i.rule_index IS NOT NULL
        AND (i.port_list IS NULL OR coalesce(list_bool_or(list_transform(i.port_list, lambda p:
                p.name IS NULL AND p.protocol = i.protocol AND i.dst_port BETWEEN p.low AND p.high)), false))
        AND (
            i.peer_all
            -- ipBlock: only for sources that are not known pods (Kubernetes leaves pod addresses
            -- in ipBlocks to the implementation; Cilium does not match them)
            OR (i.peer_cidr IS NOT NULL AND i.src_ns IS NULL AND (
                    (i.peer_cidr = '::/0' AND contains(i.src_ip, ':'))
                    OR (i.src_int IS NOT NULL AND regexp_full_match(i.peer_cidr, '\d+\.\d+\.\d+\.\d+/\d+')
                        AND (CAST(split_part(i.peer_cidr, '/', 2) AS INTEGER) = 0
                             OR (i.src_int >> (32 - CAST(split_part(i.peer_cidr, '/', 2) AS INTEGER)))
                                = (((CAST(split_part(split_part(i.peer_cidr, '/', 1), '.', 1) AS BIGINT) << 24)
                                   + (CAST(split_part(split_part(i.peer_cidr, '/', 1), '.', 2) AS BIGINT) << 16)
                                   + (CAST(split_part(split_part(i.peer_cidr, '/', 1), '.', 3) AS BIGINT) << 8)
                                   + CAST(split_part(split_part(i.peer_cidr, '/', 1), '.', 4) AS BIGINT))
                                  >> (32 - CAST(split_part(i.peer_cidr, '/', 2) AS INTEGER))))
                        AND NOT list_contains(i.peer_cidr_except, i.src_ip || '/32')
                        AND NOT coalesce(list_bool_or(list_transform(i.peer_cidr_except, lambda x:
                            regexp_full_match(x, '\d+\.\d+\.\d+\.\d+/\d+')
                            AND (CAST(split_part(x, '/', 2) AS INTEGER) = 0
                                 OR (i.src_int >> (32 - CAST(split_part(x, '/', 2) AS INTEGER)))
                                    = (((CAST(split_part(split_part(x, '/', 1), '.', 1) AS BIGINT) << 24)
                                       + (CAST(split_part(split_part(x, '/', 1), '.', 2) AS BIGINT) << 16)
                                       + (CAST(split_part(split_part(x, '/', 1), '.', 3) AS BIGINT) << 8)
                                       + CAST(split_part(split_part(x, '/', 1), '.', 4) AS BIGINT))
                                      >> (32 - CAST(split_part(x, '/', 2) AS INTEGER)))))), false))))
            -- selector peers: the source must be a known pod
            OR (i.peer_cidr IS NULL AND NOT i.peer_all AND i.src_ns IS NOT NULL
                AND (CASE WHEN i.peer_ns_selector IS NULL THEN i.src_ns = i.dst_ns
                          ELSE list_has_all(coalesce(n.labels, []::VARCHAR[]), i.peer_ns_labels)
                               AND coalesce(list_bool_and(list_transform(i.peer_ns_exprs, lambda x: CASE x.operator
                                    WHEN 'In' THEN list_bool_or(list_transform(x."values", lambda v: list_contains(coalesce(n.labels, []::VARCHAR[]), x.key || '=' || v)))
                                    WHEN 'NotIn' THEN NOT coalesce(list_bool_or(list_transform(x."values", lambda v: list_contains(coalesce(n.labels, []::VARCHAR[]), x.key || '=' || v))), false)
                                    WHEN 'Exists' THEN list_bool_or(list_transform(coalesce(n.labels, []::VARCHAR[]), lambda l: starts_with(l, x.key || '=')))
                                    WHEN 'DoesNotExist' THEN NOT coalesce(list_bool_or(list_transform(coalesce(n.labels, []::VARCHAR[]), lambda l: starts_with(l, x.key || '='))), false)
                                    ELSE false END)), true) END)
                AND (i.peer_pod_selector IS NULL
                     OR (list_has_all(i.src_labels, i.peer_pod_labels)
                         AND coalesce(list_bool_and(list_transform(i.peer_pod_exprs, lambda x: CASE x.operator
                              WHEN 'In' THEN list_bool_or(list_transform(x."values", lambda v: list_contains(i.src_labels, x.key || '=' || v)))
                              WHEN 'NotIn' THEN NOT coalesce(list_bool_or(list_transform(x."values", lambda v: list_contains(i.src_labels, x.key || '=' || v))), false)
                              WHEN 'Exists' THEN list_bool_or(list_transform(i.src_labels, lambda l: starts_with(l, x.key || '=')))
                              WHEN 'DoesNotExist' THEN NOT coalesce(list_bool_or(list_transform(i.src_labels, lambda l: starts_with(l, x.key || '='))), false)
                              ELSE false END)), true))))
        ) AS admits
    FROM ipv4 i
    LEFT JOIN ns_labels n ON n.namespace = i.src_ns
),
verdicts AS (
    SELECT c.basis, c.src_ip, c.src_ns, c.src_labels, c.dst_ns, c.dst_labels, c.dst_port, c.protocol,
        CASE WHEN NOT EXISTS (SELECT 1 FROM rule_match m
                              WHERE m.basis = c.basis AND m.src_ip IS NOT DISTINCT FROM c.src_ip
                                AND m.src_ns IS NOT DISTINCT FROM c.src_ns AND m.src_labels = c.src_labels
                                AND m.dst_ns = c.dst_ns AND m.dst_labels = c.dst_labels
                                AND m.dst_port IS NOT DISTINCT FROM c.dst_port
                                AND m.protocol IS NOT DISTINCT FROM c.protocol) THEN 'no_policy'
             WHEN EXISTS (SELECT 1 FROM rule_match m
                          WHERE m.admits AND m.basis = c.basis AND m.src_ip IS NOT DISTINCT FROM c.src_ip
                            AND m.src_ns IS NOT DISTINCT FROM c.src_ns AND m.src_labels = c.src_labels
                            AND m.dst_ns = c.dst_ns AND m.dst_labels = c.dst_labels
                            AND m.dst_port IS NOT DISTINCT FROM c.dst_port
                            AND m.protocol IS NOT DISTINCT FROM c.protocol) THEN 'admitted'
             ELSE 'denied' END AS verdict,
        (SELECT string_agg(DISTINCT m.policy, ', ' ORDER BY m.policy) FROM rule_match m
          WHERE m.admits AND m.basis = c.basis AND m.src_ip IS NOT DISTINCT FROM c.src_ip
            AND m.src_ns IS NOT DISTINCT FROM c.src_ns AND m.src_labels = c.src_labels
            AND m.dst_ns = c.dst_ns AND m.dst_labels = c.dst_labels
            AND m.dst_port IS NOT DISTINCT FROM c.dst_port
            AND m.protocol IS NOT DISTINCT FROM c.protocol) AS admitting_policies
    FROM combos c
),
-- the approved-flow register, matched per connection as flow_edges does
approved AS (
    SELECT k.basis, k.src_ip, k.src_ns, k.dst_ip, k.dst_ns, k.dst_port, k.protocol,
        min(p.flow_id) AS flow_id
    FROM (SELECT DISTINCT basis, src_ip, src_ns, dst_ip, dst_ns, dst_port, protocol FROM keyed) k
    JOIN approved_flow_ports p
      ON k.dst_port BETWEEN p.port_low AND p.port_high AND p.protocol IN (k.protocol, 'any')
    WHERE (EXISTS (SELECT 1 FROM ip_approved a
                   WHERE a.flow_id = p.flow_id AND a.side = 'source' AND a.ip = k.src_ip)
           OR EXISTS (SELECT 1 FROM approved_flow_namespaces n
                      WHERE n.flow_id = p.flow_id AND n.side = 'source' AND n.namespace = k.src_ns))
      AND (EXISTS (SELECT 1 FROM ip_approved a
                   WHERE a.flow_id = p.flow_id AND a.side = 'destination' AND a.ip = k.dst_ip)
           OR EXISTS (SELECT 1 FROM approved_flow_namespaces n
                      WHERE n.flow_id = p.flow_id AND n.side = 'destination' AND n.namespace = k.dst_ns))
    GROUP BY ALL
),
judged AS (
    SELECT k.*, v.verdict, v.admitting_policies, a.flow_id
    FROM keyed k
    LEFT JOIN verdicts v
      ON v.basis = k.basis AND v.src_ip IS NOT DISTINCT FROM k.src_ip
     AND v.src_ns IS NOT DISTINCT FROM k.src_ns AND v.src_labels = k.src_labels
     AND v.dst_ns = k.dst_ns AND v.dst_labels = k.dst_labels
     AND v.dst_port IS NOT DISTINCT FROM k.dst_port AND v.protocol IS NOT DISTINCT FROM k.protocol
    LEFT JOIN approved a
      ON a.basis = k.basis AND a.src_ip IS NOT DISTINCT FROM k.src_ip
     AND a.src_ns IS NOT DISTINCT FROM k.src_ns AND a.dst_ip IS NOT DISTINCT FROM k.dst_ip
     AND a.dst_ns IS NOT DISTINCT FROM k.dst_ns
     AND a.dst_port IS NOT DISTINCT FROM k.dst_port AND a.protocol IS NOT DISTINCT FROM k.protocol
),
-- Hubble sees traffic at the pod, after the NetworkPolicy; VPC and Zeek see it on the network,
-- before it. The pod-level view decides when there is one.
edges AS (
    SELECT src, dst, dst_port, protocol,
        any_value(src_ns) AS src_namespace, any_value(dst_ns) AS dst_namespace,
        bool_or(basis = 'hubble') AS seen_at_pod,
        coalesce(sum(flows) FILTER (basis = 'hubble'), 0) AS hubble_flows,
        coalesce(sum(flows) FILTER (basis = 'address'), 0) AS network_flows,
        sum(flows) AS flows, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
        list(verdict ORDER BY verdict) FILTER (basis = 'hubble') AS pod_verdicts,
        list(verdict ORDER BY verdict) FILTER (basis = 'address') AS network_verdicts,
        string_agg(DISTINCT admitting_policies, ', ' ORDER BY admitting_policies) AS admitting_policies,
        bool_and(flow_id IS NOT NULL) AS approved,
        min(flow_id) AS matched_flow,
        arg_min(source_sha256, first_seen) AS source_sha256, arg_min(locator, first_seen) AS locator
    FROM judged
    GROUP BY src, dst, dst_port, protocol
),
dropped AS (
    SELECT coalesce(src_namespace || '/' || coalesce(src_workload, src_pod), src_namespace, src_ip) AS src,
        coalesce(dst_namespace || '/' || coalesce(dst_workload, dst_pod), dst_namespace, dst_ip) AS dst,
        dst_port, protocol, count(*) AS drops
    FROM win WHERE action = 'denied' AND NOT coalesce(is_reply, false)
    GROUP BY ALL
),
classified AS (
    SELECT e.*, coalesce(d.drops, 0) AS hubble_drops,
        CASE
            WHEN e.dst_namespace IS NULL THEN 'not_a_pod'
            WHEN e.seen_at_pod THEN
                CASE WHEN list_contains(e.pod_verdicts, 'no_policy') THEN 'no_policy'
                     WHEN list_contains(e.pod_verdicts, 'denied') THEN 'contradicted'
                     ELSE 'admitted' END
            ELSE
                CASE WHEN list_contains(e.network_verdicts, 'no_policy') THEN 'no_policy'
                     WHEN list_contains(e.network_verdicts, 'admitted') THEN 'admitted'
                     ELSE 'denied_at_pod' END
        END AS policy_verdict
    FROM edges e
    LEFT JOIN dropped d
      ON d.src = e.src AND d.dst = e.dst AND d.dst_port IS NOT DISTINCT FROM e.dst_port
     AND d.protocol IS NOT DISTINCT FROM e.protocol
)
SELECT
    src || ' -> ' || dst || ':' || coalesce(CAST(dst_port AS VARCHAR), '-') || '/'
        || coalesce(protocol, '-') AS resource,
    CASE
        WHEN policy_verdict = 'admitted' AND approved THEN 'pass'
        WHEN policy_verdict = 'not_a_pod' AND approved THEN 'pass'
        WHEN policy_verdict = 'denied_at_pod' THEN 'not_applicable'
        ELSE 'fail'
    END AS status,
    CASE policy_verdict
        WHEN 'admitted' THEN
            'admitted by NetworkPolicy ' || admitting_policies
            || CASE WHEN approved THEN ' and approved flow ' || matched_flow
                    ELSE ', but no approved flow covers it: the rule set allows more than the register' END
        WHEN 'not_a_pod' THEN
            CASE WHEN approved THEN 'no Hubble record identifies the destination as a pod (a node, or a pod Hubble did not see), so no NetworkPolicy can be applied; approved flow ' || matched_flow || ' covers it'
                 ELSE 'no Hubble record identifies the destination as a pod (a node, or a pod Hubble did not see), so no NetworkPolicy can be applied, and no approved flow covers it' END
        WHEN 'no_policy' THEN
            'no NetworkPolicy selects the destination pod, so it is admitted only by the Kubernetes default (allow all)'
            || CASE WHEN approved THEN '; approved flow ' || matched_flow || ' is not enforced'
                    ELSE ' and no approved flow covers it' END
        WHEN 'contradicted' THEN
            'Hubble forwarded it to the pod, yet no rule of the exported NetworkPolicies admits it (stale export or another policy layer)'
            || CASE WHEN approved THEN '; approved flow ' || matched_flow ELSE '; no approved flow covers it' END
        ELSE
            'the exported NetworkPolicies deny it at the pod; only the network layer recorded it as accepted'
            || CASE WHEN hubble_drops > 0 THEN ' (Hubble dropped ' || hubble_drops || ' such attempt(s))' ELSE '' END
    END AS reason,
    source_sha256, locator,
    src, dst, dst_port, protocol, policy_verdict, admitting_policies, matched_flow,
    hubble_flows, network_flows, hubble_drops, first_seen, last_seen
FROM classified
