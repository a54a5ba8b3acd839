-- One row per (principal, key-material secret) read in the period, plus one row per declared
-- pattern no recorded request touched.
-- Key material: Secrets matching a "namespace/name" glob of key_secrets. Reads: get, list and
-- watch of secrets that the API server answered with 2xx, counted once per auditID. A list or
-- watch without a name returns every secret of its namespace (or of the cluster): it is counted
-- as a read of each key secret known there (named in the audit log's look-back or in the Secret
-- objects of the snapshot), or of "*" when none is known and a pattern names the namespace itself. A list narrowed by a label selector
-- returns only labelled secrets and is not applicable; a fieldSelector on metadata.name names one.
-- The principal is the authenticated user (an impersonating user reads as themself).
WITH patterns AS (
    SELECT pattern, split_part(pattern, '/', 1) AS ns_glob,
        coalesce(nullif(split_part(pattern, '/', 2), ''), '*') AS name_glob
    FROM (SELECT unnest(CAST($key_secrets AS VARCHAR[])) AS pattern)
),
requests AS (
    SELECT *,
        coalesce(nullif(name, ''),
                 nullif(url_decode(regexp_extract(request_uri, '[?&]fieldSelector=metadata\.name(%3D|=)([^&]+)', 2)), '')
        ) AS secret_name,
        regexp_matches(request_uri, '[?&]labelSelector=') AS label_filtered
    FROM k8s_audit_events
    WHERE resource = 'secrets' AND subresource IS NULL AND verb IN ('get', 'list', 'watch')
      AND stage IN ('ResponseComplete', 'ResponseStarted') AND response_code BETWEEN 200 AND 299
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    QUALIFY row_number() OVER (PARTITION BY coalesce(audit_id, source_sha256 || locator)
                               ORDER BY stage = 'ResponseComplete' DESC, locator) = 1
),
known AS (
    SELECT DISTINCT namespace, name FROM (
        SELECT namespace, name FROM k8s_audit_events
        WHERE resource = 'secrets' AND name IS NOT NULL AND namespace IS NOT NULL
          AND event_time >= $lookback_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
        UNION ALL
        SELECT namespace, name FROM current_k8s_objects WHERE kind = 'Secret' AND namespace IS NOT NULL
    ) k
    WHERE EXISTS (SELECT 1 FROM patterns p WHERE k.namespace GLOB p.ns_glob AND k.name GLOB p.name_glob)
),
touched AS (
    -- named reads of key secrets
    SELECT r.*, r.namespace AS secret_ns, r.secret_name AS secret, false AS via_collection
    FROM requests r
    WHERE r.secret_name IS NOT NULL AND r.namespace IS NOT NULL
      AND EXISTS (SELECT 1 FROM patterns p WHERE r.namespace GLOB p.ns_glob AND r.secret_name GLOB p.name_glob)
    UNION ALL
    -- collection reads, expanded to the key secrets known in their scope
    SELECT r.*, k.namespace, k.name, true
    FROM requests r
    JOIN known k ON r.namespace IS NULL OR k.namespace = r.namespace
    WHERE r.secret_name IS NULL
    UNION ALL
    -- collection reads of a namespace a pattern names outright, none of its key secrets known by name
    SELECT r.*, r.namespace, '*', true
    FROM requests r
    WHERE r.secret_name IS NULL AND r.namespace IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM known k WHERE k.namespace = r.namespace)
      AND EXISTS (SELECT 1 FROM patterns p WHERE r.namespace = p.ns_glob)
),
consumers AS (
    SELECT DISTINCT namespace, 'system:serviceaccount:' || namespace || ':' || service_account AS principal
    FROM workload_containers WHERE namespace IS NOT NULL
),
grouped AS (
    SELECT t.username AS principal, t.secret_ns || '/' || t.secret AS secret,
        any_value(t.secret_ns) AS namespace,
        starts_with(t.username, 'system:serviceaccount:') AS service_account,
        count(*) AS reads,
        count(*) FILTER (NOT (t.via_collection AND t.label_filtered)) AS unfiltered_reads,
        string_agg(DISTINCT t.verb, ', ' ORDER BY t.verb) AS verbs,
        string_agg(DISTINCT t.impersonated_user, ', ' ORDER BY t.impersonated_user) AS impersonating,
        string_agg(DISTINCT t.user_agent, '; ' ORDER BY t.user_agent) AS user_agents,
        string_agg(DISTINCT t.source_ip, ', ' ORDER BY t.source_ip) AS source_ips,
        min(t.event_time) AS first_read, max(t.event_time) AS last_read,
        list_sort(list_distinct(flatten(list(coalesce(t.user_groups, []::VARCHAR[]))))) AS groups,
        arg_min(t.source_sha256, t.event_time) FILTER (NOT (t.via_collection AND t.label_filtered)) AS sha_unfiltered,
        arg_min(t.locator, t.event_time) FILTER (NOT (t.via_collection AND t.label_filtered)) AS loc_unfiltered,
        arg_min(t.source_sha256, t.event_time) AS sha_any, arg_min(t.locator, t.event_time) AS loc_any
    FROM touched t
    GROUP BY t.username, t.secret_ns || '/' || t.secret
),
judged AS (
    SELECT g.*,
        list_contains(CAST($key_custodians AS VARCHAR[]), g.principal)
        OR list_has_any(CAST($key_custodians AS VARCHAR[]), list_transform(g.groups, lambda x: 'group:' || x))
            AS custodian,
        EXISTS (SELECT 1 FROM consumers c WHERE c.namespace = g.namespace AND c.principal = g.principal)
        OR EXISTS (SELECT 1 FROM secret_consumers d      -- declared in auditkit.toml
                   WHERE g.namespace GLOB d.ns_glob
                     AND split_part(g.secret, '/', 2) GLOB d.name_glob
                     AND (d.principal = g.principal
                          OR list_contains(list_transform(g.groups, lambda x: 'group:' || x), d.principal)))
            AS consumer
    FROM grouped g
)
SELECT
    principal || ' read ' || secret AS resource,
    CASE WHEN custodian OR consumer THEN 'pass'
         WHEN unfiltered_reads = 0 THEN 'not_applicable'
         ELSE 'fail' END AS status,
    CASE WHEN custodian THEN principal || ' is a declared key custodian (' || reads || ' read(s))'
         WHEN consumer THEN 'a declared consumer of the key, or the service account of a workload in '
              || namespace || ' that uses it (' || reads || ' read(s))'
         WHEN unfiltered_reads = 0 THEN 'only lists narrowed by a label selector, which return key secrets only if they carry the label'
         ELSE unfiltered_reads || ' read(s) (' || verbs || ') of key material ' || secret || ' by '
              || CASE WHEN service_account THEN 'service account ' ELSE '' END || principal
              || ', who is neither a declared key custodian nor a workload using the key'
              || coalesce(' (impersonating ' || impersonating || ')', '') END AS reason,
    coalesce(sha_unfiltered, sha_any) AS source_sha256, coalesce(loc_unfiltered, loc_any) AS locator,
    principal, secret, namespace, service_account, reads, verbs, impersonating, user_agents,
    source_ips, first_read, last_read
FROM judged
UNION ALL
SELECT
    'pattern ' || p.pattern AS resource, 'pass' AS status,
    'no read of a secret matching ' || p.pattern || ' is recorded in the period' AS reason,
    NULL AS source_sha256, 'absent:k8s_audit_events get/list/watch of secrets matching ' || p.pattern AS locator,
    NULL, p.pattern, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL
FROM patterns p
WHERE NOT EXISTS (SELECT 1 FROM touched t
                  WHERE t.secret_ns GLOB p.ns_glob AND (t.secret = '*' OR t.secret GLOB p.name_glob))
