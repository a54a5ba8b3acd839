-- One row per container of an in-scope workload's latest accepted spec.
SELECT
    workload || ':' || container AS resource,
    CASE
        WHEN privileged THEN 'not_applicable'
        WHEN allow_privilege_escalation = false THEN 'pass'
        ELSE 'fail'
    END AS status,
    CASE
        WHEN privileged THEN 'privileged, which always allows escalation: judged by workload_privileged_containers'
        WHEN allow_privilege_escalation = false THEN 'allowPrivilegeEscalation: false'
        WHEN allow_privilege_escalation THEN 'allowPrivilegeEscalation: true'
        ELSE 'allowPrivilegeEscalation is not set, so Kubernetes allows escalation'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, image,
    allow_privilege_escalation, privileged, spec_time, spec_of, submitted_by
FROM workload_containers_in_scope
