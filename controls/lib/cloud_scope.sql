-- Shared by the cloud checks: what the workspace declares in scope in the cloud, one row per
-- declared account or resource pattern (empty when nothing is declared).
SELECT 'account' AS kind, account_id AS value FROM scope_cloud_accounts
UNION ALL
SELECT 'resource', pattern FROM scope_cloud_resources
