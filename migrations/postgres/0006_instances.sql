-- Running postroom processes and when each was last seen (every few
-- seconds). A mail claimed by an instance that has not been seen for a
-- while is taken over by another at once, instead of when its claim runs
-- out.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX instances_seen ON instances (seen_at);

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
