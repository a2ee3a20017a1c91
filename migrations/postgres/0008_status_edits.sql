-- Earlier versions of edited statuses (PostgreSQL). Keep in step with ../sqlite/0008_status_edits.sql.
CREATE TABLE status_edits (
    id           BIGINT PRIMARY KEY,
    status_id    BIGINT  NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    text_source  TEXT    NOT NULL,
    content_html TEXT    NOT NULL,
    spoiler_text TEXT    NOT NULL,
    sensitive    BOOLEAN NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);
