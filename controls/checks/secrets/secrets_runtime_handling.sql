-- Four kinds of item, each about a credential outside the path "a Secret injected at run time
-- into the workload that needs it":
--   env       one per in-scope container: literal env values that are credentials;
--   configmap one per ConfigMap of the current snapshot in a CDE or connected namespace:
--             data that holds a credential in clear;
--   mount     one per (Secret, in-scope workload) the pod spec injects (volume, projected
--             volume, env valueFrom.secretKeyRef, envFrom.secretRef): is the workload's service
--             account a declared consumer of that Secret?
--   read      one per (principal, Secret) read through the API in the period (get/list/watch
--             answered 2xx) in a CDE or connected namespace: is the principal a declared consumer?
-- Values are never shown: only variable names, keys and the kind of match.
-- requirement: env and configmap items evidence 8.6.2 (not hard-coded); mount items and reads
-- by service accounts 7.2.5; reads by people 7.2.2.
WITH ns AS (SELECT namespace, min(zone) AS zone FROM scope_namespaces GROUP BY namespace),
-- the shapes of a credential in a value, and of a credential's name
pats(kind, re) AS (VALUES
    ('AWS access key id', '(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)'),
    ('private key', '-----BEGIN [A-Z ]*PRIVATE KEY-----'),
    ('password in a URL', '[a-zA-Z][a-zA-Z0-9+.-]*://[^/:@\s]+:[^/@\s$]{3,}@'),
    ('GitHub token', 'gh[pousr]_[A-Za-z0-9]{36}'),
    ('Slack token', 'xox[abpors]-[A-Za-z0-9-]{10,}'),
    ('JSON web token', 'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.'),
    ('credential assignment', '(?i)(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)["'']?\s*[:=]\s*["'']?[^\s"''$\{<][^\s"'']{5,}')
),
-- re: a name that says the value is a credential; weak: names whose only such word is SECRET or
-- KEY, whose value may be the name of a Secret or key (a DNS-1123 name such as kek-wrapping is
-- then taken as a reference); not_re: names of settings about a credential, not the credential.
cred_name AS (
    SELECT '(?i)(passw(or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|credential|access[_-]?key|client[_-]?secret|auth[_-]?key)' AS re,
        '(?i)(passw(or)?d|passwd|pwd|token|api[_-]?key|apikey|private[_-]?key|credential|access[_-]?key|client[_-]?secret|auth[_-]?key)' AS strong_re,
        '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' AS dns_name,
        '(?i)(_file|_path|_dir|_name|_user(name)?|_ref|_id|_url|_endpoint|_host|_enabled|_expiry|_ttl)$' AS not_re
),
-- the spec in force of each in-scope container (NULL when it cannot be known: spec_known false)
specs AS (
    SELECT w.workload, w.namespace, w.zone, w.workload_kind, w.workload_name,
        coalesce(w.container, '*') AS container, w.spec_known, w.spec_detail,
        w.service_account, w.source_sha256, w.locator, w.spec_time, w.spec_of,
        CASE WHEN w.spec_known THEN s.pod_spec END AS pod_spec
    FROM workload_containers_in_scope w
    LEFT JOIN workload_specs s ON s.workload = w.spec_of
),
containers AS (
    SELECT s.*, k AS c FROM specs s,
        unnest(list_concat(
            coalesce(from_json(json_extract(s.pod_spec, '$.containers'), '["JSON"]'), []),
            coalesce(from_json(json_extract(s.pod_spec, '$.initContainers'), '["JSON"]'), []))) AS u(k)
    WHERE json_extract_string(k, '$.name') = s.container
),
env AS (
    SELECT c.workload, c.container, v.name AS var, v.value
    FROM containers c,
        unnest(coalesce(from_json(json_extract(c.c, '$.env'), '[{"name": "VARCHAR", "value": "VARCHAR"}]'),
                        [])) AS u(v)
    WHERE v.value IS NOT NULL AND v.value <> ''
),
env_hits AS (
    SELECT e.workload, e.container, e.var,
        coalesce((SELECT min(p.kind) FROM pats p WHERE p.kind <> 'credential assignment'
                  AND regexp_matches(e.value, p.re)),
                 CASE WHEN regexp_matches(e.var, n.re) AND NOT regexp_matches(e.var, n.not_re)
                           AND length(e.value) >= 8 AND NOT starts_with(e.value, '/')
                           AND NOT contains(e.value, '$(')
                           AND (regexp_matches(e.var, n.strong_re) OR NOT regexp_matches(e.value, n.dns_name))
                      THEN 'literal value of a credential variable' END) AS kind
    FROM env e, cred_name n
),
env_items AS (
    SELECT c.workload, c.container, any_value(c.namespace) AS namespace, any_value(c.zone) AS zone,
        any_value(c.source_sha256) AS source_sha256, any_value(c.locator) AS locator,
        bool_and(c.spec_known) AS spec_known, any_value(c.spec_detail) AS spec_detail,
        string_agg(DISTINCT h.var || ' (' || h.kind || ')', ', ' ORDER BY h.var || ' (' || h.kind || ')')
            FILTER (WHERE h.kind IS NOT NULL) AS found
    FROM specs c
    LEFT JOIN env_hits h USING (workload, container)
    GROUP BY c.workload, c.container
),
configmaps AS (
    SELECT o.namespace, o.name, n.zone, o.source_sha256, o.locator, d.key, d.value AS raw
    FROM current_k8s_objects o
    JOIN ns n USING (namespace)
    LEFT JOIN LATERAL (SELECT key, value FROM json_each(json_extract(o.object, '$.data'))) d ON true
    WHERE o.kind = 'ConfigMap'
),
cm_hits AS (
    SELECT c.namespace, c.name, c.key,
        coalesce((SELECT min(p.kind) FROM pats p WHERE regexp_matches(json_extract_string(c.raw, '$'), p.re)),
                 CASE WHEN regexp_matches(c.key, n.re) AND NOT regexp_matches(c.key, n.not_re)
                           AND length(json_extract_string(c.raw, '$')) >= 8
                           AND NOT starts_with(json_extract_string(c.raw, '$'), '/')
                           AND (regexp_matches(c.key, n.strong_re)
                                OR NOT regexp_matches(json_extract_string(c.raw, '$'), n.dns_name))
                      THEN 'literal value of a credential key' END) AS kind
    FROM configmaps c, cred_name n
    WHERE c.key IS NOT NULL
),
cm_items AS (
    SELECT c.namespace, c.name, any_value(c.zone) AS zone,
        min(c.source_sha256) AS source_sha256, min(c.locator) AS locator,
        string_agg(DISTINCT h.key || ' (' || h.kind || ')', ', ' ORDER BY h.key || ' (' || h.kind || ')')
            FILTER (WHERE h.kind IS NOT NULL) AS found
    FROM configmaps c
    LEFT JOIN cm_hits h USING (namespace, name)
    GROUP BY c.namespace, c.name
),
refs AS (
    SELECT s.workload, s.namespace, s.zone, s.service_account, s.source_sha256, s.locator, secret, via
    FROM (
        SELECT DISTINCT s.workload, s.namespace, s.zone, s.service_account, s.source_sha256, s.locator, s.pod_spec
        FROM specs s
    ) s,
    LATERAL (
        SELECT json_extract_string(v, '$.secret.secretName') AS secret, 'volume' AS via
        FROM unnest(coalesce(from_json(json_extract(s.pod_spec, '$.volumes'), '["JSON"]'), [])) AS t(v)
        UNION ALL
        SELECT json_extract_string(p, '$.secret.name'), 'projected volume'
        FROM unnest(coalesce(json_extract(s.pod_spec, '$.volumes[*].projected.sources[*]'), [])) AS t(p)
        UNION ALL
        SELECT json_extract_string(x, '$.valueFrom.secretKeyRef.name'), 'env'
        FROM unnest(coalesce(json_extract(s.pod_spec, '$.containers[*].env[*]'), [])
                    || coalesce(json_extract(s.pod_spec, '$.initContainers[*].env[*]'), [])) AS t(x)
        UNION ALL
        SELECT json_extract_string(x, '$.secretRef.name'), 'envFrom'
        FROM unnest(coalesce(json_extract(s.pod_spec, '$.containers[*].envFrom[*]'), [])
                    || coalesce(json_extract(s.pod_spec, '$.initContainers[*].envFrom[*]'), [])) AS t(x)
    ) r
    WHERE secret IS NOT NULL AND secret <> ''
),
ref_items AS (
    SELECT workload, namespace, any_value(zone) AS zone, any_value(service_account) AS service_account,
        'system:serviceaccount:' || namespace || ':' || any_value(service_account) AS principal,
        secret, string_agg(DISTINCT via, ', ' ORDER BY via) AS via,
        min(source_sha256) AS source_sha256, min(locator) AS locator
    FROM refs GROUP BY workload, namespace, secret
),
reads AS (
    SELECT *,
        coalesce(nullif(name, ''),
                 nullif(url_decode(regexp_extract(request_uri, '[?&]fieldSelector=metadata\.name(%3D|=)([^&]+)', 2)), ''))
            AS secret_name,
        regexp_matches(coalesce(request_uri, ''), '[?&]labelSelector=') AS label_filtered
    FROM k8s_audit_events
    WHERE resource = 'secrets' AND subresource IS NULL AND verb IN ('get', 'list', 'watch')
      AND stage IN ('ResponseComplete', 'ResponseStarted') AND response_code BETWEEN 200 AND 299
      AND event_time >= $period_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
      AND namespace IN (SELECT namespace FROM ns)
    QUALIFY row_number() OVER (PARTITION BY coalesce(audit_id, source_sha256 || locator)
                               ORDER BY stage = 'ResponseComplete' DESC, locator) = 1
),
read_items AS (
    SELECT username AS principal, namespace, coalesce(secret_name, '*') AS secret,
        any_value(n.zone) AS zone,
        count(*) AS reads, bool_and(secret_name IS NULL AND label_filtered) AS only_filtered,
        starts_with(username, 'system:node:') OR list_contains(any_value(user_groups), 'system:nodes') AS node,
        list_sort(list_distinct(flatten(list(coalesce(user_groups, []::VARCHAR[]))))) AS groups,
        string_agg(DISTINCT verb, ', ' ORDER BY verb) AS verbs,
        min(event_time) AS first_read, max(event_time) AS last_read,
        arg_min(source_sha256, (event_time, locator)) AS source_sha256,
        arg_min(locator, (event_time, locator)) AS locator
    FROM reads JOIN ns n USING (namespace)
    WHERE username IS NOT NULL
    GROUP BY username, namespace, coalesce(secret_name, '*')
),
declared AS (
    SELECT secret_pattern, ns_glob, name_glob, principal FROM secret_consumers
)
SELECT
    'env ' || workload || ':' || container AS resource,
    CASE WHEN spec_known AND found IS NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN NOT spec_known THEN spec_detail
              || ': the environment in force cannot be read, so the container cannot pass'
         WHEN found IS NULL THEN 'no environment variable holds a literal credential'
         ELSE 'credential written into the pod spec: ' || found END AS reason,
    source_sha256, locator, '8.6.2' AS requirement,
    'env' AS item, namespace, zone, workload || ':' || container AS subject, NULL::VARCHAR AS secret,
    NULL::VARCHAR AS principal, found AS matches, NULL::VARCHAR AS via, NULL::VARCHAR AS verbs,
    NULL::BIGINT AS reads, NULL::TIMESTAMP AS first_read, NULL::TIMESTAMP AS last_read
