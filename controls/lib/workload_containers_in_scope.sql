-- Shared by the hardening checks: the in-scope workloads of workload_containers, one row per
-- container, judged once per controller family and only if they could run in the period.
-- Depends on workload_containers, which is staged first because libraries are staged in name
-- order ("workload_containers" sorts before "workload_containers_in_scope").
--
-- Controller families: a workload created by a controller (metadata.ownerReferences with
-- controller: true) whose owner is also in workload_containers belongs to its owner's family
-- (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob). Each family is reported once, under
-- its top workload's key (workload, workload_kind, workload_name), with the containers of the most
-- recent spec on record among its members; spec_of names that member. This matters because
-- workload_containers sees full specs only in create and update requests: after a kubectl apply
-- (a patch), the owner's own spec there is stale, while the ReplicaSet or Pod the controller then
-- creates carries the new template.
-- Deletions: a family whose top workload (or its namespace) was deleted with a 2xx response after
-- the family's latest spec and before the period started did not exist in the period; it is left
-- out.
-- zone: 'cde' when the namespace is a CDE namespace or any container runs an image matching a CDE
-- image pattern; 'connected' for a connected namespace. Workloads in no zone, or whose namespace
-- is unknown, are left out.
WITH specs AS (
    SELECT DISTINCT workload, namespace, workload_kind, workload_name, spec_time,
        source_sha256, locator
    FROM workload_containers
    WHERE namespace IS NOT NULL
),
parent AS (
    SELECT s.workload, min(s.namespace || '/' || r.owner_kind || '/' || r.owner_name) AS parent
    FROM specs s
    JOIN k8s_audit_events e USING (source_sha256, locator)
    CROSS JOIN LATERAL (
        SELECT unnest(from_json(json_extract(e.request_object, '$.metadata.ownerReferences'),
                                '[{"kind": "VARCHAR", "name": "VARCHAR", "controller": "BOOLEAN"}]'),
                      recursive := true)
    ) AS r(owner_kind, owner_name, controller)
    WHERE r.controller
      AND s.namespace || '/' || r.owner_kind || '/' || r.owner_name IN (SELECT workload FROM specs)
      AND s.namespace || '/' || r.owner_kind || '/' || r.owner_name <> s.workload
    GROUP BY s.workload
),
family AS (
    SELECT s.*, coalesce(p2.parent, p1.parent, s.workload) AS root
    FROM specs s
    LEFT JOIN parent p1 ON p1.workload = s.workload
    LEFT JOIN parent p2 ON p2.workload = p1.parent
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
members AS (
    SELECT w.* EXCLUDE (workload, workload_kind, workload_name),
        l.root AS workload, split_part(l.root, '/', 2) AS workload_kind,
        split_part(l.root, '/', 3) AS workload_name, w.workload AS spec_of,
        bool_or(EXISTS (SELECT 1 FROM scope_images p
                        WHERE w.image GLOB p.pattern OR w.image_repo GLOB p.pattern))
            OVER (PARTITION BY l.root) AS cde_image
    FROM workload_containers w
    JOIN live l USING (workload, source_sha256, locator)
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
