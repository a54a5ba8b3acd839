-- Shared by the checks that start from what ran: one row per (image repository, namespace) seen
-- running between the look-back start and the as-of date. (Named to sort after
-- workload_containers, which it reads: libraries are built in name order.)
-- Two sources of evidence:
--   * the Kubernetes audit log, through workload_containers (the containers of each workload's
--     latest accepted spec on or before the as-of date). A workload runs from its spec until the
--     API accepts a delete of the same workload (namespace, kind, name), or to the as-of date:
--     a spec submitted before the assessment period still runs in it (in_period), and one
--     deleted before the period began is kept for the look-back (in_period false). A latest
--     spec scaled to zero replicas counts as a delete at its own time;
--   * runtime alerts (Falco): the image of the container that raised an alert, at the alert time
--     (Falco's container.image.repository has no tag; a tag or digest, if present, is dropped).
-- Zones: cde (a CDE namespace, or the repository matches a declared CDE image pattern),
-- connected (a connected namespace), out_of_scope (another namespace), unknown (no namespace:
-- a container outside Kubernetes, seen only by the runtime sensor).
-- image_repo is normalised as in image_scans (docker.io/library/nginx is "nginx").
-- Known gaps: only each workload's latest spec is read, so an image that was replaced during
-- the period by another repository shows only through runtime alerts; a Deployment changed by
-- kubectl apply (a patch, not a full spec) keeps its older spec here beside the ReplicaSet that
-- carries the new one, so its old image still counts as running; pods created from a
-- generateName are keyed by the prefix, their deletes (full names) do not match, so such pods
-- count as running until the as-of date; specs older than the look-back are not seen.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
conn_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'connected'),
deletes AS (
    SELECT namespace, name, event_time,
        CASE resource WHEN 'pods' THEN 'Pod' WHEN 'deployments' THEN 'Deployment'
            WHEN 'statefulsets' THEN 'StatefulSet' WHEN 'daemonsets' THEN 'DaemonSet'
            WHEN 'replicasets' THEN 'ReplicaSet' WHEN 'jobs' THEN 'Job'
            WHEN 'cronjobs' THEN 'CronJob' END AS kind
    FROM k8s_audit_events
    WHERE verb = 'delete' AND subresource IS NULL AND stage = 'ResponseComplete'
      AND response_code BETWEEN 200 AND 299 AND name IS NOT NULL
      AND resource IN ('pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets',
                       'jobs', 'cronjobs')
      AND event_time >= $lookback_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
specs AS (
    SELECT c.*,
        -- A latest spec with zero replicas runs nothing from then on: the old ReplicaSets a
        -- Deployment keeps after a rollout are scaled to zero this way.
        coalesce((SELECT min(d.event_time) FROM deletes d
                   WHERE d.namespace = c.namespace AND d.kind = c.workload_kind
                     AND d.name = c.workload_name AND d.event_time >= c.spec_time),
                 CASE WHEN TRY_CAST(json_extract(e.request_object, '$.spec.replicas') AS BIGINT) = 0
                      THEN c.spec_time END) AS deleted_at
    FROM workload_containers c
    LEFT JOIN k8s_audit_events e USING (source_sha256, locator)
    WHERE c.image_repo IS NOT NULL AND c.image_repo <> ''
),
evidence AS (
    SELECT image_repo AS repo_reported, namespace, workload, image_digest, image AS image_ref,
        'k8s-audit' AS evidence_source,
        spec_time AS seen_from, coalesce(deleted_at, spec_time) AS seen_to,
        deleted_at IS NULL AS running_at_as_of,
        deleted_at IS NULL OR deleted_at >= $period_start AS in_period,
        spec_time AS evidence_at, source_sha256, locator
    FROM specs
    UNION ALL
    SELECT
        regexp_replace(regexp_replace(image, '@sha256:[0-9a-f]+$', ''), ':[^:/]+$', ''),
        namespace,
        CASE WHEN namespace IS NOT NULL AND pod IS NOT NULL THEN namespace || '/Pod/' || pod END,
        nullif(regexp_extract(image, '@(sha256:[0-9a-f]+)$', 1), ''), image,
        'runtime-alert', event_time, event_time, false, event_time >= $period_start,
        event_time, source_sha256, locator
    FROM runtime_alerts
    WHERE image IS NOT NULL AND image <> '' AND NOT starts_with(image, 'sha256:')
      AND event_time >= $lookback_start AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY
),
placed AS (
    SELECT e.*,
        regexp_replace(
            regexp_replace(e.repo_reported, '^(docker\.io|index\.docker\.io|registry-1\.docker\.io)/', ''),
            '^library/([^/]+)$', '\1') AS image_repo
    FROM evidence e
),
matched AS (
    SELECT p.*, EXISTS (SELECT 1 FROM scope_images i
                        WHERE p.image_repo GLOB i.pattern OR p.repo_reported GLOB i.pattern)
                AS pattern_match
    FROM placed p
),
grouped AS (
    SELECT
        image_repo, namespace,
        bool_or(pattern_match) AS matches_cde_image,
        coalesce(list(DISTINCT workload ORDER BY workload) FILTER (WHERE workload IS NOT NULL),
                 []::VARCHAR[]) AS workloads,
        coalesce(list(DISTINCT image_digest ORDER BY image_digest)
                     FILTER (WHERE image_digest IS NOT NULL), []::VARCHAR[]) AS image_digests,
        list(DISTINCT image_ref ORDER BY image_ref) AS image_refs,
        list(DISTINCT evidence_source ORDER BY evidence_source) AS evidence_sources,
        min(seen_from) AS first_seen,          -- earliest evidence: spec submitted or alert raised
        max(seen_to) AS last_seen,             -- latest evidence: spec, delete or alert
        bool_or(running_at_as_of) AS running_at_as_of,   -- in a live spec on the as-of date
        bool_or(in_period) AS in_period,       -- ran during the assessment period
        -- The evidencing record: the latest in the period, else the latest in the look-back.
        arg_max({'sha': source_sha256, 'loc': locator, 'at': evidence_at},
                (in_period, evidence_at, locator)) AS rec
    FROM matched
    GROUP BY image_repo, namespace
),
zoned AS (
    SELECT g.*,
        CASE WHEN g.namespace IN (SELECT namespace FROM cde_ns) OR g.matches_cde_image THEN 'cde'
             WHEN g.namespace IN (SELECT namespace FROM conn_ns) THEN 'connected'
             WHEN g.namespace IS NULL THEN 'unknown'
             ELSE 'out_of_scope' END AS zone
    FROM grouped g
)
SELECT
    image_repo, namespace, zone, zone IN ('cde', 'connected') AS in_scope, matches_cde_image,
    workloads, image_digests, image_refs, evidence_sources, first_seen, last_seen,
    running_at_as_of, in_period, rec.sha AS source_sha256, rec.loc AS locator,
    rec.at AS evidence_at
FROM zoned
