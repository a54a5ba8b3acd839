-- The spec of each workload in force on the as-of date: one row per workload with a spec on record
-- in the 12-month look-back (workload_spec_history says how each spec was established). A workload
-- deleted afterwards keeps its last spec here, with deleted_at; checks decide what a deletion
-- means for them.
--   spec_state  'known': pod_spec is the spec in force, established by the record at
--                        source_sha256/locator, in the way spec_basis names ('response object',
--                        'request object', 'snapshot', 'patch applied'; spec_detail says which
--                        patch type);
--               'unknown': a later change cannot be known (spec_detail says why); pod_spec is NULL
--                        and last_known_pod_spec is the spec before it (for naming its containers).
-- owner: the controller ownerReference of the object ({kind, name}), for grouping objects under
-- the controller that created them; labels: the pod (template) labels. Both come from the last
-- known object when the spec is unknown.
WITH specs AS (
    SELECT *,
        lead(CASE WHEN spec_state = 'deleted' THEN valid_from END IGNORE NULLS)
            OVER (PARTITION BY workload ORDER BY valid_from, spec_time) AS next_delete,
        last_value(CASE WHEN spec_state = 'known' THEN pod_spec END IGNORE NULLS)
            OVER (PARTITION BY workload ORDER BY valid_from, spec_time
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS known_pod_spec,
        last_value(CASE WHEN spec_state = 'known' THEN obj END IGNORE NULLS)
            OVER (PARTITION BY workload ORDER BY valid_from, spec_time
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS known_obj,
        last_value(CASE WHEN spec_state = 'known' THEN labels END IGNORE NULLS)
            OVER (PARTITION BY workload ORDER BY valid_from, spec_time
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS known_labels,
        last_value(CASE WHEN spec_state = 'known' THEN spec_time END IGNORE NULLS)
            OVER (PARTITION BY workload ORDER BY valid_from, spec_time
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS known_spec_time
    FROM workload_spec_history
)
SELECT
    workload, namespace, workload_kind, workload_name, spec_state, spec_basis, spec_detail,
    spec_time, obj, pod_spec, coalesce(labels, known_labels) AS labels, replicas,
    CASE WHEN spec_state = 'unknown' THEN known_pod_spec END AS last_known_pod_spec,
    CASE WHEN spec_state = 'unknown' THEN known_spec_time END AS last_known_spec_time,
    list_filter(coalesce(from_json(json_extract(coalesce(obj, known_obj), '$.metadata.ownerReferences'),
                                   '[{"kind": "VARCHAR", "name": "VARCHAR", "controller": "BOOLEAN"}]'),
                         []), lambda r: r.controller AND r.kind IS NOT NULL AND r.name IS NOT NULL)[1]
        AS owner,
    next_delete AS deleted_at,
    source_sha256, locator, audit_id, submitted_by
FROM specs
WHERE spec_state IN ('known', 'unknown')
QUALIFY row_number() OVER (PARTITION BY workload ORDER BY valid_from DESC, spec_time DESC) = 1
