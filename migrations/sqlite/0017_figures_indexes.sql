-- The figures of a period (postroom report, the managers' dashboard) read
-- the cases received in it, and those still open at its end, by index:
-- their cost follows the period, not every case ever received. The first
-- index holds every column the figures count, so that they are read from
-- it alone; the second finds the cases answered after a day (and those not
-- answered) with when they arrived and what the figures need of them.
CREATE INDEX cases_figures ON cases (received_at, category, send_topic, team, from_mp_office,
    mp_name, constituency, acknowledged_at, acknowledge_due, answered_at, response_due, closed_at);
CREATE INDEX cases_answered_at ON cases (answered_at, received_at, closed_at, response_due, category);
CREATE INDEX case_statistics_answered ON case_statistics (answered_at, received_at, closed_at, response_due, category);
-- What is open now, by team and caseworker, read from the index alone.
CREATE INDEX cases_live_figures ON cases (team, assignee, response_due, answered_at, paused_at, received_at,
    pause_reason, category) WHERE status IN ('open', 'triage');

-- The statutory SEND clocks of a case that retention deleted: enough to
-- count, years later, which ran out unmet (as case_statistics keeps the
-- case's own figures). Nothing in it names anyone.
CREATE TABLE clock_statistics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    category TEXT,
    due_on TEXT NOT NULL,
    met_at TEXT,
    retired_at TEXT NOT NULL
) STRICT;
CREATE INDEX clock_statistics_due ON clock_statistics (due_on);
CREATE INDEX deadlines_kind_due ON deadlines (kind, due_on);
