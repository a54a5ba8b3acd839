-- Family "cloud": cloud-posture findings (Prowler OCSF, AWS Security Hub and Prowler ASFF).
CREATE TABLE IF NOT EXISTS cloud_findings (
    source_sha256    VARCHAR NOT NULL,
    locator          VARCHAR NOT NULL,
    source_format    VARCHAR NOT NULL,     -- prowler-ocsf | asff
    product          VARCHAR,              -- Prowler, Security Hub, GuardDuty, Inspector, Config...
    finding_id       VARCHAR,              -- ASFF Id / OCSF finding_info.uid
    check_id         VARCHAR,              -- Prowler event_code, ASFF control id or GeneratorId
    title            VARCHAR,
    finding_kind     VARCHAR NOT NULL,     -- configuration | vulnerability | threat | other
    status           VARCHAR NOT NULL,     -- fail | pass | manual | info | unknown
    status_raw       VARCHAR,
    severity         VARCHAR NOT NULL,     -- critical | high | medium | low | info | unknown
    severity_raw     VARCHAR,
    workflow_status  VARCHAR,              -- ASFF Workflow.Status / OCSF status: NEW, NOTIFIED, SUPPRESSED, RESOLVED
    record_state     VARCHAR,              -- ASFF RecordState: ACTIVE | ARCHIVED
    suppressed       BOOLEAN NOT NULL,     -- muted or suppressed in the tool
    cloud_provider   VARCHAR,              -- aws | azure | gcp | kubernetes ...
    account_id       VARCHAR,
    region           VARCHAR,
    resource_type    VARCHAR,
    resource_id      VARCHAR,              -- the first resource's id/ARN
    resource_name    VARCHAR,
    resource_namespace VARCHAR,            -- Kubernetes findings
    resource_ids     VARCHAR[],            -- every resource the finding names
    first_seen       TIMESTAMP,
    last_seen        TIMESTAMP,            -- LastObservedAt / UpdatedAt / the finding's time
    updated_at       TIMESTAMP,
    compliance       JSON,                 -- framework -> requirement ids, as the source maps them
    pci_requirements VARCHAR[],            -- the PCI DSS requirement ids among them, as written
    description      VARCHAR,
    remediation      VARCHAR
);
