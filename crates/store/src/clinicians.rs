//! Verified clinicians (issue 10): verifications of local accounts, checked attestations of
//! remote ones, and the clinical titles claimed by unverified accounts.
//!
//! A verification is one row per decision; the current one is the newest row not revoked.
//! Expiry is never written anywhere: every reader compares `expires_at` with the time of the
//! read, so an expired verification stops counting at once, without a background job.
//! Changing a verification enqueues an actor `Update` in the same transaction, so other
//! instances learn of a revocation through the ordinary delivery pipeline.

use std::collections::HashMap;

use cohort_model::{DirectMessagesFrom, Domain, Id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::outbox::{NewOutboxEvent, OutboxKind, enqueue_in};
use crate::row::{id, id_from};
use crate::{Store, StoreError, now_ms};

/// A verification to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVerification {
    /// The local account verified.
    pub account: Id,
    /// "Physician", "Registered nurse"...
    pub profession: String,
    /// "Cardiology"...
    pub specialty: Option<String>,
    /// Where the clinician practises.
    pub institution: String,
    /// The licence number: stored for the verifier's records, never shown nor federated.
    pub license_number: String,
    /// Who issued the licence ("US-CA", "Ontario"...).
    pub jurisdiction: String,
    /// The admin or verifier deciding.
    pub verified_by: Id,
    /// When re-verification is due, Unix ms.
    pub expires_at: i64,
}

/// A stored verification of a local account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClinicianVerification {
    /// Row id.
    pub id: Id,
    /// The verified account.
    pub account: Id,
    /// Profession.
    pub profession: String,
    /// Specialty.
    pub specialty: Option<String>,
    /// Institution.
    pub institution: String,
    /// The licence number (never render it).
    pub license_number: String,
    /// Jurisdiction of the licence.
    pub jurisdiction: String,
    /// Who verified (`None` once that account is gone).
    pub verified_by: Option<Id>,
    /// When, Unix ms.
    pub verified_at: i64,
    /// When it lapses, Unix ms.
    pub expires_at: i64,
}

