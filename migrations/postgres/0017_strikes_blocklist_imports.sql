-- Moderation, part 2 (issue 9): strikes users can see and appeal, the purge of accounts
-- suspended long ago, and blocklist imports reviewed before they apply (PostgreSQL).
-- Keep in step with ../sqlite/0017_strikes_blocklist_imports.sql.

-- A strike (Mastodon's AccountWarning): one per moderator action on a local account, shown
-- to its owner. `status_ids` lists the posts concerned (comma-separated ids); `overruled_at`
-- is set when an appeal is approved.
CREATE TABLE account_strikes (
    id                   BIGINT PRIMARY KEY,
    account_id           BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    moderator_account_id BIGINT  REFERENCES accounts (id) ON DELETE SET NULL,
    action               TEXT    NOT NULL,
    text                 TEXT    NOT NULL DEFAULT '',
    status_ids           TEXT    NOT NULL DEFAULT '',
    report_id            BIGINT,
    overruled_at         BIGINT,
    created_at           BIGINT  NOT NULL
);
CREATE INDEX account_strikes_account ON account_strikes (account_id, id);

-- At most one appeal per strike; `state` is pending, approved or rejected.
CREATE TABLE strike_appeals (
    id                    BIGINT PRIMARY KEY,
    strike_id             BIGINT  NOT NULL UNIQUE REFERENCES account_strikes (id) ON DELETE CASCADE,
    account_id            BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    text                  TEXT    NOT NULL,
    state                 TEXT    NOT NULL DEFAULT 'pending',
    decided_by_account_id BIGINT  REFERENCES accounts (id) ON DELETE SET NULL,
    decided_at            BIGINT,
    created_at            BIGINT  NOT NULL
);
CREATE INDEX strike_appeals_state ON strike_appeals (state, id);

-- A `moderation_warning` notification names either a report (a report of yours was handled)
-- or a strike (a moderator acted on your account, or decided your appeal).
ALTER TABLE notifications ADD COLUMN strike_id BIGINT  REFERENCES account_strikes (id) ON DELETE CASCADE;

-- A suspended local account is purged 30 days after its suspension: posts deleted (with the
-- Delete federated), profile emptied; it cannot be unsuspended after that.
ALTER TABLE accounts ADD COLUMN purged_at BIGINT;

-- A blocklist import: the rows that parsed (JSON), the per-line errors (JSON), and whether a
-- moderator applied or discarded it. Nothing of a draft applies until it is confirmed.
CREATE TABLE domain_block_imports (
    id                   BIGINT PRIMARY KEY,
    moderator_account_id BIGINT  REFERENCES accounts (id) ON DELETE SET NULL,
    source               TEXT    NOT NULL,
    rows_json            TEXT    NOT NULL,
    errors_json          TEXT    NOT NULL,
    state                TEXT    NOT NULL DEFAULT 'draft',
    decided_at           BIGINT,
    created_at           BIGINT  NOT NULL
);
