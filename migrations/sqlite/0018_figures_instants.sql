-- The figures count a year's cases by the days they arrived, were
-- acknowledged, answered and closed. Reading those days from the stored
-- text took a third of the figures' time at a million cases, so each case
-- (and each statistics row retention leaves) also keeps its instants as
-- seconds since 1970 and its target dates as days since 1970, kept by the
-- database whenever the text changes: whatever writes a case, the numbers
-- follow. The figures' indexes hold the numbers instead of the text.
ALTER TABLE cases ADD COLUMN received_s INTEGER;
ALTER TABLE cases ADD COLUMN acknowledged_s INTEGER;
ALTER TABLE cases ADD COLUMN answered_s INTEGER;
ALTER TABLE cases ADD COLUMN closed_s INTEGER;
ALTER TABLE cases ADD COLUMN acknowledge_due_d INTEGER;
ALTER TABLE cases ADD COLUMN response_due_d INTEGER;
ALTER TABLE case_statistics ADD COLUMN received_s INTEGER;
ALTER TABLE case_statistics ADD COLUMN acknowledged_s INTEGER;
ALTER TABLE case_statistics ADD COLUMN answered_s INTEGER;
ALTER TABLE case_statistics ADD COLUMN closed_s INTEGER;
ALTER TABLE case_statistics ADD COLUMN acknowledge_due_d INTEGER;
ALTER TABLE case_statistics ADD COLUMN response_due_d INTEGER;

UPDATE case_statistics SET received_s = unixepoch(received_at), acknowledged_s = unixepoch(acknowledged_at),
    answered_s = unixepoch(answered_at), closed_s = unixepoch(closed_at),
    acknowledge_due_d = unixepoch(acknowledge_due) / 86400, response_due_d = unixepoch(response_due) / 86400;

CREATE TRIGGER cases_instants_insert AFTER INSERT ON cases
BEGIN
    UPDATE cases SET received_s = unixepoch(NEW.received_at), acknowledged_s = unixepoch(NEW.acknowledged_at),
        answered_s = unixepoch(NEW.answered_at), closed_s = unixepoch(NEW.closed_at),
        acknowledge_due_d = unixepoch(NEW.acknowledge_due) / 86400, response_due_d = unixepoch(NEW.response_due) / 86400
    WHERE id = NEW.id;
END;
CREATE TRIGGER cases_instants_update
    AFTER UPDATE OF received_at, acknowledged_at, answered_at, closed_at, acknowledge_due, response_due ON cases
BEGIN
    UPDATE cases SET received_s = unixepoch(NEW.received_at), acknowledged_s = unixepoch(NEW.acknowledged_at),
        answered_s = unixepoch(NEW.answered_at), closed_s = unixepoch(NEW.closed_at),
        acknowledge_due_d = unixepoch(NEW.acknowledge_due) / 86400, response_due_d = unixepoch(NEW.response_due) / 86400
    WHERE id = NEW.id;
END;
-- The cases already there, through the trigger above.
UPDATE cases SET received_at = received_at;
CREATE TRIGGER case_statistics_instants_insert AFTER INSERT ON case_statistics
BEGIN
    UPDATE case_statistics SET received_s = unixepoch(NEW.received_at), acknowledged_s = unixepoch(NEW.acknowledged_at),
        answered_s = unixepoch(NEW.answered_at), closed_s = unixepoch(NEW.closed_at),
        acknowledge_due_d = unixepoch(NEW.acknowledge_due) / 86400, response_due_d = unixepoch(NEW.response_due) / 86400
    WHERE id = NEW.id;
END;

DROP INDEX cases_figures;
DROP INDEX cases_answered_at;
DROP INDEX case_statistics_answered;
DROP INDEX cases_live_figures;
CREATE INDEX cases_figures ON cases (received_s, category, send_topic, team, from_mp_office,
    mp_name, constituency, acknowledged_s, acknowledge_due_d, answered_s, response_due_d, closed_s);
CREATE INDEX cases_answered_s ON cases (answered_s, received_s, closed_s, response_due_d, category);
CREATE INDEX case_statistics_received_s ON case_statistics (received_s);
CREATE INDEX case_statistics_answered_s ON case_statistics (answered_s, received_s, closed_s, response_due_d, category);
CREATE INDEX cases_live_figures ON cases (team, assignee, response_due, answered_at, paused_at, received_s,
    pause_reason, category, status) WHERE status IN ('open', 'triage');
