-- cqrs-es event store (postgres-es 0.5 layout). postgres-es inserts by column
-- name, so the two extra columns take their defaults.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    -- Identity values are handed out at insert, not at commit, so readers also
    -- need the writing transaction: rows whose tx_id is below the oldest running
    -- transaction can no longer be joined by rows that sort before them.
    global_seq     bigint GENERATED ALWAYS AS IDENTITY,
    tx_id          bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE INDEX events_commit_order ON events (tx_id, global_seq);

-- Required by postgres-es even though Tandem uses the plain event store.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
