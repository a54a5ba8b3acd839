-- Creation and deletion of system-level objects, and whether the audit log recorded them.
-- Rows:
--   * one per Namespace or CustomResourceDefinition that exists in only one of the previous
--     dated snapshot holding that kind and the snapshot in force: it passes when the audit log
--     holds a successful create or delete of it between the two snapshot days;
--   * one per logged successful create or delete in the period of a cluster-level object
--     (namespaces, custom resource definitions, nodes, admission webhooks, API services,
--     persistent volumes, storage, priority and runtime classes), by object and verb: it passes
--     when its records carry who, when, outcome and origin.
WITH system_resources(resource, kind) AS (
    VALUES ('namespaces', 'Namespace'), ('customresourcedefinitions', 'CustomResourceDefinition'),
        ('nodes', 'Node'), ('validatingwebhookconfigurations', 'ValidatingWebhookConfiguration'),
        ('mutatingwebhookconfigurations', 'MutatingWebhookConfiguration'),
        ('apiservices', 'APIService'), ('persistentvolumes', 'PersistentVolume'),
        ('storageclasses', 'StorageClass'), ('priorityclasses', 'PriorityClass'),
        ('runtimeclasses', 'RuntimeClass')
),
kind_days AS (
    SELECT DISTINCT o.kind, d.day, d.in_force
    FROM k8s_objects o JOIN access_snapshot_days d USING (source_sha256)
    WHERE o.kind IN ('Namespace', 'CustomResourceDefinition')
),
cur AS (SELECT kind, max(day) AS day FROM kind_days WHERE in_force GROUP BY kind),
prev AS (
    SELECT k.kind, max(k.day) AS day FROM kind_days k JOIN cur c USING (kind)
    WHERE k.day < c.day GROUP BY k.kind
),
objects AS (
    SELECT o.kind, o.name, d.day, o.source_sha256, o.locator
    FROM k8s_objects o JOIN access_snapshot_days d USING (source_sha256)
    JOIN cur c ON c.kind = o.kind
    JOIN prev p ON p.kind = o.kind
    WHERE d.day IN (c.day, p.day)
),
diff AS (
    SELECT o.kind, o.name, c.day AS cur_day, p.day AS prev_day,
        bool_or(o.day = c.day) AS now_present, bool_or(o.day = p.day) AS before_present,
        arg_max(o.source_sha256, o.day) AS source_sha256, arg_max(o.locator, o.day) AS locator
    FROM objects o JOIN cur c USING (kind) JOIN prev p USING (kind)
    GROUP BY o.kind, o.name, c.day, p.day
    HAVING bool_or(o.day = c.day) <> bool_or(o.day = p.day)
),
changes AS (
    SELECT e.*, s.kind, coalesce(nullif(e.name, ''), json_extract_string(e.request_object, '$.metadata.name')) AS object_name
    FROM k8s_audit_events e JOIN system_resources s ON s.resource = e.resource
    WHERE e.verb IN ('create', 'delete') AND e.response_code BETWEEN 200 AND 299
      AND e.subresource IS NULL
),
diff_judged AS (
    SELECT d.*, CASE WHEN d.now_present THEN 'created' ELSE 'deleted' END AS change,
        (SELECT arg_max(c.source_sha256, c.event_time) FROM changes c
          WHERE c.kind = d.kind AND c.object_name = d.name
            AND c.verb = CASE WHEN d.now_present THEN 'create' ELSE 'delete' END
            AND c.event_time >= d.prev_day AND c.event_time < d.cur_day + INTERVAL 1 DAY) AS ev_sha256,
        (SELECT arg_max(c.locator, c.event_time) FROM changes c
          WHERE c.kind = d.kind AND c.object_name = d.name
            AND c.verb = CASE WHEN d.now_present THEN 'create' ELSE 'delete' END
            AND c.event_time >= d.prev_day AND c.event_time < d.cur_day + INTERVAL 1 DAY) AS ev_locator,
        (SELECT arg_max(c.username || ' (' || strftime(c.event_time, '%Y-%m-%d %H:%M') || ' UTC)', c.event_time)
           FROM changes c
          WHERE c.kind = d.kind AND c.object_name = d.name
            AND c.verb = CASE WHEN d.now_present THEN 'create' ELSE 'delete' END
            AND c.event_time >= d.prev_day AND c.event_time < d.cur_day + INTERVAL 1 DAY) AS logged_by
    FROM diff d
),
logged AS (
    SELECT r.*, s.kind,
        coalesce(nullif(r.name, ''), json_extract_string(r.request_object, '$.metadata.name'), '-') AS object_name
    FROM audit_requests r JOIN system_resources s ON s.resource = r.resource
    WHERE r.verb IN ('create', 'delete') AND r.response_code BETWEEN 200 AND 299
      AND r.subresource IS NULL
      -- nodes register themselves all the time; their own registration is not an administrative act
      AND NOT (r.resource = 'nodes' AND starts_with(coalesce(r.username, ''), 'system:node:'))
),
logged_grouped AS (
    SELECT kind || '/' || object_name || ' ' || verb AS item,
        any_value(kind) AS kind, any_value(object_name) AS object_name, any_value(verb) AS verb,
        string_agg(DISTINCT username, ', ' ORDER BY username) AS changed_by,
        count(*) AS requests,
        count(*) FILTER (nullif(username, '') IS NULL OR event_time IS NULL OR response_code IS NULL
                         OR nullif(source_ip, '') IS NULL) AS incomplete,
        min(event_time) AS first_at,
        first(source_sha256 ORDER BY (nullif(username, '') IS NULL OR nullif(source_ip, '') IS NULL) DESC,
              event_time, locator) AS source_sha256,
        first(locator ORDER BY (nullif(username, '') IS NULL OR nullif(source_ip, '') IS NULL) DESC,
              event_time, locator) AS locator
    FROM logged GROUP BY item
)
SELECT
    'snapshot change: ' || change || ' ' || kind || '/' || name AS resource,
    CASE WHEN ev_sha256 IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE WHEN ev_sha256 IS NOT NULL
         THEN kind || ' ' || name || ' was ' || change || ' between the snapshots of ' || prev_day
              || ' and ' || cur_day || '; the audit log records it: ' || logged_by
         ELSE kind || ' ' || name || ' was ' || change || ' between the snapshots of ' || prev_day
              || ' and ' || cur_day || ', but no successful '
              || CASE change WHEN 'created' THEN 'create' ELSE 'delete' END
              || ' of it is in the audit log: a system-level object change was not recorded'
    END AS reason,
    coalesce(ev_sha256, source_sha256) AS source_sha256,
    coalesce(ev_locator, locator) AS locator,
    'snapshot comparison' AS basis, kind AS object_kind, name AS object_name, change,
    logged_by AS changed_by, NULL::BIGINT AS requests, NULL::TIMESTAMP AS first_at
FROM diff_judged
UNION ALL
SELECT
    'logged: ' || item AS resource,
    CASE WHEN incomplete > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE WHEN incomplete > 0
         THEN incomplete || ' of ' || requests || ' logged ' || verb || ' request(s) on ' || kind || ' '
              || object_name || ' lack the user, time, outcome or source address'
         ELSE verb || ' of ' || kind || ' ' || object_name || ' by ' || changed_by
              || ' logged with who, when, outcome and origin (' || requests || ' request(s))'
    END AS reason,
    source_sha256, locator,
    'audit log' AS basis, kind AS object_kind, object_name, verb AS change, changed_by, requests,
    first_at
FROM logged_grouped
