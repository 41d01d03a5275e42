-- Assigning a case asks who holds how many open cases and who the team's
-- last assigned case went to: with these, each is a short index search
-- instead of a read of every open case of the team.
CREATE INDEX cases_assignee_status ON cases (assignee, status);
CREATE INDEX cases_team_assigned ON cases (team, id) WHERE assignee IS NOT NULL;
