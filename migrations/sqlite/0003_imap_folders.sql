-- The checkpoint of each IMAP folder postroom reads: the folder's
-- UIDVALIDITY and the highest UID stored, advanced in the transaction that
-- stores the message; and what counts as history (imported without
-- acknowledgements or notices): mail that arrived before `since`, and, when
-- no `since` is configured, every UID below `history_below` (the folder's
-- UIDNEXT when postroom first selected it, so the server's clock decides,
-- not ours).
CREATE TABLE imap_folders (
    source TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL DEFAULT 0,
    since TEXT NOT NULL,
    history_below INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, folder)
) STRICT;
