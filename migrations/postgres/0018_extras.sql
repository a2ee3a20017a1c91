-- Polls, scheduled statuses, followed and featured tags, endorsements, conversation state and
-- full-text search of statuses (PostgreSQL). Keep in step with ../sqlite/0018_extras.sql.

-- A poll belongs to one status. Options are stored in order as a JSON array of titles. A
-- remote poll's counts come from its origin (Update(Question)) and are kept in
-- `remote_counts_json` / `remote_voters_count`; a local poll's are counted from poll_votes.
CREATE TABLE polls (
    id                  BIGINT  PRIMARY KEY,
    status_id           BIGINT  NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    options_json        TEXT    NOT NULL,
    multiple            BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals         BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at          BIGINT,
    remote_counts_json  TEXT,
    remote_voters_count BIGINT,
    ended_notified_at   BIGINT,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX polls_expiry ON polls (expires_at) WHERE ended_notified_at IS NULL;

CREATE TABLE poll_votes (
    poll_id    BIGINT  NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
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
    id            BIGINT PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scheduled_at  BIGINT NOT NULL,
    params_json   TEXT   NOT NULL,
    claimed_until BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX scheduled_statuses_due ON scheduled_statuses (scheduled_at);
CREATE INDEX scheduled_statuses_account ON scheduled_statuses (account_id, id);

CREATE TABLE followed_tags (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag        TEXT   NOT NULL,
    id         BIGINT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, tag)
);
CREATE INDEX followed_tags_tag ON followed_tags (tag);

CREATE TABLE featured_tags (
    id         BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, tag)
);

CREATE TABLE endorsements (
    account_id        BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                BIGINT NOT NULL UNIQUE,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);

-- A conversation is the direct statuses of one thread that an account takes part in; only
-- what the account did with it is stored: read up to which status, hidden up to which.
CREATE TABLE conversation_states (
    account_id     BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    root_status_id BIGINT NOT NULL,
    read_up_to     BIGINT NOT NULL DEFAULT 0,
    hidden_up_to   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, root_status_id)
);
CREATE INDEX statuses_direct ON statuses (thread_root_id, id) WHERE visibility = 'direct';

-- Full-text search: an expression GIN index with the 'simple' configuration (no stemming,
-- like SQLite's unicode61 tokenizer, so both engines find the same words). Local statuses
-- are indexed by their source text, remote ones by their HTML (the parser skips tags).
CREATE INDEX statuses_search ON statuses USING GIN (
    to_tsvector('simple'::regconfig,
        (CASE WHEN local THEN text_source ELSE content_html END) || ' ' || spoiler_text)
) WHERE reblog_of_id IS NULL;