impl ClinicianVerification {
    /// Whether it counts at `now` (not yet expired; revoked rows are never returned).
    pub fn is_valid_at(&self, now: i64) -> bool {
        now < self.expires_at
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(ClinicianVerification {
            id: id(row, "id")?,
            account: id(row, "account_id")?,
            profession: row.try_get("profession")?,
            specialty: row.try_get("specialty")?,
            institution: row.try_get("institution")?,
            license_number: row.try_get("license_number")?,
            jurisdiction: row.try_get("jurisdiction")?,
            verified_by: row
                .try_get::<Option<i64>, _>("verified_by")?
                .map(|raw| id_from(raw, "verified_by"))
                .transpose()?,
            verified_at: row.try_get("verified_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

/// A remote clinician's attestation, as checked against its instance actor's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteAttestation {
    /// The remote account.
    pub account: Id,
    /// Where the attestation was fetched.
    pub attestation_uri: String,
    /// The instance that signed it (the account's own).
    pub attesting_domain: Domain,
    /// Profession.
    pub profession: String,
    /// Specialty.
    pub specialty: Option<String>,
    /// Institution.
    pub institution: String,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Issued, Unix ms.
    pub issued_at: i64,
    /// Expires, Unix ms.
    pub expires_at: i64,
    /// When this instance checked it, Unix ms.
    pub checked_at: i64,
}

/// What the client API shows of a valid verification, local or remote: never the licence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClinicianBadge {
    /// Profession.
    pub profession: String,
    /// Specialty.
    pub specialty: Option<String>,
    /// Institution.
    pub institution: String,
    /// When verified (local) or issued (remote), Unix ms.
    pub verified_at: i64,
    /// When it lapses, Unix ms.
    pub expires_at: i64,
    /// The instance that verified a remote clinician; `None` for this instance.
    pub verified_by_domain: Option<Domain>,
}

const SELECT_VERIFICATION: &str = "SELECT id, account_id, profession, specialty, institution, \
     license_number, jurisdiction, verified_by, verified_at, expires_at \
     FROM clinician_verifications WHERE account_id = $1 AND revoked_at IS NULL \
     ORDER BY id DESC LIMIT 1";

impl Store {
    /// Records a verification (replacing the current one, which is marked revoked), locks
    /// the account (clinicians default to approving their followers), writes a mod-log line
    /// and enqueues an actor `Update`, in one transaction.
    pub async fn verify_clinician(
        &self,
        new: &NewVerification,
    ) -> Result<ClinicianVerification, StoreError> {
        let now = now_ms();
        let row_id = self.next_id();
        let mut tx = self.writer().begin().await?;
        let local: Option<Option<String>> =
            sqlx::query_scalar("SELECT domain FROM accounts WHERE id = $1")
                .bind(new.account.as_i64())
                .fetch_optional(&mut *tx)
                .await?;
        match local {
            None => return Err(StoreError::NotFound("account")),
            Some(Some(_)) => return Err(StoreError::Conflict("remote account")),
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE clinician_verifications SET revoked_at = $1, revoked_by = $2 \
             WHERE account_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(new.verified_by.as_i64())
        .bind(new.account.as_i64())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO clinician_verifications (id, account_id, profession, specialty, \
             institution, license_number, jurisdiction, verified_by, verified_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(row_id.as_i64())
        .bind(new.account.as_i64())
        .bind(&new.profession)
        .bind(&new.specialty)
        .bind(&new.institution)
        .bind(&new.license_number)
        .bind(&new.jurisdiction)
        .bind(new.verified_by.as_i64())
        .bind(now)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE accounts SET locked = TRUE, role = CASE WHEN role = 'member' \
             THEN 'clinician' ELSE role END, author_kind = 'clinician', updated_at = $1 \
             WHERE id = $2",
        )
        .bind(now)
        .bind(new.account.as_i64())
        .execute(&mut *tx)
        .await?;
        crate::moderation::log_in(
            &mut tx,
            self.next_id(),
            new.verified_by,
            "verify_clinician",
            "account",
            &new.account.to_string(),
            &new.profession,
        )
        .await?;
        enqueue_actor_update_in(&mut tx, self.next_id(), new.account).await?;
        let row = sqlx::query(
            "SELECT id, account_id, profession, specialty, institution, license_number, \
             jurisdiction, verified_by, verified_at, expires_at FROM clinician_verifications \
             WHERE id = $1",
        )
        .bind(row_id.as_i64())
        .fetch_one(&mut *tx)
        .await?;
        let verification = ClinicianVerification::from_row(&row)?;
        tx.commit().await?;
        Ok(verification)
    }

    /// Revokes the current verification of `account`, at once; writes a mod-log line and
    /// enqueues an actor `Update`. [`StoreError::NotFound`] when there is none to revoke.
    pub async fn revoke_clinician_verification(
        &self,
        account: Id,
        revoked_by: Id,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let changed = sqlx::query(
            "UPDATE clinician_verifications SET revoked_at = $1, revoked_by = $2 \
             WHERE account_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(revoked_by.as_i64())
        .bind(account.as_i64())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound("verification"));
        }
        crate::moderation::log_in(
            &mut tx,
            self.next_id(),
            revoked_by,
            "revoke_clinician",
            "account",
            &account.to_string(),
            "",
        )
        .await?;
        enqueue_actor_update_in(&mut tx, self.next_id(), account).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The current (not revoked) verification of a local account, expired or not: callers
    /// decide with [`ClinicianVerification::is_valid_at`].
    pub async fn clinician_verification(
        &self,
        account: Id,
    ) -> Result<Option<ClinicianVerification>, StoreError> {
        let row = sqlx::query(SELECT_VERIFICATION)
            .bind(account.as_i64())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(ClinicianVerification::from_row)
            .transpose()
    }

    /// Whether `account` is a clinician verified here or by a checked remote attestation,
    /// valid at `now`.
    pub async fn is_verified_clinician(&self, account: Id, now: i64) -> Result<bool, StoreError> {
        Ok(self
            .clinician_badges(&[account], now)
            .await?
            .contains_key(&account))
    }

    /// The badges of those of `accounts` verified and valid at `now`: local verifications
    /// not revoked nor expired, and remote attestations not expired.
    pub async fn clinician_badges(
        &self,
        accounts: &[Id],
        now: i64,
    ) -> Result<HashMap<Id, ClinicianBadge>, StoreError> {
        let mut badges = HashMap::new();
        if accounts.is_empty() {
            return Ok(badges);
        }
        let list = crate::sql::placeholders(2, accounts.len());
        let local = format!(
            "SELECT account_id, profession, specialty, institution, verified_at, expires_at \
             FROM clinician_verifications WHERE revoked_at IS NULL AND expires_at > $1 \
             AND account_id IN ({list}) ORDER BY id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(local)).bind(now);
        for account in accounts {
            query = query.bind(account.as_i64());
        }
        for row in query.fetch_all(self.reader()).await? {
            badges.insert(
                id(&row, "account_id")?,
                ClinicianBadge {
                    profession: row.try_get("profession")?,
                    specialty: row.try_get("specialty")?,
                    institution: row.try_get("institution")?,
                    verified_at: row.try_get("verified_at")?,
                    expires_at: row.try_get("expires_at")?,
                    verified_by_domain: None,
                },
            );
        }
        let remote = format!(
            "SELECT account_id, attesting_domain, profession, specialty, institution, issued_at, \
             expires_at FROM remote_clinician_attestations WHERE expires_at > $1 \
             AND account_id IN ({list})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(remote)).bind(now);
        for account in accounts {
            query = query.bind(account.as_i64());
        }
        for row in query.fetch_all(self.reader()).await? {
            let domain: String = row.try_get("attesting_domain")?;
            badges.insert(
                id(&row, "account_id")?,
                ClinicianBadge {
                    profession: row.try_get("profession")?,
                    specialty: row.try_get("specialty")?,
                    institution: row.try_get("institution")?,
                    verified_at: row.try_get("issued_at")?,
                    expires_at: row.try_get("expires_at")?,
                    verified_by_domain: Domain::parse(&domain).ok(),
                },
            );
        }
        Ok(badges)
    }

    /// Records (or replaces) a remote account's checked attestation.
    pub async fn save_remote_attestation(
        &self,
        attestation: &RemoteAttestation,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM remote_clinician_attestations WHERE account_id = $1")
            .bind(attestation.account.as_i64())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO remote_clinician_attestations (account_id, attestation_uri, \
             attesting_domain, profession, specialty, institution, jurisdiction, issued_at, \
             expires_at, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(attestation.account.as_i64())
        .bind(&attestation.attestation_uri)
        .bind(attestation.attesting_domain.as_str())
        .bind(&attestation.profession)
        .bind(&attestation.specialty)
        .bind(&attestation.institution)
        .bind(&attestation.jurisdiction)
        .bind(attestation.issued_at)
        .bind(attestation.expires_at)
        .bind(attestation.checked_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a remote account's attestation (revoked, withdrawn, or failed a check).
    /// Returns whether there was one.
    pub async fn forget_remote_attestation(&self, account: Id) -> Result<bool, StoreError> {
        let gone = sqlx::query("DELETE FROM remote_clinician_attestations WHERE account_id = $1")
            .bind(account.as_i64())
            .execute(self.writer())
            .await?
            .rows_affected();
        Ok(gone > 0)
    }

    /// The attestation stored for a remote account, if any (expired or not).
    pub async fn remote_attestation(
        &self,
        account: Id,
    ) -> Result<Option<RemoteAttestation>, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, attestation_uri, attesting_domain, profession, specialty, \
             institution, jurisdiction, issued_at, expires_at, checked_at \
             FROM remote_clinician_attestations WHERE account_id = $1",
        )
        .bind(account.as_i64())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let domain: String = row.try_get("attesting_domain")?;
        Ok(Some(RemoteAttestation {
            account: id(&row, "account_id")?,
            attestation_uri: row.try_get("attestation_uri")?,
            attesting_domain: Domain::parse(&domain).map_err(|e| StoreError::Corrupt {
                column: "attesting_domain",
                detail: e.to_string(),
            })?,
            profession: row.try_get("profession")?,
            specialty: row.try_get("specialty")?,
            institution: row.try_get("institution")?,
            jurisdiction: row.try_get("jurisdiction")?,
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
            checked_at: row.try_get("checked_at")?,
        }))
    }

    /// Enqueues an actor `Update` of a local account, so that the instances of its followers
    /// refresh it (a verification changed, or its profile). Other code that changes what the
    /// actor document says (profile edits) calls this too.
    pub async fn enqueue_actor_update(&self, account: Id) -> Result<Id, StoreError> {
        let event = self.next_id();
        let mut tx = self.writer().begin().await?;
        enqueue_actor_update_in(&mut tx, event, account).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// Sets who may send `account` direct messages (`None`: the instance default).
    pub async fn set_direct_messages_from(
        &self,
        account: Id,
        value: Option<DirectMessagesFrom>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET direct_messages_from = $1 WHERE id = $2")
            .bind(value.map(DirectMessagesFrom::as_str))
            .bind(account.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The account's own choice of who may send it direct messages, if it made one.
    pub async fn direct_messages_from(
        &self,
        account: Id,
    ) -> Result<Option<DirectMessagesFrom>, StoreError> {
        let raw: Option<Option<String>> =
            sqlx::query_scalar("SELECT direct_messages_from FROM accounts WHERE id = $1")
                .bind(account.as_i64())
                .fetch_optional(self.reader())
                .await?;
        Ok(raw.flatten().and_then(|v| v.parse().ok()))
    }

    /// The boundary in force for each local account of `accounts`: its own choice, else for
    /// a clinician verified at `now` the instance's `clinician_default`, else everyone.
    pub async fn direct_message_boundaries(
        &self,
        accounts: &[Id],
        clinician_default: DirectMessagesFrom,
        now: i64,
    ) -> Result<Vec<(Id, DirectMessagesFrom)>, StoreError> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, direct_messages_from FROM accounts WHERE domain IS NULL AND id IN ({})",
            crate::sql::placeholders(1, accounts.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for account in accounts {
            query = query.bind(account.as_i64());
        }
        let rows = query.fetch_all(self.reader()).await?;
        let badges = self.clinician_badges(accounts, now).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let account = id(&row, "id")?;
            let chosen: Option<String> = row.try_get("direct_messages_from")?;
            let boundary = match chosen.and_then(|v| v.parse().ok()) {
                Some(b) => b,
                None if badges.contains_key(&account) => clinician_default,
                None => DirectMessagesFrom::Everyone,
            };
            out.push((account, boundary));
        }
        Ok(out)
    }

    /// Records that an unverified account's clinical-title `claim` was reported (as
    /// `report`); returns `false`, writing nothing, when that claim was reported before.
    pub async fn record_title_flag(
        &self,
        account: Id,
        claim: &str,
        report: Option<Id>,
    ) -> Result<bool, StoreError> {
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM clinician_title_flags WHERE account_id = $1 AND claim = $2",
        )
        .bind(account.as_i64())
        .bind(claim)
        .fetch_one(self.reader())
        .await?;
        if known > 0 {
            return Ok(false);
        }
        let inserted = sqlx::query(
            "INSERT INTO clinician_title_flags (account_id, claim, report_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(account.as_i64())
        .bind(claim)
        .bind(report.map(Id::as_i64))
        .bind(now_ms())
        .execute(self.writer())
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if StoreError::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `claim` of `account` was flagged before.
    pub async fn title_flagged(&self, account: Id, claim: &str) -> Result<bool, StoreError> {
        let known: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM clinician_title_flags WHERE account_id = $1 AND claim = $2",
        )
        .bind(account.as_i64())
        .bind(claim)
        .fetch_one(self.reader())
        .await?;
        Ok(known > 0)
    }
}

async fn enqueue_actor_update_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    event: Id,
    account: Id,
) -> Result<(), StoreError> {
    enqueue_in(
        tx,
        event,
        &NewOutboxEvent {
            kind: OutboxKind::UpdateActor,
            actor: account,
            status: None,
            target_account: None,
        },
    )
    .await
}
