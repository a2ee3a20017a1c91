-- Bookmarks and hashtags (favourites are in 0005_inbox.sql) (SQLite). Keep in step with ../postgres/0006_interactions.sql.

CREATE TABLE bookmarks (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id  INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    id         INTEGER NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, status_id)
);

CREATE TABLE status_tags (
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag       TEXT    NOT NULL,
    PRIMARY KEY (status_id, tag)
);
CREATE INDEX status_tags_tag ON status_tags (tag, status_id);
CREATE INDEX notifications_dedup ON notifications (account_id, kind, from_account_id, status_id);
