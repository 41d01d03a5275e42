-- When an instance stopped cleanly: its record is kept (the newest one at
-- least), so that `postroom status` can say when postroom last ran. A
-- stopped instance holds no claims.
ALTER TABLE instances ADD COLUMN stopped_at TEXT;

-- 1 while a mail's last claim ended with no outcome recorded (the process
-- died between claiming it and recording what the server said): its next
-- attempt may be a second copy, which receivers drop by its Message-ID.
-- Counted as a resend.
ALTER TABLE outbox ADD COLUMN resend INTEGER NOT NULL DEFAULT 0;
