//! Lists: named groups of followed accounts, each with its own timeline.
//!
//! A membership row points at the owner's follow of the member (`follow_id ... ON DELETE
//! CASCADE`), so unfollowing or blocking an account takes it out of every list of the owner
//! without any code having to remember to. Every query takes the owner's id: another
//! account's list is "not found", never shown.

use std::fmt;
use std::str::FromStr;

use cohort_model::Id;
use sqlx::Row;

use crate::row::{flag, id, parsed};
use crate::timelines::{Page, ordered_ids};
use crate::{Store, StoreError, now_ms};

/// Which replies a list timeline shows (Mastodon's `replies_policy`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum RepliesPolicy {
    /// Replies to any account the owner follows.
    Followed,
    /// Replies to members of the list.
    #[default]
    List,
    /// No replies (except a member's replies to themselves).
    None,
}

impl RepliesPolicy {
    /// Mastodon's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RepliesPolicy::Followed => "followed",
            RepliesPolicy::List => "list",
            RepliesPolicy::None => "none",
        }
    }
}

impl fmt::Display for RepliesPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RepliesPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "followed" => Ok(RepliesPolicy::Followed),
            "list" => Ok(RepliesPolicy::List),
            "none" => Ok(RepliesPolicy::None),
            other => Err(format!("unknown replies_policy {other:?}")),
        }
    }
}

/// A stored list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRecord {
    /// The list's id.
    pub id: Id,
    /// Its owner.
    pub owner: Id,
    /// Its title.
    pub title: String,
    /// Which replies its timeline shows.
    pub replies_policy: RepliesPolicy,
    /// Whether its members' posts leave the owner's home timeline.
    pub exclusive: bool,
}

/// What a list is made of, on creation or update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFields {
    /// The title (checked non-empty by the caller).
    pub title: String,
    /// Which replies its timeline shows.
    pub replies_policy: RepliesPolicy,
    /// Whether its members' posts leave the home timeline.
    pub exclusive: bool,
}

/// Why a member could not be added.
#[derive(Debug, thiserror::Error)]
pub enum ListMemberError {
    /// Only accounts the owner follows (an accepted follow) can be list members.
    #[error("you must follow this account to add it to a list")]
    NotFollowed(Id),
    /// Any storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list_from_row(row: &sqlx::any::AnyRow) -> Result<ListRecord, StoreError> {
    Ok(ListRecord {
        id: id(row, "id")?,
        owner: id(row, "account_id")?,
        title: row.try_get("title")?,
        replies_policy: parsed(row, "replies_policy")?,
        exclusive: flag(row, "exclusive")?,
    })
}

impl Store {
    /// Creates a list owned by `owner`.
    pub async fn create_list(
        &self,
        owner: Id,
        fields: &ListFields,
    ) -> Result<ListRecord, StoreError> {
        let list_id = self.next_id();
        sqlx::query(
            "INSERT INTO lists (id, account_id, title, replies_policy, exclusive, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(list_id.as_i64())
        .bind(owner.as_i64())
        .bind(&fields.title)
        .bind(fields.replies_policy.as_str())
        .bind(fields.exclusive)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(ListRecord {
            id: list_id,
            owner,
            title: fields.title.clone(),
            replies_policy: fields.replies_policy,
            exclusive: fields.exclusive,
        })
    }

    /// The owner's lists, oldest first.
    pub async fn lists_of(&self, owner: Id) -> Result<Vec<ListRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, title, replies_policy, exclusive FROM lists WHERE account_id = $1 ORDER BY id",
        )
        .bind(owner.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(list_from_row).collect()
    }

