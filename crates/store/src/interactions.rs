//! Favourites, bookmarks, hashtags, notifications and follow requests: the interactions
//! around statuses and accounts. Listing queries return candidate ids; the API passes every
//! status through the read gate before showing it.

use std::collections::{HashMap, HashSet};

use cohort_model::Id;
use sqlx::Row;

use crate::row::{id, id_from};
use crate::sql::{IN_LIST_CHUNK, placeholders};
use crate::timelines::Page;
use crate::{Store, StoreError, now_ms};

/// A notification as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    /// Id.
    pub id: Id,
    /// `mention`, `follow`, `follow_request`, `favourite`, `reblog`, `status`...
    pub kind: String,
    /// Who caused it.
    pub from_account: Id,
    /// The status concerned.
    pub status: Option<Id>,
    /// The report concerned (`moderation_warning`: a report was handled).
    pub report: Option<Id>,
    /// The strike concerned (`moderation_warning`: a moderator acted on the account, or
    /// decided its appeal).
    pub strike: Option<Id>,
    /// When, Unix ms.
    pub created_at: i64,
}

/// Counts shown on a status.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Replies (not deleted).
    pub replies: i64,
    /// Boosts (not deleted).
    pub reblogs: i64,
    /// Favourites.
    pub favourites: i64,
}

/// What the viewer did to each status.
#[derive(Clone, Debug, Default)]
pub struct ViewerMarks {
    /// Favourited by the viewer.
    pub favourited: HashSet<Id>,
    /// Boosted by the viewer.
    pub reblogged: HashSet<Id>,
    /// Bookmarked by the viewer.
    pub bookmarked: HashSet<Id>,
    /// Pinned by the viewer (their own statuses).
    pub pinned: HashSet<Id>,
}

/// Which tags a tag timeline shows (Mastodon's `/api/v1/timelines/tag/:tag` with `any[]`,
/// `all[]`, `none[]`, `local` and `remote`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagQuery {
    /// Posts with at least one of these (the path's tag first).
    pub any: Vec<String>,
    /// ... and every one of these.
    pub all: Vec<String>,
    /// ... and none of these.
    pub none: Vec<String>,
    /// Only this instance's posts.
    pub local_only: bool,
    /// Only other instances' posts.
    pub remote_only: bool,
}

