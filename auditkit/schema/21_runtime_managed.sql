-- Managed-cluster audit logs (GKE Cloud Audit Logs, AKS diagnostic settings, EKS through
-- CloudWatch) land in k8s_audit_events like native audit.k8s.io Events; these columns keep
-- what the provider adds. ALTER ... IF NOT EXISTS so stores created earlier pick them up.
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS provider VARCHAR;            -- kubernetes (native Event) | gke | aks | eks
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS log_category VARCHAR;        -- AKS category (kube-audit, kube-audit-admin), GKE log (activity, data_access), CloudWatch log stream
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS provider_resource VARCHAR;   -- AKS resourceId, GKE projects/<p>/locations/<l>/clusters/<c>, CloudWatch log group
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS principal_email VARCHAR;     -- GKE protoPayload.authenticationInfo.principalEmail
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS principal_object_id VARCHAR; -- Microsoft Entra object id (user.extra.oid) of the caller
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS principal_arn VARCHAR;       -- AWS IAM principal (user.extra.arn, canonicalArn) of the caller
