-- Evaluation aggregates: cheap change detection, and aggregates across instances (issue 10).
-- Keep in step with ../sqlite/0022_aggregate_federation.sql.

-- A counter per community, bumped by the triggers below whenever a row that aggregation
-- reads changes (an evaluation or its side effects, a membership, an account's suspension).
-- A refresh reads it before reading the evaluations and records it; a request that finds
-- the same version reads the published snapshots without re-aggregating. No foreign key:
-- a community's deletion cascades to its members, whose triggers still bump (an orphan row
-- of two integers is harmless).
CREATE TABLE evaluation_aggregate_inputs (
    community_id BIGINT PRIMARY KEY,
    version      BIGINT NOT NULL
);

CREATE FUNCTION cohort_bump_aggregate_inputs(community BIGINT) RETURNS void AS $$
BEGIN
    IF community IS NOT NULL THEN
        INSERT INTO evaluation_aggregate_inputs (community_id, version) VALUES (community, 1)
            ON CONFLICT (community_id) DO UPDATE SET version = evaluation_aggregate_inputs.version + 1;
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION cohort_evaluations_aggregate() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM cohort_bump_aggregate_inputs(OLD.community_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.community_id IS DISTINCT FROM OLD.community_id) THEN
        PERFORM cohort_bump_aggregate_inputs(NEW.community_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER evaluations_aggregate AFTER INSERT OR UPDATE OR DELETE ON evaluations
    FOR EACH ROW EXECUTE FUNCTION cohort_evaluations_aggregate();

CREATE FUNCTION cohort_side_effects_aggregate() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM cohort_bump_aggregate_inputs(
            (SELECT community_id FROM evaluations WHERE id = OLD.evaluation_id));
    ELSE
        PERFORM cohort_bump_aggregate_inputs(
            (SELECT community_id FROM evaluations WHERE id = NEW.evaluation_id));
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER evaluation_side_effects_aggregate AFTER INSERT OR UPDATE OR DELETE ON evaluation_side_effects
    FOR EACH ROW EXECUTE FUNCTION cohort_side_effects_aggregate();

CREATE FUNCTION cohort_members_aggregate() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM cohort_bump_aggregate_inputs(OLD.community_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.community_id IS DISTINCT FROM OLD.community_id) THEN
        PERFORM cohort_bump_aggregate_inputs(NEW.community_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER community_members_aggregate AFTER INSERT OR UPDATE OR DELETE ON community_members
    FOR EACH ROW EXECUTE FUNCTION cohort_members_aggregate();

CREATE FUNCTION cohort_suspension_aggregate() RETURNS trigger AS $$
BEGIN
    INSERT INTO evaluation_aggregate_inputs (community_id, version)
        SELECT community_id, 1 FROM community_members WHERE account_id = NEW.id
        ON CONFLICT (community_id) DO UPDATE SET version = evaluation_aggregate_inputs.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_aggregate_suspension AFTER UPDATE OF suspended_at ON accounts
    FOR EACH ROW WHEN (OLD.suspended_at IS DISTINCT FROM NEW.suspended_at)
    EXECUTE FUNCTION cohort_suspension_aggregate();

-- The combined view of a community hosted elsewhere, as fetched from its instance
-- (`/users/NAME/aggregates`), cached: the `cells` are cohort_health::CellView JSON, checked
-- k-anonymous on arrival.
CREATE TABLE remote_evaluation_aggregates (
    community_id BIGINT PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    cells        TEXT   NOT NULL,
    instances    TEXT   NOT NULL,             -- JSON array of domains
    published_at BIGINT,
    fetched_at   BIGINT NOT NULL
);

-- When a local community's Group last posted its aggregates summary Note (at most one a day).
ALTER TABLE evaluation_aggregate_state ADD COLUMN summary_posted_at BIGINT;

-- The community of a side effect's evaluation, kept beside it (written with the side effects,
-- which are rewritten whenever their evaluation changes) so that aggregation reads a
-- community's side effects as one index range, without a join per row. A membership's state
-- is likewise read from an index.
ALTER TABLE evaluation_side_effects ADD COLUMN community_id BIGINT;
UPDATE evaluation_side_effects SET community_id =
    (SELECT e.community_id FROM evaluations e WHERE e.id = evaluation_side_effects.evaluation_id);
CREATE INDEX evaluation_side_effects_aggregate
    ON evaluation_side_effects (community_id, evaluation_id, severity, name);
CREATE INDEX community_members_aggregate ON community_members (community_id, account_id, state);
