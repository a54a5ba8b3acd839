-- How each approved flow fared in a run (auditkit/evaluate/register_usage.py); exceptions are in
-- run_exceptions. Written only by the engine.
CREATE TABLE IF NOT EXISTS run_approved_flows (
    run_id   INTEGER NOT NULL,
    flow_id  VARCHAR NOT NULL,
    state    VARCHAR NOT NULL,   -- applied | unmatched | not yet approved | not assessed
    matched  INTEGER NOT NULL,   -- observed connections in the period attributed to it
    detail   JSON NOT NULL       -- {source_file, locator, description, approved_on, why}
);
