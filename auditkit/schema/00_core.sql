-- Core bookkeeping: one row per ingested file, and the quarantine for skipped records.
CREATE TABLE IF NOT EXISTS schema_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS sources (
    source_sha256   VARCHAR PRIMARY KEY,  -- sha256 of the file's bytes as given (before gunzip)
    path            VARCHAR NOT NULL,     -- path as given on the command line
    size_bytes      BIGINT NOT NULL,
    format          VARCHAR NOT NULL,     -- detected (or forced) format name, e.g. trivy-json
    family          VARCHAR NOT NULL,     -- scans | runtime | flows | access | policy | cloud
    parser_version  VARCHAR NOT NULL,
    compressed      BOOLEAN NOT NULL,     -- gzip on disk
    ingested_at     TIMESTAMP NOT NULL,   -- wall clock of the ingest (UTC)
    records_stored  BIGINT NOT NULL,
    records_skipped BIGINT NOT NULL,
    time_min        TIMESTAMP,            -- earliest record time covered (UTC)
    time_max        TIMESTAMP,            -- latest record time covered (UTC)
    observed_at     TIMESTAMP             -- for snapshots (RBAC, policies, inventory): the moment
                                          -- the export describes, from --observed-at; NULL = undated
);

CREATE TABLE IF NOT EXISTS quarantine (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    excerpt       VARCHAR              -- first 200 characters of the raw record
);

-- Every date a file was declared to describe (--observed-at). Snapshot exports are often
-- byte-identical from one quarter to the next: the bytes are stored once, the observations
-- accumulate.
CREATE TABLE IF NOT EXISTS observations (
    source_sha256 VARCHAR NOT NULL,
    observed_at   TIMESTAMP NOT NULL
);
