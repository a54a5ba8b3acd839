-- Shared by every vulnerability check, the one scope rule for an image repository: one row per
-- repository that a vulnerability scan examined, or that was seen running, in the 12-month
-- look-back up to the as-of date, with its zone:
--   cde           it matches a declared CDE image pattern, or ran in a CDE namespace;
--   connected     it ran in a connected namespace;
--   unknown       it was never seen running in a namespace (only scanned, or seen only by the
--                 runtime sensor outside Kubernetes): nothing shows it outside the scope, so it is
--                 tested;
--   out_of_scope  every place it was seen running is a namespace outside the declared CDE and
--                 connected scope: its items are not applicable, in every vulnerability check.
-- Running evidence is the whole look-back, not only the period: an image that ran in the CDE in
-- the last twelve months stays in scope for findings that were open while it ran there.
WITH scanned AS (
    SELECT image_repo, bool_or(matches_cde_image) AS matches_cde_image
    FROM image_scans
    WHERE scanned_at >= $lookback_start AND scanned_at < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY image_repo
),
running AS (
    SELECT image_repo, bool_or(matches_cde_image) AS matches_cde_image,
        bool_or(zone = 'cde') AS in_cde, bool_or(zone = 'connected') AS in_connected,
        bool_or(zone = 'unknown') AS in_unknown,
        coalesce(list(DISTINCT namespace ORDER BY namespace) FILTER (WHERE namespace IS NOT NULL),
                 []::VARCHAR[]) AS namespaces,
        coalesce(list(DISTINCT namespace ORDER BY namespace)
                     FILTER (WHERE namespace IS NOT NULL AND in_period), []::VARCHAR[])
            AS namespaces_in_period,
        bool_or(in_period) AS ran_in_period,
        bool_or(running_at_as_of) AS running_at_as_of
    FROM workload_running_images
    GROUP BY image_repo
)
SELECT
    image_repo,
    CASE WHEN coalesce(s.matches_cde_image, false) OR coalesce(r.matches_cde_image, false)
              OR coalesce(r.in_cde, false) THEN 'cde'
         WHEN coalesce(r.in_connected, false) THEN 'connected'
         WHEN r.image_repo IS NULL OR r.in_unknown THEN 'unknown'
         ELSE 'out_of_scope' END AS zone,
    coalesce(r.namespaces, []::VARCHAR[]) AS namespaces,
    coalesce(r.namespaces_in_period, []::VARCHAR[]) AS namespaces_in_period,
    r.image_repo IS NOT NULL AS seen_running,
    coalesce(r.ran_in_period, false) AS ran_in_period,
    coalesce(r.running_at_as_of, false) AS running_at_as_of,
    CASE WHEN r.image_repo IS NOT NULL AND NOT (coalesce(s.matches_cde_image, false)
              OR coalesce(r.matches_cde_image, false) OR r.in_cde OR r.in_connected OR r.in_unknown)
         THEN 'runs only in namespaces outside the declared CDE and connected scope ('
              || array_to_string(r.namespaces, ', ') || ')' END AS out_of_scope_reason
FROM scanned s FULL JOIN running r USING (image_repo)
