-- One row per connection observed into a CDE server (controls/lib/flow_edges.sql: one item per
-- client, server, port and protocol, whichever flow sources saw it; a side is namespace/workload
-- when the pod is known and the address otherwise), judged against the NetworkPolicies in force
-- on the as-of date (controls/lib/netpol_rules.sql) and the approved-flow register.
-- Without a NetworkPolicy export in force, a connection no approved flow covers still fails (the
-- register alone proves it); the others cannot be judged and are not applicable.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
has_export AS (SELECT EXISTS (SELECT 1 FROM network_policy_exports) AS known),
win AS (
    SELECT * FROM flows
    WHERE flow_format = 'hubble'
      AND start_time >= $period_start AND start_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
-- Hubble labels: "k8s:key=value" for the pod, "k8s:io.cilium.k8s.namespace.labels.key=value"
-- for its namespace; Cilium's own io.cilium.* / io.kubernetes.* entries are not pod labels.
endpoint_rows AS (
    SELECT src_namespace AS namespace, src_labels AS labels FROM win
    WHERE src_namespace IS NOT NULL
    UNION ALL
    SELECT dst_namespace, dst_labels FROM win WHERE dst_namespace IS NOT NULL
),
ns_labels AS (
    SELECT namespace, list_sort(list_distinct(flatten(list(labels)))) AS labels FROM (
        SELECT namespace, ['kubernetes.io/metadata.name=' || namespace] AS labels
        FROM (SELECT namespace FROM endpoint_rows UNION SELECT namespace FROM cde_ns
              UNION SELECT namespace FROM netpol_rules
              UNION SELECT src_namespace FROM flow_edges WHERE src_namespace IS NOT NULL)
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
keyed AS (
    SELECT e.*, e.src_namespace AS src_ns, e.dst_namespace AS dst_ns,
        CASE WHEN e.src_namespace IS NULL THEN e.src_ip END AS src_addr,
        list_transform(list_filter(coalesce(e.src_labels, []::VARCHAR[]), lambda l:
            starts_with(l, 'k8s:') AND NOT starts_with(l, 'k8s:io.cilium.')
            AND NOT starts_with(l, 'k8s:io.kubernetes.')), lambda l: substr(l, 5)) AS src_pod_labels,
        list_transform(list_filter(coalesce(e.dst_labels, []::VARCHAR[]), lambda l:
            starts_with(l, 'k8s:') AND NOT starts_with(l, 'k8s:io.cilium.')
            AND NOT starts_with(l, 'k8s:io.kubernetes.')), lambda l: substr(l, 5)) AS dst_pod_labels
    FROM flow_edges e
    WHERE e.dst_zone = 'cde'
),
-- the policy question, asked once per distinct combination
combos AS (
    SELECT DISTINCT src_addr AS src_ip, src_ns, src_pod_labels AS src_labels, dst_ns,
        dst_pod_labels AS dst_labels, dst_port, protocol
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
    SELECT c.src_ip, c.src_ns, c.src_labels, c.dst_ns, c.dst_labels, c.dst_port, c.protocol,
        CASE WHEN NOT EXISTS (SELECT 1 FROM rule_match m
                              WHERE m.src_ip IS NOT DISTINCT FROM c.src_ip
                                AND m.src_ns IS NOT DISTINCT FROM c.src_ns AND m.src_labels = c.src_labels
                                AND m.dst_ns = c.dst_ns AND m.dst_labels = c.dst_labels
                                AND m.dst_port IS NOT DISTINCT FROM c.dst_port
                                AND m.protocol IS NOT DISTINCT FROM c.protocol) THEN 'no_policy'
             WHEN EXISTS (SELECT 1 FROM rule_match m
                          WHERE m.admits AND m.src_ip IS NOT DISTINCT FROM c.src_ip
                            AND m.src_ns IS NOT DISTINCT FROM c.src_ns AND m.src_labels = c.src_labels
                            AND m.dst_ns = c.dst_ns AND m.dst_labels = c.dst_labels
                            AND m.dst_port IS NOT DISTINCT FROM c.dst_port
                            AND m.protocol IS NOT DISTINCT FROM c.protocol) THEN 'admitted'
             ELSE 'denied' END AS verdict,
        (SELECT string_agg(DISTINCT m.policy, ', ' ORDER BY m.policy) FROM rule_match m
          WHERE m.admits AND m.src_ip IS NOT DISTINCT FROM c.src_ip
            AND m.src_ns IS NOT DISTINCT FROM c.src_ns AND m.src_labels = c.src_labels
            AND m.dst_ns = c.dst_ns AND m.dst_labels = c.dst_labels
            AND m.dst_port IS NOT DISTINCT FROM c.dst_port
            AND m.protocol IS NOT DISTINCT FROM c.protocol) AS admitting_policies
    FROM combos c
),
-- Hubble sees traffic at the pod, after the NetworkPolicy; VPC and Zeek see it on the network,
-- before it. The pod-level view decides when there is one.
judged AS (
    SELECT k.*, v.verdict, v.admitting_policies, k.hubble_records > 0 AS seen_at_pod
    FROM keyed k
    LEFT JOIN verdicts v
      ON v.src_ip IS NOT DISTINCT FROM k.src_addr
     AND v.src_ns IS NOT DISTINCT FROM k.src_ns AND v.src_labels = k.src_pod_labels
     AND v.dst_ns = k.dst_ns AND v.dst_labels = k.dst_pod_labels
     AND v.dst_port IS NOT DISTINCT FROM k.dst_port AND v.protocol IS NOT DISTINCT FROM k.protocol
),
dropped AS (
    SELECT coalesce(src_namespace || '/' || coalesce(src_workload, src_pod), src_namespace, src_ip) AS src,
        coalesce(dst_namespace || '/' || coalesce(dst_workload, dst_pod), dst_namespace, dst_ip) AS dst,
        dst_port, protocol, count(*) AS drops
    FROM flows
    WHERE flow_format = 'hubble' AND action = 'denied' AND NOT coalesce(is_reply, false)
      AND start_time >= $period_start AND start_time < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY ALL
),
classified AS (
    SELECT j.*, coalesce(d.drops, 0) AS hubble_drops,
        CASE
            WHEN NOT (SELECT known FROM has_export) THEN 'no_export'
            WHEN j.dst_namespace IS NULL THEN 'not_a_pod'
            WHEN j.seen_at_pod THEN
                CASE j.verdict WHEN 'no_policy' THEN 'no_policy' WHEN 'denied' THEN 'contradicted'
                               ELSE 'admitted' END
            ELSE
                CASE j.verdict WHEN 'no_policy' THEN 'no_policy' WHEN 'admitted' THEN 'admitted'
                               ELSE 'denied_at_pod' END
        END AS policy_verdict
    FROM judged j
    LEFT JOIN dropped d
      ON d.src = j.src AND d.dst = j.dst AND d.dst_port IS NOT DISTINCT FROM j.dst_port
     AND d.protocol IS NOT DISTINCT FROM j.protocol
)
SELECT
    edge AS resource,
    CASE
        WHEN policy_verdict = 'no_export' AND matched_flow IS NULL THEN 'fail'
        WHEN policy_verdict = 'no_export' THEN 'not_applicable'
        WHEN policy_verdict = 'admitted' AND matched_flow IS NOT NULL THEN 'pass'
        WHEN policy_verdict = 'not_a_pod' AND matched_flow IS NOT NULL THEN 'pass'
        WHEN policy_verdict = 'denied_at_pod' THEN 'not_applicable'
        ELSE 'fail'
    END AS status,
    CASE policy_verdict
        WHEN 'no_export' THEN
            CASE WHEN matched_flow IS NULL
                 THEN 'no approved flow covers it; no NetworkPolicy export is in force, so the rules that admitted it could not be examined'
                 ELSE 'approved flow ' || matched_flow || ' covers it, but no NetworkPolicy export is in force to show a rule admits it' END
        WHEN 'admitted' THEN
            'admitted by NetworkPolicy ' || admitting_policies
            || CASE WHEN matched_flow IS NOT NULL THEN ' and approved flow ' || matched_flow
                    ELSE ', but no approved flow covers it: the rule set allows more than the register' END
        WHEN 'not_a_pod' THEN
            CASE WHEN matched_flow IS NOT NULL THEN 'no Hubble record identifies the destination as a pod (a node, or a pod Hubble did not see), so no NetworkPolicy can be applied; approved flow ' || matched_flow || ' covers it'
                 ELSE 'no Hubble record identifies the destination as a pod (a node, or a pod Hubble did not see), so no NetworkPolicy can be applied, and no approved flow covers it' END
        WHEN 'no_policy' THEN
            'no NetworkPolicy selects the destination pod, so it is admitted only by the Kubernetes default (allow all)'
            || CASE WHEN matched_flow IS NOT NULL THEN '; approved flow ' || matched_flow || ' is not enforced'
                    ELSE ' and no approved flow covers it' END
        WHEN 'contradicted' THEN
            'Hubble forwarded it to the pod, yet no rule of the exported NetworkPolicies admits it (stale export or another policy layer)'
            || CASE WHEN matched_flow IS NOT NULL THEN '; approved flow ' || matched_flow ELSE '; no approved flow covers it' END
        ELSE
            'the exported NetworkPolicies deny it at the pod; only the network layer recorded it as accepted'
            || CASE WHEN hubble_drops > 0 THEN ' (Hubble dropped ' || hubble_drops || ' such attempt(s))' ELSE '' END
    END AS reason,
    source_sha256, locator,
    src, dst, dst_port, protocol, policy_verdict, admitting_policies, matched_flow,
    records, records_by_format, hubble_drops, first_seen, last_seen, direction_basis,
    supporting_records
FROM classified
