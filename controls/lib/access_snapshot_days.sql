-- Shared by the checks that compare two access snapshots: every dated access file with the day it
-- describes (--observed-at, including later observations of the same bytes), and whether that day
-- is the snapshot in force on the as-of date (the latest day on or before it).
WITH access AS (SELECT source_sha256, observed_at FROM sources WHERE family = 'access'),
snap AS (
    SELECT source_sha256, CAST(observed_at AS DATE) AS day FROM access WHERE observed_at IS NOT NULL
    UNION
    SELECT o.source_sha256, CAST(o.observed_at AS DATE) FROM observations o
    JOIN access a USING (source_sha256)
)
SELECT s.source_sha256, s.day,
    s.day = (SELECT max(day) FROM snap WHERE day <= $as_of) AS in_force
FROM snap s
WHERE s.day <= $as_of
