-- Communities, part 2: what the communities API and FEP-1b12 federation need (issue 8).
-- Keep in step with ../postgres/0010_communities.sql.
-- A community's name, title, description, avatar and header are its Group account's
-- username, display_name, note, avatar_url and header_url; only what a Person lacks is here.
ALTER TABLE communities ADD COLUMN rules_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE communities ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE communities ADD COLUMN language TEXT;
ALTER TABLE communities ADD COLUMN created_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL;

-- A ban remembers why and until when; a join request when it was made.
ALTER TABLE community_members ADD COLUMN ban_reason TEXT;
ALTER TABLE community_members ADD COLUMN ban_expires_at BIGINT;
ALTER TABLE community_members ADD COLUMN updated_at BIGINT;
CREATE INDEX community_members_state ON community_members (community_id, state);

-- Invite codes of `invite` communities. The code is the secret; it is shown once.
CREATE TABLE community_invites (
    code         TEXT    PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    created_by   INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    max_uses     INTEGER,
    uses         INTEGER NOT NULL DEFAULT 0,
    expires_at   BIGINT,
    created_at   BIGINT  NOT NULL
);

-- Featured threads.
CREATE TABLE community_pins (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    status_id    INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (community_id, status_id)
);

-- A post a community's moderator removed: gone from every read path like a deleted one,
-- but remembered as a removal (who, why) for the mod log and the author.
ALTER TABLE statuses ADD COLUMN removed_by INTEGER;
ALTER TABLE statuses ADD COLUMN removed_reason TEXT;
CREATE INDEX statuses_community ON statuses (community_id, id);
