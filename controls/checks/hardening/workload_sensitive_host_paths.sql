-- One row per in-scope workload (volumes are pod-level).
WITH w AS (
    SELECT workload, namespace, zone, workload_kind, workload_name, host_paths, spec_time,
        spec_of, submitted_by, source_sha256, locator,
        list_transform(host_paths, lambda p: CASE
            WHEN rtrim(regexp_replace(p, '/+', '/', 'g'), '/') = '' THEN '/'
            ELSE rtrim(regexp_replace(p, '/+', '/', 'g'), '/') END) AS paths
    FROM workload_containers_in_scope
    QUALIFY row_number() OVER (PARTITION BY workload ORDER BY container) = 1
),
s AS (
    SELECT list_transform($sensitive_host_paths, lambda p: CASE
            WHEN rtrim(regexp_replace(p, '/+', '/', 'g'), '/') = '' THEN '/'
            ELSE rtrim(regexp_replace(p, '/+', '/', 'g'), '/') END) AS sens
),
j AS (
    SELECT w.*,
        list_filter(w.paths, lambda p: len(list_filter(s.sens, lambda x:
            p = x OR p = '/' OR starts_with(x, p || '/') OR (x <> '/' AND starts_with(p, x || '/'))
        )) > 0) AS sensitive_paths
    FROM w, s
)
SELECT
    workload AS resource,
    CASE WHEN len(sensitive_paths) > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN len(sensitive_paths) > 0 THEN 'mounts the node path(s) ' || array_to_string(sensitive_paths, ', ')
            || ' (spec accepted ' || CAST(spec_time AS DATE) || ')'
        WHEN len(paths) > 0 THEN 'hostPath volume(s) ' || array_to_string(paths, ', ') || ' are not sensitive'
        ELSE 'no hostPath volume'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, host_paths, sensitive_paths, spec_time,
    spec_of, submitted_by
FROM j
