-- Retention: what is left of a case deleted under the retention policy,
-- for reports (no reference, correspondent, subject, text or person), a
-- legal hold per case, and a record of every retention run.
CREATE TABLE case_statistics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    category TEXT,
    send_topic TEXT,
    urgent INTEGER NOT NULL DEFAULT 0,
    from_mp_office INTEGER NOT NULL DEFAULT 0,
    mp_name TEXT,
    constituency TEXT,
    team TEXT,
    policy TEXT,
    received_at TEXT NOT NULL,
    acknowledge_due TEXT,
    response_due TEXT,
    acknowledged_at TEXT,
    answered_at TEXT,
    closed_at TEXT,
    chasers INTEGER NOT NULL DEFAULT 0,
    retired_at TEXT NOT NULL
) STRICT;
CREATE INDEX case_statistics_received ON case_statistics (received_at);

-- The SHA-256 of every message retention deleted, and nothing else: the
-- same bytes read again (a folder re-scanned after a UIDVALIDITY change,
-- mail still on the server) are not stored again.
CREATE TABLE retired_messages (
    sha256 TEXT PRIMARY KEY,
    retired_at TEXT NOT NULL
) STRICT;

-- A case on hold (legal hold, a complaint, a subject access request in
-- progress) is never deleted by retention; NULL: no hold.
ALTER TABLE cases ADD COLUMN hold_reason TEXT;
CREATE INDEX cases_retention ON cases (status, closed_at, answered_at);
CREATE INDEX messages_unfiled ON messages (stored_at) WHERE case_id IS NULL;

-- One row per retention run: when, by whom, whether a dry run, and what
-- went (counts only).
CREATE TABLE retention_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_on TEXT NOT NULL,
    actor TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    cases INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    unfiled_messages INTEGER NOT NULL DEFAULT 0,
    sent_mail INTEGER NOT NULL DEFAULT 0
) STRICT;
-- The daily run happens once a day, whatever instances there are.
CREATE UNIQUE INDEX retention_runs_daily ON retention_runs (run_on) WHERE actor = 'postroom';
