-- The audience engine's facts and its decision log (SQLite). Keep in step with
-- ../postgres/0002_audience.sql.

-- GoToSocial-style local-only flag (Visibility 'local' implies it); PHI hold state.
ALTER TABLE statuses ADD COLUMN local_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statuses ADD COLUMN held_at BIGINT;
ALTER TABLE statuses ADD COLUMN hold_reason TEXT;
CREATE INDEX statuses_thread_root ON statuses (thread_root_id);

-- Instance-wide settings that the rules read (federation_mode: open | allowlist).
CREATE TABLE instance_settings (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An account's block of a whole domain (Mastodon's user domain blocks).
CREATE TABLE account_domain_blocks (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, domain)
);

-- Communities: a Group actor (accounts.is_group) with its own rules.
CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    visibility  TEXT    NOT NULL DEFAULT 'public',  -- public | unlisted | members | local
    membership  TEXT    NOT NULL DEFAULT 'open',    -- open | approval | invite
    created_at  BIGINT  NOT NULL
);

CREATE TABLE community_members (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL DEFAULT 'member', -- member | moderator | owner
    state        TEXT    NOT NULL DEFAULT 'member', -- member | requested | banned
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (community_id, account_id)
);
CREATE INDEX community_members_account ON community_members (account_id);

-- Instances a community federates with, when it restricts federation.
CREATE TABLE community_federation (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    domain       TEXT    NOT NULL,
    PRIMARY KEY (community_id, domain)
);
ALTER TABLE communities ADD COLUMN federation_restricted INTEGER NOT NULL DEFAULT 0;

-- The decision log: one row per post and receiving domain, not per follower.
CREATE TABLE audience_decisions (
    status_id  INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    domain     TEXT    NOT NULL,
    allowed    INTEGER NOT NULL,
    rule       TEXT    NOT NULL,
    decided_at BIGINT  NOT NULL,
    PRIMARY KEY (status_id, domain)
);
CREATE INDEX audience_decisions_domain ON audience_decisions (domain, decided_at);
