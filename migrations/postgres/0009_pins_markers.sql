-- Pinned statuses and read markers (PostgreSQL). Keep in step with ../sqlite/0009_pins_markers.sql.
CREATE TABLE status_pins (
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id  BIGINT  NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, status_id)
);

CREATE TABLE markers (
    account_id   BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline     TEXT    NOT NULL,   -- home | notifications
    last_read_id TEXT    NOT NULL,
    version      BIGINT  NOT NULL DEFAULT 1,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (account_id, timeline)
);
