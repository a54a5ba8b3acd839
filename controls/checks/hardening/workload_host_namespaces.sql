-- One row per in-scope workload (these are pod-level settings, the same for every container).
WITH w AS (
    SELECT workload, namespace, zone, workload_kind, workload_name, host_network, host_pid,
        host_ipc, spec_time, spec_of, submitted_by, source_sha256, locator,
        list_filter([CASE WHEN host_network THEN 'network' END, CASE WHEN host_pid THEN 'process' END,
                     CASE WHEN host_ipc THEN 'IPC' END], lambda x: x IS NOT NULL) AS shared
    FROM workload_containers_in_scope
    QUALIFY row_number() OVER (PARTITION BY workload ORDER BY container) = 1
)
SELECT
    workload AS resource,
    CASE WHEN len(shared) > 0 THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN len(shared) = 1 THEN 'shares the node''s ' || shared[1] || ' namespace (spec accepted '
            || CAST(spec_time AS DATE) || ')'
        WHEN len(shared) > 1 THEN 'shares the node''s '
            || array_to_string(shared[1:len(shared) - 1], ', ') || ' and ' || shared[len(shared)]
            || ' namespaces (spec accepted ' || CAST(spec_time AS DATE) || ')'
        ELSE 'uses its own network, process and IPC namespaces'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, host_network, host_pid, host_ipc,
    spec_time, spec_of, submitted_by
FROM w
