-- The one definition of "a workload's spec over time", shared by every workload check through
-- workload_specs (the spec in force on the as-of date), workload_containers and
-- workload_running_images. One row per segment of a workload's life in the 12-month look-back:
-- a new segment starts whenever its spec, its replica count or its existence changes.
-- Workload key: namespace/Kind/name (objects created with generateName and logged without their
-- name: the prefix).
--
-- Records, in time order per workload (each audit request counted once by auditID):
--   * an accepted (2xx) create, update or patch whose whole object is on record: the API server's
--     responseObject (audit level RequestResponse; spec_basis 'response object'), else the request
--     body of a create or update ('request object');
--   * a dated snapshot of the object (`kubectl get -o yaml|json` ingested with --observed-at), at
--     each date it was observed ('snapshot'); undated exports place nothing in time and are not
--     used here;
--   * a patch whose result was not logged: applied to the spec then on record by
--     auditkit_replay_workload (JSON patch, JSON merge patch, strategic merge, server-side apply;
--     auditkit/evaluate/workload_specs.py) ('patch applied'). Patches that leave the pod spec
--     alone (labels, annotations, a restart annotation on the template) change nothing here;
--   * a write whose content cannot be known (Metadata level, or a patch that cannot be applied
--     unambiguously) after a spec was on record: the spec is 'unknown' from then until the next
--     whole object, and spec_detail says why;
--   * the scale subresource (kubectl scale, autoscalers): only the replica count;
--   * an accepted delete: the workload does not exist until it is created again.
-- The bulk stays in DuckDB; only workloads with a patch or write to replay reach Python, one call
-- per workload with its own records.
WITH ev AS (
    SELECT e.*,
        CASE e.resource WHEN 'pods' THEN 'Pod' WHEN 'deployments' THEN 'Deployment'
            WHEN 'statefulsets' THEN 'StatefulSet' WHEN 'daemonsets' THEN 'DaemonSet'
            WHEN 'replicasets' THEN 'ReplicaSet' WHEN 'jobs' THEN 'Job'
            WHEN 'cronjobs' THEN 'CronJob' END AS kind,
        CASE WHEN e.response_object IS NOT NULL AND json_type(e.response_object) = 'OBJECT'
                  AND e.subresource IS NULL AND e.verb <> 'delete'
             THEN e.response_object END AS resp
    FROM k8s_audit_events e
    WHERE e.resource IN ('pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets',
                         'jobs', 'cronjobs')
      AND (e.subresource IS NULL
           OR (e.subresource = 'scale' AND e.resource IN ('deployments', 'statefulsets', 'replicasets')))
      AND e.verb IN ('create', 'update', 'patch', 'delete')
      AND e.stage = 'ResponseComplete'
      AND e.response_code BETWEEN 200 AND 299
      AND e.event_time >= $lookback_start AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    QUALIFY e.audit_id IS NULL
         OR row_number() OVER (PARTITION BY e.audit_id ORDER BY e.source_sha256, e.locator) = 1
),
audit_recs AS (
    SELECT
        source_sha256, locator, audit_id, event_time AS at_time, username AS submitted_by, kind,
        verb, response_code AS code, request_uri AS uri,
        coalesce(namespace, json_extract_string(coalesce(resp, request_object), '$.metadata.namespace'))
            AS namespace,
        CASE WHEN verb IN ('create', 'update') AND subresource IS NULL
             THEN coalesce(nullif(json_extract_string(coalesce(resp, request_object), '$.metadata.name'), ''),
                           nullif(name, ''),
                           json_extract_string(coalesce(resp, request_object), '$.metadata.generateName'))
             ELSE name END AS name,
        CASE
            WHEN verb = 'delete' THEN 'delete'
            WHEN subresource = 'scale' THEN 'replicas'
            WHEN resp IS NOT NULL THEN 'object'
            WHEN verb IN ('create', 'update') AND request_object IS NOT NULL
                 AND json_type(request_object) = 'OBJECT' THEN 'object'
            WHEN verb = 'patch' AND request_object IS NOT NULL THEN 'patch'
            ELSE 'unknown'
        END AS op,
        CASE WHEN resp IS NOT NULL THEN 'response object' ELSE 'request object' END AS basis,
        coalesce(resp, CASE WHEN verb IN ('create', 'update') THEN request_object END) AS obj,
        request_object AS body,
        -- The scale subresource: the Scale object returned, else the one sent (update, or a merge
        -- patch), else the last JSON-patch operation on /spec/replicas. NULL: not told.
        CASE WHEN subresource = 'scale' THEN coalesce(
            TRY_CAST(json_extract(response_object, '$.spec.replicas') AS BIGINT),
            CASE WHEN json_type(request_object) = 'OBJECT'
                 THEN TRY_CAST(json_extract(request_object, '$.spec.replicas') AS BIGINT) END,
            CASE WHEN json_type(request_object) = 'ARRAY' THEN TRY_CAST(list_filter(
                coalesce(from_json(request_object, '[{"op": "VARCHAR", "path": "VARCHAR", "value": "JSON"}]'), []),
                lambda o: o.op IN ('add', 'replace') AND o.path = '/spec/replicas')[-1].value AS BIGINT) END)
        END AS scale_replicas
    FROM ev
),
snap_recs AS (
    SELECT o.source_sha256, o.locator, NULL::VARCHAR AS audit_id, s.observed_at AS at_time,
        NULL::VARCHAR AS submitted_by, o.kind, 'observed' AS verb, NULL::INTEGER AS code,
        NULL::VARCHAR AS uri, o.namespace, o.name, 'object' AS op, 'snapshot' AS basis,
        o.object AS obj, NULL::JSON AS body, NULL::BIGINT AS scale_replicas
    FROM k8s_objects o
    JOIN (SELECT source_sha256, observed_at FROM sources WHERE observed_at IS NOT NULL
          UNION
          SELECT source_sha256, observed_at FROM observations) s USING (source_sha256)
    WHERE o.kind IN ('Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob')
      AND s.observed_at >= $lookback_start AND s.observed_at < least($as_of, $period_end) + INTERVAL 1 DAY
),
recs AS (
    SELECT r.*, r.namespace || '/' || r.kind || '/' || r.name AS workload,
        row_number() OVER (ORDER BY r.at_time, r.source_sha256, r.locator) AS rid,
        CASE r.kind WHEN 'Pod' THEN json_extract(r.obj, '$.spec')
            WHEN 'CronJob' THEN json_extract(r.obj, '$.spec.jobTemplate.spec.template.spec')
            ELSE json_extract(r.obj, '$.spec.template.spec') END AS pod_spec
    FROM (SELECT * FROM audit_recs UNION ALL SELECT * FROM snap_recs) r
    WHERE r.namespace IS NOT NULL AND r.name IS NOT NULL AND r.name <> ''
),
-- Workloads with something to replay: a patch without its result, or a write without content.
replayed AS (
    SELECT unnest(auditkit_replay_workload(list(
        {'rid': rid, 'at_time': at_time, 'kind': kind, 'op': op, 'verb': verb,
         'obj': CASE WHEN op = 'object' THEN CAST(obj AS VARCHAR) END,
         'body': CASE WHEN op = 'patch' THEN CAST(body AS VARCHAR) END,
         'code': code, 'uri': uri}
        ORDER BY rid))) AS r
    FROM recs
    WHERE op <> 'replicas'
      AND workload IN (SELECT workload FROM recs WHERE op IN ('patch', 'unknown'))
    GROUP BY workload
),
points AS (
    -- Every change point: spec (known, unknown or gone) and/or replica count.
    SELECT c.workload, c.namespace, c.kind, c.name, c.at_time, c.rid, c.source_sha256, c.locator,
        c.audit_id, c.submitted_by,
        CASE
            WHEN c.op = 'delete' THEN 'deleted'
            WHEN c.op = 'object' AND c.pod_spec IS NOT NULL THEN 'known'
            WHEN c.op IN ('patch', 'unknown') AND x.r.changed AND x.r.obj IS NOT NULL THEN 'known'
            WHEN c.op IN ('patch', 'unknown') AND x.r.changed THEN 'unknown'
        END AS spec_state,
        CASE WHEN c.op = 'object' THEN c.basis
             WHEN x.r.obj IS NOT NULL THEN 'patch applied'
             WHEN x.r.changed THEN 'unknown' END AS spec_basis,
        CASE WHEN c.op = 'object' THEN NULL ELSE coalesce(x.r.how, x.r.problem) END AS spec_detail,
        CASE WHEN c.op = 'object' THEN c.obj ELSE CAST(x.r.obj AS JSON) END AS obj,
        CASE
            WHEN c.op = 'replicas' THEN true
            WHEN c.op = 'object' AND c.kind IN ('Deployment', 'StatefulSet', 'ReplicaSet') THEN true
            WHEN c.op IN ('patch', 'unknown') THEN coalesce(x.r.replicas_set, false)
            ELSE false
        END AS replicas_set,
        CASE
            WHEN c.op = 'replicas' THEN c.scale_replicas
            WHEN c.op = 'object' THEN TRY_CAST(json_extract(c.obj, '$.spec.replicas') AS BIGINT)
            ELSE x.r.replicas
        END AS replicas
    FROM recs c
    LEFT JOIN (SELECT r FROM replayed) x ON x.r.rid = c.rid
),
marked AS (
    SELECT *,
        -- the spec in force at this point: the latest spec change up to it
        max(CASE WHEN spec_state IS NOT NULL THEN rid END)
            OVER (PARTITION BY workload ORDER BY rid ROWS UNBOUNDED PRECEDING) AS spec_rid,
        max(CASE WHEN replicas_set OR spec_state = 'deleted' THEN rid END)
            OVER (PARTITION BY workload ORDER BY rid ROWS UNBOUNDED PRECEDING) AS replicas_rid
    FROM points
    WHERE spec_state IS NOT NULL OR replicas_set
),
segments AS (
    SELECT m.workload, m.namespace, m.kind AS workload_kind, m.name AS workload_name,
        m.at_time AS valid_from,
        lead(m.at_time) OVER (PARTITION BY m.workload ORDER BY m.rid) AS valid_to,
        s.spec_state, s.spec_basis, s.spec_detail, s.at_time AS spec_time, s.obj,
        CASE WHEN s.spec_state = 'known' THEN
            CASE m.kind WHEN 'Pod' THEN json_extract(s.obj, '$.spec')
                WHEN 'CronJob' THEN json_extract(s.obj, '$.spec.jobTemplate.spec.template.spec')
                ELSE json_extract(s.obj, '$.spec.template.spec') END END AS pod_spec,
        CASE WHEN s.spec_state = 'known' THEN
            CASE m.kind WHEN 'Pod' THEN json_extract(s.obj, '$.metadata.labels')
                WHEN 'CronJob' THEN json_extract(s.obj, '$.spec.jobTemplate.spec.template.metadata.labels')
                ELSE json_extract(s.obj, '$.spec.template.metadata.labels') END END AS labels,
        CASE WHEN r.spec_state = 'deleted' THEN NULL ELSE r.replicas END AS replicas,
        s.source_sha256, s.locator, s.audit_id, s.submitted_by,
        m.source_sha256 AS change_sha256, m.locator AS change_locator
    FROM marked m
    JOIN points s ON s.rid = m.spec_rid
    LEFT JOIN points r ON r.rid = m.replicas_rid
    WHERE m.spec_rid IS NOT NULL
)
SELECT * FROM segments
