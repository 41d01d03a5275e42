-- postroom schema, SQLite flavour. Timestamps are UTC text in the fixed form
-- YYYY-MM-DDTHH:MM:SS.sssZ (sortable, and the same on both backends); dates
-- are YYYY-MM-DD in the council's time zone. Flags are 0/1 integers.

CREATE TABLE reference_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    triage_reason TEXT,
    category TEXT,
    send_topic TEXT,
    urgent INTEGER NOT NULL DEFAULT 0,
    from_mp_office INTEGER NOT NULL DEFAULT 0,
    mp_name TEXT,
    constituency TEXT,
    mp_reference TEXT,
    correspondent TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    team TEXT,
    assignee TEXT,
    policy TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    received_at TEXT NOT NULL,
    acknowledge_due TEXT,
    response_due TEXT,
    acknowledged_at TEXT,
    answered_at TEXT,
    closed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX cases_status_due ON cases (status, response_due);
CREATE INDEX cases_mp_reference ON cases (mp_reference);
CREATE INDEX cases_correspondent ON cases (correspondent);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    message_id TEXT,
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    received_at TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    from_address TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    parse_status TEXT NOT NULL,
    kind TEXT NOT NULL,
    case_id INTEGER REFERENCES cases (id),
    decision TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    size INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_case ON messages (case_id);

-- The exact bytes of every message, apart from the row so that scans of
-- messages stay small, in chunks of at most 1 MiB so that storing a large
-- message never needs more than one chunk's worth of extra memory.
CREATE TABLE message_raw (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    chunk INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (message_id, chunk)
) STRICT;

-- The text read from each part of a message: the body (position 0) and every
-- attachment, with where it came from; what a caseworker reads to see why a
-- message was classified as it was.
CREATE TABLE message_parts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    text_source TEXT,
    text TEXT,
    note TEXT
) STRICT;
CREATE INDEX message_parts_message ON message_parts (message_id);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    message_id INTEGER REFERENCES messages (id),
    detail TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER REFERENCES cases (id),
    purpose TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    envelope_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (purpose, recipients, created_at);

-- Files a folder source has stored: the checkpoint of Maildir and .eml
-- sources, written in the transaction that stores the message.
CREATE TABLE source_files (
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (source, name, sha256)
) STRICT;
