-- One row per container of an in-scope workload's latest accepted spec (the population of the
-- hardening checks). An image passes when its repository is under an approved registry, the
-- reference pins a digest, its namespace has admission control that enforces, and no admission
-- result shows the workload was admitted in breach of a policy.
WITH c AS (
    SELECT w.*,
        regexp_replace(regexp_replace(image, '@sha256:[0-9a-f]+$', ''), ':[^:/]+$', '') AS repo
    FROM workload_containers_in_scope w
),
named AS (
    SELECT c.*,
        CASE
            WHEN image IS NULL OR image = '' THEN NULL
            WHEN contains(repo, '/') AND (regexp_matches(split_part(repo, '/', 1), '[.:]')
                                          OR split_part(repo, '/', 1) = 'localhost') THEN
                regexp_replace(repo, '^(index\.docker\.io|registry-1\.docker\.io|registry\.hub\.docker\.com)/',
                               'docker.io/')
            WHEN contains(repo, '/') THEN 'docker.io/' || repo
            ELSE 'docker.io/library/' || repo
        END AS full_repo,
        regexp_matches(coalesce(image, ''), '@sha256:[0-9a-f]{64}$') AS pinned
    FROM c
),
judged AS (
    SELECT n.*,
        EXISTS (SELECT 1 FROM approved_registries a WHERE n.full_repo GLOB a.pattern) AS approved,
        (SELECT string_agg(DISTINCT a.entry, ', ' ORDER BY a.entry) FROM approved_registries a
          WHERE n.full_repo GLOB a.pattern) AS approved_by,
        (SELECT string_agg(DISTINCT e.mechanism || ' ' || e.policy || coalesce('/' || e.rule, ''), '; '
                           ORDER BY e.mechanism || ' ' || e.policy || coalesce('/' || e.rule, ''))
          FROM admission_enforcement e WHERE e.namespace = n.namespace AND e.enforcing) AS enforced_by,
        (SELECT string_agg(DISTINCT r.engine || ' ' || coalesce(r.policy, '-') || coalesce('/' || r.rule, '')
                               || ' (' || coalesce(r.action, r.origin) || ')', '; '
                           ORDER BY r.engine || ' ' || coalesce(r.policy, '-') || coalesce('/' || r.rule, '')
                               || ' (' || coalesce(r.action, r.origin) || ')')
          FROM current_admission_results r
          WHERE r.result = 'fail' AND r.resource_namespace = n.namespace
            AND (r.engine IN ('kyverno', 'gatekeeper', 'validating-admission-policy', 'pod-security',
                              'kubewarden', 'jspolicy') OR starts_with(r.engine, 'kyverno'))
            AND (r.origin <> 'audit-event' OR coalesce(r.action, '') <> 'enforce')
            AND (r.origin <> 'audit-event'
                 OR r.result_time >= $lookback_start AND r.result_time < least($as_of, $period_end) + INTERVAL 1 DAY)
            AND ((r.resource_kind = n.workload_kind AND r.resource_name = n.workload_name)
                 OR (r.resource_kind IN ('Pod', 'ReplicaSet', 'Job')
                     AND starts_with(r.resource_name, n.workload_name || '-')))) AS admitted_failing,
        (SELECT count(*) FROM admission_inputs) > 0 AS admission_data
    FROM named n
)
SELECT
    workload || ':' || coalesce(container, '*') AS resource,
    CASE WHEN spec_known AND full_repo IS NOT NULL AND approved AND pinned AND enforced_by IS NOT NULL
              AND admitted_failing IS NULL THEN 'pass' ELSE 'fail' END AS status,
    CASE
        WHEN NOT spec_known THEN spec_detail
            || ': the image in force cannot be read, so the container cannot pass'
        WHEN full_repo IS NULL THEN 'the spec names no image for container ' || container
        WHEN full_repo IS NOT NULL AND approved AND pinned AND enforced_by IS NOT NULL
             AND admitted_failing IS NULL
            THEN full_repo || ' is under the approved ' || approved_by || ', pinned by digest; '
                 || namespace || ' enforces ' || enforced_by
        ELSE concat_ws('; ',
            CASE WHEN NOT approved THEN full_repo || ' is not under an approved registry' END,
            CASE WHEN NOT pinned THEN 'the reference ' || image || ' is not pinned by digest' END,
            CASE WHEN admitted_failing IS NOT NULL
                 THEN 'admitted despite failing ' || admitted_failing END,
            CASE WHEN enforced_by IS NULL AND admission_data
                 THEN 'namespace ' || namespace || ' enforces no admission policy'
                 WHEN enforced_by IS NULL
                 THEN 'no admission-control data was ingested, so nothing shows namespace '
                      || namespace || ' refuses unapproved images' END)
    END AS reason,
    source_sha256, locator,
    namespace, zone, workload_kind, workload_name, container, image, full_repo AS repository,
    approved_by AS approved_registry, pinned AS pinned_by_digest, enforced_by,
    admitted_failing, spec_time, spec_basis, spec_of, submitted_by
FROM judged
