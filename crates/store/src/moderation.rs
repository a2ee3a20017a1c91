//! Moderators' writes: account states (suspended, silenced, disabled, sensitized,
//! approved), domain blocks and allows with their flags, and the mod log that records each
//! of them. Every action and its mod-log line commit in one transaction, so the log never
//! misses an action and never records one that did not happen.
//!
//! The states are the facts the rest of Cohort already reads: `suspended_at` is what the
//! read and delivery gates and the inbox check, `domain_policies` what the audience engine
//! loads. Nothing here decides visibility.

use cohort_model::{Domain, Id};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::row::{flag, id, id_from};
use crate::{Store, StoreError, now_ms};

/// An account state a moderator can set or lift.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// `suspended_at`: neither sees nor is seen; cannot sign in; activities refused.
    Suspended,
    /// `silenced_at`: limited, hidden from public timelines.
    Silenced,
    /// `disabled_at`: cannot sign in (tokens revoked).
    Disabled,
    /// `sensitized_at`: media always behind a warning.
    Sensitized,
}

impl AccountState {
    fn column_update(self) -> &'static str {
        match self {
            AccountState::Suspended => {
                "UPDATE accounts SET suspended_at = $1, updated_at = $2 WHERE id = $3"
            }
            AccountState::Silenced => {
                "UPDATE accounts SET silenced_at = $1, updated_at = $2 WHERE id = $3"
            }
            AccountState::Disabled => {
                "UPDATE accounts SET disabled_at = $1, updated_at = $2 WHERE id = $3"
            }
            AccountState::Sensitized => {
                "UPDATE accounts SET sensitized_at = $1, updated_at = $2 WHERE id = $3"
            }
        }
    }
}

/// One moderator action on an account, applied with [`Store::moderate_account`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountModeration {
    /// Who acts.
    pub moderator: Id,
    /// On whom.
    pub target: Id,
    /// The state to set (`true`) or lift (`false`); `None` changes nothing (a warning).
    pub change: Option<(AccountState, bool)>,
    /// Approve (`true`) or reject (`false`) a pending sign-up.
    pub approval: Option<bool>,
    /// A report this action resolves.
    pub resolves_report: Option<Id>,
    /// The outcome note for the reporter (or the instance that sent the report).
    pub resolution_note: Option<String>,
    /// The mod-log action name (`suspend`, `unsilence`, `approve`...).
    pub log_action: String,
    /// The moderator's reason.
    pub reason: String,
}

/// An account's moderation states, for the admin API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModerationState {
    /// When suspended.
    pub suspended_at: Option<i64>,
    /// When silenced.
    pub silenced_at: Option<i64>,
    /// When disabled.
    pub disabled_at: Option<i64>,
    /// When sensitized.
    pub sensitized_at: Option<i64>,
    /// Approved sign-up.
    pub approved: bool,
    /// When a long suspension purged the account (it can no longer be unsuspended).
    pub purged_at: Option<i64>,
}

/// A line of the mod log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModLogEntry {
    /// Time-ordered id.
    pub id: Id,
    /// Who acted (`None` if the account was deleted since).
    pub moderator: Option<Id>,
    /// What was done.
    pub action: String,
    /// `account`, `report`, `domain`.
    pub target_kind: String,
    /// The target's id or domain.
    pub target_id: String,
    /// The moderator's reason.
    pub reason: String,
    /// The community, for a community moderator's action.
    pub community: Option<Id>,
    /// When, Unix ms.
    pub created_at: i64,
}

/// A domain block or allow as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainBlockRecord {
    /// The domain (also the API id: `domain_policies` is keyed by domain).
    pub domain: Domain,
    /// `silence`, `suspend` or `noop` for blocks; `none` for allows.
    pub severity: String,
    /// Media from the domain is not stored.
    pub reject_media: bool,
    /// Reports (`Flag`s) from the domain are refused.
    pub reject_reports: bool,
    /// Moderators' note.
    pub private_comment: String,
    /// Shown publicly.
    pub public_comment: String,
    /// Shown partly hidden in public lists.
    pub obfuscate: bool,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// A domain block to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainBlockWrite {
    /// `silence`, `suspend` or `noop` (checked by the caller).
    pub severity: String,
    /// See [`DomainBlockRecord`].
    pub reject_media: bool,
    /// See [`DomainBlockRecord`].
    pub reject_reports: bool,
    /// See [`DomainBlockRecord`].
    pub private_comment: String,
    /// See [`DomainBlockRecord`].
    pub public_comment: String,
    /// See [`DomainBlockRecord`].
    pub obfuscate: bool,
}

