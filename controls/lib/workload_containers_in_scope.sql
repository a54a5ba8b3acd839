-- Shared by the hardening checks: the rows of workload_containers (one per container of a
-- workload's latest accepted spec) that belong to the declared scope, plus the zone.
-- Depends on workload_containers, which is staged first because libraries are staged in name
-- order ("workload_containers" sorts before "workload_containers_in_scope").
--
-- zone: 'cde' when the namespace is a CDE namespace or any container of the workload runs an
-- image matching a CDE image pattern; 'connected' for a connected namespace. Workloads in no
-- zone, or whose namespace is unknown, are left out.
-- Two refinements, so that one running thing is judged once and only if it could run in the
-- period:
--   * a workload created by a controller (metadata.ownerReferences with controller: true) whose
--     owner is itself in workload_containers is left out: its pod template is the owner's
--     (Deployment -> ReplicaSet -> Pod), and the owner carries the finding;
--   * a workload deleted (the object, or its namespace, with a 2xx response) after its latest
--     spec and before the period started is left out: it did not exist during the period.
WITH specs AS (
    SELECT DISTINCT workload, namespace, workload_kind, workload_name, spec_time,
        source_sha256, locator
    FROM workload_containers
    WHERE namespace IS NOT NULL
),
owned AS (
    SELECT s.workload
    FROM specs s
    JOIN k8s_audit_events e USING (source_sha256, locator)
    CROSS JOIN LATERAL (
        SELECT unnest(from_json(json_extract(e.request_object, '$.metadata.ownerReferences'),
                                '[{"kind": "VARCHAR", "name": "VARCHAR", "controller": "BOOLEAN"}]'),
                      recursive := true)
    ) AS r(owner_kind, owner_name, controller)
    WHERE r.controller
      AND s.namespace || '/' || r.owner_kind || '/' || r.owner_name
          IN (SELECT workload FROM workload_containers)
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
gone AS (
    SELECT s.workload
    FROM specs s
    JOIN deletions d
      ON d.namespace = s.namespace AND d.event_time > s.spec_time
     AND (d.kind IS NULL OR (d.kind = s.workload_kind AND d.name = s.workload_name))
),
zoned AS (
    SELECT c.*,
        bool_or(EXISTS (SELECT 1 FROM scope_images p
                        WHERE c.image GLOB p.pattern OR c.image_repo GLOB p.pattern))
            OVER (PARTITION BY c.workload) AS cde_image
    FROM workload_containers c
    WHERE c.namespace IS NOT NULL
      AND c.workload NOT IN (SELECT workload FROM owned)
      AND c.workload NOT IN (SELECT workload FROM gone)
)
SELECT * EXCLUDE (cde_image, zone_rank),
    CASE zone_rank WHEN 1 THEN 'cde' ELSE 'connected' END AS zone
FROM (
    SELECT z.*,
        CASE WHEN z.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'cde')
                  OR z.cde_image THEN 1
             WHEN z.namespace IN (SELECT namespace FROM scope_namespaces WHERE zone = 'connected')
                  THEN 2 END AS zone_rank
    FROM zoned z
)
WHERE zone_rank IS NOT NULL
-- A spec cannot name a container twice, but keep the one-row-per-container promise regardless.
QUALIFY row_number() OVER (PARTITION BY workload, container ORDER BY init, locator) = 1
