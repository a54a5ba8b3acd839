-- Shared by the workload checks: one row per container of every workload spec the Kubernetes
-- API accepted (create/update with a full object, response 2xx), keeping only the latest spec of
-- each workload on or before the as-of date and within the 12-month look-back.
-- Workload key: namespace/Kind/name (for objects created with generateName, the prefix).
-- Pod specs come from Pods, and from the templates of Deployments, StatefulSets, DaemonSets,
-- ReplicaSets, Jobs and CronJobs. Settings are the container's own, falling back to the pod's.
WITH specs AS (
    SELECT
        e.source_sha256, e.locator, e.audit_id, e.event_time, e.username,
        coalesce(e.namespace, json_extract_string(e.request_object, '$.metadata.namespace'))
            AS namespace,
        coalesce(json_extract_string(e.request_object, '$.kind'),
                 CASE e.resource WHEN 'pods' THEN 'Pod' WHEN 'deployments' THEN 'Deployment'
                     WHEN 'statefulsets' THEN 'StatefulSet' WHEN 'daemonsets' THEN 'DaemonSet'
                     WHEN 'replicasets' THEN 'ReplicaSet' WHEN 'jobs' THEN 'Job'
                     WHEN 'cronjobs' THEN 'CronJob' END) AS kind,
        coalesce(nullif(json_extract_string(e.request_object, '$.metadata.name'), ''),
                 nullif(e.name, ''),
                 json_extract_string(e.request_object, '$.metadata.generateName')) AS name,
        CASE e.resource
            WHEN 'pods' THEN json_extract(e.request_object, '$.spec')
            WHEN 'cronjobs' THEN json_extract(e.request_object, '$.spec.jobTemplate.spec.template.spec')
            ELSE json_extract(e.request_object, '$.spec.template.spec')
        END AS pod_spec,
        CASE e.resource
            WHEN 'pods' THEN json_extract(e.request_object, '$.metadata.labels')
            WHEN 'cronjobs' THEN json_extract(e.request_object, '$.spec.jobTemplate.spec.template.metadata.labels')
            ELSE json_extract(e.request_object, '$.spec.template.metadata.labels')
        END AS labels
    FROM k8s_audit_events e
    WHERE e.resource IN ('pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets',
                         'jobs', 'cronjobs')
      AND e.subresource IS NULL
      AND e.verb IN ('create', 'update')
      AND e.stage = 'ResponseComplete'
      AND e.response_code BETWEEN 200 AND 299
      AND e.request_object IS NOT NULL
      AND e.event_time >= $lookback_start AND e.event_time < $as_of + INTERVAL 1 DAY
),
latest AS (
    SELECT *, namespace || '/' || kind || '/' || name AS workload
    FROM specs
    WHERE pod_spec IS NOT NULL AND name IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY namespace, kind, name
                               ORDER BY event_time DESC, locator DESC) = 1
),
containers AS (
    SELECT l.*, false AS init, unnest(from_json(json_extract(l.pod_spec, '$.containers'), '["JSON"]')) AS c
    FROM latest l
    UNION ALL
    SELECT l.*, true AS init, unnest(from_json(json_extract(l.pod_spec, '$.initContainers'), '["JSON"]')) AS c
    FROM latest l
    WHERE json_extract(l.pod_spec, '$.initContainers') IS NOT NULL
)
SELECT
    workload, namespace, kind AS workload_kind, name AS workload_name,
    json_extract_string(c, '$.name') AS container,
    json_extract_string(c, '$.image') AS image,
    regexp_replace(regexp_replace(json_extract_string(c, '$.image'), '@sha256:[0-9a-f]+$', ''),
                   ':[^:/]+$', '') AS image_repo,
    nullif(regexp_extract(json_extract_string(c, '$.image'), '@(sha256:[0-9a-f]+)$', 1), '')
        AS image_digest,
    init,
    coalesce(TRY_CAST(json_extract(c, '$.securityContext.privileged') AS BOOLEAN), false)
        AS privileged,
    coalesce(TRY_CAST(json_extract(c, '$.securityContext.runAsUser') AS BIGINT),
             TRY_CAST(json_extract(pod_spec, '$.securityContext.runAsUser') AS BIGINT))
        AS run_as_user,
    coalesce(TRY_CAST(json_extract(c, '$.securityContext.runAsNonRoot') AS BOOLEAN),
             TRY_CAST(json_extract(pod_spec, '$.securityContext.runAsNonRoot') AS BOOLEAN))
        AS run_as_non_root,
    TRY_CAST(json_extract(c, '$.securityContext.allowPrivilegeEscalation') AS BOOLEAN)
        AS allow_privilege_escalation,
    TRY_CAST(json_extract(c, '$.securityContext.readOnlyRootFilesystem') AS BOOLEAN)
        AS read_only_root_fs,
    coalesce(from_json(json_extract(c, '$.securityContext.capabilities.add'), '["VARCHAR"]'),
             []::VARCHAR[]) AS capabilities_add,
    coalesce(TRY_CAST(json_extract(pod_spec, '$.hostNetwork') AS BOOLEAN), false) AS host_network,
    coalesce(TRY_CAST(json_extract(pod_spec, '$.hostPID') AS BOOLEAN), false) AS host_pid,
    coalesce(TRY_CAST(json_extract(pod_spec, '$.hostIPC') AS BOOLEAN), false) AS host_ipc,
    coalesce(list_filter(
        from_json(json_extract(pod_spec, '$.volumes[*].hostPath.path'), '["VARCHAR"]'),
        lambda p: p IS NOT NULL), []::VARCHAR[]) AS host_paths,
    coalesce(json_extract_string(pod_spec, '$.serviceAccountName'), 'default') AS service_account,
    json_extract_string(pod_spec, '$.automountServiceAccountToken') AS automount_token,
    labels, event_time AS spec_time, audit_id, username AS submitted_by,
    source_sha256, locator
FROM containers
