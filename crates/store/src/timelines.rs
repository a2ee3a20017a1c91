//! Timeline and listing queries. They return candidate ids newest first; the caller loads
//! the statuses and passes each through the read gate (`cohort_policy::can_see`), so a
//! query that returns too much can never show too much.
//!
//! The home timeline is computed at read time (fan-out on read) from follows, the viewer's
//! own posts and the posts addressed to the viewer. Measured on this kind of machine
//! (shared/notes/client-api.md), that costs p99 about 2 ms on SQLite at a million
//! statuses, well inside the 10 ms budget, and it stays correct by construction when
//! follows, blocks and deletions change, which a precomputed feed must repair.

use cohort_model::Id;

use crate::row::id;
use crate::{Store, StoreError, now_ms};

/// A page request: Mastodon's cursors. `max_id` (older than), `since_id` (newer than, newest
/// first) and `min_id` (newer than, oldest first: for catching up).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Only ids below this.
    pub max_id: Option<i64>,
    /// Only ids above this (newest first).
    pub since_id: Option<i64>,
    /// Only ids above this (the ones just above it).
    pub min_id: Option<i64>,
    /// How many.
    pub limit: i64,
}

impl Page {
    pub(crate) fn bounds(&self) -> (i64, i64, bool) {
        let upper = self.max_id.unwrap_or(i64::MAX);
        let lower = self.min_id.or(self.since_id).unwrap_or(0);
        (upper, lower, self.min_id.is_some())
    }
}

/// Which statuses a public timeline shows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PublicScope {
    /// Local and remote.
    All,
    /// This instance's.
    Local,
    /// Other instances'.
    Remote,
}

impl Store {
    /// Home timeline candidates: the viewer's own posts, posts of accounts they follow,
    /// posts addressed to them and posts with a tag they follow (the read gate decides which
    /// of those the viewer may see). Held and deleted posts never appear. Members of the viewer's
    /// exclusive lists are read in those lists instead (posts addressed to the viewer stay).
    pub async fn home_timeline_ids(&self, viewer: Id, page: Page) -> Result<Vec<Id>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let sql = if ascending { HOME_ASC } else { HOME_DESC };
        let rows = sqlx::query(sql)
            .bind(viewer.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        ordered_ids(&rows, ascending)
    }

