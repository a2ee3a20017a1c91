-- The mod log covers community moderators' actions too (issue 9): which community an entry
-- belongs to, so entries of members-only communities stay out of the public log.
-- Keep in step with ../sqlite/0013_mod_log_communities.sql.
ALTER TABLE mod_log ADD COLUMN community_id BIGINT REFERENCES communities (id) ON DELETE CASCADE;
-- Entries are public unless a community's visibility says otherwise (`public` existed since
-- 0001 but nothing set it): every earlier entry is an instance-level action.
UPDATE mod_log SET public = TRUE;
