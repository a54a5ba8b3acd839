-- Family "policy": admission control. What the admission policies are (and whether they
-- enforce or only audit), and what they found: policy-report results, Gatekeeper audit
-- violations, and the admission annotations of API audit events.
CREATE TABLE IF NOT EXISTS admission_policies (
    source_sha256      VARCHAR NOT NULL,
    locator            VARCHAR NOT NULL,
    engine             VARCHAR NOT NULL,   -- kyverno | gatekeeper | validating-admission-policy
    kind               VARCHAR NOT NULL,   -- ClusterPolicy | Policy | <constraint kind> | ValidatingAdmissionPolicyBinding
    namespace          VARCHAR,            -- namespaced policies (Kyverno Policy) only
    name               VARCHAR NOT NULL,
    rule               VARCHAR,            -- Kyverno validate rule; NULL for a whole policy/constraint/binding
    action             VARCHAR,            -- enforce | audit | warn | dryrun as the engine says; NULL when the export does not say
    action_raw         VARCHAR,            -- the value as written (Enforce, Audit, deny, dryrun, Deny+Audit...)
    match_namespaces   VARCHAR[],          -- namespaces (globs) the policy is limited to; NULL = every namespace
    exclude_namespaces VARCHAR[],          -- namespaces (globs) it leaves out
    match_kinds        VARCHAR[],          -- resource kinds it applies to, when stated
    namespace_overrides JSON,              -- Kyverno validationFailureActionOverrides as written
    selector_unresolved BOOLEAN NOT NULL,  -- the policy selects namespaces by label: which ones it covers is not known
    total_violations   BIGINT,             -- Gatekeeper status.totalViolations
    listed_violations  BIGINT,             -- violations listed (Gatekeeper caps the list)
    audit_time         TIMESTAMP,          -- Gatekeeper status.auditTimestamp
    created_at         TIMESTAMP
);

CREATE TABLE IF NOT EXISTS admission_results (
    source_sha256      VARCHAR NOT NULL,
    locator            VARCHAR NOT NULL,
    engine             VARCHAR NOT NULL,   -- kyverno | gatekeeper | pod-security | validating-admission-policy | admission-webhook | <report source>
    origin             VARCHAR NOT NULL,   -- policy-report | gatekeeper-audit | audit-event
    report_name        VARCHAR,            -- PolicyReport name, or the constraint's kind/name
    policy             VARCHAR,            -- policy, constraint, Pod Security level:version, admission policy or webhook
    rule               VARCHAR,
    result             VARCHAR NOT NULL,   -- pass | fail | warn | error | skip | unknown (no result given)
    result_raw         VARCHAR,
    action             VARCHAR,            -- enforce | audit | warn | dryrun | exempt: what the engine did about it, when known
    severity           VARCHAR,            -- critical | high | medium | low | info | unknown
    category           VARCHAR,
    message            VARCHAR,
    resource_api_version VARCHAR,
    resource_kind      VARCHAR,
    resource_namespace VARCHAR,
    resource_name      VARCHAR,
    resource_uid       VARCHAR,
    result_time        TIMESTAMP,          -- the result's own timestamp / Gatekeeper audit time / audit event time
    report_time        TIMESTAMP,          -- the report's creationTimestamp
    audit_id           VARCHAR,            -- audit-event results: the request's auditID
    properties         JSON
);
