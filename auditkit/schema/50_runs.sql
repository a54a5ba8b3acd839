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
    -- In Place | Not in Place | No exceptions noted (partial) | No automated evidence
    -- | Not Applicable | Not Tested (docs/results.md); runs stored before procedures were
    -- modelled used only the first two and the last two
    result               VARCHAR NOT NULL,
    compensating_control BOOLEAN NOT NULL,
    customized_approach  BOOLEAN NOT NULL,
    basis                VARCHAR NOT NULL, -- one line: why this result
    checks               VARCHAR[] NOT NULL,
    sort_key             INTEGER NOT NULL,
    PRIMARY KEY (run_id, requirement)
);
-- How many of the requirement's testing procedures there are and how many are covered
-- (NULL for runs stored before procedures were modelled).
ALTER TABLE run_requirements ADD COLUMN IF NOT EXISTS procedures_total INTEGER;
ALTER TABLE run_requirements ADD COLUMN IF NOT EXISTS procedures_covered INTEGER;
-- The mapped checks that noted exceptions counting towards the requirement.
ALTER TABLE run_requirements ADD COLUMN IF NOT EXISTS failing_checks VARCHAR[];

-- One row per testing procedure of each requirement: how far it is covered and by what.
CREATE TABLE IF NOT EXISTS run_procedures (
    run_id          INTEGER NOT NULL,
    requirement     VARCHAR NOT NULL,
    procedure       VARCHAR NOT NULL,
    methods         VARCHAR[] NOT NULL,  -- documentation | interview | configuration | records | observation
    text            VARCHAR NOT NULL,    -- auditkit's paraphrase
    status          VARCHAR NOT NULL,    -- covered | partly covered | not covered | exceptions noted
    covered_methods VARCHAR[] NOT NULL,
    partly_methods  VARCHAR[] NOT NULL,
    checks          VARCHAR[] NOT NULL,  -- checks whose evidence bears on it
    attestations    VARCHAR[] NOT NULL,  -- attestations that name it
    evidence_refs   VARCHAR[] NOT NULL,  -- EV-nnnn references (run_evidence)
    basis           VARCHAR NOT NULL,
    to_do           VARCHAR,             -- what the assessor still has to do; NULL when covered
    position        INTEGER NOT NULL,    -- order within the requirement
    sort_key        INTEGER NOT NULL,    -- the requirement's order in the framework
    PRIMARY KEY (run_id, procedure)
);

-- The run's evidence sets and their stable references (EV-0001...): check populations,
-- register files, input files, numbered in that order when the run is stored.
CREATE TABLE IF NOT EXISTS run_evidence (
    run_id  INTEGER NOT NULL,
    ref     VARCHAR NOT NULL,
    kind    VARCHAR NOT NULL,    -- check population | register | source file
    key     VARCHAR NOT NULL,    -- check id | register path | source sha256
    title   VARCHAR NOT NULL,
    sha256  VARCHAR,
    PRIMARY KEY (run_id, ref)
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
