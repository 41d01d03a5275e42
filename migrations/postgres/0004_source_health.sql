-- How each source is doing, for the "never silent" watchdog and health
-- checks: the last successful poll, the last failure and why (an error
-- message, never message content), and when the admin was last alerted
-- about this stall (cleared when a poll succeeds again).
CREATE TABLE source_health (
    source TEXT PRIMARY KEY,
    last_ok TEXT,
    last_failure TEXT,
    failure TEXT,
    alerted_at TEXT
);
