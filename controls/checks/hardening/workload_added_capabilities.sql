-- One row per container of an in-scope workload's spec in force (workload_specs); a container
-- whose spec is unknown fails, with the reason.
WITH allowed AS (
    SELECT list_transform($allowed_capabilities,
                          lambda c: upper(regexp_replace(CAST(c AS VARCHAR), '^(?i)cap_', ''))) AS caps
),
c AS (
    SELECT w.*,
        list_filter(list_distinct(list_transform(w.capabilities_add,
                                                 lambda x: upper(regexp_replace(x, '^(?i)cap_', '')))),
                    lambda x: NOT list_contains(a.caps, x)) AS disallowed_capabilities
    FROM workload_containers_in_scope w, allowed a
)
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE
        WHEN NOT spec_known THEN 'fail'
        WHEN len(disallowed_capabilities) > 0 THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the settings in force cannot be read, so the container cannot pass'
        WHEN len(disallowed_capabilities) > 0 THEN 'adds ' || array_to_string(list_sort(disallowed_capabilities), ', ')
            || ', not on the allowed list (spec of ' || CAST(spec_time AS DATE) || ', '
            || spec_basis || ')'
        WHEN len(capabilities_add) > 0 THEN 'adds only allowed capabilities: '
            || array_to_string(capabilities_add, ', ')
        ELSE 'adds no capability'
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, init, image, capabilities_add,
    list_sort(disallowed_capabilities) AS disallowed_capabilities, spec_time, spec_basis, spec_detail, spec_of,
    submitted_by
FROM c