    /// One of the owner's lists; another account's list is `NotFound` like a missing one.
    pub async fn list(&self, owner: Id, list: Id) -> Result<ListRecord, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, title, replies_policy, exclusive FROM lists WHERE id = $1 AND account_id = $2",
        )
        .bind(list.as_i64())
        .bind(owner.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("list"))?;
        list_from_row(&row)
    }

    /// Replaces a list's fields.
    pub async fn update_list(
        &self,
        owner: Id,
        list: Id,
        fields: &ListFields,
    ) -> Result<ListRecord, StoreError> {
        let done = sqlx::query(
            "UPDATE lists SET title = $1, replies_policy = $2, exclusive = $3 \
             WHERE id = $4 AND account_id = $5",
        )
        .bind(&fields.title)
        .bind(fields.replies_policy.as_str())
        .bind(fields.exclusive)
        .bind(list.as_i64())
        .bind(owner.as_i64())
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("list"));
        }
        self.list(owner, list).await
    }

    /// Deletes a list (its memberships go with it).
    pub async fn delete_list(&self, owner: Id, list: Id) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM lists WHERE id = $1 AND account_id = $2")
            .bind(list.as_i64())
            .bind(owner.as_i64())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("list"));
        }
        Ok(())
    }

    /// Adds accounts to one of the owner's lists, all or none: every one must be followed by
    /// the owner (an accepted follow). Adding a member twice is not an error.
    pub async fn add_list_members(
        &self,
        owner: Id,
        list: Id,
        members: &[Id],
    ) -> Result<(), ListMemberError> {
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM lists WHERE id = $1 AND account_id = $2")
                .bind(list.as_i64())
                .bind(owner.as_i64())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if found.is_none() {
            return Err(StoreError::NotFound("list").into());
        }
        let now = now_ms();
        for member in members {
            let follow: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM follows WHERE account_id = $1 AND target_account_id = $2 AND state = 'accepted'",
            )
            .bind(owner.as_i64())
            .bind(member.as_i64())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            let Some(follow) = follow else {
                // Dropping the transaction rolls back the members added so far.
                return Err(ListMemberError::NotFollowed(*member));
            };
            sqlx::query(
                "INSERT INTO list_accounts (list_id, account_id, follow_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (list_id, account_id) DO NOTHING",
            )
            .bind(list.as_i64())
            .bind(member.as_i64())
            .bind(follow)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Removes accounts from one of the owner's lists (absent ones are ignored).
    pub async fn remove_list_members(
        &self,
        owner: Id,
        list: Id,
        members: &[Id],
    ) -> Result<(), StoreError> {
        self.list(owner, list).await?;
        let mut tx = self.writer().begin().await?;
        for member in members {
            sqlx::query("DELETE FROM list_accounts WHERE list_id = $1 AND account_id = $2")
                .bind(list.as_i64())
                .bind(member.as_i64())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A page of a list's members by account id, newest first (`limit` 0 means all, as
    /// Mastodon).
    pub async fn list_member_ids(
        &self,
        owner: Id,
        list: Id,
        page: Page,
    ) -> Result<Vec<Id>, StoreError> {
        self.list(owner, list).await?;
        let upper = page.max_id.unwrap_or(i64::MAX);
        let lower = page.min_id.or(page.since_id).unwrap_or(0);
        let limit = if page.limit <= 0 {
            i64::MAX
        } else {
            page.limit
        };
        let ascending = page.min_id.is_some();
        let order = if ascending { "ASC" } else { "DESC" };
        // Built from constants only (the order keyword).
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT account_id AS id FROM list_accounts WHERE list_id = $1 AND account_id < $2 \
             AND account_id > $3 ORDER BY account_id {order} LIMIT $4"
        )))
        .bind(list.as_i64())
        .bind(upper)
        .bind(lower)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        ordered_ids(&rows, ascending)
    }

    /// The owner's lists that contain `member`.
    pub async fn lists_containing(
        &self,
        owner: Id,
        member: Id,
    ) -> Result<Vec<ListRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.id, l.account_id, l.title, l.replies_policy, l.exclusive FROM lists l \
             JOIN list_accounts la ON la.list_id = l.id \
             WHERE l.account_id = $1 AND la.account_id = $2 ORDER BY l.id",
        )
        .bind(owner.as_i64())
        .bind(member.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(list_from_row).collect()
    }

    /// List timeline candidates: posts by the list's members, newest first, with replies as
    /// the list's `replies_policy` says (a member's reply to themselves or to the owner is
    /// always shown). Held and deleted posts never appear; the caller passes each through
    /// the read gate.
    pub async fn list_timeline_ids(
        &self,
        list: &ListRecord,
        page: Page,
    ) -> Result<Vec<Id>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let replies = match list.replies_policy {
            RepliesPolicy::Followed => {
                "OR in_reply_to_account_id IN (SELECT target_account_id FROM follows \
                 WHERE account_id = $5 AND state = 'accepted')"
            }
            RepliesPolicy::List => {
                "OR in_reply_to_account_id IN (SELECT account_id FROM list_accounts WHERE list_id = $1)"
            }
            RepliesPolicy::None => "",
        };
        let order = if ascending { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT id FROM statuses WHERE deleted_at IS NULL AND held_at IS NULL \
             AND id < $2 AND id > $3 \
             AND account_id IN (SELECT account_id FROM list_accounts WHERE list_id = $1) \
             AND (in_reply_to_id IS NULL OR in_reply_to_account_id = account_id \
                  OR in_reply_to_account_id = $5 {replies}) \
             ORDER BY id {order} LIMIT $4"
        );
        // Built from constants only (the replies clause and the order keyword).
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(list.id.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .bind(list.owner.as_i64())
            .fetch_all(self.reader())
            .await?;
        ordered_ids(&rows, ascending)
    }
}
