-- Earlier versions of edited statuses (SQLite). Keep in step with ../postgres/0008_status_edits.sql.
CREATE TABLE status_edits (
    id           INTEGER PRIMARY KEY,
    status_id    INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    text_source  TEXT    NOT NULL,
    content_html TEXT    NOT NULL,
    spoiler_text TEXT    NOT NULL,
    sensitive    INTEGER NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);
