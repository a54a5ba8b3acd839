-- Shared by the workload checks: one row per container of each workload's spec in force on the
-- as-of date (workload_specs; how it is established over creates, updates, patches, scale and
-- snapshots is in workload_spec_history). Workload key: namespace/Kind/name.
-- Pod specs come from Pods, and from the templates of Deployments, StatefulSets, DaemonSets,
-- ReplicaSets, Jobs and CronJobs. Settings are the container's own, falling back to the pod's.
-- spec_known false: the spec in force is unknown (spec_detail says why); the rows name the
-- containers of the last known spec (or one row with container NULL when none was known) and
-- every setting (image included) is NULL; known_image is the image that container last ran.
-- A check must never pass such a row.
-- spec_basis / spec_detail / source_sha256 / locator: how, and by which record, the spec was
-- established.
WITH containers AS (
    SELECT s.*, false AS init,
        unnest(from_json(json_extract(coalesce(s.pod_spec, s.last_known_pod_spec), '$.containers'),
                         '["JSON"]')) AS c
    FROM workload_specs s
    WHERE json_extract(coalesce(s.pod_spec, s.last_known_pod_spec), '$.containers') IS NOT NULL
    UNION ALL
    SELECT s.*, true AS init,
        unnest(from_json(json_extract(coalesce(s.pod_spec, s.last_known_pod_spec), '$.initContainers'),
                         '["JSON"]')) AS c
    FROM workload_specs s
    WHERE json_extract(coalesce(s.pod_spec, s.last_known_pod_spec), '$.initContainers') IS NOT NULL
    UNION ALL
    SELECT s.*, false AS init, NULL::JSON AS c
    FROM workload_specs s
    WHERE s.spec_state = 'unknown'
      AND json_extract(s.last_known_pod_spec, '$.containers') IS NULL
),
known AS (
    SELECT *, spec_state = 'known' AS spec_known,
        CASE WHEN spec_state = 'known' THEN c END AS k,
        CASE WHEN spec_state = 'known' THEN pod_spec END AS p
    FROM containers
)
SELECT
    workload, namespace, workload_kind, workload_name,
    json_extract_string(c, '$.name') AS container,
    json_extract_string(k, '$.image') AS image,
    regexp_replace(regexp_replace(json_extract_string(k, '$.image'), '@sha256:[0-9a-f]+$', ''),
                   ':[^:/]+$', '') AS image_repo,
    nullif(regexp_extract(json_extract_string(k, '$.image'), '@(sha256:[0-9a-f]+)$', 1), '')
        AS image_digest,
    json_extract_string(c, '$.image') AS known_image,
    init, spec_known,
    CASE WHEN spec_known THEN
        coalesce(TRY_CAST(json_extract(k, '$.securityContext.privileged') AS BOOLEAN), false) END
        AS privileged,
    coalesce(TRY_CAST(json_extract(k, '$.securityContext.runAsUser') AS BIGINT),
             TRY_CAST(json_extract(p, '$.securityContext.runAsUser') AS BIGINT))
        AS run_as_user,
    coalesce(TRY_CAST(json_extract(k, '$.securityContext.runAsNonRoot') AS BOOLEAN),
             TRY_CAST(json_extract(p, '$.securityContext.runAsNonRoot') AS BOOLEAN))
        AS run_as_non_root,
    TRY_CAST(json_extract(k, '$.securityContext.allowPrivilegeEscalation') AS BOOLEAN)
        AS allow_privilege_escalation,
    TRY_CAST(json_extract(k, '$.securityContext.readOnlyRootFilesystem') AS BOOLEAN)
        AS read_only_root_fs,
    CASE WHEN spec_known THEN
        coalesce(from_json(json_extract(k, '$.securityContext.capabilities.add'), '["VARCHAR"]'),
                 []::VARCHAR[]) END AS capabilities_add,
    CASE WHEN spec_known THEN coalesce(TRY_CAST(json_extract(p, '$.hostNetwork') AS BOOLEAN), false) END
        AS host_network,
    CASE WHEN spec_known THEN coalesce(TRY_CAST(json_extract(p, '$.hostPID') AS BOOLEAN), false) END
        AS host_pid,
    CASE WHEN spec_known THEN coalesce(TRY_CAST(json_extract(p, '$.hostIPC') AS BOOLEAN), false) END
        AS host_ipc,
    CASE WHEN spec_known THEN coalesce(list_filter(
        from_json(json_extract(p, '$.volumes[*].hostPath.path'), '["VARCHAR"]'),
        lambda x: x IS NOT NULL), []::VARCHAR[]) END AS host_paths,
    CASE WHEN spec_known THEN coalesce(json_extract_string(p, '$.serviceAccountName'), 'default') END
        AS service_account,
    json_extract_string(p, '$.automountServiceAccountToken') AS automount_token,
    labels, spec_time, spec_basis, spec_detail, audit_id, submitted_by,
    source_sha256, locator
FROM known
