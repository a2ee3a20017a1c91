//! Strikes (Mastodon's AccountWarning) and their appeals, and the purge of local accounts
//! suspended for longer than the grace period.
//!
//! A strike is written in the same transaction as the moderator action it records (see
//! [`Store::moderate_account_with_strike`]), with the `moderation_warning` notification that
//! tells the account's owner. An appeal is decided once; approving it overrules the strike
//! and lifts the state the action set, in one transaction with the owner's notification and
//! the mod-log line.

use cohort_model::Id;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::row::{id, id_from};
use crate::{Store, StoreError, now_ms};

/// How long a suspended local account stays restorable before it is purged: 30 days.
pub const SUSPENSION_GRACE_MS: i64 = 30 * 24 * 3_600_000;

/// The strike to record with a moderator action on a local account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewStrike {
    /// The action's name (`none`, `sensitive`, `disable`, `silence`, `suspend`,
    /// `delete_statuses`).
    pub action: String,
    /// What the moderator tells the account's owner.
    pub text: String,
    /// The posts concerned.
    pub status_ids: Vec<Id>,
    /// Delete those posts (the target's own, not deleted yet) in the same transaction.
    pub delete_statuses: bool,
}

/// A strike as stored, with its appeal if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrikeRecord {
    /// Id.
    pub id: Id,
    /// The account it was given to.
    pub account: Id,
    /// The moderator (kept from the owner: the API never shows it to them).
    pub moderator: Option<Id>,
    /// The action's name.
    pub action: String,
    /// The moderator's words to the owner.
    pub text: String,
    /// The posts concerned.
    pub status_ids: Vec<Id>,
    /// The report the action answered.
    pub report: Option<Id>,
    /// Set when an appeal was approved.
    pub overruled_at: Option<i64>,
    /// When, Unix ms.
    pub created_at: i64,
    /// The appeal, if one was made.
    pub appeal: Option<AppealRecord>,
}

/// An appeal of a strike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppealRecord {
    /// Id.
    pub id: Id,
    /// The strike appealed.
    pub strike: Id,
    /// Who appealed (the strike's account).
    pub account: Id,
    /// Why they disagree.
    pub text: String,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<Id>,
    /// When decided, Unix ms.
    pub decided_at: Option<i64>,
    /// When made, Unix ms.
    pub created_at: i64,
}

const STRIKE_COLUMNS: &str = "s.id, s.account_id, s.moderator_account_id, s.action, s.text, \
     s.status_ids, s.report_id, s.overruled_at, s.created_at, a.id AS appeal_id, a.text AS appeal_text, \
     a.state AS appeal_state, a.decided_by_account_id, a.decided_at, a.created_at AS appeal_created_at";

const APPEAL_COLUMNS: &str =
    "id, strike_id, account_id, text, state, decided_by_account_id, decided_at, created_at";

fn optional_id(row: &AnyRow, column: &'static str) -> Result<Option<Id>, StoreError> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|raw| id_from(raw, column))
        .transpose()
}

fn strike_from_row(row: &AnyRow) -> Result<StrikeRecord, StoreError> {
    let status_ids: String = row.try_get("status_ids")?;
    let strike = id(row, "id")?;
    let account = id(row, "account_id")?;
    let appeal = match optional_id(row, "appeal_id")? {
        Some(appeal) => Some(AppealRecord {
            id: appeal,
            strike,
            account,
            text: row.try_get("appeal_text")?,
            state: row.try_get("appeal_state")?,
            decided_by: optional_id(row, "decided_by_account_id")?,
            decided_at: row.try_get("decided_at")?,
            created_at: row.try_get("appeal_created_at")?,
        }),
        None => None,
    };
    Ok(StrikeRecord {
        id: strike,
        account,
        moderator: optional_id(row, "moderator_account_id")?,
        action: row.try_get("action")?,
        text: row.try_get("text")?,
        status_ids: status_ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|e| StoreError::Corrupt {
                        column: "account_strikes.status_ids",
                        detail: e.to_string(),
                    })
                    .and_then(|raw| id_from(raw, "account_strikes.status_ids"))
            })
            .collect::<Result<_, _>>()?,
        report: optional_id(row, "report_id")?,
        overruled_at: row.try_get("overruled_at")?,
        created_at: row.try_get("created_at")?,
        appeal,
    })
}

