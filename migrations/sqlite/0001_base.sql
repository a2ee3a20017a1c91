-- Cohort base schema (SQLite). Keep in step with ../postgres/0001_base.sql.
-- Times are Unix milliseconds (BIGINT); ids are time-ordered i64 issued by the application.
-- Flags are INTEGER 0/1 here and BOOLEAN on PostgreSQL.

CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY,
    username         TEXT    NOT NULL,
    username_lower   TEXT    NOT NULL,
    domain           TEXT,                 -- NULL for local accounts
    display_name     TEXT    NOT NULL DEFAULT '',
    note             TEXT    NOT NULL DEFAULT '',
    role             TEXT    NOT NULL DEFAULT 'member',
    author_kind      TEXT    NOT NULL DEFAULT 'patient',
    email            TEXT,
    password_hash    TEXT,
    locked           INTEGER NOT NULL DEFAULT 0,
    bot              INTEGER NOT NULL DEFAULT 0,
    is_group         INTEGER NOT NULL DEFAULT 0,
    discoverable     INTEGER NOT NULL DEFAULT 0,
    indexable        INTEGER NOT NULL DEFAULT 0,
    approved         INTEGER NOT NULL DEFAULT 1,
    actor_uri        TEXT    NOT NULL UNIQUE,
    inbox_uri        TEXT,
    shared_inbox_uri TEXT,
    followers_uri    TEXT,
    url              TEXT,
    avatar_url       TEXT,
    header_url       TEXT,
    fields_json      TEXT    NOT NULL DEFAULT '[]',
    suspended_at     BIGINT,
    silenced_at      BIGINT,
    fetched_at       BIGINT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE UNIQUE INDEX accounts_local_username ON accounts (username_lower) WHERE domain IS NULL;
CREATE UNIQUE INDEX accounts_remote_username ON accounts (username_lower, domain) WHERE domain IS NOT NULL;
CREATE UNIQUE INDEX accounts_email ON accounts (email) WHERE email IS NOT NULL;

CREATE TABLE actor_keys (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    key_id          TEXT    NOT NULL UNIQUE,
    public_key_pem  TEXT    NOT NULL,
    private_key_pem TEXT,                  -- local accounts only
    created_at      BIGINT  NOT NULL
);

CREATE TABLE statuses (
    id                     INTEGER PRIMARY KEY,
    account_id             INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri                    TEXT    NOT NULL UNIQUE,
    url                    TEXT,
    local                  INTEGER NOT NULL,
    visibility             TEXT    NOT NULL,
    community_id           INTEGER,
    in_reply_to_id         INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    in_reply_to_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    reblog_of_id           INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    thread_root_id         INTEGER,
    text_source            TEXT    NOT NULL DEFAULT '',
    content_html           TEXT    NOT NULL DEFAULT '',
    spoiler_text           TEXT    NOT NULL DEFAULT '',
    sensitive              INTEGER NOT NULL DEFAULT 0,
    language               TEXT,
    created_at             BIGINT  NOT NULL,
    edited_at              BIGINT,
    expires_at             BIGINT,
    deleted_at             BIGINT
);
CREATE INDEX statuses_account ON statuses (account_id, id);
CREATE INDEX statuses_reply ON statuses (in_reply_to_id);
CREATE INDEX statuses_reblog ON statuses (reblog_of_id);
CREATE INDEX statuses_public_timeline ON statuses (id) WHERE visibility = 'public' AND deleted_at IS NULL AND reblog_of_id IS NULL;
CREATE INDEX statuses_expiry ON statuses (expires_at) WHERE expires_at IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE status_mentions (
    status_id  INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, account_id)
);
CREATE INDEX status_mentions_account ON status_mentions (account_id, status_id);

