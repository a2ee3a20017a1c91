//! Scheduled statuses: the parameters of a create request, kept until they are due.
//!
//! Nothing about the post is decided when it is scheduled: at publication the parameters go
//! through the normal create path, so mentions, the audience rules and the PHI guard apply
//! to the world as it is then. Every query takes the owner's id: another account's scheduled
//! status is "not found".

use cohort_model::Id;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::row::id;
use crate::timelines::{Page, ordered_ids};
use crate::{Store, StoreError, now_ms};

/// How many statuses one account may have scheduled at once (Mastodon's limit).
pub const MAX_SCHEDULED_STATUSES: i64 = 300;

/// A stored scheduled status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledStatusRecord {
    /// Its id (not the id of the status it will become).
    pub id: Id,
    /// The author.
    pub account: Id,
    /// When to publish, Unix ms.
    pub scheduled_at: i64,
    /// The create request's parameters, as a JSON object.
    pub params_json: String,
}

fn record(row: &AnyRow) -> Result<ScheduledStatusRecord, StoreError> {
    Ok(ScheduledStatusRecord {
        id: id(row, "id")?,
        account: id(row, "account_id")?,
        scheduled_at: row.try_get("scheduled_at")?,
        params_json: row.try_get("params_json")?,
    })
}

impl Store {
    /// Schedules a status; `Conflict` when the account already has the maximum.
    pub async fn create_scheduled_status(
        &self,
        account: Id,
        scheduled_at: i64,
        params_json: &str,
    ) -> Result<ScheduledStatusRecord, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM scheduled_statuses WHERE account_id = $1")
                .bind(account.as_i64())
                .fetch_one(self.reader())
                .await?;
        if count >= MAX_SCHEDULED_STATUSES {
            return Err(StoreError::Conflict("the maximum of scheduled statuses"));
        }
        let scheduled = self.next_id();
        sqlx::query(
            "INSERT INTO scheduled_statuses (id, account_id, scheduled_at, params_json, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(scheduled.as_i64())
        .bind(account.as_i64())
        .bind(scheduled_at)
        .bind(params_json)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(ScheduledStatusRecord {
            id: scheduled,
            account,
            scheduled_at,
            params_json: params_json.to_owned(),
        })
    }

    /// An account's scheduled statuses, newest first by id.
    pub async fn scheduled_statuses_of(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<ScheduledStatusRecord>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let sql = if ascending {
            "SELECT id FROM scheduled_statuses WHERE account_id = $1 AND id < $2 AND id > $3 ORDER BY id ASC LIMIT $4"
        } else {
            "SELECT id FROM scheduled_statuses WHERE account_id = $1 AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4"
        };
        let rows = sqlx::query(sql)
            .bind(account.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        let mut out = Vec::new();
        for scheduled in ordered_ids(&rows, ascending)? {
            out.push(self.scheduled_status(account, scheduled).await?);
        }
        Ok(out)
    }

    /// One of an account's scheduled statuses.
    pub async fn scheduled_status(
        &self,
        account: Id,
        scheduled: Id,
    ) -> Result<ScheduledStatusRecord, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, scheduled_at, params_json FROM scheduled_statuses \
             WHERE id = $1 AND account_id = $2",
        )
        .bind(scheduled.as_i64())
        .bind(account.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("scheduled status"))?;
        record(&row)
    }

    /// Moves a scheduled status to another time.
    pub async fn reschedule_status(
        &self,
        account: Id,
        scheduled: Id,
        scheduled_at: i64,
    ) -> Result<ScheduledStatusRecord, StoreError> {
        let done = sqlx::query(
            "UPDATE scheduled_statuses SET scheduled_at = $1 WHERE id = $2 AND account_id = $3",
        )
        .bind(scheduled_at)
        .bind(scheduled.as_i64())
        .bind(account.as_i64())
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("scheduled status"));
        }
        self.scheduled_status(account, scheduled).await
    }

    /// Cancels a scheduled status.
    pub async fn delete_scheduled_status(
        &self,
        account: Id,
        scheduled: Id,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM scheduled_statuses WHERE id = $1 AND account_id = $2")
            .bind(scheduled.as_i64())
            .bind(account.as_i64())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("scheduled status"));
        }
        Ok(())
    }

    /// Claims scheduled statuses due at `now` for `lease_ms`: each row is claimed by one
    /// conditional update, so with several processes each is published once. A claim that
    /// is neither finished nor released (a crash) lapses and the row is claimed again.
    pub async fn claim_due_scheduled_statuses(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Vec<ScheduledStatusRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, scheduled_at, params_json FROM scheduled_statuses \
             WHERE scheduled_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1) \
             ORDER BY scheduled_at LIMIT 100",
        )
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        let mut claimed = Vec::new();
        for row in rows {
            let due = record(&row)?;
            let done = sqlx::query(
                "UPDATE scheduled_statuses SET claimed_until = $1 WHERE id = $2 \
                 AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(now + lease_ms)
            .bind(due.id.as_i64())
            .bind(now)
            .execute(self.writer())
            .await?;
            if done.rows_affected() > 0 {
                claimed.push(due);
            }
        }
        Ok(claimed)
    }

    /// Removes a scheduled status once it is published (or once publication failed for
    /// good: a refused post is dropped, as Mastodon does).
    pub async fn finish_scheduled_status(&self, scheduled: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM scheduled_statuses WHERE id = $1")
            .bind(scheduled.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
