-- cqrs-es event store (sqlite-es 0.5 layout). sqlite-es inserts by column name,
-- so the extra global_seq column is filled by the trigger below.
CREATE TABLE events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    global_seq     integer,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

-- SQLite has one writer at a time, so MAX + 1 inside the inserting transaction
-- gives a gap-free commit order; rowid is not used because VACUUM may renumber it.
CREATE UNIQUE INDEX events_global_seq ON events (global_seq);

CREATE TRIGGER events_assign_global_seq AFTER INSERT ON events
BEGIN
    UPDATE events
    SET global_seq = (SELECT COALESCE(MAX(global_seq), 0) + 1 FROM events)
    WHERE rowid = NEW.rowid;
END;

-- Required by sqlite-es even though Tandem uses the plain event store.
CREATE TABLE snapshots
(
    aggregate_type   text                                  NOT NULL,
    aggregate_id     text                                  NOT NULL,
    last_sequence    integer CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
    payload          text                                  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
