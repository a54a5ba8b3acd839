-- One row per container of an in-scope workload's spec in force (workload_specs); a container
-- whose spec is unknown fails, with the reason.
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE
        WHEN NOT spec_known THEN 'fail'
        WHEN privileged THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the settings in force cannot be read, so the container cannot pass'
        WHEN privileged THEN CASE WHEN init THEN 'init container ' ELSE 'container ' END
            || container || ' sets privileged: true (spec of ' || CAST(spec_time AS DATE)
            || ', ' || spec_basis || ')'
        ELSE 'not privileged'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, image, privileged,
    spec_time, spec_basis, spec_detail, spec_of, submitted_by
FROM workload_containers_in_scope
