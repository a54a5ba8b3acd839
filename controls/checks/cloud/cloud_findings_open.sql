-- One row per cloud-posture finding (product, account, region, resource, check) on an in-scope
-- account or resource that some record of the period reported at or above the minimum severity.
-- The latest record of the period decides, like a configuration scanner's latest scan.
-- A finding the tool left unrated cannot be shown to be below the minimum: it ranks above
-- critical, so it is always in the population (and its reason says it is unrated).
WITH rank_of(severity, rank) AS (
    VALUES ('critical', 4), ('high', 3), ('medium', 2), ('low', 1), ('info', 0)
),
min_rank AS (
    SELECT coalesce((SELECT rank FROM rank_of WHERE severity = lower($min_severity)),
                    error('min_severity must be one of critical, high, medium, low, info')) AS r
),
f AS (
    SELECT c.*, coalesce(r.rank, 5) AS sev_rank,
        coalesce(c.product, c.source_format) || ' ' || coalesce(c.account_id, '-') || ' '
            || coalesce(c.region, '-') || ' ' || coalesce(c.resource_id, '-') || ' '
            || coalesce(c.check_id, c.finding_id, '-') AS item
    FROM cloud_findings_in_scope c
    LEFT JOIN rank_of r USING (severity)
    WHERE c.seen >= $period_start AND c.seen < least($as_of, $period_end) + INTERVAL 1 DAY
),
items AS (
    SELECT item, min(coalesce(first_seen, seen)) FILTER (WHERE status = 'fail') AS first_failed
    FROM f
    GROUP BY item
    HAVING max(sev_rank) >= (SELECT r FROM min_rank)
),
latest AS (
    SELECT item,
        arg_max(f, (seen, source_sha256, locator)) AS x
    FROM f GROUP BY item
)
SELECT
    i.item AS resource,
    CASE
        WHEN l.x.finding_kind <> 'configuration' THEN 'not_applicable'
        WHEN l.x.status = 'fail' THEN 'fail'
        WHEN l.x.status = 'pass' THEN 'pass'
        ELSE 'not_applicable'
    END AS status,
    CASE
        WHEN l.x.finding_kind <> 'configuration'
            THEN 'a ' || l.x.finding_kind || ' finding, not a configuration check: '
                 || CASE l.x.finding_kind WHEN 'vulnerability' THEN 'the vulnerability checks and scans judge it'
                         WHEN 'threat' THEN 'it is for incident response to disposition'
                         ELSE 'no configuration standard applies to it' END
        WHEN l.x.status = 'fail' AND l.x.record_state = 'ARCHIVED'
            THEN 'archived in ' || coalesce(l.x.product, 'the tool') || ' while failing ('
                 || CAST(CAST(l.x.seen AS DATE) AS VARCHAR) || '): the resource was deleted or the '
                 || 'control disabled; show which'
        WHEN l.x.status = 'fail' AND l.x.workflow_status = 'RESOLVED'
            THEN 'marked resolved in ' || coalesce(l.x.product, 'the tool') || ' while its latest '
                 || 'evaluation still fails (' || CAST(CAST(l.x.seen AS DATE) AS VARCHAR) || ')'
        WHEN l.x.status = 'fail' AND l.x.suppressed
            THEN 'failing, but suppressed in ' || coalesce(l.x.product, 'the tool') || ' ('
                 || CAST(CAST(l.x.seen AS DATE) AS VARCHAR)
                 || '); record approved deviations in the exceptions register'
        WHEN l.x.status = 'fail'
            THEN 'open ' || CASE WHEN l.x.severity IN ('critical', 'high', 'medium', 'low', 'info')
                                 THEN l.x.severity || ' finding'
                                 ELSE 'finding the tool left unrated (so it cannot be shown to be '
                                      || 'below the minimum severity)' END
                 || ' in the latest report (' || CAST(CAST(l.x.seen AS DATE) AS VARCHAR)
                 || ')' || CASE WHEN CAST(i.first_failed AS DATE) < CAST(l.x.seen AS DATE)
                                THEN ', failing since ' || CAST(CAST(i.first_failed AS DATE) AS VARCHAR) ELSE '' END
        WHEN l.x.status = 'pass' THEN 'passed in the latest report (' || CAST(CAST(l.x.seen AS DATE) AS VARCHAR) || ')'
        ELSE 'the tool could not decide it (' || coalesce(l.x.status_raw, l.x.status) || '): needs manual verification'
    END AS reason,
    l.x.source_sha256 AS source_sha256, l.x.locator AS locator,
    CASE WHEN l.x.severity IN ('critical', 'high', 'medium', 'low', 'info') THEN l.x.severity END AS severity,
    l.x.product AS product, l.x.account_id AS account_id, l.x.region AS region,
    l.x.resource_type AS resource_type, l.x.resource_id AS resource_id, l.x.check_id AS check_id,
    l.x.title AS title, l.x.finding_kind AS finding_kind, l.x.severity AS finding_severity,
    l.x.status_raw AS last_status, l.x.workflow_status AS workflow_status, l.x.seen AS last_seen,
    i.first_failed, array_to_string(l.x.pci_requirements, '; ') AS pci_requirements
FROM items i
JOIN latest l USING (item)
