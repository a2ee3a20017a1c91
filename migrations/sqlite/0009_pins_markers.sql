-- Pinned statuses and read markers (SQLite). Keep in step with ../postgres/0009_pins_markers.sql.
CREATE TABLE status_pins (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id  INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, status_id)
);

CREATE TABLE markers (
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline     TEXT    NOT NULL,   -- home | notifications
    last_read_id TEXT    NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (account_id, timeline)
);
