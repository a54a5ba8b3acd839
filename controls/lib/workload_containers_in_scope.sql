-- Shared by the hardening checks: the in-scope workloads of workload_containers, one row per
-- container, each workload judged once and only if it could run in the period.
-- Depends on workload_containers, which is staged first because libraries are staged in name
-- order ("workload_containers" sorts before "workload_containers_in_scope").
--
-- Workloads: objects created by a controller are reported under the controller at the top of
-- their chain (workload, workload_kind, workload_name), found from metadata.ownerReferences
-- (controller: true), whether or not the controller's own spec is in the audit log:
--   * a Pod of ReplicaSet <d>-<h> whose pod-template-hash label is <h> belongs to Deployment <d>
--     (the name the Deployment controller gives its ReplicaSets);
--   * a Pod of Job <c>-<n>, where <n> is a minute since the epoch within a day of the Pod's
--     creation, belongs to CronJob <c> (the name the CronJob controller gives its Jobs);
--   * otherwise the owner itself, and its own owner when its spec is on record.
-- Each workload takes the containers of the most recent spec on record among it and the objects
-- it created; spec_of names that object. This also keeps changes made by kubectl apply in view:
-- a patch is not a full spec, so workload_containers keeps the owner's older spec, but the
-- ReplicaSet or Pod the controller then creates carries the new template.
-- Deletions: a workload whose top object (or namespace) was deleted with a 2xx response after its
-- latest spec and before the period started did not exist in the period; it is left out.
-- zone: 'cde' when the namespace is a CDE namespace or any container runs an image matching a CDE
-- image pattern; 'connected' for a connected namespace. Workloads in no zone, or whose namespace
-- is unknown, are left out.
-- mounted_host_paths: the hostPath volumes this container mounts (host_paths lists the pod's).
WITH specs AS (
    SELECT workload, any_value(namespace) AS namespace, any_value(spec_time) AS spec_time,
        any_value(source_sha256) AS source_sha256, any_value(locator) AS locator,
        any_value(json_extract_string(labels, '$."pod-template-hash"')) AS template_hash
    FROM workload_containers
    WHERE namespace IS NOT NULL
    GROUP BY workload
),
objects AS (
    SELECT s.*, e.resource,
        CASE e.resource
            WHEN 'pods' THEN json_extract(e.request_object, '$.spec')
            WHEN 'cronjobs' THEN json_extract(e.request_object, '$.spec.jobTemplate.spec.template.spec')
            ELSE json_extract(e.request_object, '$.spec.template.spec')
        END AS pod_spec,
        list_filter(coalesce(from_json(json_extract(e.request_object, '$.metadata.ownerReferences'),
                                       '[{"kind": "VARCHAR", "name": "VARCHAR", "controller": "BOOLEAN"}]'),
                             []), lambda r: r.controller AND r.kind IS NOT NULL AND r.name IS NOT NULL)[1]
            AS owner
    FROM specs s
    JOIN k8s_audit_events e USING (source_sha256, locator)
),
step AS (
    SELECT o.*,
        CASE
            WHEN o.owner IS NULL THEN o.workload
            WHEN o.owner.kind = 'ReplicaSet' AND o.template_hash IS NOT NULL
                 AND ends_with(o.owner.name, '-' || o.template_hash)
                THEN o.namespace || '/Deployment/'
                    || left(o.owner.name, length(o.owner.name) - length(o.template_hash) - 1)
            WHEN o.owner.kind = 'Job' AND regexp_matches(o.owner.name, '-[0-9]{7,10}$')
                 AND abs(epoch(o.spec_time)
                         - 60 * CAST(regexp_extract(o.owner.name, '-([0-9]{7,10})$', 1) AS BIGINT)) < 86400
                THEN o.namespace || '/CronJob/' || regexp_replace(o.owner.name, '-[0-9]{7,10}$', '')
            ELSE o.namespace || '/' || o.owner.kind || '/' || o.owner.name
        END AS up
    FROM objects o
),
family AS (
    SELECT a.*, coalesce(b.up, a.up) AS root
    FROM step a
    LEFT JOIN step b ON b.workload = a.up AND b.workload <> a.workload
),
chosen AS (
    SELECT *, max(spec_time) OVER (PARTITION BY root) AS family_spec_time
    FROM family
    QUALIFY row_number() OVER (PARTITION BY root
                               ORDER BY spec_time DESC, workload = root DESC, workload) = 1
),
deletions AS (
    SELECT CASE WHEN resource = 'namespaces' THEN name ELSE namespace END AS namespace,
        CASE resource WHEN 'pods' THEN 'Pod' WHEN 'deployments' THEN 'Deployment'
            WHEN 'statefulsets' THEN 'StatefulSet' WHEN 'daemonsets' THEN 'DaemonSet'
            WHEN 'replicasets' THEN 'ReplicaSet' WHEN 'jobs' THEN 'Job'
            WHEN 'cronjobs' THEN 'CronJob' END AS kind,
        CASE WHEN resource <> 'namespaces' THEN name END AS name,
        event_time
    FROM k8s_audit_events
    WHERE verb = 'delete' AND subresource IS NULL AND name IS NOT NULL
      AND resource IN ('namespaces', 'pods', 'deployments', 'statefulsets', 'daemonsets',
                       'replicasets', 'jobs', 'cronjobs')
      AND stage = 'ResponseComplete' AND response_code BETWEEN 200 AND 299
      AND event_time >= $lookback_start AND event_time < $period_start
),
live AS (
    SELECT c.* FROM chosen c
    WHERE NOT EXISTS (
        SELECT 1 FROM deletions d
        WHERE d.namespace = c.namespace AND d.event_time > c.family_spec_time
          AND (d.kind IS NULL OR c.root = d.namespace || '/' || d.kind || '/' || d.name))
),
mounts AS (
    SELECT l.workload, k.name AS container,
        list_transform(
            list_filter(coalesce(from_json(json_extract(l.pod_spec, '$.volumes'),
                                           '[{"name": "VARCHAR", "hostPath": {"path": "VARCHAR"}}]'), []),
                        lambda v: v.hostPath.path IS NOT NULL
                                  AND list_contains(list_transform(coalesce(k.volumeMounts, []),
                                                                   lambda m: m.name), v.name)),
            lambda v: v.hostPath.path) AS mounted_host_paths
    FROM live l,
        unnest(list_concat(
            coalesce(from_json(json_extract(l.pod_spec, '$.containers'),
                               '[{"name": "VARCHAR", "volumeMounts": [{"name": "VARCHAR"}]}]'), []),
            coalesce(from_json(json_extract(l.pod_spec, '$.initContainers'),
                               '[{"name": "VARCHAR", "volumeMounts": [{"name": "VARCHAR"}]}]'), [])
        )) AS u(k)
),
members AS (
    SELECT w.* EXCLUDE (workload, workload_kind, workload_name),
        l.root AS workload, split_part(l.root, '/', 2) AS workload_kind,
        split_part(l.root, '/', 3) AS workload_name, w.workload AS spec_of,
        coalesce(m.mounted_host_paths, []::VARCHAR[]) AS mounted_host_paths,
        bool_or(EXISTS (SELECT 1 FROM scope_images p
                        WHERE w.image GLOB p.pattern OR w.image_repo GLOB p.pattern))
            OVER (PARTITION BY l.root) AS cde_image
    FROM workload_containers w
    JOIN live l USING (workload, source_sha256, locator)
    LEFT JOIN mounts m ON m.workload = w.workload AND m.container = w.container
)
SELECT * EXCLUDE (cde_image, zone_rank),
    CASE zone_rank WHEN 1 THEN 'cde' ELSE 'connected' END AS zone
FROM (
    SELECT m.*,
        CASE WHEN m.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde')
                  OR m.cde_image THEN 1
             WHEN m.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'connected')
                  THEN 2 END AS zone_rank
    FROM members m
)
WHERE zone_rank IS NOT NULL
-- A spec cannot name a container twice, but keep the one-row-per-container promise regardless.
QUALIFY row_number() OVER (PARTITION BY workload, container ORDER BY init, locator) = 1
