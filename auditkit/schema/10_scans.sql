-- Family "scans": vulnerability, configuration and secret scan results, SBOM inventories.
CREATE TABLE IF NOT EXISTS scans (
    scan_id         VARCHAR PRIMARY KEY,  -- source_sha256 || locator of the scanned target
    source_sha256   VARCHAR NOT NULL,
    locator         VARCHAR NOT NULL,
    scanner         VARCHAR NOT NULL,     -- trivy | grype | kube-bench | kubescape | <SARIF driver> | <SBOM tool>
    scanner_version VARCHAR,
    scan_kind       VARCHAR NOT NULL,     -- image | filesystem | repository | k8s-resource | sbom | cis-benchmark | other
    scanned_at      TIMESTAMP,            -- when the scan ran; NULL when the report does not say
    db_built_at     TIMESTAMP,            -- vulnerability DB build time when reported
    artifact_name   VARCHAR,              -- what was scanned, as the scanner names it
    image_repo      VARCHAR,              -- registry/repository (no tag, no digest)
    image_tag       VARCHAR,
    image_digest    VARCHAR,              -- registry manifest digest sha256:...
    image_id        VARCHAR,              -- image config digest sha256:...
    os_family       VARCHAR,
    os_name         VARCHAR,
    os_eosl         BOOLEAN,              -- the OS release is end of support
    k8s_namespace   VARCHAR,              -- for Kubernetes resource scans
    k8s_kind        VARCHAR,
    k8s_name        VARCHAR
);

CREATE TABLE IF NOT EXISTS vulnerabilities (
    source_sha256     VARCHAR NOT NULL,
    locator           VARCHAR NOT NULL,
    scan_id           VARCHAR NOT NULL,
    vuln_id           VARCHAR,            -- CVE-..., GHSA-..., distro advisory id; NULL when the report omits it
    aliases           VARCHAR[],          -- related ids (e.g. the CVE behind a GHSA)
    target            VARCHAR,            -- Trivy Target / SARIF location / artifact path
    pkg_name          VARCHAR,
    pkg_type          VARCHAR,            -- os package manager or language ecosystem
    pkg_path          VARCHAR,
    purl              VARCHAR,
    installed_version VARCHAR,
    fixed_version     VARCHAR,            -- as reported (may be a comma-separated list)
    fix_state         VARCHAR NOT NULL,   -- fixed | not_fixed | wont_fix | unknown
    status_raw        VARCHAR,            -- the scanner's own status value
    severity          VARCHAR NOT NULL,   -- critical | high | medium | low | info | unknown
    severity_raw      VARCHAR,
    cvss_score        DOUBLE,
    cvss_vector       VARCHAR,
    published_at      TIMESTAMP,
    suppressed        BOOLEAN NOT NULL,   -- accepted/waived in the report (VEX, ignore file, SARIF suppression)
    title             VARCHAR
);

CREATE TABLE IF NOT EXISTS config_findings (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    scan_id       VARCHAR NOT NULL,
    rule_id       VARCHAR NOT NULL,       -- AVD-KSV-0017, CIS 1.2.3, C-0057, SARIF ruleId
    title         VARCHAR,
    status        VARCHAR NOT NULL,       -- fail | pass | warn | info | exception
    severity      VARCHAR NOT NULL,       -- critical | high | medium | low | info | unknown
    severity_raw  VARCHAR,
    target        VARCHAR,                -- file or component checked
    k8s_namespace VARCHAR,
    k8s_kind      VARCHAR,
    k8s_name      VARCHAR,
    message       VARCHAR,
    remediation   VARCHAR
);

CREATE TABLE IF NOT EXISTS secret_findings (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    scan_id       VARCHAR NOT NULL,
    rule_id       VARCHAR NOT NULL,
    category      VARCHAR,
    title         VARCHAR,
    severity      VARCHAR NOT NULL,
    severity_raw  VARCHAR,
    target        VARCHAR,                -- file in which the secret was found
    start_line    INTEGER,
    layer_digest  VARCHAR,
    masked_match  VARCHAR                 -- the scanner's redacted match; never the secret
);

