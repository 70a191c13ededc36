-- Webhook deliveries already handled, by Svix message id: a redelivery is
-- answered 2xx and changes nothing, on every replica.
CREATE TABLE webhook_receipts
(
    svix_id     text NOT NULL PRIMARY KEY,
    event_type  text NOT NULL,
    outcome     text NOT NULL,
    received_at text NOT NULL
) STRICT;

-- Clerk users deleted before Tandem knew them: a late update must not bring
-- them in.
CREATE TABLE clerk_tombstones
(
    clerk_id   text NOT NULL PRIMARY KEY,
    deleted_at text NOT NULL
) STRICT;
