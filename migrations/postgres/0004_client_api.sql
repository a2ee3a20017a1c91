-- Client API support (PostgreSQL). Keep in step with ../sqlite/0004_client_api.sql.

-- Idempotency-Key of POST /api/v1/statuses: the same key from the same account within a
-- day returns the status created the first time.
CREATE TABLE idempotency_keys (
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    status_id  BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- PHI guard releases: who released a held post, when, and what the guard had said.
ALTER TABLE statuses ADD COLUMN released_at BIGINT;
ALTER TABLE statuses ADD COLUMN released_by BIGINT ;
ALTER TABLE statuses ADD COLUMN release_reason TEXT;

CREATE INDEX statuses_home ON statuses (account_id, id) WHERE deleted_at IS NULL AND held_at IS NULL;
