-- One row per container of an in-scope workload: the hostPath volumes it mounts.
WITH norm AS (
    SELECT *,
        list_transform(mounted_host_paths, lambda p: CASE
            WHEN rtrim(regexp_replace(p, '/+', '/', 'g'), '/') = '' THEN '/'
            ELSE rtrim(regexp_replace(p, '/+', '/', 'g'), '/') END) AS paths
    FROM workload_containers_in_scope
),
s AS (
    SELECT list_transform($sensitive_host_paths, lambda p: CASE
            WHEN rtrim(regexp_replace(p, '/+', '/', 'g'), '/') = '' THEN '/'
            ELSE rtrim(regexp_replace(p, '/+', '/', 'g'), '/') END) AS sens
),
j AS (
    SELECT n.*,
        list_sort(list_distinct(list_filter(n.paths, lambda p: len(list_filter(s.sens, lambda x:
            p = x OR p = '/' OR starts_with(x, p || '/') OR (x <> '/' AND starts_with(p, x || '/'))
        )) > 0))) AS sensitive_paths
    FROM norm n, s
)
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE
        WHEN NOT spec_known THEN 'fail'
        WHEN len(sensitive_paths) > 0 THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the settings in force cannot be read, so the container cannot pass'
        WHEN len(sensitive_paths) > 0 THEN 'mounts the node path(s) ' || array_to_string(sensitive_paths, ', ')
            || ' (spec of ' || CAST(spec_time AS DATE) || ', ' || spec_basis || ')'
        WHEN len(paths) > 0 THEN 'mounts only node path(s) not on the list: ' || array_to_string(paths, ', ')
        ELSE 'mounts no hostPath volume'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, mounted_host_paths,
    sensitive_paths, spec_time, spec_basis, spec_detail, spec_of, submitted_by
FROM j