    /// Public timeline candidates: top-level and reply posts marked public (or local-only
    /// public, which the read gate shows to local accounts only).
    pub async fn public_timeline_ids(
        &self,
        scope: PublicScope,
        page: Page,
    ) -> Result<Vec<Id>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let sql = match (scope, ascending) {
            (PublicScope::All, false) => public_sql!("", "DESC"),
            (PublicScope::All, true) => public_sql!("", "ASC"),
            (PublicScope::Local, false) => public_sql!("AND local = TRUE", "DESC"),
            (PublicScope::Local, true) => public_sql!("AND local = TRUE", "ASC"),
            (PublicScope::Remote, false) => public_sql!("AND local = FALSE", "DESC"),
            (PublicScope::Remote, true) => public_sql!("AND local = FALSE", "ASC"),
        };
        let rows = sqlx::query(sql)
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        ordered_ids(&rows, ascending)
    }

    /// An account's statuses, newest first (the read gate decides which the viewer sees).
    pub async fn account_status_ids(&self, account: Id, page: Page) -> Result<Vec<Id>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let sql = if ascending {
            "SELECT id FROM statuses WHERE account_id = $1 AND deleted_at IS NULL AND id < $2 AND id > $3 \
             ORDER BY id ASC LIMIT $4"
        } else {
            "SELECT id FROM statuses WHERE account_id = $1 AND deleted_at IS NULL AND id < $2 AND id > $3 \
             ORDER BY id DESC LIMIT $4"
        };
        let rows = sqlx::query(sql)
            .bind(account.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        ordered_ids(&rows, ascending)
    }

    /// Every status of a thread (same root), oldest first, for a context view.
    pub async fn thread_ids(&self, root: Id, limit: i64) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM statuses WHERE (thread_root_id = $1 OR id = $1) AND deleted_at IS NULL \
             AND reblog_of_id IS NULL ORDER BY id ASC LIMIT $2",
        )
        .bind(root.as_i64())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "id")).collect()
    }

    /// The thread root of a status.
    pub async fn thread_root(&self, status: Id) -> Result<Id, StoreError> {
        let root: Option<Option<i64>> =
            sqlx::query_scalar("SELECT thread_root_id FROM statuses WHERE id = $1")
                .bind(status.as_i64())
                .fetch_optional(self.reader())
                .await?;
        match root {
            None => Err(StoreError::NotFound("status")),
            Some(root) => crate::row::id_from(root.unwrap_or(status.as_i64()), "thread_root_id"),
        }
    }

    /// The status an earlier request with the same `Idempotency-Key` created, if any (keys
    /// live for a day).
    pub async fn idempotent_status(
        &self,
        account: Id,
        key: &str,
    ) -> Result<Option<Id>, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT status_id FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND created_at > $3",
        )
        .bind(account.as_i64())
        .bind(key)
        .bind(now_ms() - 86_400_000)
        .fetch_optional(self.reader())
        .await?;
        found
            .map(|s| crate::row::id_from(s, "status_id"))
            .transpose()
    }

    /// Remembers which status a key created.
    pub async fn remember_idempotency_key(
        &self,
        account: Id,
        key: &str,
        status: Id,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, key) DO UPDATE SET status_id = excluded.status_id, created_at = excluded.created_at",
        )
        .bind(account.as_i64())
        .bind(key)
        .bind(status.as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// Statuses the home timeline may show.
const HOME_DESC: &str = "SELECT id FROM statuses WHERE deleted_at IS NULL AND held_at IS NULL \
     AND id < $2 AND id > $3 AND (account_id = $1 \
     OR account_id IN (SELECT target_account_id FROM follows WHERE account_id = $1 AND state = 'accepted' \
        AND target_account_id NOT IN (SELECT la.account_id FROM list_accounts la JOIN lists l ON l.id = la.list_id \
            WHERE l.account_id = $1 AND l.exclusive = TRUE)) \
     OR id IN (SELECT status_id FROM status_mentions WHERE account_id = $1) \
     OR id IN (SELECT st.status_id FROM status_tags st JOIN followed_tags ft ON ft.tag = st.tag \
        WHERE ft.account_id = $1)) \
     ORDER BY id DESC LIMIT $4";
const HOME_ASC: &str = "SELECT id FROM statuses WHERE deleted_at IS NULL AND held_at IS NULL \
     AND id < $2 AND id > $3 AND (account_id = $1 \
     OR account_id IN (SELECT target_account_id FROM follows WHERE account_id = $1 AND state = 'accepted' \
        AND target_account_id NOT IN (SELECT la.account_id FROM list_accounts la JOIN lists l ON l.id = la.list_id \
            WHERE l.account_id = $1 AND l.exclusive = TRUE)) \
     OR id IN (SELECT status_id FROM status_mentions WHERE account_id = $1) \
     OR id IN (SELECT st.status_id FROM status_tags st JOIN followed_tags ft ON ft.tag = st.tag \
        WHERE ft.account_id = $1)) \
     ORDER BY id ASC LIMIT $4";

macro_rules! public_sql {
    ($filter:literal, $order:literal) => {
        concat!(
            "SELECT id FROM statuses WHERE deleted_at IS NULL AND held_at IS NULL AND reblog_of_id IS NULL ",
            "AND visibility IN ('public', 'local') AND id < $1 AND id > $2 ",
            // Limited (silenced) accounts are kept off public timelines (issue 9).
            "AND account_id NOT IN (SELECT id FROM accounts WHERE silenced_at IS NOT NULL) ",
            $filter,
            " ORDER BY id ",
            $order,
            " LIMIT $3"
        )
    };
}
use public_sql;

/// Ids newest first, whatever order the query used.
pub(crate) fn ordered_ids(
    rows: &[sqlx::any::AnyRow],
    ascending: bool,
) -> Result<Vec<Id>, StoreError> {
    let mut ids: Vec<Id> = rows.iter().map(|r| id(r, "id")).collect::<Result<_, _>>()?;
    if ascending {
        ids.reverse();
    }
    Ok(ids)
}
