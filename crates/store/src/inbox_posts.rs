//! The inbox processor's bulk path for remote posts: what it needs to know about a claimed
//! batch's authors and referenced posts, read with one query each for the whole batch, and
//! one write transaction that stores the batch's posts **and** removes their activities
//! from the inbox queue.
//!
//! Why: on SQLite every statement is a round trip to the connection's worker thread, and
//! those hand-offs, not the work of the statements, bounded the inbox. Reading the facts
//! of 64 activities with two queries instead of about four per activity, and writing their
//! posts with a few multi-row statements, removes most of them. Removing the queue rows in
//! the transaction that applies them also means an activity is applied exactly once even
//! when the process dies right after the commit.

use std::collections::HashMap;

use cohort_model::Id;
use sqlx::Row;

use crate::row::{id, id_from};
use crate::sql::{IN_LIST_CHUNK, anonymous_or_numbered, value_rows};
use crate::stream::{StreamEvent, StreamEventKind};
use crate::{Engine, NewStatus, PostMedia, Store, StoreError, now_ms};

/// What the inbox needs to know about a remote author before storing its posts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteAuthorFacts {
    /// Suspended here: nothing it sends is applied.
    pub suspended: bool,
    /// Its followers collection, for Mastodon's addressing rule.
    pub followers_uri: Option<String>,
    /// Some local account follows it (accepted): its posts are relevant here.
    pub has_local_follower: bool,
}

/// A stored post, as a new post that names it (a reply) or repeats it needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownStatus {
    /// Its id.
    pub id: Id,
    /// Its author.
    pub author: Id,
    /// The root of its thread (itself for a top-level post).
    pub thread_root: Id,
    /// The community it was posted in, if any.
    pub community: Option<Id>,
}

/// A remote post for [`Store::store_remote_posts`].
#[derive(Clone, Debug)]
pub struct RemotePost {
    /// The status row (a remote post: `local` false).
    pub status: NewStatus,
    /// Its parent as [`Store::statuses_by_uri`] found it (for a reply).
    pub parent: Option<KnownStatus>,
    /// Its attachments.
    pub media: PostMedia,
    /// Its hashtags (indexed lower-case).
    pub tags: Vec<String>,
}

/// Rows one multi-row `INSERT` takes at most (21 values each: well under both engines'
/// limits on bound parameters).
const INSERT_ROWS: usize = 32;
// SQLite before 3.32 allowed 999 bound parameters per statement.
const _: () = assert!(INSERT_ROWS * 21 < 999);