impl Store {
    /// Favourites a status; `false` if it already was.
    pub async fn favourite(&self, account: Id, status: Id) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO favourites (account_id, status_id, id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, status_id) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(status.as_i64())
        .bind(self.next_id().as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a favourite; `false` if there was none.
    pub async fn unfavourite(&self, account: Id, status: Id) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM favourites WHERE account_id = $1 AND status_id = $2")
            .bind(account.as_i64())
            .bind(status.as_i64())
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Accounts that favourited a status, newest first.
    pub async fn favourited_by(&self, status: Id, limit: i64) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM favourites WHERE status_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(status.as_i64())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|r| id_from(r, "account_id")).collect()
    }

    /// Accounts that boosted a status, newest first.
    pub async fn reblogged_by(&self, status: Id, limit: i64) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM statuses WHERE reblog_of_id = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT $2",
        )
        .bind(status.as_i64())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|r| id_from(r, "account_id")).collect()
    }

    /// The viewer's live boost of a status, if any.
    pub async fn reblog_by(&self, account: Id, status: Id) -> Result<Option<Id>, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM statuses WHERE account_id = $1 AND reblog_of_id = $2 AND deleted_at IS NULL",
        )
        .bind(account.as_i64())
        .bind(status.as_i64())
        .fetch_optional(self.reader())
        .await?;
        found.map(|f| id_from(f, "statuses.id")).transpose()
    }

    /// Bookmarks a status; `false` if it already was.
    pub async fn bookmark(&self, account: Id, status: Id) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO bookmarks (account_id, status_id, id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, status_id) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(status.as_i64())
        .bind(self.next_id().as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a bookmark.
    pub async fn unbookmark(&self, account: Id, status: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bookmarks WHERE account_id = $1 AND status_id = $2")
            .bind(account.as_i64())
            .bind(status.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Status ids the account favourited (`favourites`) or bookmarked (`bookmarks`), newest
    /// action first, paged by the action's id.
    pub async fn marked_status_ids(
        &self,
        account: Id,
        bookmarks: bool,
        page: Page,
    ) -> Result<Vec<(Id, Id)>, StoreError> {
        let sql = if bookmarks {
            "SELECT id, status_id FROM bookmarks WHERE account_id = $1 AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4"
        } else {
            "SELECT id, status_id FROM favourites WHERE account_id = $1 AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4"
        };
        let rows = sqlx::query(sql)
            .bind(account.as_i64())
            .bind(page.max_id.unwrap_or(i64::MAX))
            .bind(page.min_id.or(page.since_id).unwrap_or(0))
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| Ok((id(r, "id")?, id(r, "status_id")?)))
            .collect()
    }

    /// Records the hashtags of a status (lowercased).
    pub async fn index_status_tags(&self, status: Id, tags: &[String]) -> Result<(), StoreError> {
        for tag in tags {
            sqlx::query("INSERT INTO status_tags (status_id, tag) VALUES ($1, $2) ON CONFLICT (status_id, tag) DO NOTHING")
                .bind(status.as_i64())
                .bind(tag.to_lowercase())
                .execute(self.writer())
                .await?;
        }
        if !tags.is_empty() {
            self.publish(crate::StreamEvent::status(
                crate::StreamEventKind::StatusTagged,
                status,
            ))
            .await;
        }
        Ok(())
    }

    /// Public posts with the hashtag `tag`, newest first (`local_only`: this instance's).
    pub async fn tag_timeline_ids(
        &self,
        tag: &str,
        local_only: bool,
        page: Page,
    ) -> Result<Vec<Id>, StoreError> {
        let query = TagQuery {
            any: vec![tag.to_owned()],
            local_only,
            ..TagQuery::default()
        };
        self.tagged_timeline_ids(&query, page).await
    }

    /// Public posts tagged as `query` says (Mastodon's `any[]`, `all[]` and `none[]` of the
    /// tag timeline), newest first. Tags are compared lower-case.
    pub async fn tagged_timeline_ids(
        &self,
        query: &TagQuery,
        page: Page,
    ) -> Result<Vec<Id>, StoreError> {
        if query.any.is_empty() {
            return Ok(Vec::new());
        }
        let lower =
            |tags: &[String]| -> Vec<String> { tags.iter().map(|t| t.to_lowercase()).collect() };
        let any = lower(&query.any);
        let all = lower(&query.all);
        let none = lower(&query.none);
        // $1..$3 are the page; the tags follow, each its own placeholder.
        let mut next = 4;
        let mut list = |n: usize| {
            let l = placeholders(next, n);
            next += n;
            l
        };
        let mut sql = format!(
            "SELECT s.id FROM statuses s WHERE s.id IN (SELECT status_id FROM status_tags WHERE tag IN ({}))",
            list(any.len())
        );
        for _ in &all {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM status_tags t WHERE t.status_id = s.id AND t.tag = {})",
                list(1)
            ));
        }
        if !none.is_empty() {
            sql.push_str(&format!(
                " AND NOT EXISTS (SELECT 1 FROM status_tags t WHERE t.status_id = s.id AND t.tag IN ({}))",
                list(none.len())
            ));
        }
        if query.local_only {
            sql.push_str(" AND s.local = TRUE");
        }
        if query.remote_only {
            sql.push_str(" AND s.local = FALSE");
        }
        sql.push_str(
            " AND s.deleted_at IS NULL AND s.held_at IS NULL AND s.visibility IN ('public', 'local') \
             AND s.account_id NOT IN (SELECT id FROM accounts WHERE silenced_at IS NOT NULL) \
             AND s.id < $1 AND s.id > $2 ORDER BY s.id DESC LIMIT $3",
        );
        // Built from fixed text and numbered placeholders only; the tags are bound.
        let mut statement = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .bind(page.max_id.unwrap_or(i64::MAX))
            .bind(page.min_id.or(page.since_id).unwrap_or(0))
            .bind(page.limit);
        for tag in any.iter().chain(&all).chain(&none) {
            statement = statement.bind(tag.clone());
        }
        let rows = statement.fetch_all(self.reader()).await?;
        rows.into_iter()
            .map(|r| id_from(r, "statuses.id"))
            .collect()
    }

    /// Replies, boosts and favourites of each status.
    pub async fn status_counts(&self, ids: &[Id]) -> Result<HashMap<Id, StatusCounts>, StoreError> {
        let mut out: HashMap<Id, StatusCounts> = HashMap::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let list = placeholders(1, chunk.len());
            let queries = [
                format!(
                    "SELECT in_reply_to_id AS sid, COUNT(*) AS n FROM statuses WHERE in_reply_to_id IN ({list}) AND deleted_at IS NULL GROUP BY in_reply_to_id"
                ),
                format!(
                    "SELECT reblog_of_id AS sid, COUNT(*) AS n FROM statuses WHERE reblog_of_id IN ({list}) AND deleted_at IS NULL GROUP BY reblog_of_id"
                ),
                format!(
                    "SELECT status_id AS sid, COUNT(*) AS n FROM favourites WHERE status_id IN ({list}) GROUP BY status_id"
                ),
            ];
            for (which, sql) in queries.into_iter().enumerate() {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(id.as_i64());
                }
                for row in query.fetch_all(self.reader()).await? {
                    let entry = out.entry(id(&row, "sid")?).or_default();
                    let n: i64 = row.try_get("n")?;
                    match which {
                        0 => entry.replies = n,
                        1 => entry.reblogs = n,
                        _ => entry.favourites = n,
                    }
                }
            }
        }
        Ok(out)
    }

    /// Which of `ids` the viewer favourited, boosted, bookmarked or pinned.
    pub async fn viewer_marks(&self, viewer: Id, ids: &[Id]) -> Result<ViewerMarks, StoreError> {
        let mut marks = ViewerMarks::default();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let list = placeholders(2, chunk.len());
            let queries = [
                format!(
                    "SELECT status_id AS sid FROM favourites WHERE account_id = $1 AND status_id IN ({list})"
                ),
                format!(
                    "SELECT reblog_of_id AS sid FROM statuses WHERE account_id = $1 AND deleted_at IS NULL AND reblog_of_id IN ({list})"
                ),
                format!(
                    "SELECT status_id AS sid FROM bookmarks WHERE account_id = $1 AND status_id IN ({list})"
                ),
                format!(
                    "SELECT status_id AS sid FROM status_pins WHERE account_id = $1 AND status_id IN ({list})"
                ),
            ];
            for (which, sql) in queries.into_iter().enumerate() {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(viewer.as_i64());
                for id in chunk {
                    query = query.bind(id.as_i64());
                }
                for row in query.fetch_all(self.reader()).await? {
                    let sid = id(&row, "sid")?;
                    match which {
                        0 => marks.favourited.insert(sid),
                        1 => marks.reblogged.insert(sid),
                        2 => marks.bookmarked.insert(sid),
                        _ => marks.pinned.insert(sid),
                    };
                }
            }
        }
        Ok(marks)
    }

    /// Records a notification, unless the same one exists (a favourite undone and redone
    /// notifies once).
    pub async fn notify(
        &self,
        account: Id,
        from: Id,
        kind: &str,
        status: Option<Id>,
    ) -> Result<(), StoreError> {
        if account == from {
            return Ok(());
        }
        let existing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND from_account_id = $2 AND kind = $3 \
             AND (status_id = $4 OR (status_id IS NULL AND $4 IS NULL)) AND dismissed_at IS NULL",
        )
        .bind(account.as_i64())
        .bind(from.as_i64())
        .bind(kind)
        .bind(status.map(Id::as_i64))
        .fetch_one(self.reader())
        .await?;
        if existing > 0 {
            return Ok(());
        }
        let notification = self.next_id();
        sqlx::query(
            "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(notification.as_i64())
        .bind(account.as_i64())
        .bind(from.as_i64())
        .bind(kind)
        .bind(status.map(Id::as_i64))
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.publish(crate::StreamEvent::notification(notification, account))
            .await;
        Ok(())
    }

    /// An account's notifications, newest first, not dismissed.
    pub async fn notifications(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, from_account_id, status_id, report_id, strike_id, created_at FROM notifications \
             WHERE account_id = $1 AND dismissed_at IS NULL AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4",
        )
        .bind(account.as_i64())
        .bind(page.max_id.unwrap_or(i64::MAX))
        .bind(page.min_id.or(page.since_id).unwrap_or(0))
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(notification_from_row).collect()
    }

    /// One notification of an account.
    pub async fn notification(
        &self,
        account: Id,
        notification: Id,
    ) -> Result<NotificationRecord, StoreError> {
        let row = sqlx::query(
            "SELECT id, kind, from_account_id, status_id, report_id, strike_id, created_at FROM notifications \
             WHERE account_id = $1 AND id = $2 AND dismissed_at IS NULL",
        )
        .bind(account.as_i64())
        .bind(notification.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("notification"))?;
        notification_from_row(&row)
    }

    /// Dismisses one notification (or all, with `None`).
    pub async fn dismiss_notifications(
        &self,
        account: Id,
        notification: Option<Id>,
    ) -> Result<(), StoreError> {
        match notification {
            Some(n) => {
                sqlx::query(
                    "UPDATE notifications SET dismissed_at = $1 WHERE account_id = $2 AND id = $3",
                )
                .bind(now_ms())
                .bind(account.as_i64())
                .bind(n.as_i64())
                .execute(self.writer())
                .await?;
            }
            None => {
                sqlx::query("UPDATE notifications SET dismissed_at = $1 WHERE account_id = $2 AND dismissed_at IS NULL")
                    .bind(now_ms())
                    .bind(account.as_i64())
                    .execute(self.writer())
                    .await?;
            }
        }
        Ok(())
    }

    /// Accounts waiting for `account` to approve their follow, oldest first.
    pub async fn pending_follow_requests(&self, account: Id) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM follows WHERE target_account_id = $1 AND state = 'requested' ORDER BY id",
        )
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|r| id_from(r, "account_id")).collect()
    }

    /// Accounts following `account` (accepted), newest follow first: the followers
    /// first, the follow row ids (the page cursors) second.
    pub async fn followers_of(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<(i64, Id)>, StoreError> {
        self.follow_page(
            "SELECT id, account_id AS other FROM follows WHERE target_account_id = $1 \
             AND state = 'accepted' AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4",
            "SELECT id, account_id AS other FROM follows WHERE target_account_id = $1 \
             AND state = 'accepted' AND id < $2 AND id > $3 ORDER BY id ASC LIMIT $4",
            account,
            page,
        )
        .await
    }

    /// Accounts `account` follows (accepted), newest follow first, with the follow row ids.
    pub async fn following_of(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<(i64, Id)>, StoreError> {
        self.follow_page(
            "SELECT id, target_account_id AS other FROM follows WHERE account_id = $1 \
             AND state = 'accepted' AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4",
            "SELECT id, target_account_id AS other FROM follows WHERE account_id = $1 \
             AND state = 'accepted' AND id < $2 AND id > $3 ORDER BY id ASC LIMIT $4",
            account,
            page,
        )
        .await
    }

    /// One page of follow rows by `descending` or, for `min_id` (the page just above it),
    /// `ascending` SQL; newest first either way.
    async fn follow_page(
        &self,
        descending: &'static str,
        ascending: &'static str,
        account: Id,
        page: Page,
    ) -> Result<Vec<(i64, Id)>, StoreError> {
        let (upper, lower, up) = page.bounds();
        let rows = sqlx::query(sqlx::AssertSqlSafe(if up { ascending } else { descending }))
            .bind(account.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        let mut out = rows
            .iter()
            .map(|row| Ok((row.try_get::<i64, _>("id")?, id(row, "other")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if up {
            out.reverse();
        }
        Ok(out)
    }
}

fn notification_from_row(row: &sqlx::any::AnyRow) -> Result<NotificationRecord, StoreError> {
    let status: Option<i64> = row.try_get("status_id")?;
    let report: Option<i64> = row.try_get("report_id")?;
    Ok(NotificationRecord {
        id: id(row, "id")?,
        kind: row.try_get("kind")?,
        from_account: id(row, "from_account_id")?,
        status: status.map(|s| id_from(s, "status_id")).transpose()?,
        report: report.map(|r| id_from(r, "report_id")).transpose()?,
        strike: row
            .try_get::<Option<i64>, _>("strike_id")?
            .map(|s| id_from(s, "strike_id"))
            .transpose()?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// The hashtags of each status.
    pub async fn tags_of(&self, ids: &[Id]) -> Result<HashMap<Id, Vec<String>>, StoreError> {
        let mut out: HashMap<Id, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT status_id, tag FROM status_tags WHERE status_id IN ({}) ORDER BY tag",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_i64());
            }
            for row in query.fetch_all(self.reader()).await? {
                out.entry(id(&row, "status_id")?)
                    .or_default()
                    .push(row.try_get("tag")?);
            }
        }
        Ok(out)
    }
}
