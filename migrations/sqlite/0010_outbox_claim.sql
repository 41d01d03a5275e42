-- The delivery worker claims the mail due longest (next_attempt_at, then
-- id): with the index in that order, a claim reads the first due row
-- instead of sorting every queued one, so it costs the same with ten
-- queued mails or ten thousand, and sent mail (another status) is never
-- read at all.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
