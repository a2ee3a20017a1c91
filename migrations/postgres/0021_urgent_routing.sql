-- Urgent and sensitive questions (issue 10): the automatic crisis reports already filed, one
-- per post. A local post is known by a fingerprint of its author and text (it may be
-- reported before it is stored: the author is steered first and may never post it), a
-- remote post by its URI. Keep in step with ../sqlite/0021_urgent_routing.sql.
CREATE TABLE urgent_reports (
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    fingerprint TEXT   NOT NULL,
    label       TEXT   NOT NULL,
    report_id   BIGINT REFERENCES reports (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, fingerprint)
);
