//! Filters, in Mastodon's v2 model: a filter has a title, the contexts it applies in, an
//! action (warn or hide), an optional expiry, keywords and individual statuses. Mastodon's
//! v1 filters are single keywords of these (a v1 filter's id is its keyword's id).
//!
//! The store keeps and returns them; matching a status against them is the client API's
//! business (it knows the rendered text). Every query takes the owner's id: another
//! account's filter is "not found", never shown or changed.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use cohort_model::Id;
use sqlx::Row;

use crate::row::{flag, id, parsed};
use crate::{Store, StoreError, now_ms};

/// Where a filter applies (Mastodon's `context`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FilterContext {
    /// The home timeline and lists.
    Home,
    /// Notifications.
    Notifications,
    /// Public and hashtag timelines.
    Public,
    /// A status's context (its thread).
    Thread,
    /// An account's statuses.
    Account,
}

impl FilterContext {
    /// Every context, in Mastodon's order.
    pub const ALL: [FilterContext; 5] = [
        FilterContext::Home,
        FilterContext::Notifications,
        FilterContext::Public,
        FilterContext::Thread,
        FilterContext::Account,
    ];

    /// Mastodon's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterContext::Home => "home",
            FilterContext::Notifications => "notifications",
            FilterContext::Public => "public",
            FilterContext::Thread => "thread",
            FilterContext::Account => "account",
        }
    }
}

impl fmt::Display for FilterContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FilterContext {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FilterContext::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown filter context {s:?}"))
    }
}

/// What a matching filter does (Mastodon's `filter_action`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum FilterAction {
    /// Show the status with a warning (`filtered` in its JSON).
    #[default]
    Warn,
    /// Leave the status out.
    Hide,
}

impl FilterAction {
    /// Mastodon's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterAction::Warn => "warn",
            FilterAction::Hide => "hide",
        }
    }
}

impl FromStr for FilterAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "warn" => Ok(FilterAction::Warn),
            "hide" => Ok(FilterAction::Hide),
            other => Err(format!("unknown filter_action {other:?}")),
        }
    }
}

/// A keyword of a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterKeyword {
    /// The keyword's id (also the id of the v1 filter it stands for).
    pub id: Id,
    /// Its filter.
    pub filter_id: Id,
    /// The text to match.
    pub keyword: String,
    /// Whether it matches whole words only.
    pub whole_word: bool,
}

/// A status a filter names individually.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterStatus {
    /// The row's id.
    pub id: Id,
    /// Its filter.
    pub filter_id: Id,
    /// The status.
    pub status_id: Id,
}

/// A stored filter with its keywords and statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterRecord {
    /// The filter's id.
    pub id: Id,
    /// Its owner.
    pub owner: Id,
    /// Its title.
    pub title: String,
    /// Where it applies.
    pub contexts: Vec<FilterContext>,
    /// What it does.
    pub action: FilterAction,
    /// When it stops applying, Unix ms.
    pub expires_at: Option<i64>,
    /// Its keywords, oldest first.
    pub keywords: Vec<FilterKeyword>,
    /// Its statuses, oldest first.
    pub statuses: Vec<FilterStatus>,
}

impl FilterRecord {
    /// Whether the filter applies at `now` (Unix ms): expired filters do nothing.
    pub fn is_active(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A filter's own fields, on creation or update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterFields {
    /// Title (checked non-empty by the caller).
    pub title: String,
    /// Contexts (checked non-empty by the caller).
    pub contexts: Vec<FilterContext>,
    /// Action.
    pub action: FilterAction,
    /// Expiry, Unix ms.
    pub expires_at: Option<i64>,
}

/// A keyword to add or the new value of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKeyword {
    /// The text to match (checked non-empty by the caller).
    pub keyword: String,
    /// Whole words only.
    pub whole_word: bool,
}

/// Changes to a filter's keywords made with its update, all in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeywordChanges {
    /// Keywords to add.
    pub add: Vec<NewKeyword>,
    /// Keywords of this filter to change, by id.
    pub change: Vec<(Id, NewKeyword)>,
    /// Keywords of this filter to remove, by id.
    pub remove: Vec<Id>,
}

fn contexts_text(contexts: &[FilterContext]) -> String {
    contexts
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn contexts_from(text: &str) -> Result<Vec<FilterContext>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|detail| StoreError::Corrupt {
                column: "contexts",
                detail,
            })
        })
        .collect()
}

fn keyword_from_row(row: &sqlx::any::AnyRow) -> Result<FilterKeyword, StoreError> {
    Ok(FilterKeyword {
        id: id(row, "id")?,
        filter_id: id(row, "filter_id")?,
        keyword: row.try_get("keyword")?,
        whole_word: flag(row, "whole_word")?,
    })
}

