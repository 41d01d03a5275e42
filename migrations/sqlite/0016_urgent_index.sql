-- The urgent list, in reply-date order: a few live cases in a hundred are
-- urgent, too few to find by walking every live case's entry.
CREATE INDEX cases_live_urgent ON cases (COALESCE(response_due, '9999-12-31'), id)
    WHERE status IN ('open', 'triage') AND urgent = 1;
