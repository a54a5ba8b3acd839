-- One row per container of an in-scope workload. hostNetwork, hostPID and hostIPC are pod-level
-- settings: every container of the pod shares the node's namespace.
WITH c AS (
    SELECT *,
        list_filter([CASE WHEN host_network THEN 'network' END, CASE WHEN host_pid THEN 'process' END,
                     CASE WHEN host_ipc THEN 'IPC' END], lambda x: x IS NOT NULL) AS shared
    FROM workload_containers_in_scope
)
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE
        WHEN NOT spec_known THEN 'fail'
        WHEN len(shared) > 0 THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the settings in force cannot be read, so the container cannot pass'
        WHEN len(shared) = 1 THEN 'shares the node''s ' || shared[1] || ' namespace (spec of '
            || CAST(spec_time AS DATE) || ', ' || spec_basis || ')'
        WHEN len(shared) > 1 THEN 'shares the node''s '
            || array_to_string(shared[1:len(shared) - 1], ', ') || ' and ' || shared[len(shared)]
            || ' namespaces (spec of ' || CAST(spec_time AS DATE) || ', ' || spec_basis || ')'
        ELSE 'uses its own network, process and IPC namespaces'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, host_network, host_pid,
    host_ipc, spec_time, spec_basis, spec_detail, spec_of, submitted_by
FROM c
