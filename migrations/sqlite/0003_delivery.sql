-- The delivery pipeline's queue (SQLite). Keep in step with ../postgres/0003_delivery.sql.
--
-- outbox_activities (0001) records what happened; the planner turns each event into one
-- queue row per candidate remote domain; one worker per domain (holding the lease in
-- outbox_instance_state) walks its rows in event order, re-plans each through the audience
-- engine at send time, sends, and deletes the row.

-- Events already planned. The planner scans events newer than its cursor minus a lookback
-- window and skips those listed here, so an event whose transaction committed after a newer
-- one (ids are issued before commit) is still planned. Old markers are pruned.
CREATE TABLE delivery_planned (
    event_id   BIGINT PRIMARY KEY,
    planned_at BIGINT NOT NULL
);

-- Named cursors ('planner': the newest event id planned).
CREATE TABLE delivery_cursors (
    name       TEXT   PRIMARY KEY,
    position   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per (receiving domain, event) still to deliver. done_inboxes lists (newline-
-- separated) the inboxes of that domain already served for this event, so that a retry after a
-- partial failure sends nothing twice.
CREATE TABLE delivery_queue (
    domain       TEXT    NOT NULL,
    event_id     BIGINT  NOT NULL REFERENCES outbox_activities (id) ON DELETE CASCADE,
    done_inboxes TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (domain, event_id)
);
CREATE INDEX delivery_queue_event ON delivery_queue (event_id);

-- When the current run of failures began (cleared on success); after three days the domain
-- is marked unreachable (instances.unreachable_since).
ALTER TABLE outbox_instance_state ADD COLUMN failing_since BIGINT;
ALTER TABLE outbox_instance_state ADD COLUMN last_error TEXT;
CREATE INDEX outbox_instance_state_due ON outbox_instance_state (next_attempt_at);

-- A worker re-plans for one domain: it starts from that domain's accounts.
CREATE INDEX accounts_domain ON accounts (domain) WHERE domain IS NOT NULL;
