-- The workspace's list, a page at a time, at a million cases: each order
-- it offers walks an index and stops after a page, instead of sorting
-- every case first. The live ones are partial on exactly the condition
-- the open lists use (store::worklist::LIVE).
CREATE INDEX cases_live_due ON cases (COALESCE(response_due, '9999-12-31'), id)
    WHERE status IN ('open', 'triage');
CREATE INDEX cases_live_received ON cases (received_at, id)
    WHERE status IN ('open', 'triage');
CREATE INDEX cases_due ON cases (COALESCE(response_due, '9999-12-31'), id);
CREATE INDEX cases_received ON cases (received_at, id);
-- Every count beside the lists, in one pass over this index alone (it
-- holds every column the counts and a person's scope read).
CREATE INDEX cases_live_counts ON cases (team, assignee, status, urgent, answered_at, response_due)
    WHERE status IN ('open', 'triage');