/// Which accounts the admin API lists (Mastodon's v1 and v2 filters, as facts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminAccountFilter {
    /// `Some(true)`: local only; `Some(false)`: remote only.
    pub local: Option<bool>,
    /// Remote accounts of this domain.
    pub domain: Option<String>,
    /// `active`, `pending`, `disabled`, `silenced`, `suspended`, `sensitized`.
    pub status: Option<String>,
    /// Username contains (case-insensitive).
    pub username: Option<String>,
    /// Email contains (case-insensitive).
    pub email: Option<String>,
    /// Staff only (`moderator`/`admin` roles).
    pub staff: bool,
    /// Ids below this.
    pub max_id: Option<i64>,
    /// Ids above this.
    pub since_id: Option<i64>,
    /// How many.
    pub limit: i64,
}

/// Writes a mod-log line inside the caller's transaction.
pub(crate) async fn log_in(
    tx: &mut Transaction<'static, Any>,
    id: Id,
    moderator: Id,
    action: &str,
    target_kind: &str,
    target_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mod_log (id, moderator_account_id, action, target_kind, target_id, reason, public, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7)",
    )
    .bind(id.as_i64())
    .bind(moderator.as_i64())
    .bind(action)
    .bind(target_kind)
    .bind(target_id)
    .bind(reason)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a community moderator's mod-log line says.
pub(crate) struct CommunityLogLine<'a> {
    pub moderator: Id,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: String,
    pub reason: &'a str,
}

