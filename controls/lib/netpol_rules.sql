-- Shared by the NetworkPolicy checks: the NetworkPolicies in force on the as-of date
-- (current_network_policies), flattened to one row per peer of every rule, per direction the
-- policy isolates.
--
-- Kubernetes semantics kept here:
--   * A policy isolates the pods its podSelector selects for each direction in its policyTypes
--     (the ingest fills policyTypes as Kubernetes defaults it: Ingress, plus Egress when the spec
--     has egress rules). A direction the policy does not isolate is ignored, even if it has rules.
--   * An isolating policy without rules for the direction (key absent, null or []) allows nothing:
--     one row with rule_index NULL marks the isolation.
--   * A rule without peers (from/to absent or []) admits every peer: peer_all. A rule without
--     ports (absent or []) admits every port and protocol: ports NULL.
--   * A peer is namespaceSelector and/or podSelector (ANDed within the item) or an ipBlock. A
--     podSelector alone means pods in the policy's own namespace: peer_ns_selector NULL and
--     peer_same_namespace true. A namespaceSelector alone means every pod of the selected
--     namespaces: peer_pod_selector NULL.
--   * Items of from/to and rules of a policy are ORed; so are the policies selecting a pod.
-- ports keeps the rule's list as written; port_list parses it (named ports cannot be resolved
-- without the pod's container ports, so they keep only their name).
-- Selectors are split into required "key=value" labels (matchLabels) and matchExpressions
-- (key, operator In/NotIn/Exists/DoesNotExist, values), for the checks to match against labels.
WITH pol AS (
    SELECT p.source_sha256, p.locator, p.namespace, p.name AS policy, p.pod_selector,
        d.direction,
        CASE d.direction WHEN 'ingress' THEN p.ingress ELSE p.egress END AS rules_json
    FROM current_network_policies p
    CROSS JOIN (VALUES ('ingress', 'Ingress'), ('egress', 'Egress')) AS d(direction, policy_type)
    WHERE list_contains(p.policy_types, d.policy_type)
),
rules AS (
    SELECT pol.*,
        CASE WHEN json_type(rules_json) = 'ARRAY' THEN from_json(rules_json, '["JSON"]') END
            AS rule_list
    FROM pol
),
rule_rows AS (
    -- isolation without any rule for the direction
    SELECT source_sha256, locator, namespace, policy, pod_selector, direction,
        NULL::INTEGER AS rule_index, NULL::JSON AS rule
    FROM rules WHERE coalesce(len(rule_list), 0) = 0
    UNION ALL
    SELECT source_sha256, locator, namespace, policy, pod_selector, direction,
        CAST(generate_subscripts(rule_list, 1) - 1 AS INTEGER) AS rule_index,
        unnest(rule_list) AS rule
    FROM rules WHERE len(rule_list) > 0
),
peers AS (
    SELECT r.*,
        CASE WHEN json_type(json_extract(r.rule, CASE r.direction WHEN 'ingress' THEN '$.from'
                                                                  ELSE '$.to' END)) = 'ARRAY'
             THEN from_json(json_extract(r.rule, CASE r.direction WHEN 'ingress' THEN '$.from'
                                                                  ELSE '$.to' END), '["JSON"]')
        END AS peer_list,
        CASE WHEN json_type(json_extract(r.rule, '$.ports')) = 'ARRAY'
                  AND json_array_length(json_extract(r.rule, '$.ports')) > 0
             THEN json_extract(r.rule, '$.ports') END AS ports
    FROM rule_rows r
),
peer_rows AS (
    SELECT source_sha256, locator, namespace, policy, pod_selector, direction, rule_index, ports,
        NULL::INTEGER AS peer_index, NULL::JSON AS peer
    FROM peers WHERE rule_index IS NULL OR coalesce(len(peer_list), 0) = 0
    UNION ALL
    SELECT source_sha256, locator, namespace, policy, pod_selector, direction, rule_index, ports,
        CAST(generate_subscripts(peer_list, 1) - 1 AS INTEGER) AS peer_index,
        unnest(peer_list) AS peer
    FROM peers WHERE rule_index IS NOT NULL AND len(peer_list) > 0
),
shaped AS (
    SELECT *,
        json_extract(peer, '$.namespaceSelector') AS ns_sel,
        json_extract(peer, '$.podSelector') AS pod_sel,
        json_extract_string(peer, '$.ipBlock.cidr') AS cidr,
        coalesce(from_json(json_extract(peer, '$.ipBlock.except'), '["VARCHAR"]'), []::VARCHAR[])
            AS cidr_except
    FROM peer_rows
)
SELECT
    namespace, policy, direction, rule_index, peer_index,
    pod_selector,
    list_transform(map_entries(coalesce(
        from_json(json_extract(pod_selector, '$.matchLabels'), '"MAP(VARCHAR, VARCHAR)"'),
        MAP()::MAP(VARCHAR, VARCHAR))), lambda e: e.key || '=' || e.value) AS pod_sel_labels,
    coalesce(from_json(json_extract(pod_selector, '$.matchExpressions'),
                       '[{"key": "VARCHAR", "operator": "VARCHAR", "values": ["VARCHAR"]}]'),
             []) AS pod_sel_exprs,
    ports,
    -- ports as (protocol, low, high, name): a named port keeps its name and no numbers; an item
    -- without a port admits every port of its protocol (0-65535); the protocol defaults to TCP.
    CASE WHEN ports IS NOT NULL THEN list_transform(
        from_json(ports, '[{"port": "VARCHAR", "protocol": "VARCHAR", "endPort": "INTEGER"}]'),
        lambda p: {'protocol': lower(coalesce(p.protocol, 'TCP')),
                   'low': CASE WHEN p.port IS NULL THEN 0 ELSE try_cast(p.port AS INTEGER) END,
                   'high': CASE WHEN p.port IS NULL THEN 65535
                                ELSE coalesce(p.endPort, try_cast(p.port AS INTEGER)) END,
                   'name': CASE WHEN p.port IS NOT NULL AND try_cast(p.port AS INTEGER) IS NULL
                                THEN p.port END}) END AS port_list,
    rule_index IS NOT NULL AND peer_index IS NULL AS peer_all,
    rule_index IS NOT NULL AND peer_index IS NOT NULL AND ns_sel IS NULL AND cidr IS NULL
        AS peer_same_namespace,
    ns_sel AS peer_ns_selector,
    CASE WHEN ns_sel IS NOT NULL THEN list_transform(map_entries(coalesce(
        from_json(json_extract(ns_sel, '$.matchLabels'), '"MAP(VARCHAR, VARCHAR)"'),
        MAP()::MAP(VARCHAR, VARCHAR))), lambda e: e.key || '=' || e.value) END AS peer_ns_labels,
    CASE WHEN ns_sel IS NOT NULL THEN coalesce(from_json(json_extract(ns_sel, '$.matchExpressions'),
        '[{"key": "VARCHAR", "operator": "VARCHAR", "values": ["VARCHAR"]}]'), []) END
        AS peer_ns_exprs,
    pod_sel AS peer_pod_selector,
    CASE WHEN pod_sel IS NOT NULL THEN list_transform(map_entries(coalesce(
        from_json(json_extract(pod_sel, '$.matchLabels'), '"MAP(VARCHAR, VARCHAR)"'),
        MAP()::MAP(VARCHAR, VARCHAR))), lambda e: e.key || '=' || e.value) END AS peer_pod_labels,
    CASE WHEN pod_sel IS NOT NULL THEN coalesce(from_json(json_extract(pod_sel, '$.matchExpressions'),
        '[{"key": "VARCHAR", "operator": "VARCHAR", "values": ["VARCHAR"]}]'), []) END
        AS peer_pod_exprs,
    cidr AS peer_cidr,
    cidr_except AS peer_cidr_except,
    source_sha256, locator
FROM shaped