fn status_from_row(row: &sqlx::any::AnyRow) -> Result<FilterStatus, StoreError> {
    Ok(FilterStatus {
        id: id(row, "id")?,
        filter_id: id(row, "filter_id")?,
        status_id: id(row, "status_id")?,
    })
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

async fn insert_keyword(
    tx: &mut Tx<'_>,
    id: Id,
    filter: Id,
    keyword: &NewKeyword,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO filter_keywords (id, filter_id, keyword, whole_word, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.as_i64())
    .bind(filter.as_i64())
    .bind(&keyword.keyword)
    .bind(keyword.whole_word)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn owns_filter(tx: &mut Tx<'_>, owner: Id, filter: Id) -> Result<(), StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM filters WHERE id = $1 AND account_id = $2")
            .bind(filter.as_i64())
            .bind(owner.as_i64())
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("filter"))
}

impl Store {
    /// Creates a filter with its keywords, all or nothing.
    pub async fn create_filter(
        &self,
        owner: Id,
        fields: &FilterFields,
        keywords: &[NewKeyword],
    ) -> Result<FilterRecord, StoreError> {
        let filter = self.next_id();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO filters (id, account_id, title, contexts, filter_action, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(filter.as_i64())
        .bind(owner.as_i64())
        .bind(&fields.title)
        .bind(contexts_text(&fields.contexts))
        .bind(fields.action.as_str())
        .bind(fields.expires_at)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        for keyword in keywords {
            insert_keyword(&mut tx, self.next_id(), filter, keyword).await?;
        }
        tx.commit().await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        self.filter(owner, filter).await
    }

    /// All of the owner's filters, expired ones included, oldest first.
    pub async fn filters_of(&self, owner: Id) -> Result<Vec<FilterRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, title, contexts, filter_action, expires_at FROM filters \
             WHERE account_id = $1 ORDER BY id",
        )
        .bind(owner.as_i64())
        .fetch_all(self.reader())
        .await?;
        let mut filters = Vec::with_capacity(rows.len());
        for row in &rows {
            let contexts: String = row.try_get("contexts")?;
            filters.push(FilterRecord {
                id: id(row, "id")?,
                owner: id(row, "account_id")?,
                title: row.try_get("title")?,
                contexts: contexts_from(&contexts)?,
                action: parsed(row, "filter_action")?,
                expires_at: row.try_get("expires_at")?,
                keywords: Vec::new(),
                statuses: Vec::new(),
            });
        }
        if filters.is_empty() {
            return Ok(filters);
        }
        let index: HashMap<Id, usize> =
            filters.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
        let keywords = sqlx::query(
            "SELECT k.id, k.filter_id, k.keyword, k.whole_word FROM filter_keywords k \
             JOIN filters f ON f.id = k.filter_id WHERE f.account_id = $1 ORDER BY k.id",
        )
        .bind(owner.as_i64())
        .fetch_all(self.reader())
        .await?;
        for row in &keywords {
            let keyword = keyword_from_row(row)?;
            if let Some(&i) = index.get(&keyword.filter_id) {
                filters[i].keywords.push(keyword);
            }
        }
        let statuses = sqlx::query(
            "SELECT s.id, s.filter_id, s.status_id FROM filter_statuses s \
             JOIN filters f ON f.id = s.filter_id WHERE f.account_id = $1 ORDER BY s.id",
        )
        .bind(owner.as_i64())
        .fetch_all(self.reader())
        .await?;
        for row in &statuses {
            let status = status_from_row(row)?;
            if let Some(&i) = index.get(&status.filter_id) {
                filters[i].statuses.push(status);
            }
        }
        Ok(filters)
    }

    /// The owner's filters that apply now.
    pub async fn active_filters(&self, owner: Id) -> Result<Vec<FilterRecord>, StoreError> {
        let now = now_ms();
        let mut filters = self.filters_of(owner).await?;
        filters.retain(|f| f.is_active(now));
        Ok(filters)
    }

    /// One of the owner's filters.
    pub async fn filter(&self, owner: Id, filter: Id) -> Result<FilterRecord, StoreError> {
        self.filters_of(owner)
            .await?
            .into_iter()
            .find(|f| f.id == filter)
            .ok_or(StoreError::NotFound("filter"))
    }

    /// Replaces a filter's fields and applies keyword changes, all or nothing. A keyword id
    /// that is not this filter's is `NotFound`.
    pub async fn update_filter(
        &self,
        owner: Id,
        filter: Id,
        fields: &FilterFields,
        keywords: &KeywordChanges,
    ) -> Result<FilterRecord, StoreError> {
        let mut tx = self.writer().begin().await?;
        owns_filter(&mut tx, owner, filter).await?;
        sqlx::query(
            "UPDATE filters SET title = $1, contexts = $2, filter_action = $3, expires_at = $4 WHERE id = $5",
        )
        .bind(&fields.title)
        .bind(contexts_text(&fields.contexts))
        .bind(fields.action.as_str())
        .bind(fields.expires_at)
        .bind(filter.as_i64())
        .execute(&mut *tx)
        .await?;
        for (keyword, new) in &keywords.change {
            let done = sqlx::query(
                "UPDATE filter_keywords SET keyword = $1, whole_word = $2 WHERE id = $3 AND filter_id = $4",
            )
            .bind(&new.keyword)
            .bind(new.whole_word)
            .bind(keyword.as_i64())
            .bind(filter.as_i64())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("filter keyword"));
            }
        }
        for keyword in &keywords.remove {
            let done = sqlx::query("DELETE FROM filter_keywords WHERE id = $1 AND filter_id = $2")
                .bind(keyword.as_i64())
                .bind(filter.as_i64())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("filter keyword"));
            }
        }
        for new in &keywords.add {
            insert_keyword(&mut tx, self.next_id(), filter, new).await?;
        }
        tx.commit().await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        self.filter(owner, filter).await
    }

    /// Deletes a filter with its keywords and statuses.
    pub async fn delete_filter(&self, owner: Id, filter: Id) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM filters WHERE id = $1 AND account_id = $2")
            .bind(filter.as_i64())
            .bind(owner.as_i64())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("filter"));
        }
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        Ok(())
    }

    /// Adds a keyword to one of the owner's filters.
    pub async fn add_filter_keyword(
        &self,
        owner: Id,
        filter: Id,
        keyword: &NewKeyword,
    ) -> Result<FilterKeyword, StoreError> {
        let keyword_id = self.next_id();
        let mut tx = self.writer().begin().await?;
        owns_filter(&mut tx, owner, filter).await?;
        insert_keyword(&mut tx, keyword_id, filter, keyword).await?;
        tx.commit().await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        Ok(FilterKeyword {
            id: keyword_id,
            filter_id: filter,
            keyword: keyword.keyword.clone(),
            whole_word: keyword.whole_word,
        })
    }

    /// One keyword of the owner's filters.
    pub async fn filter_keyword(
        &self,
        owner: Id,
        keyword: Id,
    ) -> Result<FilterKeyword, StoreError> {
        let row = sqlx::query(
            "SELECT k.id, k.filter_id, k.keyword, k.whole_word FROM filter_keywords k \
             JOIN filters f ON f.id = k.filter_id WHERE k.id = $1 AND f.account_id = $2",
        )
        .bind(keyword.as_i64())
        .bind(owner.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("filter keyword"))?;
        keyword_from_row(&row)
    }

    /// Changes one keyword of the owner's filters.
    pub async fn update_filter_keyword(
        &self,
        owner: Id,
        keyword: Id,
        new: &NewKeyword,
    ) -> Result<FilterKeyword, StoreError> {
        let existing = self.filter_keyword(owner, keyword).await?;
        sqlx::query("UPDATE filter_keywords SET keyword = $1, whole_word = $2 WHERE id = $3")
            .bind(&new.keyword)
            .bind(new.whole_word)
            .bind(keyword.as_i64())
            .execute(self.writer())
            .await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        Ok(FilterKeyword {
            keyword: new.keyword.clone(),
            whole_word: new.whole_word,
            ..existing
        })
    }

    /// Removes one keyword of the owner's filters.
    pub async fn delete_filter_keyword(&self, owner: Id, keyword: Id) -> Result<(), StoreError> {
        self.filter_keyword(owner, keyword).await?;
        sqlx::query("DELETE FROM filter_keywords WHERE id = $1")
            .bind(keyword.as_i64())
            .execute(self.writer())
            .await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        Ok(())
    }

    /// Adds a status to one of the owner's filters (the caller checks the owner may see
    /// it). Adding it twice is a conflict.
    pub async fn add_filter_status(
        &self,
        owner: Id,
        filter: Id,
        status: Id,
    ) -> Result<FilterStatus, StoreError> {
        let row_id = self.next_id();
        let mut tx = self.writer().begin().await?;
        owns_filter(&mut tx, owner, filter).await?;
        let done = sqlx::query(
            "INSERT INTO filter_statuses (id, filter_id, status_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (filter_id, status_id) DO NOTHING",
        )
        .bind(row_id.as_i64())
        .bind(filter.as_i64())
        .bind(status.as_i64())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("filtered status"));
        }
        tx.commit().await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        Ok(FilterStatus {
            id: row_id,
            filter_id: filter,
            status_id: status,
        })
    }

    /// One status of the owner's filters.
    pub async fn filter_status(&self, owner: Id, row_id: Id) -> Result<FilterStatus, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.filter_id, s.status_id FROM filter_statuses s \
             JOIN filters f ON f.id = s.filter_id WHERE s.id = $1 AND f.account_id = $2",
        )
        .bind(row_id.as_i64())
        .bind(owner.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("filter status"))?;
        status_from_row(&row)
    }

    /// Removes one status of the owner's filters.
    pub async fn delete_filter_status(&self, owner: Id, row_id: Id) -> Result<(), StoreError> {
        self.filter_status(owner, row_id).await?;
        sqlx::query("DELETE FROM filter_statuses WHERE id = $1")
            .bind(row_id.as_i64())
            .execute(self.writer())
            .await?;
        self.publish(crate::StreamEvent::viewer_changed(owner))
            .await;
        Ok(())
    }
}