CREATE TABLE IF NOT EXISTS sbom_packages (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    scan_id       VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    version       VARCHAR,
    pkg_type      VARCHAR,
    purl          VARCHAR,
    supplier      VARCHAR,
    license       VARCHAR
);

-- Columns added after the first release. ALTER ... IF NOT EXISTS (rather than new
-- lines in CREATE TABLE) so a store created earlier picks them up when it is next
-- opened for writing, and fresh and upgraded stores have the same column order.
ALTER TABLE scans ADD COLUMN IF NOT EXISTS cluster_name VARCHAR;       -- Kubernetes cluster (trivy k8s ClusterName, kubescape clusterName)
ALTER TABLE scans ADD COLUMN IF NOT EXISTS node_type VARCHAR;          -- kube-bench node type: master | etcd | controlplane | node | policies
ALTER TABLE scans ADD COLUMN IF NOT EXISTS benchmark_version VARCHAR;  -- CIS benchmark version a cis-benchmark scan applied (kube-bench Controls[].version)
ALTER TABLE scans ADD COLUMN IF NOT EXISTS scan_error VARCHAR;         -- the scanner's own error for this target (trivy k8s Resources[].Error): not scanned, not clean
-- What the report shows was examined for this target (docs/formats-scans.md): os-pkgs, lang-pkgs
-- (Trivy package vulnerability detection), vuln (vulnerability matching, OS/language split not
-- stated: Grype, CycloneDX vulnerabilities, SARIF vulnerability results), config, secret, license,
-- custom, sbom (a component inventory). NULL for rows stored before the column existed.
ALTER TABLE scans ADD COLUMN IF NOT EXISTS scan_classes VARCHAR[];

ALTER TABLE vulnerabilities ADD COLUMN IF NOT EXISTS severity_source VARCHAR;  -- whose rating gave severity: nvd, ghsa, a distro, security-severity, level
ALTER TABLE vulnerabilities ADD COLUMN IF NOT EXISTS analysis_state VARCHAR;   -- VEX / triage state as the report asserts it (CycloneDX analysis.state, Trivy modified-finding Status)
ALTER TABLE vulnerabilities ADD COLUMN IF NOT EXISTS suppression VARCHAR;      -- why it is suppressed, as the report says (ignore rule, VEX statement, SARIF justification)

ALTER TABLE config_findings ADD COLUMN IF NOT EXISTS status_raw VARCHAR;       -- the scanner's own status value (PASS, failed, skipped, kind=fail...)
ALTER TABLE config_findings ADD COLUMN IF NOT EXISTS scored BOOLEAN;           -- kube-bench: CIS "Automated" (true) vs "Manual" (false)
ALTER TABLE config_findings ADD COLUMN IF NOT EXISTS actual_value VARCHAR;     -- kube-bench: raw output of the audit command
ALTER TABLE config_findings ADD COLUMN IF NOT EXISTS expected_result VARCHAR;  -- kube-bench: what the test expected

ALTER TABLE secret_findings ADD COLUMN IF NOT EXISTS suppressed BOOLEAN DEFAULT false;  -- waived in the report (Trivy modified finding, SARIF suppression)
ALTER TABLE secret_findings ADD COLUMN IF NOT EXISTS suppression VARCHAR;

ALTER TABLE sbom_packages ADD COLUMN IF NOT EXISTS package_ref VARCHAR;  -- the document's own id for the package (CycloneDX bom-ref, SPDX SPDXID)
ALTER TABLE sbom_packages ADD COLUMN IF NOT EXISTS cpe VARCHAR;
ALTER TABLE config_findings ADD COLUMN IF NOT EXISTS suppression VARCHAR;      -- why status is exception, as the report says (Trivy modified finding, SARIF suppression)
