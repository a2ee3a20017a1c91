//! What an account keeps for itself: pinned statuses, mutes, read markers. None of these
//! change an audience; they only shape what the account's own views show.

use std::collections::HashSet;

use cohort_model::Id;
use sqlx::Row;

use crate::row::{id, id_from};
use crate::{Store, StoreError, now_ms};

/// A read marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// `home` or `notifications`.
    pub timeline: String,
    /// The last id read.
    pub last_read_id: String,
    /// Incremented on every save.
    pub version: i64,
    /// Saved, Unix ms.
    pub updated_at: i64,
}

impl Store {
    /// Pins a status to its author's profile; `false` if it already was.
    pub async fn pin(&self, account: Id, status: Id) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO status_pins (account_id, status_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, status_id) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(status.as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Unpins a status.
    pub async fn unpin(&self, account: Id, status: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM status_pins WHERE account_id = $1 AND status_id = $2")
            .bind(account.as_i64())
            .bind(status.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// How many statuses an account has pinned.
    pub async fn pin_count(&self, account: Id) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM status_pins WHERE account_id = $1")
                .bind(account.as_i64())
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// An account's pinned statuses, newest pin first.
    pub async fn pinned_status_ids(&self, account: Id) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT status_id FROM status_pins WHERE account_id = $1 ORDER BY created_at DESC",
        )
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|r| id_from(r, "status_id")).collect()
    }

    /// Mutes an account (optionally its notifications too).
    pub async fn mute(
        &self,
        account: Id,
        target: Id,
        notifications: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mutes (id, account_id, target_account_id, notifications, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (account_id, target_account_id) DO UPDATE SET notifications = excluded.notifications",
        )
        .bind(self.next_id().as_i64())
        .bind(account.as_i64())
        .bind(target.as_i64())
        .bind(notifications)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.publish(crate::StreamEvent::viewer_changed(account))
            .await;
        Ok(())
    }

    /// Unmutes an account.
    pub async fn unmute(&self, account: Id, target: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mutes WHERE account_id = $1 AND target_account_id = $2")
            .bind(account.as_i64())
            .bind(target.as_i64())
            .execute(self.writer())
            .await?;
        self.publish(crate::StreamEvent::viewer_changed(account))
            .await;
        Ok(())
    }

    /// The accounts `account` mutes, and those whose notifications it mutes too.
    pub async fn muted_accounts(
        &self,
        account: Id,
    ) -> Result<(HashSet<Id>, HashSet<Id>), StoreError> {
        let rows =
            sqlx::query("SELECT target_account_id, notifications FROM mutes WHERE account_id = $1")
                .bind(account.as_i64())
                .fetch_all(self.reader())
                .await?;
        let mut muted = HashSet::new();
        let mut silenced = HashSet::new();
        for row in rows {
            let target = id(&row, "target_account_id")?;
            muted.insert(target);
            if crate::row::flag(&row, "notifications")? {
                silenced.insert(target);
            }
        }
        Ok((muted, silenced))
    }

    /// The accounts `account` mutes, a page at a time (by account id, newest first).
    pub async fn muted_account_ids(
        &self,
        account: Id,
        page: crate::Page,
    ) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT target_account_id FROM mutes WHERE account_id = $1 \
             AND target_account_id < $2 AND target_account_id > $3 \
             ORDER BY target_account_id DESC LIMIT $4",
        )
        .bind(account.as_i64())
        .bind(page.max_id.unwrap_or(i64::MAX))
        .bind(page.min_id.or(page.since_id).unwrap_or(0))
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "target_account_id")).collect()
    }

    /// The accounts `account` blocks, a page at a time (by account id, newest first).
    pub async fn blocked_account_ids(
        &self,
        account: Id,
        page: crate::Page,
    ) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT target_account_id FROM blocks WHERE account_id = $1 \
             AND target_account_id < $2 AND target_account_id > $3 \
             ORDER BY target_account_id DESC LIMIT $4",
        )
        .bind(account.as_i64())
        .bind(page.max_id.unwrap_or(i64::MAX))
        .bind(page.min_id.or(page.since_id).unwrap_or(0))
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "target_account_id")).collect()
    }

    /// Saves a read marker, bumping its version.
    pub async fn save_marker(
        &self,
        account: Id,
        timeline: &str,
        last_read_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (account_id, timeline) DO UPDATE SET last_read_id = excluded.last_read_id, \
             version = markers.version + 1, updated_at = excluded.updated_at",
        )
        .bind(account.as_i64())
        .bind(timeline)
        .bind(last_read_id)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// An account's read markers.
    pub async fn markers(&self, account: Id) -> Result<Vec<Marker>, StoreError> {
        let rows = sqlx::query(
            "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE account_id = $1 ORDER BY timeline",
        )
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Marker {
                    timeline: r.try_get("timeline")?,
                    last_read_id: r.try_get("last_read_id")?,
                    version: r.try_get("version")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}
