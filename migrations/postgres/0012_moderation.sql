-- Moderation (issue 9): what reports, account actions and domain blocks need beyond the base
-- tables (PostgreSQL). Keep in step with ../sqlite/0012_moderation.sql.

-- Reports: the comment as it was (or will be) forwarded, after the PHI guard redacted the
-- spans that identify a patient; the guard's reason when it redacted; the outbox event that
-- carries the Flag; priority (self-harm first); who resolved it.
ALTER TABLE reports ADD COLUMN forward_comment TEXT;
ALTER TABLE reports ADD COLUMN comment_phi_reason TEXT;
ALTER TABLE reports ADD COLUMN flag_event_id BIGINT;
ALTER TABLE reports ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN action_taken_by_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL;
-- The closed loop: a received report remembers who sent its Flag (the remote instance actor,
-- never a person here) so the outcome can go back; the outcome note chosen by the moderator
-- (after the PHI guard) and its outbox event; and on the sender's side, the outcome the other
-- instance reported.
ALTER TABLE reports ADD COLUMN origin_actor_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL;
ALTER TABLE reports ADD COLUMN resolution_note TEXT;
ALTER TABLE reports ADD COLUMN resolution_event_id BIGINT;
ALTER TABLE reports ADD COLUMN remote_resolved_at BIGINT;
ALTER TABLE reports ADD COLUMN remote_resolution TEXT;
CREATE INDEX reports_origin_recent ON reports (origin_domain, created_at);
CREATE INDEX reports_target ON reports (target_account_id);
CREATE INDEX reports_flag_event ON reports (flag_event_id);
CREATE INDEX reports_resolution_event ON reports (resolution_event_id);

-- Account actions Mastodon's admin API has besides suspend and silence.
ALTER TABLE accounts ADD COLUMN disabled_at BIGINT;
ALTER TABLE accounts ADD COLUMN sensitized_at BIGINT;

-- Domain blocks: Mastodon's obfuscate flag (the public list shows the domain partly hidden).
ALTER TABLE domain_policies ADD COLUMN obfuscate BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX mod_log_recent ON mod_log (created_at);