CREATE TABLE follows (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state             TEXT    NOT NULL,    -- 'requested' or 'accepted'
    uri               TEXT,
    created_at        BIGINT  NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX follows_target ON follows (target_account_id, state);

CREATE TABLE blocks (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri               TEXT,
    created_at        BIGINT  NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX blocks_target ON blocks (target_account_id);

CREATE TABLE mutes (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    notifications     INTEGER NOT NULL DEFAULT 1,
    expires_at        BIGINT,
    created_at        BIGINT  NOT NULL,
    UNIQUE (account_id, target_account_id)
);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    status_id       INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    report_id       INTEGER,
    created_at      BIGINT  NOT NULL,
    dismissed_at    BIGINT
);
CREATE INDEX notifications_account ON notifications (account_id, id);

CREATE TABLE oauth_apps (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL,
    website            TEXT,
    redirect_uris      TEXT    NOT NULL,   -- newline-separated
    scopes             TEXT    NOT NULL,
    client_id          TEXT    NOT NULL UNIQUE,
    client_secret_hash TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL
);

CREATE TABLE oauth_authorization_codes (
    code_hash             TEXT    PRIMARY KEY,
    app_id                INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id            INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    scopes                TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    created_at            BIGINT  NOT NULL,
    expires_at            BIGINT  NOT NULL,
    used_at               BIGINT
);

CREATE TABLE oauth_tokens (
    id                 INTEGER PRIMARY KEY,
    app_id             INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id         INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash         TEXT    NOT NULL UNIQUE,
    refresh_token_hash TEXT    UNIQUE,
    scopes             TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    expires_at         BIGINT,
    revoked_at         BIGINT,
    last_used_at       BIGINT
);

-- Federation: instances we know and their policy.
CREATE TABLE instances (
    domain            TEXT    PRIMARY KEY,
    software          TEXT,
    shared_inbox_uri  TEXT,
    first_seen_at     BIGINT  NOT NULL,
    last_success_at   BIGINT,
    unreachable_since BIGINT
);

CREATE TABLE domain_policies (
    domain          TEXT    PRIMARY KEY,
    policy          TEXT    NOT NULL,      -- 'block' or 'allow'
    severity        TEXT    NOT NULL DEFAULT 'suspend', -- 'silence' | 'suspend' (blocks)
    reject_media    INTEGER NOT NULL DEFAULT 0,
    reject_reports  INTEGER NOT NULL DEFAULT 0,
    public_comment  TEXT    NOT NULL DEFAULT '',
    private_comment TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL
);

-- The durable outbox (Lemmy's design): each activity is stored once; each remote instance
-- has a cursor into it, a failure count and a lease held by the worker that delivers to it.
CREATE TABLE outbox_activities (
    id                INTEGER PRIMARY KEY,
    actor_account_id  INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    kind              TEXT    NOT NULL,
    subject_status_id INTEGER,
    activity_json     TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL
);

CREATE TABLE outbox_instance_state (
    domain          TEXT    PRIMARY KEY,
    last_delivered  BIGINT  NOT NULL DEFAULT 0, -- outbox_activities.id cursor
    fail_count      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     BIGINT
);

-- Which inboxes received which status: Delete must reach every one of them.
CREATE TABLE status_deliveries (
    status_id    INTEGER NOT NULL,
    inbox_uri    TEXT    NOT NULL,
    domain       TEXT    NOT NULL,
    delivered_at BIGINT  NOT NULL,
    PRIMARY KEY (status_id, inbox_uri)
);

-- Inbound activities already seen, by id, so that replays are ignored.
CREATE TABLE received_activities (
    activity_uri TEXT   PRIMARY KEY,
    received_at  BIGINT NOT NULL
);

CREATE TABLE reports (
    id                  INTEGER PRIMARY KEY,
    reporter_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    target_account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_ids          TEXT    NOT NULL DEFAULT '[]',
    comment             TEXT    NOT NULL DEFAULT '',
    category            TEXT    NOT NULL DEFAULT 'other',
    rule_ids            TEXT    NOT NULL DEFAULT '[]',
    forwarded           INTEGER NOT NULL DEFAULT 0,
    origin_domain       TEXT,
    uri                 TEXT    UNIQUE,
    assigned_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    action_taken_at     BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX reports_open ON reports (action_taken_at, id);

CREATE TABLE mod_log (
    id                   INTEGER PRIMARY KEY,
    moderator_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    action               TEXT    NOT NULL,
    target_kind          TEXT    NOT NULL,
    target_id            TEXT    NOT NULL,
    reason               TEXT    NOT NULL DEFAULT '',
    public               INTEGER NOT NULL DEFAULT 0,
    created_at           BIGINT  NOT NULL
);
