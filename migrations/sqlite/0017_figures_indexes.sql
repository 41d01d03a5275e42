-- The figures of a period (postroom report, the managers' dashboard) read
-- the cases received in it, and those still open at its end, by index:
-- their cost follows the period, not every case ever received. The first
-- index holds every column the figures count, so that they are read from
-- it alone; the second finds the cases answered after a day (and those not
-- answered) with when they arrived.
CREATE INDEX cases_figures ON cases (received_at, category, send_topic, team, from_mp_office,
    mp_name, constituency, acknowledged_at, acknowledge_due, answered_at, response_due, closed_at);
CREATE INDEX cases_answered_at ON cases (answered_at, received_at);
CREATE INDEX case_statistics_answered ON case_statistics (answered_at, received_at);
