-- Family "access": Kubernetes RBAC, service accounts, NetworkPolicies, other objects, user inventory.
CREATE TABLE IF NOT EXISTS rbac_roles (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,       -- Role | ClusterRole
    namespace     VARCHAR,                -- NULL for ClusterRole
    name          VARCHAR NOT NULL,
    labels        JSON,
    aggregation   JSON,                   -- aggregationRule.clusterRoleSelectors
    created_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS rbac_rules (
    source_sha256     VARCHAR NOT NULL,
    locator           VARCHAR NOT NULL,
    role_kind         VARCHAR NOT NULL,
    role_namespace    VARCHAR,
    role_name         VARCHAR NOT NULL,
    rule_index        INTEGER NOT NULL,
    api_groups        VARCHAR[],          -- '' is the core group; '*' is literal wildcard
    resources         VARCHAR[],          -- includes subresources as 'pods/exec'
    verbs             VARCHAR[],
    resource_names    VARCHAR[],
    non_resource_urls VARCHAR[]
);

CREATE TABLE IF NOT EXISTS rbac_bindings (
    source_sha256     VARCHAR NOT NULL,
    locator           VARCHAR NOT NULL,   -- points at the subject entry
    kind              VARCHAR NOT NULL,   -- RoleBinding | ClusterRoleBinding
    namespace         VARCHAR,            -- NULL for ClusterRoleBinding
    name              VARCHAR NOT NULL,
    role_kind         VARCHAR NOT NULL,   -- Role | ClusterRole
    role_name         VARCHAR NOT NULL,
    subject_kind      VARCHAR,            -- User | Group | ServiceAccount; NULL when no subjects
    subject_name      VARCHAR,
    subject_namespace VARCHAR,
    subject_principal VARCHAR,            -- the username the API server sees (system:serviceaccount:ns:name for SAs)
    created_at        TIMESTAMP
);

CREATE TABLE IF NOT EXISTS service_accounts (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    namespace     VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    automount     BOOLEAN,
    secrets       VARCHAR[],
    created_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS network_policies (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    namespace     VARCHAR,
    name          VARCHAR NOT NULL,
    pod_selector  JSON,
    policy_types  VARCHAR[],              -- effective types (Ingress implied; Egress when egress rules exist)
    ingress       JSON,                   -- spec.ingress as written ([] = deny all, NULL = not restricted)
    egress        JSON,
    created_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS k8s_objects (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    api_version   VARCHAR,
    kind          VARCHAR NOT NULL,
    namespace     VARCHAR,
    name          VARCHAR,
    labels        JSON,
    object        JSON                    -- metadata.managedFields stripped; Secret data redacted
);

CREATE TABLE IF NOT EXISTS users (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    user_id       VARCHAR NOT NULL,
    name          VARCHAR,
    user_type     VARCHAR NOT NULL,       -- human | service
    status        VARCHAR NOT NULL,       -- active | disabled
    mfa           BOOLEAN,
    last_login    TIMESTAMP,
    created       DATE,
    terminated    DATE,
    role          VARCHAR,
    k8s_username  VARCHAR
);

-- The object kinds each access file declares or holds: the item kind of a typed list
-- (NetworkPolicyList -> NetworkPolicy), even when the list is empty, and the kind of every object.
-- An observed export that lists no object of a kind is evidence that none existed, which is not
-- the same as having no export of that kind.
CREATE TABLE IF NOT EXISTS snapshot_kinds (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,       -- the list or object declaring the kind
    kind          VARCHAR NOT NULL
);