impl Store {
    /// [`RemoteAuthorFacts`] of several remote accounts, in one query per few hundred.
    /// Unknown ids are absent from the answer.
    pub async fn remote_author_facts(
        &self,
        accounts: &[Id],
    ) -> Result<HashMap<Id, RemoteAuthorFacts>, StoreError> {
        let mut out = HashMap::with_capacity(accounts.len());
        for chunk in accounts.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT a.id, a.suspended_at, a.followers_uri, \
                 CASE WHEN EXISTS (SELECT 1 FROM follows f JOIN accounts l ON l.id = f.account_id \
                 WHERE f.target_account_id = a.id AND f.state = 'accepted' AND l.domain IS NULL) \
                 THEN 1 ELSE 0 END AS followed \
                 FROM accounts a WHERE a.id IN ({})",
                anonymous_or_numbered(self.engine(), chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for account in chunk {
                query = query.bind(account.as_i64());
            }
            for row in query.fetch_all(self.reader()).await? {
                let suspended: Option<i64> = row.try_get("suspended_at")?;
                let followers: Option<String> = row.try_get("followers_uri")?;
                let followed: i32 = row.try_get("followed")?;
                out.insert(
                    id(&row, "id")?,
                    RemoteAuthorFacts {
                        suspended: suspended.is_some(),
                        followers_uri: followers.filter(|u| !u.is_empty()),
                        has_local_follower: followed != 0,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The stored statuses (deleted ones included) with these ActivityPub ids, by id, in
    /// one query per few hundred. Unknown ids are absent from the answer.
    pub async fn statuses_by_uri(
        &self,
        uris: &[&str],
    ) -> Result<HashMap<String, KnownStatus>, StoreError> {
        let mut out = HashMap::with_capacity(uris.len());
        for chunk in uris.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT id, uri, account_id, thread_root_id, community_id FROM statuses \
                 WHERE uri IN ({})",
                anonymous_or_numbered(self.engine(), chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for uri in chunk {
                query = query.bind(*uri);
            }
            for row in query.fetch_all(self.reader()).await? {
                let status = id(&row, "id")?;
                let root: Option<i64> = row.try_get("thread_root_id")?;
                let community: Option<i64> = row.try_get("community_id")?;
                out.insert(
                    row.try_get("uri")?,
                    KnownStatus {
                        id: status,
                        author: id(&row, "account_id")?,
                        thread_root: root
                            .map_or(Ok(status), |r| id_from(r, "statuses.thread_root_id"))?,
                        community: community
                            .map(|c| id_from(c, "statuses.community_id"))
                            .transpose()?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Stores remote posts (with their attachments and hashtags) and removes the inbox
    /// queue items `finished` (the activities that brought them, and any others the caller
    /// is done with), all in **one** transaction; their live events are published after it
    /// commits. Either everything is written or nothing is: `Conflict` if one of the posts
    /// is stored already, and the caller then applies the activities one by one.
    ///
    /// Posts that are replies take their thread from [`RemotePost::parent`]; a post whose
    /// parent does not match its `in_reply_to`, or that addresses local accounts, goes
    /// through the one-post insert (which reads the parent and writes the mentions).
    pub async fn store_remote_posts(
        &self,
        posts: &[RemotePost],
        finished: &[Id],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let (simple, other): (Vec<&RemotePost>, Vec<&RemotePost>) = posts.iter().partition(|p| {
            !p.status.local
                && p.status.addressed.is_empty()
                && p.status.in_reply_to == p.parent.map(|parent| parent.id)
        });
        for chunk in simple.chunks(INSERT_ROWS) {
            insert_statuses_in(self.engine(), &mut tx, chunk).await?;
        }
        for post in other {
            self.insert_status_in(&mut tx, &post.status).await?;
        }
        for post in posts {
            if !post.media.uploaded.is_empty() || !post.media.remote.is_empty() {
                self.attach_media_in(&mut tx, &post.status, &post.media)
                    .await?;
            }
        }
        let tags: Vec<(i64, String)> = posts
            .iter()
            .flat_map(|p| {
                p.tags
                    .iter()
                    .map(|t| (p.status.id.as_i64(), t.to_lowercase()))
            })
            .collect();
        for chunk in tags.chunks(IN_LIST_CHUNK / 2) {
            let sql = format!(
                "INSERT INTO status_tags (status_id, tag) VALUES {} \
                 ON CONFLICT (status_id, tag) DO NOTHING",
                value_rows(self.engine(), chunk.len(), 2)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (status, tag) in chunk {
                query = query.bind(*status).bind(tag.as_str());
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in finished.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "DELETE FROM inbox_queue WHERE id IN ({})",
                anonymous_or_numbered(self.engine(), chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for item in chunk {
                query = query.bind(item.as_i64());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let mut events = Vec::with_capacity(posts.len());
        for post in posts {
            if post.status.held_reason.is_none() {
                events.push(StreamEvent::status(
                    StreamEventKind::StatusCreated,
                    post.status.id,
                ));
            }
        }
        for post in posts.iter().filter(|p| !p.tags.is_empty()) {
            events.push(StreamEvent::status(
                StreamEventKind::StatusTagged,
                post.status.id,
            ));
        }
        self.publish_all(events).await;
        Ok(())
    }
}

/// One multi-row `INSERT` of remote posts that address nobody here (no mentions, no outbox
/// event), with the thread each takes from its parent.
async fn insert_statuses_in(
    engine: Engine,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    posts: &[&RemotePost],
) -> Result<(), StoreError> {
    const COLUMNS: usize = 21;
    if posts.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let sql = format!(
        "INSERT INTO statuses (id, account_id, uri, url, local, visibility, local_only, \
         community_id, in_reply_to_id, in_reply_to_account_id, reblog_of_id, thread_root_id, \
         text_source, content_html, spoiler_text, sensitive, language, created_at, expires_at, \
         held_at, hold_reason) VALUES {}",
        value_rows(engine, posts.len(), COLUMNS)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for post in posts {
        let new = &post.status;
        let thread_root = post.parent.map_or(new.id, |p| p.thread_root);
        query = query
            .bind(new.id.as_i64())
            .bind(new.author.as_i64())
            .bind(new.uri.as_str())
            .bind(new.url.as_deref())
            .bind(new.local)
            .bind(new.audience.visibility.as_str())
            .bind(new.audience.local_only)
            .bind(new.audience.community.map(Id::as_i64))
            .bind(new.in_reply_to.map(Id::as_i64))
            .bind(post.parent.map(|p| p.author.as_i64()))
            .bind(new.reblog_of.map(Id::as_i64))
            .bind(thread_root.as_i64())
            .bind(new.text_source.as_str())
            .bind(new.content_html.as_str())
            .bind(new.spoiler_text.as_str())
            .bind(new.sensitive)
            .bind(new.language.as_deref())
            .bind(now)
            .bind(new.expires_at)
            .bind(new.held_reason.as_ref().map(|_| now))
            .bind(new.held_reason.as_deref());
    }
    query.execute(&mut **tx).await.map_err(|e| {
        if StoreError::is_unique_violation(&e) {
            StoreError::Conflict("status")
        } else {
            e.into()
        }
    })?;
    Ok(())
}
