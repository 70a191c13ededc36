-- Durable work of the Clerk sync saga: one row per user that owes Clerk a
-- change. Several edits while a row waits become one push of the latest values.
CREATE TABLE clerk_sync_jobs
(
    user_id       text NOT NULL PRIMARY KEY,
    -- NULL: parked after a permanent failure, until an admin retries.
    due_at        timestamptz,
    -- Failed attempts for the change now pending.
    attempts      bigint NOT NULL,
    -- Times a worker took the row: above 1, an earlier try may have reached Clerk.
    claims        bigint NOT NULL,
    -- Bumped by each new change, so a worker never drops a change it did not push.
    generation    bigint NOT NULL,
    pending_since timestamptz NOT NULL,
    lease_owner   text,
    lease_until   timestamptz,
    last_error    text
);

CREATE INDEX clerk_sync_jobs_due ON clerk_sync_jobs (due_at);

-- Switches that must survive restarts and hold for every replica.
CREATE TABLE settings
(
    key   text NOT NULL PRIMARY KEY,
    value text NOT NULL
);