FROM env_items
UNION ALL
SELECT
    'configmap ' || namespace || '/' || name,
    CASE WHEN found IS NULL THEN 'pass' ELSE 'fail' END,
    CASE WHEN found IS NULL THEN 'no data key holds a credential in clear'
         ELSE 'credential in clear in ConfigMap data: ' || found END,
    source_sha256, locator, '8.6.2',
    'configmap', namespace, zone, 'ConfigMap ' || namespace || '/' || name, NULL, NULL, found,
    NULL, NULL, NULL, NULL, NULL
FROM cm_items
UNION ALL
SELECT
    'mount ' || namespace || '/' || secret || ' in ' || workload,
    CASE WHEN EXISTS (SELECT 1 FROM declared d WHERE r.namespace GLOB d.ns_glob
                      AND r.secret GLOB d.name_glob AND d.principal = r.principal)
         THEN 'pass' ELSE 'fail' END,
    CASE WHEN EXISTS (SELECT 1 FROM declared d WHERE r.namespace GLOB d.ns_glob
                      AND r.secret GLOB d.name_glob AND d.principal = r.principal)
         THEN 'injected (' || via || ') into ' || workload || ', whose service account is a declared consumer'
         ELSE 'Secret ' || namespace || '/' || secret || ' is injected (' || via || ') into ' || workload
              || ', but its service account ' || principal || ' is not a declared consumer of it' END,
    source_sha256, locator, '7.2.5',
    'mount', namespace, zone, workload, namespace || '/' || secret, principal, NULL, via, NULL,
    NULL, NULL, NULL
