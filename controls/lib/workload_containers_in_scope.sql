-- Shared by the hardening checks: the in-scope workloads of workload_containers, one row per
-- container, each workload judged once and only if it could run in the period.
-- Reads workload_specs (the spec in force on the as-of date, and how it was established) and
-- workload_containers; libraries are staged after the libraries they name.
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
-- it created; spec_of names that object. A patched controller's spec is itself on record
-- (workload_spec_history replays patches), so the newest of the controller's spec and its
-- objects' is judged; when that newest spec is unknown, so is the workload's (spec_known false).
-- Deletions: a workload whose top object (or namespace) was deleted with a 2xx response after its
-- latest spec and before the period started did not exist in the period; it is left out.
-- zone: 'cde' when the namespace is a CDE namespace or any container runs an image matching a CDE
-- image pattern; 'connected' for a connected namespace. Workloads in no zone, or whose namespace
-- is unknown, are left out.
-- mounted_host_paths: the hostPath volumes this container mounts (host_paths lists the pod's).
WITH objects AS (
    SELECT s.workload, s.namespace, s.spec_time, s.source_sha256, s.locator, s.owner,
        coalesce(s.pod_spec, s.last_known_pod_spec) AS pod_spec,
        json_extract_string(s.labels, '$."pod-template-hash"') AS template_hash,
        s.deleted_at
    FROM workload_specs s
    WHERE s.namespace IS NOT NULL
      AND s.workload IN (SELECT workload FROM workload_containers)
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
        CASE WHEN w.spec_known THEN coalesce(m.mounted_host_paths, []::VARCHAR[]) END
            AS mounted_host_paths,
        -- an unknown spec is placed by the images it last ran
        bool_or(EXISTS (SELECT 1 FROM scope_images p
                        WHERE w.known_image GLOB p.pattern
                           OR regexp_replace(regexp_replace(w.known_image, '@sha256:[0-9a-f]+$', ''),
                                             ':[^:/]+$', '') GLOB p.pattern))
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