/// Writes a community moderator's mod-log line inside the caller's transaction. It is public
/// only when the community's content is (`public` and `unlisted` communities): entries of
/// members-only and local communities stay private.
pub(crate) async fn log_community_in(
    tx: &mut Transaction<'static, Any>,
    id: Id,
    community: Id,
    line: CommunityLogLine<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mod_log (id, moderator_account_id, action, target_kind, target_id, reason, \
         public, community_id, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, c.visibility IN ('public', 'unlisted'), c.id, $7 \
         FROM communities c WHERE c.id = $8",
    )
    .bind(id.as_i64())
    .bind(line.moderator.as_i64())
    .bind(line.action)
    .bind(line.target_kind)
    .bind(line.target_id)
    .bind(line.reason)
    .bind(now_ms())
    .bind(community.as_i64())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn domain_block_from_row(row: &AnyRow) -> Result<DomainBlockRecord, StoreError> {
    let domain: String = row.try_get("domain")?;
    Ok(DomainBlockRecord {
        domain: Domain::parse(&domain).map_err(|e| StoreError::Corrupt {
            column: "domain_policies.domain",
            detail: e.to_string(),
        })?,
        severity: row.try_get("severity")?,
        reject_media: flag(row, "reject_media")?,
        reject_reports: flag(row, "reject_reports")?,
        private_comment: row.try_get("private_comment")?,
        public_comment: row.try_get("public_comment")?,
        obfuscate: flag(row, "obfuscate")?,
        created_at: row.try_get("created_at")?,
    })
}

const DOMAIN_COLUMNS: &str = "domain, severity, reject_media, reject_reports, private_comment, public_comment, obfuscate, created_at";

impl Store {
    /// Applies one account action, resolves the report it answers and writes the mod log,
    /// in one transaction. Suspending or disabling an account also revokes its tokens.
    pub async fn moderate_account(&self, m: &AccountModeration) -> Result<(), StoreError> {
        self.moderate_account_with_strike(m, None).await.map(|_| ())
    }

    /// [`Store::moderate_account`], recording `strike` (and deleting the posts it names when
    /// asked) in the same transaction, with the notification that tells the account's owner.
    /// Returns the strike's id.
    pub async fn moderate_account_with_strike(
        &self,
        m: &AccountModeration,
        strike: Option<&crate::strikes::NewStrike>,
    ) -> Result<Option<Id>, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id = $1")
            .bind(m.target.as_i64())
            .fetch_one(&mut *tx)
            .await?;
        if exists == 0 {
            return Err(StoreError::NotFound("account"));
        }
        if let Some((state, on)) = m.change {
            sqlx::query(state.column_update())
                .bind(on.then_some(now))
                .bind(now)
                .bind(m.target.as_i64())
                .execute(&mut *tx)
                .await?;
            if on && matches!(state, AccountState::Suspended | AccountState::Disabled) {
                sqlx::query(
                    "UPDATE oauth_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(m.target.as_i64())
                .execute(&mut *tx)
                .await?;
            }
        }
        match m.approval {
            Some(true) => {
                sqlx::query("UPDATE accounts SET approved = TRUE, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(m.target.as_i64())
                    .execute(&mut *tx)
                    .await?;
            }
            Some(false) => {
                // A rejected sign-up stays out: it is suspended, and its address stays taken so
                // the same person cannot sign up again unreviewed.
                sqlx::query("UPDATE accounts SET suspended_at = $1, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(m.target.as_i64())
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        if let Some(report) = m.resolves_report {
            crate::reports::resolve_in(
                self,
                &mut tx,
                report,
                m.moderator,
                m.resolution_note.as_deref(),
            )
            .await?;
        }
        let strike_id = match strike {
            Some(strike) => Some(
                crate::strikes::create_strike_in(
                    self,
                    &mut tx,
                    m.moderator,
                    m.target,
                    m.resolves_report,
                    strike,
                )
                .await?,
            ),
            None => None,
        };
        log_in(
            &mut tx,
            self.next_id(),
            m.moderator,
            &m.log_action,
            "account",
            &m.target.to_string(),
            &m.reason,
        )
        .await?;
        tx.commit().await?;
        Ok(strike_id)
    }

    /// An account's moderation states.
    pub async fn moderation_state(&self, account: Id) -> Result<ModerationState, StoreError> {
        let row = sqlx::query(
            "SELECT suspended_at, silenced_at, disabled_at, sensitized_at, approved, purged_at \
             FROM accounts WHERE id = $1",
        )
        .bind(account.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("account"))?;
        Ok(ModerationState {
            suspended_at: row.try_get("suspended_at")?,
            silenced_at: row.try_get("silenced_at")?,
            disabled_at: row.try_get("disabled_at")?,
            sensitized_at: row.try_get("sensitized_at")?,
            approved: flag(&row, "approved")?,
            purged_at: row.try_get("purged_at")?,
        })
    }

    /// Whether an account's sign-in is disabled by a moderator.
    pub async fn login_disabled(&self, account: Id) -> Result<bool, StoreError> {
        Ok(self.moderation_state(account).await?.disabled_at.is_some())
    }

    /// Accounts for the admin API, newest first.
    pub async fn admin_account_ids(
        &self,
        filter: &AdminAccountFilter,
    ) -> Result<Vec<Id>, StoreError> {
        let locality = match filter.local {
            None => 0_i64,
            Some(true) => 1,
            Some(false) => 2,
        };
        let status = filter.status.clone().unwrap_or_default();
        let rows = sqlx::query(
            "SELECT id FROM accounts WHERE id < $1 AND id > $2 \
             AND ($3 = 0 OR ($3 = 1 AND domain IS NULL) OR ($3 = 2 AND domain IS NOT NULL)) \
             AND ($4 = '' OR domain = $4) \
             AND ($5 = '' \
               OR ($5 = 'active' AND suspended_at IS NULL AND disabled_at IS NULL AND approved = TRUE) \
               OR ($5 = 'pending' AND approved = FALSE AND suspended_at IS NULL) \
               OR ($5 = 'disabled' AND disabled_at IS NOT NULL) \
               OR ($5 = 'silenced' AND silenced_at IS NOT NULL) \
               OR ($5 = 'suspended' AND suspended_at IS NOT NULL) \
               OR ($5 = 'sensitized' AND sensitized_at IS NOT NULL)) \
             AND ($6 = '' OR username_lower LIKE $6 ESCAPE '\\') \
             AND ($7 = '' OR LOWER(email) LIKE $7 ESCAPE '\\') \
             AND ($8 = 0 OR role IN ('admin', 'moderator')) \
             AND is_group = FALSE \
             ORDER BY id DESC LIMIT $9",
        )
        .bind(filter.max_id.unwrap_or(i64::MAX))
        .bind(filter.since_id.unwrap_or(0))
        .bind(locality)
        .bind(filter.domain.clone().unwrap_or_default())
        .bind(status)
        .bind(like_pattern(filter.username.as_deref()))
        .bind(like_pattern(filter.email.as_deref()))
        .bind(i64::from(filter.staff))
        .bind(filter.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "id")).collect()
    }

    /// Creates or replaces a domain block, with its mod-log line. A suspension drops the
    /// deliveries queued to the domain in the same transaction.
    pub async fn put_domain_block(
        &self,
        moderator: Id,
        domain: &Domain,
        block: &DomainBlockWrite,
        action: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        crate::blocklists::put_domain_block_in(&mut tx, domain, block, None).await?;
        log_in(
            &mut tx,
            self.next_id(),
            moderator,
            action,
            "domain",
            domain.as_str(),
            &block.private_comment,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a domain to the allowlist, with its mod-log line. Refused (conflict) when the
    /// domain is blocked: a domain is one or the other.
    pub async fn put_domain_allow(&self, moderator: Id, domain: &Domain) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let blocked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM domain_policies WHERE domain = $1 AND policy = 'block'",
        )
        .bind(domain.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if blocked > 0 {
            return Err(StoreError::Conflict("a block of this domain"));
        }
        sqlx::query(
            "INSERT INTO domain_policies (domain, policy, severity, created_at) VALUES ($1, 'allow', 'none', $2) \
             ON CONFLICT (domain) DO NOTHING",
        )
        .bind(domain.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        log_in(
            &mut tx,
            self.next_id(),
            moderator,
            "allow_domain",
            "domain",
            domain.as_str(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a domain's block (`policy = "block"`) or allow (`"allow"`), with its mod-log
    /// line. Not found when the domain has no such policy.
    pub async fn remove_domain_policy(
        &self,
        moderator: Id,
        domain: &Domain,
        policy: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let removed = sqlx::query("DELETE FROM domain_policies WHERE domain = $1 AND policy = $2")
            .bind(domain.as_str())
            .bind(policy)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Err(StoreError::NotFound("domain policy"));
        }
        let action = if policy == "allow" {
            "unallow_domain"
        } else {
            "unblock_domain"
        };
        log_in(
            &mut tx,
            self.next_id(),
            moderator,
            action,
            "domain",
            domain.as_str(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Domain blocks (`policy = "block"`) or allows (`"allow"`), alphabetical.
    pub async fn domain_policies(
        &self,
        policy: &str,
    ) -> Result<Vec<DomainBlockRecord>, StoreError> {
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS} FROM domain_policies WHERE policy = $1 ORDER BY domain"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(policy)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(domain_block_from_row).collect()
    }

    /// One domain's block or allow.
    pub async fn domain_policy(
        &self,
        domain: &Domain,
        policy: &str,
    ) -> Result<DomainBlockRecord, StoreError> {
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS} FROM domain_policies WHERE domain = $1 AND policy = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(domain.as_str())
            .bind(policy)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("domain policy"))?;
        domain_block_from_row(&row)
    }

    /// Whether media from `domain` is refused (a block with `reject_media`, or a
    /// suspension): its posts' attachments are kept as plain links, never fetched, stored
    /// as files or shown inline.
    pub async fn domain_rejects_media(&self, domain: &Domain) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT severity, reject_media FROM domain_policies WHERE domain = $1 AND policy = 'block'",
        )
        .bind(domain.as_str())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let severity: String = row.try_get("severity")?;
        Ok(severity == "suspend" || flag(&row, "reject_media")?)
    }

    /// Whether reports from `domain` are refused (a `reject_reports` flag or a suspension).
    pub async fn domain_rejects_reports(&self, domain: &Domain) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT severity, reject_reports FROM domain_policies WHERE domain = $1 AND policy = 'block'",
        )
        .bind(domain.as_str())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let severity: String = row.try_get("severity")?;
        Ok(severity == "suspend" || flag(&row, "reject_reports")?)
    }

    /// The newest mod-log lines.
    pub async fn mod_log(&self, limit: i64) -> Result<Vec<ModLogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, moderator_account_id, action, target_kind, target_id, reason, community_id, \
             created_at FROM mod_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        mod_log_entries(&rows)
    }

    /// The public mod log, newest first, below `max_id`: every entry but those of
    /// members-only and local communities.
    pub async fn public_mod_log(
        &self,
        max_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ModLogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, moderator_account_id, action, target_kind, target_id, reason, community_id, \
             created_at FROM mod_log WHERE public = TRUE AND id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(max_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        mod_log_entries(&rows)
    }
}

fn mod_log_entries(rows: &[AnyRow]) -> Result<Vec<ModLogEntry>, StoreError> {
    {
        rows.iter()
            .map(|row| {
                let moderator: Option<i64> = row.try_get("moderator_account_id")?;
                Ok(ModLogEntry {
                    id: id(row, "id")?,
                    moderator: moderator
                        .map(|m| id_from(m, "moderator_account_id"))
                        .transpose()?,
                    action: row.try_get("action")?,
                    target_kind: row.try_get("target_kind")?,
                    target_id: row.try_get("target_id")?,
                    reason: row.try_get("reason")?,
                    community: row
                        .try_get::<Option<i64>, _>("community_id")?
                        .map(|c| id_from(c, "community_id"))
                        .transpose()?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// `%needle%` for `LIKE ... ESCAPE '\\'`, lowercased, with LIKE's wildcards in the needle
/// escaped so they match literally; empty for no filter.
fn like_pattern(needle: Option<&str>) -> String {
    match needle.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => {
            let mut escaped = String::with_capacity(n.len() + 2);
            escaped.push('%');
            for c in n.to_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            escaped.push('%');
            escaped
        }
        None => String::new(),
    }
}
