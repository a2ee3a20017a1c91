-- Patient-reported treatment evaluations and their k-anonymous aggregates (PostgreSQL).
-- Keep in step with ../sqlite/0016_evaluations.sql.

-- One course of one treatment for one condition, as its author reported it. It stays on
-- this instance: never federated as a record. `*_ref` is a vocabulary key (icd10cm:E11,
-- rxnorm:metformin, therapy:yoga) or `text:<normalized text>` for free text, which is kept
-- but flagged and left out of aggregates. Dates are day numbers (days since 1970-01-01).
CREATE TABLE evaluations (
    id             BIGINT  PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    community_id   BIGINT  REFERENCES communities (id) ON DELETE SET NULL, -- filed in (aggregates, community visibility)
    visibility     TEXT    NOT NULL,            -- private | community | public
    condition_ref  TEXT    NOT NULL,
    condition_text TEXT    NOT NULL,
    treatment_kind TEXT    NOT NULL,            -- medication | therapy
    treatment_ref  TEXT    NOT NULL,
    treatment_text TEXT    NOT NULL,
    dose           TEXT,
    frequency      TEXT,
    started_day    BIGINT  NOT NULL,
    stopped_day    BIGINT,
    stop_reason    TEXT,
    effectiveness  TEXT    NOT NULL,            -- none | slight | moderate | major | cant_tell
    adherence      BIGINT,                      -- 1..5
    burden         BIGINT,                      -- 1..5
    monthly_cost   BIGINT,
    currency       TEXT,
    tips           TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    -- A second submission of the same course is a duplicate (409), not a second vote.
    UNIQUE (account_id, condition_ref, treatment_ref, started_day)
);
CREATE INDEX evaluations_community ON evaluations (community_id, treatment_ref);

CREATE TABLE evaluation_side_effects (
    evaluation_id BIGINT  NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,             -- lowercase, single-spaced
    severity      TEXT    NOT NULL,             -- mild | moderate | severe
    PRIMARY KEY (evaluation_id, name)
);

-- Every snapshot a cell (community x treatment) was published as, oldest first. The member
-- list (patient id and a fingerprint of their contribution, 16 bytes each) is kept so that a
-- new snapshot is published only when at least k patients differ from every earlier one;
-- it is never shown. `view` is the published cell (cohort_health::CellView as JSON), NULL
-- when the snapshot withdrew the cell.
CREATE TABLE evaluation_snapshots (
    id            BIGINT  PRIMARY KEY,
    community_id  BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    treatment_ref TEXT    NOT NULL,
    shown         BOOLEAN NOT NULL,
    patients      BIGINT  NOT NULL,
    view          TEXT,
    members       BYTEA   NOT NULL,
    published_at  BIGINT  NOT NULL
);
CREATE INDEX evaluation_snapshots_cell ON evaluation_snapshots (community_id, treatment_ref, id);

-- Counts other instances contributed to a community hosted here: their published
-- (k-anonymous) cells only, one row per instance and treatment, replaced on each update.
CREATE TABLE evaluation_contributions (
    community_id  BIGINT  NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    origin_domain TEXT    NOT NULL,
    treatment_ref TEXT    NOT NULL,
    view          TEXT    NOT NULL,
    received_at   BIGINT  NOT NULL,
    PRIMARY KEY (community_id, origin_domain, treatment_ref)
);

-- What the aggregated evaluations of a community looked like at its last refresh (counts,
-- sums and the newest change of the rows aggregation reads): a request that finds the same
-- signature reads the published snapshots without re-aggregating. Skipping a refresh can
-- only delay a publication, never publish anything the rules would not.
CREATE TABLE evaluation_aggregate_state (
    community_id BIGINT  PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    signature    TEXT    NOT NULL,
    refreshed_at BIGINT  NOT NULL
);
