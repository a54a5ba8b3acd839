-- The NetworkPolicy exports in force on the as-of date: every access file of the snapshot in
-- force that declares NetworkPolicy objects (a NetworkPolicyList, even an empty one) or holds one.
-- An export listing no policy is evidence that the cluster has none; no export at all is missing
-- data. Files ingested before auditkit recorded declared kinds count when they hold a policy.
SELECT source_sha256, min(locator) AS locator
FROM (
    SELECT source_sha256, locator FROM current_snapshot_kinds WHERE kind = 'NetworkPolicy'
    UNION ALL
    SELECT source_sha256, locator FROM current_network_policies
)
GROUP BY source_sha256
