-- What an account chooses for its own posts and profile (issue 5): the defaults Mastodon apps
-- read from `source` and /api/v1/preferences, and whether the social graph is shown.
-- Profile fields use accounts.fields_json (since 0001), `discoverable`/`indexable` too.
-- Keep in step with ../postgres/0020_posting_defaults.sql.
ALTER TABLE accounts ADD COLUMN default_visibility TEXT;
ALTER TABLE accounts ADD COLUMN default_sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN default_language TEXT;
ALTER TABLE accounts ADD COLUMN hide_collections INTEGER NOT NULL DEFAULT 0;
