-- One row per container of an in-scope workload's latest accepted spec.
SELECT
    workload || ':' || container AS resource,
    CASE WHEN privileged THEN 'fail' ELSE 'pass' END AS status,
    CASE
        WHEN privileged THEN CASE WHEN init THEN 'init container ' ELSE 'container ' END
            || container || ' sets privileged: true (spec accepted ' || CAST(spec_time AS DATE) || ')'
        ELSE 'not privileged'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, image, privileged,
    spec_time, spec_of, submitted_by
FROM workload_containers_in_scope
