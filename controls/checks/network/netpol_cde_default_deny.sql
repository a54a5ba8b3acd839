-- One row per (in-scope namespace, direction): CDE and connected namespaces, ingress and egress.
-- Builds on controls/lib/netpol_rules.sql (the NetworkPolicies in force on the as-of date).
WITH ns AS (
    SELECT namespace, CASE WHEN bool_or(zone = 'cde') THEN 'cde' ELSE 'connected' END AS zone
    FROM scope_namespaces GROUP BY namespace
),
items AS (
    SELECT ns.namespace, ns.zone, d.direction
    FROM ns CROSS JOIN (VALUES ('ingress'), ('egress')) AS d(direction)
),
-- a policy whose podSelector selects every pod isolates the whole namespace for the direction
isolating AS (
    SELECT namespace, direction, policy, min(locator) AS locator, any_value(source_sha256) AS source_sha256
    FROM netpol_rules
    WHERE len(pod_sel_labels) = 0 AND len(pod_sel_exprs) = 0
    GROUP BY namespace, direction, policy
),
-- rules that admit everyone: no peer at all, every pod of every namespace, or every address
broad AS (
    SELECT *,
        CASE WHEN peer_all THEN 'any peer'
             WHEN peer_cidr IN ('0.0.0.0/0', '::/0') THEN 'any address (' || peer_cidr || ')'
             ELSE 'every pod in every namespace' END AS breadth,
        peer_all OR peer_cidr IN ('0.0.0.0/0', '::/0') AS addresses_any
    FROM netpol_rules
    WHERE rule_index IS NOT NULL
      AND (peer_all
           OR peer_cidr IN ('0.0.0.0/0', '::/0')
           OR (peer_ns_selector IS NOT NULL AND len(peer_ns_labels) = 0 AND len(peer_ns_exprs) = 0
               AND (peer_pod_selector IS NULL
                    OR (len(peer_pod_labels) = 0 AND len(peer_pod_exprs) = 0))))
),
-- A rule open to any address is backed by the register when one approved flow names the
-- namespace on the policy's side, admits external addresses on the other side (an observed
-- external address falls inside its CIDRs) and covers every port of the rule. A rule open to
-- every pod of every namespace is never backed: the register cannot name "every namespace".
candidate AS (
    SELECT DISTINCT b.namespace, b.policy, b.direction, b.rule_index, b.peer_index, n.flow_id
    FROM broad b
    JOIN approved_flow_namespaces n
      ON n.namespace = b.namespace
     AND n.side = CASE b.direction WHEN 'ingress' THEN 'destination' ELSE 'source' END
    WHERE b.addresses_any AND b.port_list IS NOT NULL
      AND EXISTS (SELECT 1 FROM ip_approved a JOIN ip_zones z ON z.ip = a.ip
                  WHERE a.flow_id = n.flow_id AND z.zone = 'external'
                    AND a.side = CASE b.direction WHEN 'ingress' THEN 'source' ELSE 'destination' END)
),
rule_ports AS (
    SELECT namespace, policy, direction, rule_index, peer_index, unnest(port_list) AS p
    FROM broad WHERE addresses_any AND port_list IS NOT NULL
),
backed AS (
    SELECT c.namespace, c.policy, c.direction, c.rule_index, c.peer_index, min(c.flow_id) AS flow_id
    FROM candidate c
    WHERE NOT EXISTS (
        SELECT 1 FROM rule_ports r
        WHERE r.namespace = c.namespace AND r.policy = c.policy AND r.direction = c.direction
          AND r.rule_index = c.rule_index AND r.peer_index IS NOT DISTINCT FROM c.peer_index
          AND NOT EXISTS (SELECT 1 FROM approved_flow_ports ap
                          WHERE ap.flow_id = c.flow_id AND r.p.name IS NULL
                            AND r.p.low >= ap.port_low AND r.p.high <= ap.port_high
                            AND ap.protocol IN (r.p.protocol, 'any')))
    GROUP BY ALL
),
broad_judged AS (
    SELECT b.*, k.flow_id,
        b.policy || ' ' || b.direction || ' rule ' || b.rule_index || ' admits ' || b.breadth
            || CASE WHEN b.port_list IS NULL THEN ' on every port'
                    ELSE ' on ' || array_to_string(list_transform(b.port_list, lambda p:
                         coalesce(p.name, CAST(p.low AS VARCHAR)
                             || CASE WHEN p.high <> p.low THEN '-' || p.high ELSE '' END)
                         || '/' || p.protocol), ', ') END AS what
    FROM broad b
    LEFT JOIN backed k
      ON k.namespace = b.namespace AND k.policy = b.policy AND k.direction = b.direction
     AND k.rule_index = b.rule_index AND k.peer_index IS NOT DISTINCT FROM b.peer_index
),
judged AS (
    SELECT i.namespace, i.zone, i.direction,
        (SELECT string_agg(s.policy, ', ' ORDER BY s.policy) FROM isolating s
          WHERE s.namespace = i.namespace AND s.direction = i.direction) AS default_deny_policies,
        (SELECT min(s.locator) FROM isolating s
          WHERE s.namespace = i.namespace AND s.direction = i.direction) AS deny_locator,
        (SELECT arg_min(s.source_sha256, s.locator) FROM isolating s
          WHERE s.namespace = i.namespace AND s.direction = i.direction) AS deny_sha,
        (SELECT string_agg(DISTINCT b.what, '; ' ORDER BY b.what) FROM broad_judged b
          WHERE b.namespace = i.namespace AND b.direction = i.direction AND b.flow_id IS NULL)
            AS open_rules,
        (SELECT min(b.locator) FROM broad_judged b
          WHERE b.namespace = i.namespace AND b.direction = i.direction AND b.flow_id IS NULL)
            AS open_locator,
        (SELECT arg_min(b.source_sha256, b.locator) FROM broad_judged b
          WHERE b.namespace = i.namespace AND b.direction = i.direction AND b.flow_id IS NULL)
            AS open_sha,
        (SELECT string_agg(DISTINCT b.what || ' (approved flow ' || b.flow_id || ')', '; '
            ORDER BY b.what || ' (approved flow ' || b.flow_id || ')')
           FROM broad_judged b
          WHERE b.namespace = i.namespace AND b.direction = i.direction AND b.flow_id IS NOT NULL)
            AS approved_open_rules,
        (SELECT count(DISTINCT p.name) FROM current_network_policies p
          WHERE p.namespace = i.namespace) AS policies_in_namespace
    FROM items i
)
SELECT
    namespace || ' ' || direction AS resource,
    CASE WHEN default_deny_policies IS NOT NULL AND open_rules IS NULL THEN 'pass' ELSE 'fail' END
        AS status,
    CASE
        WHEN default_deny_policies IS NOT NULL AND open_rules IS NULL THEN
            'every pod is isolated for ' || direction || ' by ' || default_deny_policies
            || ' and no rule admits everyone'
            || coalesce(' except as approved: ' || approved_open_rules, '')
        WHEN default_deny_policies IS NULL AND policies_in_namespace = 0 THEN
            'no NetworkPolicy exists in the ' || zone || ' namespace, so all ' || direction
            || ' traffic is allowed by default'
        WHEN default_deny_policies IS NULL THEN
            'no policy selects every pod for ' || direction || ', so pods no policy selects allow all '
            || direction || ' traffic' || coalesce('; also ' || open_rules, '')
        ELSE 'default deny by ' || default_deny_policies || ' is undone by ' || open_rules
            || ', which no approved flow backs'
    END AS reason,
    -- a namespace without any policy: the export in force that lists none is the evidence
    CASE WHEN open_rules IS NOT NULL THEN open_sha
         WHEN default_deny_policies IS NOT NULL THEN deny_sha
         WHEN policies_in_namespace = 0 THEN (SELECT min(source_sha256) FROM network_policy_exports) END
        AS source_sha256,
    CASE WHEN open_rules IS NOT NULL THEN open_locator
         WHEN default_deny_policies IS NOT NULL THEN deny_locator
         WHEN policies_in_namespace = 0
             THEN (SELECT arg_min(locator, source_sha256) FROM network_policy_exports)
         ELSE 'absent:current_network_policies namespace=' || namespace || ' selecting every pod with policyType '
              || CASE direction WHEN 'ingress' THEN 'Ingress' ELSE 'Egress' END END AS locator,
    namespace, zone, direction, default_deny_policies, open_rules, approved_open_rules,
    policies_in_namespace
FROM judged
