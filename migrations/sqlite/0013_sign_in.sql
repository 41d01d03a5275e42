-- A sign-in with the identity provider under way: the browser was sent to
-- the provider with `state`, and comes back with it. Kept in the database
-- so that any instance can finish what another started; used once, and
-- refused after 10 minutes.
CREATE TABLE web_logins (
    state TEXT PRIMARY KEY,
    verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    then_path TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
