-- Moderation, part 3 (issue 9): reports forwarded to more instances than the reported
-- account's (SQLite). Keep in step with ../postgres/0023_moderation_subscriptions.sql.

-- Mastodon's forward_to_domains: further instances (of accounts the reported posts answer or
-- mention) that the report's Flag also goes to, as a JSON array of domains.
ALTER TABLE reports ADD COLUMN forward_domains TEXT NOT NULL DEFAULT '[]';

-- A report about a post in a community (hosted here or elsewhere) names the community: its
-- moderators see and resolve the reports about its content.
ALTER TABLE reports ADD COLUMN community_id BIGINT;
CREATE INDEX reports_community ON reports (community_id, id);

-- Subscriptions to shared blocklists: a URL fetched periodically (or a file uploaded once),
-- each fetch a draft for review unless `auto_apply`. `excludes` (JSON domains) are never
-- applied from this subscription.
CREATE TABLE blocklist_subscriptions (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT,
    auto_apply           INTEGER NOT NULL DEFAULT 0,
    excludes             TEXT    NOT NULL DEFAULT '[]',
    private_comment      TEXT    NOT NULL DEFAULT '',
    moderator_account_id BIGINT  REFERENCES accounts (id) ON DELETE SET NULL,
    last_fetched_at      BIGINT,
    last_error           TEXT,
    created_at           BIGINT  NOT NULL
);

-- Which subscription a block came from (NULL: made by hand, never removed by a
-- subscription); a subscription's draft may also propose removals (retractions, JSON).
ALTER TABLE domain_policies ADD COLUMN subscription_id BIGINT;
ALTER TABLE domain_block_imports ADD COLUMN subscription_id BIGINT;
ALTER TABLE domain_block_imports ADD COLUMN removals_json TEXT NOT NULL DEFAULT '[]';
