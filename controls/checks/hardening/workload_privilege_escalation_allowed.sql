-- One row per container of an in-scope workload's spec in force (workload_specs); a container
-- whose spec is unknown fails, with the reason.
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE
        WHEN NOT spec_known THEN 'fail'
        WHEN privileged THEN 'not_applicable'
        WHEN allow_privilege_escalation = false THEN 'pass'
        ELSE 'fail'
    END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the settings in force cannot be read, so the container cannot pass'
        WHEN privileged THEN 'privileged, which always allows escalation: judged by workload_privileged_containers'
        WHEN allow_privilege_escalation = false THEN 'allowPrivilegeEscalation: false'
        WHEN allow_privilege_escalation THEN 'allowPrivilegeEscalation: true'
        ELSE 'allowPrivilegeEscalation is not set, so Kubernetes allows escalation'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, image,
    allow_privilege_escalation, privileged, spec_time, spec_basis, spec_detail, spec_of, submitted_by
FROM workload_containers_in_scope
