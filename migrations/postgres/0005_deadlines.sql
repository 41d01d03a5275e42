-- Deadlines, reminders, digests, paused clocks and bank holidays.

-- Every clock a case runs: the acknowledgement, the reply to the MP office,
-- and statutory SEND milestones. A deadline keeps what it was computed
-- from (its start day, unit and amount, and the days its case was paused),
-- so that a calendar update can compute it again. `stage` counts the
-- reminders sent; `next_on` is the day the next one is due (NULL: none
-- left, or the deadline is met or paused). The reminder scan reads only the
-- index on next_on.
CREATE TABLE deadlines (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    amount BIGINT NOT NULL,
    start_on TEXT NOT NULL,
    paused_days BIGINT NOT NULL DEFAULT 0,
    due_on TEXT NOT NULL,
    met_at TEXT,
    stage BIGINT NOT NULL DEFAULT 0,
    next_on TEXT
);
CREATE INDEX deadlines_next ON deadlines (next_on) WHERE next_on IS NOT NULL;
CREATE INDEX deadlines_case ON deadlines (case_id);
CREATE INDEX deadlines_open_due ON deadlines (due_on) WHERE met_at IS NULL;

-- A paused clock: since when and why (NULL when running).
ALTER TABLE cases ADD COLUMN paused_at TEXT;
ALTER TABLE cases ADD COLUMN pause_reason TEXT;

-- Digests sent: one per manager, kind and period, whatever restarts or
-- instances there are.
CREATE TABLE digests_sent (
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    outbox_id BIGINT,
    PRIMARY KEY (recipient, kind, period)
);

-- Bank-holiday feeds loaded with `postroom calendar update`, newest last.
-- A year a loaded feed covers is taken from the newest feed that covers it;
-- older years stay as they were (the gov.uk feed drops past years).
CREATE TABLE calendar_feeds (
    id BIGSERIAL PRIMARY KEY,
    loaded_at TEXT NOT NULL,
    feed TEXT NOT NULL
);

-- Digests read a team's cases by when they arrived and were answered.
CREATE INDEX cases_team_received ON cases (team, received_at);
CREATE INDEX cases_team_answered ON cases (team, answered_at);
CREATE INDEX case_events_kind_at ON case_events (kind, at);
