-- One row per container of an in-scope workload's spec in force (workload_specs); a container
-- whose spec is unknown fails, with the reason.
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE
        WHEN NOT spec_known THEN 'fail'
        WHEN run_as_user = 0 THEN 'fail'
        WHEN run_as_user > 0 THEN 'pass'
        WHEN run_as_non_root THEN 'pass'
        ELSE 'fail'
    END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the settings in force cannot be read, so the container cannot pass'
        WHEN run_as_user = 0 THEN 'runAsUser is 0 (root)'
            || CASE WHEN run_as_non_root THEN ', contradicting runAsNonRoot: true' ELSE '' END
        WHEN run_as_user > 0 THEN 'runs as UID ' || run_as_user
        WHEN run_as_non_root THEN 'runAsNonRoot: true; the kubelet refuses to start it as root'
        ELSE 'neither a non-zero runAsUser nor runAsNonRoot: true'
            || CASE WHEN run_as_non_root = false THEN ' (runAsNonRoot is false)' ELSE '' END
            || ': runs as the image''s user, root unless the image names another'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, image,
    run_as_user, run_as_non_root, spec_time, spec_basis, spec_detail, spec_of, submitted_by
FROM workload_containers_in_scope
