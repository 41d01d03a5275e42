-- An event recorded on a case marks the case as changed at the event's
-- time: the database does it within the statement that records the event,
-- instead of a second statement (a second round trip) for every event.
CREATE TRIGGER case_events_touch_case AFTER INSERT ON case_events
BEGIN
    UPDATE cases SET updated_at = NEW.at WHERE id = NEW.case_id;
END;
