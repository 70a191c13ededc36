-- Admin list projection: one row per user, rebuilt from the events table.
CREATE TABLE admin_users
(
    id             text    NOT NULL PRIMARY KEY,
    clerk_id       text,
    email          text    NOT NULL,
    email_key      text    NOT NULL,
    username       text,
    username_key   text    NOT NULL,
    first_name     text,
    last_name      text,
    display_name   text,
    bio            text,
    roles          text    NOT NULL,
    social_links   text    NOT NULL,
    search_text    text    NOT NULL,
    sync_status    text    NOT NULL,
    sync_error     text,
    sync_attempts  integer NOT NULL,
    next_retry_at  text,
    last_synced_at text,
    version        integer NOT NULL,
    last_sequence  integer NOT NULL,
    created_at     text    NOT NULL,
    updated_at     text    NOT NULL,
    deleted_at     text
) STRICT;

CREATE INDEX admin_users_created ON admin_users (created_at, id);
CREATE INDEX admin_users_updated ON admin_users (updated_at, id);
CREATE INDEX admin_users_email ON admin_users (email_key, id);
CREATE INDEX admin_users_username ON admin_users (username_key, id);
CREATE INDEX admin_users_status_created ON admin_users (sync_status, created_at, id);

CREATE TABLE admin_user_roles
(
    role    text NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (role, user_id)
) STRICT;

CREATE INDEX admin_user_roles_user ON admin_user_roles (user_id);

-- Users per sync status, live or deleted: unfiltered totals and the sync
-- overview read this instead of counting 100,000 rows.
CREATE TABLE admin_user_counts
(
    sync_status text   NOT NULL,
    live        integer NOT NULL,
    users       integer NOT NULL,
    PRIMARY KEY (sync_status, live)
) STRICT;

-- Where each projector has got to in the events table; written in the same
-- transaction as the projector's own rows.
CREATE TABLE projection_checkpoints
(
    projector  text    NOT NULL PRIMARY KEY,
    tx_id      integer NOT NULL,
    global_seq integer NOT NULL
) STRICT;

-- Unique emails and usernames across aggregates: the primary key makes two
-- concurrent claims of one value race-free.
CREATE TABLE identity_claims
(
    kind       text NOT NULL,
    value      text NOT NULL,
    user_id    text NOT NULL,
    claimed_at text NOT NULL,
    PRIMARY KEY (kind, value)
) STRICT;

CREATE INDEX identity_claims_user ON identity_claims (user_id);
