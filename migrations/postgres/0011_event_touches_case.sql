-- An event recorded on a case marks the case as changed at the event's
-- time: the database does it within the statement that records the event,
-- instead of a second statement (a second round trip) for every event.
CREATE FUNCTION case_events_touch_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET updated_at = NEW.at WHERE id = NEW.case_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER case_events_touch_case AFTER INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_touch_case();
