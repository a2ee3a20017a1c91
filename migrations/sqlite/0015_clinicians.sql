-- Verified clinicians and impersonation flags (issue 10). Keep in step with
-- ../postgres/0015_clinicians.sql.

-- A verification of a local clinician by an admin (or verifier). One row per decision; the
-- current one is the newest row without revoked_at. The licence number is kept for the
-- verifier's records only: it is never rendered in the client API nor federated.
CREATE TABLE clinician_verifications (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    profession     TEXT    NOT NULL,
    specialty      TEXT,
    institution    TEXT    NOT NULL,
    license_number TEXT    NOT NULL,
    jurisdiction   TEXT    NOT NULL,
    verified_by    INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    verified_at    BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    revoked_at     BIGINT,
    revoked_by     INTEGER REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE INDEX clinician_verifications_account ON clinician_verifications (account_id, id);

-- A remote account's attestation, fetched from its own instance and checked against that
-- instance actor's key. Only checked attestations are stored; expiry is checked at read time.
CREATE TABLE remote_clinician_attestations (
    account_id       INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    attestation_uri  TEXT    NOT NULL,
    attesting_domain TEXT    NOT NULL,
    profession       TEXT    NOT NULL,
    specialty        TEXT,
    institution      TEXT    NOT NULL,
    jurisdiction     TEXT    NOT NULL,
    issued_at        BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    checked_at       BIGINT  NOT NULL
);

-- Clinical titles claimed by unverified accounts, each reported to moderators once.
CREATE TABLE clinician_title_flags (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    claim      TEXT    NOT NULL,
    report_id  INTEGER REFERENCES reports (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, claim)
);

-- Professional boundaries: who may send the account a direct message (`everyone` or
-- `colleagues`); NULL follows the instance default for verified clinicians.
ALTER TABLE accounts ADD COLUMN direct_messages_from TEXT;
