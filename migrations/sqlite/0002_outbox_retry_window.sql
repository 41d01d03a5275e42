-- The start of a mail's current retry window: when it was queued, or when
-- a person last retried it by hand (postroom outbox retry). Temporary
-- failures are retried for delivery.retry_for from this moment.
ALTER TABLE outbox ADD COLUMN queued_at TEXT NOT NULL DEFAULT '';
UPDATE outbox SET queued_at = created_at;
