-- Polls, scheduled statuses, followed and featured tags, endorsements, conversation state and
-- full-text search of statuses (SQLite). Keep in step with ../postgres/0018_extras.sql.

-- A poll belongs to one status. Options are stored in order as a JSON array of titles. A
-- remote poll's counts come from its origin (Update(Question)) and are kept in
-- `remote_counts_json` / `remote_voters_count`; a local poll's are counted from poll_votes.
CREATE TABLE polls (
    id                  INTEGER PRIMARY KEY,
    status_id           INTEGER NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    options_json        TEXT    NOT NULL,
    multiple            INTEGER NOT NULL DEFAULT 0,
    hide_totals         INTEGER NOT NULL DEFAULT 0,
    expires_at          BIGINT,
    remote_counts_json  TEXT,
    remote_voters_count BIGINT,
    ended_notified_at   BIGINT,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX polls_expiry ON polls (expires_at) WHERE ended_notified_at IS NULL;

CREATE TABLE poll_votes (
    poll_id    INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice     INTEGER NOT NULL,
    uri        TEXT,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (poll_id, account_id, choice)
);
CREATE INDEX poll_votes_account ON poll_votes (account_id);

-- A status to publish later: the parameters of its create request, replayed through the
-- normal create path when due (so the audience rules apply at publication time).
-- `claimed_until` lets one of several processes publish it.
CREATE TABLE scheduled_statuses (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scheduled_at  BIGINT  NOT NULL,
    params_json   TEXT    NOT NULL,
    claimed_until BIGINT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX scheduled_statuses_due ON scheduled_statuses (scheduled_at);
CREATE INDEX scheduled_statuses_account ON scheduled_statuses (account_id, id);

CREATE TABLE followed_tags (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    id         INTEGER NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, tag)
);
CREATE INDEX followed_tags_tag ON followed_tags (tag);

CREATE TABLE featured_tags (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (account_id, tag)
);

CREATE TABLE endorsements (
    account_id        INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                INTEGER NOT NULL UNIQUE,
    created_at        BIGINT  NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);

-- A conversation is the direct statuses of one thread that an account takes part in; only
-- what the account did with it is stored: read up to which status, hidden up to which.
CREATE TABLE conversation_states (
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    root_status_id BIGINT  NOT NULL,
    read_up_to     BIGINT  NOT NULL DEFAULT 0,
    hidden_up_to   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, root_status_id)
);
CREATE INDEX statuses_direct ON statuses (thread_root_id, id) WHERE visibility = 'direct';

-- Full-text search: a contentless FTS5 index (rowid = status id) kept by triggers. Local
-- statuses are indexed by their source text, remote ones by their HTML (FTS5's tokenizer
-- reads the words; tag names become tokens too, the price of not storing a second copy).
CREATE VIRTUAL TABLE statuses_search USING fts5 (body, content = '', contentless_delete = 1);

CREATE TRIGGER statuses_search_insert AFTER INSERT ON statuses
WHEN new.reblog_of_id IS NULL
BEGIN
    INSERT INTO statuses_search (rowid, body) VALUES (new.id,
        (CASE WHEN new.local THEN new.text_source ELSE new.content_html END) || ' ' || new.spoiler_text);
END;

CREATE TRIGGER statuses_search_update AFTER UPDATE OF text_source, content_html, spoiler_text ON statuses
WHEN new.reblog_of_id IS NULL
BEGIN
    DELETE FROM statuses_search WHERE rowid = old.id;
    INSERT INTO statuses_search (rowid, body) VALUES (new.id,
        (CASE WHEN new.local THEN new.text_source ELSE new.content_html END) || ' ' || new.spoiler_text);
END;

CREATE TRIGGER statuses_search_delete AFTER DELETE ON statuses
BEGIN
    DELETE FROM statuses_search WHERE rowid = old.id;
END;

INSERT INTO statuses_search (rowid, body)
SELECT id, (CASE WHEN local THEN text_source ELSE content_html END) || ' ' || spoiler_text
FROM statuses WHERE reblog_of_id IS NULL;