fn appeal_from_row(row: &AnyRow) -> Result<AppealRecord, StoreError> {
    Ok(AppealRecord {
        id: id(row, "id")?,
        strike: id(row, "strike_id")?,
        account: id(row, "account_id")?,
        text: row.try_get("text")?,
        state: row.try_get("state")?,
        decided_by: optional_id(row, "decided_by_account_id")?,
        decided_at: row.try_get("decided_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Tells the strike's account about it (a new strike, or the decision on its appeal): a
/// `moderation_warning` notification naming the strike. It comes "from" the account itself,
/// so the moderator stays unnamed to the person they acted on.
async fn notify_strike_in(
    tx: &mut Transaction<'static, Any>,
    notification: Id,
    account: Id,
    strike: Id,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, report_id, \
         strike_id, created_at) VALUES ($1, $2, $2, 'moderation_warning', NULL, NULL, $3, $4)",
    )
    .bind(notification.as_i64())
    .bind(account.as_i64())
    .bind(strike.as_i64())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a strike, deletes the posts it names when asked to, and notifies the account,
/// inside the caller's transaction. Returns the strike's id.
pub(crate) async fn create_strike_in(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    moderator: Id,
    target: Id,
    report: Option<Id>,
    strike: &NewStrike,
) -> Result<Id, StoreError> {
    let mut named = Vec::with_capacity(strike.status_ids.len());
    for status in &strike.status_ids {
        // Only the target's own posts: a report may name posts of others in a thread.
        let row = sqlx::query("SELECT deleted_at FROM statuses WHERE id = $1 AND account_id = $2")
            .bind(status.as_i64())
            .bind(target.as_i64())
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = row else { continue };
        named.push(*status);
        let deleted: Option<i64> = row.try_get("deleted_at")?;
        if strike.delete_statuses && deleted.is_none() {
            store.mark_status_deleted_in(tx, *status).await?;
        }
    }
    let strike_id = store.next_id();
    let status_ids = named
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(
        "INSERT INTO account_strikes (id, account_id, moderator_account_id, action, text, status_ids, \
         report_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(strike_id.as_i64())
    .bind(target.as_i64())
    .bind(moderator.as_i64())
    .bind(&strike.action)
    .bind(&strike.text)
    .bind(status_ids)
    .bind(report.map(Id::as_i64))
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    notify_strike_in(tx, store.next_id(), target, strike_id).await?;
    Ok(strike_id)
}

/// The account column an action set, which approving an appeal of it clears.
fn lifted_by_appeal(action: &str) -> Option<&'static str> {
    match action {
        "suspend" => Some(
            "UPDATE accounts SET suspended_at = NULL, updated_at = $1 WHERE id = $2 AND purged_at IS NULL",
        ),
        "silence" => Some("UPDATE accounts SET silenced_at = NULL, updated_at = $1 WHERE id = $2"),
        "disable" => Some("UPDATE accounts SET disabled_at = NULL, updated_at = $1 WHERE id = $2"),
        "sensitive" => {
            Some("UPDATE accounts SET sensitized_at = NULL, updated_at = $1 WHERE id = $2")
        }
        _ => None,
    }
}

impl Store {
    /// The account's strikes, newest first, each with its appeal.
    pub async fn strikes_of(&self, account: Id) -> Result<Vec<StrikeRecord>, StoreError> {
        let sql = format!(
            "SELECT {STRIKE_COLUMNS} FROM account_strikes s LEFT JOIN strike_appeals a ON a.strike_id = s.id \
             WHERE s.account_id = $1 ORDER BY s.id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.as_i64())
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(strike_from_row).collect()
    }

    /// One strike, with its appeal.
    pub async fn strike(&self, strike: Id) -> Result<StrikeRecord, StoreError> {
        let sql = format!(
            "SELECT {STRIKE_COLUMNS} FROM account_strikes s LEFT JOIN strike_appeals a ON a.strike_id = s.id \
             WHERE s.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(strike.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("strike"))?;
        strike_from_row(&row)
    }

    /// Appeals one of `account`'s strikes. `NotFound` if the strike is not theirs;
    /// `Conflict` if it was appealed already (one appeal per strike).
    pub async fn appeal_strike(
        &self,
        account: Id,
        strike: Id,
        text: &str,
    ) -> Result<AppealRecord, StoreError> {
        let mut tx = self.writer().begin().await?;
        let owned: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM account_strikes WHERE id = $1 AND account_id = $2",
        )
        .bind(strike.as_i64())
        .bind(account.as_i64())
        .fetch_one(&mut *tx)
        .await?;
        if owned == 0 {
            return Err(StoreError::NotFound("strike"));
        }
        let appealed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM strike_appeals WHERE strike_id = $1")
                .bind(strike.as_i64())
                .fetch_one(&mut *tx)
                .await?;
        if appealed > 0 {
            return Err(StoreError::Conflict("an appeal of this strike"));
        }
        let appeal = self.next_id();
        sqlx::query(
            "INSERT INTO strike_appeals (id, strike_id, account_id, text, state, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)",
        )
        .bind(appeal.as_i64())
        .bind(strike.as_i64())
        .bind(account.as_i64())
        .bind(text)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.appeal(appeal).await
    }

    /// One appeal.
    pub async fn appeal(&self, appeal: Id) -> Result<AppealRecord, StoreError> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM strike_appeals WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(appeal.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("appeal"))?;
        appeal_from_row(&row)
    }

    /// Appeals in one state (`pending`, `approved`, `rejected`; `None`: all), oldest first
    /// (the queue order).
    pub async fn appeals(
        &self,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AppealRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPEAL_COLUMNS} FROM strike_appeals WHERE ($1 = '' OR state = $1) ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state.unwrap_or_default())
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(appeal_from_row).collect()
    }

    /// Decides a pending appeal. Approving overrules the strike and lifts the state its
    /// action set (a suspension only while the account is not purged; deleted posts stay
    /// deleted). The owner is notified and the mod log records it, in one transaction.
    /// `NotFound` for an unknown appeal, `Conflict` for one decided already.
    pub async fn decide_appeal(
        &self,
        appeal: Id,
        moderator: Id,
        approve: bool,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "SELECT a.state, a.strike_id, s.account_id, s.action FROM strike_appeals a \
             JOIN account_strikes s ON s.id = a.strike_id WHERE a.id = $1",
        )
        .bind(appeal.as_i64())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("appeal"))?;
        let state: String = row.try_get("state")?;
        if state != "pending" {
            return Err(StoreError::Conflict("a decision on this appeal"));
        }
        let strike = id(&row, "strike_id")?;
        let account = id(&row, "account_id")?;
        let action: String = row.try_get("action")?;
        sqlx::query(
            "UPDATE strike_appeals SET state = $1, decided_by_account_id = $2, decided_at = $3 WHERE id = $4",
        )
        .bind(if approve { "approved" } else { "rejected" })
        .bind(moderator.as_i64())
        .bind(now)
        .bind(appeal.as_i64())
        .execute(&mut *tx)
        .await?;
        if approve {
            sqlx::query("UPDATE account_strikes SET overruled_at = $1 WHERE id = $2")
                .bind(now)
                .bind(strike.as_i64())
                .execute(&mut *tx)
                .await?;
            if let Some(update) = lifted_by_appeal(&action) {
                sqlx::query(update)
                    .bind(now)
                    .bind(account.as_i64())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        notify_strike_in(&mut tx, self.next_id(), account, strike).await?;
        crate::moderation::log_in(
            &mut tx,
            self.next_id(),
            moderator,
            if approve {
                "approve_appeal"
            } else {
                "reject_appeal"
            },
            "account",
            &account.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Purges the local accounts suspended at or before `now - SUSPENSION_GRACE_MS` and not
    /// purged yet: their posts are deleted (each `Delete` recorded for delivery), their
    /// profile emptied and their password removed, and the actor's own `Delete` is recorded
    /// for delivery (all in one transaction per account); the address stays taken, so the same
    /// person cannot sign up again unreviewed. Returns the purged accounts. `now` is a
    /// parameter so that the serve loop passes the clock and tests pass a day of their choice.
    pub async fn purge_suspended_accounts(&self, now: i64) -> Result<Vec<Id>, StoreError> {
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM accounts WHERE domain IS NULL AND suspended_at IS NOT NULL \
             AND suspended_at <= $1 AND purged_at IS NULL ORDER BY id",
        )
        .bind(now.saturating_sub(SUSPENSION_GRACE_MS))
        .fetch_all(self.reader())
        .await?;
        let mut purged = Vec::with_capacity(due.len());
        for raw in due {
            let account = id_from(raw, "accounts.id")?;
            let mut tx = self.writer().begin().await?;
            // Checked again inside the transaction: an unsuspension since the listing wins.
            let still: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM accounts WHERE id = $1 AND suspended_at IS NOT NULL \
                 AND suspended_at <= $2 AND purged_at IS NULL",
            )
            .bind(raw)
            .bind(now.saturating_sub(SUSPENSION_GRACE_MS))
            .fetch_one(&mut *tx)
            .await?;
            if still == 0 {
                continue;
            }
            let statuses: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM statuses WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id",
            )
            .bind(raw)
            .fetch_all(&mut *tx)
            .await?;
            for status in statuses {
                self.mark_status_deleted_in(&mut tx, id_from(status, "statuses.id")?)
                    .await?;
            }
            sqlx::query(
                "UPDATE accounts SET display_name = '', note = '', fields_json = '[]', avatar_url = NULL, \
                 header_url = NULL, password_hash = NULL, purged_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(raw)
            .execute(&mut *tx)
            .await?;
            // The actor's own `Delete`, after its posts' (the queue keeps their order), to
            // every instance that follows it or received its posts. Its key stays, so the
            // activity is signed as the account like any other.
            crate::outbox::enqueue_in(
                &mut tx,
                self.next_id(),
                &crate::outbox::NewOutboxEvent {
                    kind: crate::outbox::OutboxKind::DeleteActor,
                    actor: account,
                    status: None,
                    target_account: None,
                },
            )
            .await?;
            sqlx::query(
                "INSERT INTO mod_log (id, moderator_account_id, action, target_kind, target_id, reason, \
                 public, created_at) VALUES ($1, NULL, 'purge', 'account', $2, $3, FALSE, $4)",
            )
            .bind(self.next_id().as_i64())
            .bind(account.to_string())
            .bind("suspended for 30 days")
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            purged.push(account);
        }
        Ok(purged)
    }
}
