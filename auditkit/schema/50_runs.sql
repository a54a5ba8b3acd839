-- Evaluation runs and their results. Written only by the engine.
CREATE SEQUENCE IF NOT EXISTS run_id_seq START 1;

CREATE TABLE IF NOT EXISTS runs (
    run_id            INTEGER PRIMARY KEY,
    created_at        TIMESTAMP NOT NULL,  -- claimed wall-clock time of the evaluation
    as_of             DATE NOT NULL,
    period_start      DATE NOT NULL,
    period_end        DATE NOT NULL,
    framework_id      VARCHAR NOT NULL,
    framework_version VARCHAR NOT NULL,
    catalog_digest    VARCHAR NOT NULL,
    config_digest     VARCHAR NOT NULL,
    tool_version      VARCHAR NOT NULL,
    organisation      VARCHAR NOT NULL,
    entity_type       VARCHAR NOT NULL,
    scope             JSON NOT NULL,
    inputs            JSON NOT NULL,       -- [{sha256, path, format, records}]
    registers         JSON NOT NULL,       -- digests of exceptions, attestations, approved flows
    label             VARCHAR
);

CREATE TABLE IF NOT EXISTS run_checks (
    run_id         INTEGER NOT NULL,
    check_id       VARCHAR NOT NULL,
    title          VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    state          VARCHAR NOT NULL,       -- evaluated | not_tested
    reason         VARCHAR,                -- why not tested / summary
    population     INTEGER NOT NULL,
    passed         INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    excepted       INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL,
    params         JSON NOT NULL,          -- {name: {value, provenance}}
    query_sha256   VARCHAR NOT NULL,
    PRIMARY KEY (run_id, check_id)
);

CREATE TABLE IF NOT EXISTS run_results (
    run_id        INTEGER NOT NULL,
    check_id      VARCHAR NOT NULL,
    resource      VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,        -- pass | fail | excepted | not_applicable
    reason        VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,
    fingerprint   VARCHAR NOT NULL,        -- stable across runs: sha256(check_id, resource)
    source_sha256 VARCHAR,
    locator       VARCHAR,
    evidence      JSON,
    exception_id  VARCHAR
);
-- A row may name the one requirement it evidences (e.g. 11.4.5 vs 11.4.6); NULL = all mapped.
ALTER TABLE run_results ADD COLUMN IF NOT EXISTS requirement VARCHAR;

CREATE TABLE IF NOT EXISTS run_requirements (
    run_id               INTEGER NOT NULL,
    requirement          VARCHAR NOT NULL,
    title                VARCHAR NOT NULL,
    result               VARCHAR NOT NULL, -- In Place | Not in Place | Not Applicable | Not Tested
    compensating_control BOOLEAN NOT NULL,
    customized_approach  BOOLEAN NOT NULL,
    basis                VARCHAR NOT NULL, -- one line: why this result
    checks               VARCHAR[] NOT NULL,
    sort_key             INTEGER NOT NULL,
    PRIMARY KEY (run_id, requirement)
);

CREATE TABLE IF NOT EXISTS run_exceptions (
    run_id        INTEGER NOT NULL,
    exception_id  VARCHAR NOT NULL,
    check_id      VARCHAR NOT NULL,
    state         VARCHAR NOT NULL,        -- applied | unmatched | expired | not yet approved
    matched       INTEGER NOT NULL,
    detail        JSON NOT NULL
);

CREATE TABLE IF NOT EXISTS run_attestations (
    run_id        INTEGER NOT NULL,
    attestation   JSON NOT NULL
);

-- Assessor samples drawn from a run's check population (auditkit sample).
CREATE SEQUENCE IF NOT EXISTS sample_id_seq START 1;

CREATE TABLE IF NOT EXISTS samples (
    sample_id         INTEGER PRIMARY KEY,
    run_id            INTEGER NOT NULL,
    check_id          VARCHAR NOT NULL,
    method            VARCHAR NOT NULL,   -- hash-ordered | hash-ordered-stratified
    seed              VARCHAR NOT NULL,
    size_requested    INTEGER NOT NULL,
    stratify          VARCHAR,            -- the column strata come from
    population_size   INTEGER NOT NULL,
    population_digest VARCHAR NOT NULL,   -- sha256 of the sorted population fingerprints
    strata            JSON NOT NULL,      -- [{stratum, population, sampled}]
    selected_by       VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL, -- claimed time
    items             JSON NOT NULL       -- [{fingerprint, resource, status, stratum, key}]
);
