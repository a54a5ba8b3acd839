-- Family "runtime": Kubernetes API audit events and runtime detection alerts.
CREATE TABLE IF NOT EXISTS k8s_audit_events (
    source_sha256     VARCHAR NOT NULL,
    locator           VARCHAR NOT NULL,
    audit_id          VARCHAR,
    stage             VARCHAR,            -- RequestReceived | ResponseStarted | ResponseComplete | Panic
    level             VARCHAR,            -- Metadata | Request | RequestResponse
    event_time        TIMESTAMP,          -- first of stageTimestamp, requestReceivedTimestamp, timestamp (UTC)
    verb              VARCHAR,
    request_uri       VARCHAR,
    username          VARCHAR,            -- authenticated user
    user_groups       VARCHAR[],
    impersonated_user VARCHAR,
    effective_user    VARCHAR,            -- impersonated user when present, else username
    source_ips        VARCHAR[],
    source_ip         VARCHAR,            -- last entry of sourceIPs (the one clients cannot set)
    user_agent        VARCHAR,
    api_group         VARCHAR,
    api_version       VARCHAR,
    resource          VARCHAR,
    subresource       VARCHAR,
    namespace         VARCHAR,
    name              VARCHAR,
    response_code     INTEGER,
    authz_decision    VARCHAR,            -- annotation authorization.k8s.io/decision
    authz_reason      VARCHAR,
    request_object    JSON,               -- NULL for secrets/configmaps data (redacted at ingest)
    cluster           VARCHAR
);

-- Added after the first release (ALTER keeps existing stores in step): the API server's response
-- to a write of a workload (pods, deployments, statefulsets, daemonsets, replicasets, jobs,
-- cronjobs, and their scale subresource) at RequestResponse level, managedFields removed; NULL
-- for every other request.
ALTER TABLE k8s_audit_events ADD COLUMN IF NOT EXISTS response_object JSON;

CREATE TABLE IF NOT EXISTS runtime_alerts (
    source_sha256  VARCHAR NOT NULL,
    locator        VARCHAR NOT NULL,
    event_time     TIMESTAMP NOT NULL,
    rule           VARCHAR,
    priority       VARCHAR,               -- as written (Emergency ... Debug)
    priority_level INTEGER,               -- 0 Emergency ... 7 Debug (syslog order)
    source         VARCHAR,               -- syscall | k8s_audit | plugin name
    hostname       VARCHAR,
    tags           VARCHAR[],
    output         VARCHAR,
    container_id   VARCHAR,
    container_name VARCHAR,
    image          VARCHAR,
    namespace      VARCHAR,
    pod            VARCHAR,
    user_name      VARCHAR,
    proc_cmdline   VARCHAR,
    fd_name        VARCHAR,
    output_fields  JSON
);
