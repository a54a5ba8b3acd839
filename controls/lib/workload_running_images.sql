-- Shared by the checks that start from what ran: one row per (image repository, namespace) seen
-- running between the look-back start and the as-of date.
-- Two sources of evidence:
--   * the workloads' specs over time (workload_spec_history: creates, updates, patches applied,
--     the scale subresource, dated snapshots). Every image of a spec ran from the moment that spec
--     (or a replica count above zero) took effect until the next change, a delete, or the as-of
--     date: an image replaced during the period by kubectl set image ran until the patch, and the
--     new one from then on. A segment with zero replicas runs nothing (a ReplicaSet a rollout
--     scaled down, a Deployment scaled to zero); an unknown replica count counts as running.
--     While a spec is unknown (a change the audit log does not show), the images it last ran are
--     kept as running: what replaced them is unknown, never read as "nothing ran";
--   * runtime alerts (Falco): the image of the container that raised an alert, at the alert time
--     (Falco's container.image.repository has no tag; a tag or digest, if present, is dropped).
-- Zones: cde (a CDE namespace, or the repository matches a declared CDE image pattern),
-- connected (a connected namespace), out_of_scope (another namespace), unknown (no namespace:
-- a container outside Kubernetes, seen only by the runtime sensor).
-- image_repo is normalised as in image_scans (docker.io/library/nginx is "nginx").
-- Known gaps: pods created from a generateName and logged without their name are keyed by the
-- prefix, so their deletes (full names) do not match and such pods count as running until the
-- as-of date; specs older than the look-back are not seen.
WITH cde_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'cde'),
conn_ns AS (SELECT namespace FROM scope_namespaces WHERE zone = 'connected'),
segments AS (
    SELECT h.*,
        -- the spec whose images ran: the known spec, or the last known one while unknown
        last_value(CASE WHEN h.spec_state = 'known' THEN h.pod_spec END IGNORE NULLS)
            OVER (PARTITION BY h.workload ORDER BY h.valid_from, h.spec_time
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ran_spec
    FROM workload_spec_history h
),
specs AS (
    -- cited: the record that started the segment (a spec change, or a scale-up)
    SELECT s.workload, s.namespace, s.valid_from, s.valid_to, s.spec_time,
        s.change_sha256 AS source_sha256, s.change_locator AS locator,
        json_extract_string(c, '$.image') AS image
    FROM segments s,
        unnest(list_concat(
            coalesce(from_json(json_extract(s.ran_spec, '$.containers'), '["JSON"]'), []),
            coalesce(from_json(json_extract(s.ran_spec, '$.initContainers'), '["JSON"]'), [])))
            AS u(c)
    WHERE s.spec_state IN ('known', 'unknown') AND s.replicas IS DISTINCT FROM 0
),
evidence AS (
    SELECT
        regexp_replace(regexp_replace(image, '@sha256:[0-9a-f]+$', ''), ':[^:/]+$', '')
            AS repo_reported,
        namespace, workload,
        nullif(regexp_extract(image, '@(sha256:[0-9a-f]+)$', 1), '') AS image_digest,
        image AS image_ref, 'k8s-audit' AS evidence_source,
        valid_from AS seen_from,
        coalesce(valid_to, valid_from) AS seen_to,
        valid_to IS NULL AS running_at_as_of,
        valid_to IS NULL OR valid_to >= $period_start AS in_period,
        valid_from AS evidence_at, source_sha256, locator
    FROM specs
    WHERE image IS NOT NULL AND image <> ''
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
