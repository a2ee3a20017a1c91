-- The receiving side of federation (SQLite). Keep in step with ../postgres/0005_inbox.sql.

-- The durable inbox queue: activities that passed the size, domain, signature, origin and
-- dedup checks, answered 202, and wait here until the processor has applied them. A row is
-- deleted once applied (or given up on after too many transient failures).
CREATE TABLE inbox_queue (
    id              INTEGER PRIMARY KEY,
    activity_uri    TEXT    NOT NULL,
    actor_uri       TEXT    NOT NULL,
    activity_json   TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL DEFAULT 0,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX inbox_queue_due ON inbox_queue (next_attempt_at, id);

-- Public keys of remote actors, by the exact keyId their signatures name (with or without a
-- fragment), as fetched from the actor document whose publicKey.id equals it.
CREATE TABLE remote_keys (
    key_id         TEXT    PRIMARY KEY,
    actor_uri      TEXT    NOT NULL,
    account_id     INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    actor_type     TEXT    NOT NULL,
    is_instance    INTEGER NOT NULL DEFAULT 0,
    public_key_pem TEXT    NOT NULL,
    fetched_at     BIGINT  NOT NULL
);
CREATE INDEX remote_keys_actor ON remote_keys (actor_uri);

-- The instance actor's key pair (one row): signs fetches (authorized fetch).
CREATE TABLE instance_actor_keys (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    public_key_pem  TEXT    NOT NULL,
    private_key_pem TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);

-- Favourites (Like), local or received.
CREATE TABLE favourites (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id  INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri        TEXT,
    created_at BIGINT  NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX favourites_status ON favourites (status_id);

-- Accounts that announced a Move, with whether the target listed them in alsoKnownAs.
CREATE TABLE account_moves (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    target_uri TEXT    NOT NULL,
    verified   INTEGER NOT NULL,
    created_at BIGINT  NOT NULL
);
