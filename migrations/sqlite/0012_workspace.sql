-- The workspace in the browser: its sessions, and the access audit.

-- A signed-in person. `id` is the SHA-256 of the cookie's token, so a copy
-- of the database opens no session. The role is not stored: it is worked
-- out from the config (and the identity provider's groups) at every
-- request, so a person taken off a team loses its cases at once.
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    groups TEXT NOT NULL DEFAULT '[]',
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
) STRICT;
CREATE INDEX web_sessions_seen ON web_sessions (seen_at);

-- Who looked at what: every view of a case and every download, and each
-- sign-in and sign-out. The reference is kept as text: a case's audit
-- outlives the case when retention deletes it.
CREATE TABLE access_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    reference TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX access_audit_reference ON access_audit (reference, id);
CREATE INDEX access_audit_who ON access_audit (who, id);
