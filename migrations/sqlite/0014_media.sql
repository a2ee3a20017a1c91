-- Media (issue 6): uploaded images, their thumbnails, and attachments of remote posts.
-- Keep in step with ../postgres/0014_media.sql.
-- An upload belongs to its account until a status takes it (`status_id`, in the status's own
-- transaction); it is then served to whoever may see that status. Avatars and headers (of
-- accounts and of communities' Groups) are rows with purpose `avatar`/`header`, served to
-- anyone; the account's avatar_url/header_url (from 0001) point at them.
-- Remote attachments keep only `remote_url` (nothing is downloaded).
CREATE TABLE media_attachments (
    id           INTEGER PRIMARY KEY,
    account_id   BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id    BIGINT  REFERENCES statuses (id) ON DELETE CASCADE,
    position     BIGINT  NOT NULL DEFAULT 0,
    purpose      TEXT    NOT NULL DEFAULT 'attachment',  -- attachment, avatar, header
    kind         TEXT    NOT NULL DEFAULT 'image',       -- Mastodon's type: image, unknown...
    state        TEXT    NOT NULL,                       -- processing, ready, failed
    failure      TEXT,
    original_key TEXT,
    small_key    TEXT,
    content_type TEXT,
    file_size    BIGINT,
    width        BIGINT,
    height       BIGINT,
    small_width  BIGINT,
    small_height BIGINT,
    blurhash     TEXT,
    description  TEXT    NOT NULL DEFAULT '',
    focus_x      REAL    NOT NULL DEFAULT 0,
    focus_y      REAL    NOT NULL DEFAULT 0,
    remote_url   TEXT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX media_attachments_status ON media_attachments (status_id, position);
CREATE INDEX media_attachments_account ON media_attachments (account_id, id);