FROM ref_items r
UNION ALL
SELECT
    'read ' || principal || ' ' || namespace || '/' || secret,
    CASE WHEN node THEN 'not_applicable'
         WHEN EXISTS (SELECT 1 FROM declared d
                      WHERE r.namespace GLOB d.ns_glob AND (r.secret GLOB d.name_glob OR d.name_glob = '*')
                        AND (d.principal = r.principal
                             OR list_contains(list_transform(r.groups, lambda g: 'group:' || g), d.principal)))
             THEN 'pass'
         WHEN only_filtered THEN 'not_applicable'
         ELSE 'fail' END,
    CASE WHEN node THEN 'a node''s kubelet fetching Secrets for the pods it runs (run-time injection)'
         WHEN EXISTS (SELECT 1 FROM declared d
                      WHERE r.namespace GLOB d.ns_glob AND (r.secret GLOB d.name_glob OR d.name_glob = '*')
                        AND (d.principal = r.principal
                             OR list_contains(list_transform(r.groups, lambda g: 'group:' || g), d.principal)))
             THEN principal || ' is a declared consumer (' || reads || ' read(s): ' || verbs || ')'
         WHEN only_filtered THEN 'only lists narrowed by a label selector, which return just the labelled Secrets'
         ELSE reads || ' read(s) (' || verbs || ') of '
              || CASE WHEN secret = '*' THEN 'every Secret in ' || namespace ELSE 'Secret ' || namespace || '/' || secret END
              || ' by ' || principal || ', who is not a declared consumer' END,
    source_sha256, locator,
    CASE WHEN starts_with(principal, 'system:serviceaccount:') THEN '7.2.5' ELSE '7.2.2' END,
    'read', namespace, zone, principal, namespace || '/' || secret, principal, NULL, NULL, verbs,
    reads, first_read, last_read
FROM read_items r
