-- Shared by the cloud checks: the cloud-posture findings on accounts or resources the workspace
-- declares in scope ([scope] cloud_accounts, cloud_resources), one row per stored record, with
-- seen = when the record says it was last updated (ASFF UpdatedAt, OCSF time), else last or first
-- observed, else the --observed-at date of its file. Declared resources are globs over any of
-- the finding's resource ids.
SELECT c.*,
    coalesce(c.updated_at, c.last_seen, c.first_seen, s.observed_at) AS seen,
    c.account_id IN (SELECT account_id FROM scope_cloud_accounts) AS account_in_scope
FROM cloud_findings c
JOIN sources s USING (source_sha256)
WHERE c.account_id IN (SELECT account_id FROM scope_cloud_accounts)
   OR EXISTS (SELECT 1 FROM scope_cloud_resources p
              WHERE c.resource_id GLOB p.pattern
                 OR list_bool_or(list_transform(coalesce(c.resource_ids, []::VARCHAR[]),
                                                lambda r: r GLOB p.pattern)))
