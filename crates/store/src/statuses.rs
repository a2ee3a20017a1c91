//! Statuses (posts) and the facts the audience engine needs about them.

use std::collections::{HashMap, HashSet};

use cohort_model::{Domain, Id, Visibility};
use cohort_policy::{AsPostFacts, Audience, Party, PostFacts};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::row::{flag, id, id_from, parsed};
use crate::sql::{IN_LIST_CHUNK, placeholders};
use crate::stream::{StreamEvent, StreamEventKind};
use crate::{Store, StoreError, now_ms};

/// How many ancestors of a reply are loaded for the audience checks. Threads deeper than
/// this are cut off (the check then covers the nearest ancestors, which carry the narrowing
/// of everything above them, since each reply was narrowed to its parent when written).
pub const MAX_ANCESTORS: usize = 256;

/// A post to store. The caller allocates `id` with [`Store::next_id`] so it can build the
/// post's URI from it.
#[derive(Clone, Debug)]
pub struct NewStatus {
    /// Pre-allocated id.
    pub id: Id,
    /// Author (local or remote).
    pub author: Id,
    /// ActivityPub id.
    pub uri: String,
    /// Web page.
    pub url: Option<String>,
    /// Written on this instance.
    pub local: bool,
    /// The audience the policy granted (already narrowed for replies).
    pub audience: Audience,
    /// The text as typed (local posts).
    pub text_source: String,
    /// Sanitised HTML.
    pub content_html: String,
    /// Content warning.
    pub spoiler_text: String,
    /// Media marked sensitive.
    pub sensitive: bool,
    /// ISO 639 language.
    pub language: Option<String>,
    /// Parent, for replies.
    pub in_reply_to: Option<Id>,
    /// Original, for boosts.
    pub reblog_of: Option<Id>,
    /// Accounts addressed (mentions; for remote posts, the local accounts addressed).
    pub addressed: Vec<Id>,
    /// Set when the PHI guard holds the post, with its reason.
    pub held_reason: Option<String>,
    /// When it expires, Unix ms.
    pub expires_at: Option<i64>,
}

/// A stored post with its audience facts (ancestors included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRecord {
    /// The facts the audience engine decides on.
    pub facts: PostFacts,
    /// ActivityPub id.
    pub uri: String,
    /// Web page.
    pub url: Option<String>,
    /// Text as typed.
    pub text_source: String,
    /// Sanitised HTML.
    pub content_html: String,
    /// Content warning.
    pub spoiler_text: String,
    /// Media marked sensitive.
    pub sensitive: bool,
    /// Language.
    pub language: Option<String>,
    /// Parent id.
    pub in_reply_to_id: Option<Id>,
    /// Boosted post id.
    pub reblog_of_id: Option<Id>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last edited, Unix ms.
    pub edited_at: Option<i64>,
    /// Why the PHI guard holds it.
    pub hold_reason: Option<String>,
}

impl AsPostFacts for StatusRecord {
    fn post_facts(&self) -> &PostFacts {
        &self.facts
    }
}

impl AsPostFacts for &StatusRecord {
    fn post_facts(&self) -> &PostFacts {
        &self.facts
    }
}

/// One row's own facts, before ancestors are attached.
struct FlatStatus {
    record: StatusRecord,
    parent: Option<Id>,
}

macro_rules! select_statuses {
    ($rest:literal) => {
        concat!(
            "SELECT s.id, s.account_id, s.uri, s.url, s.visibility, s.local_only, s.community_id, ",
            "s.in_reply_to_id, s.reblog_of_id, s.text_source, s.content_html, s.spoiler_text, ",
            "s.sensitive, s.language, s.created_at, s.edited_at, s.deleted_at, s.held_at, ",
            "s.hold_reason, a.domain AS author_domain, a.suspended_at AS author_suspended_at, ",
            "a.sensitized_at AS author_sensitized_at ",
            "FROM statuses s JOIN accounts a ON a.id = s.account_id ",
            $rest
        )
    };
}

impl Store {
    /// Stores a post and its addressing in one transaction. The caller has already asked
    /// `cohort_policy::check_new_post`; the store only keeps what it was given.
    pub async fn create_status(&self, new: &NewStatus) -> Result<StatusRecord, StoreError> {
        let mut tx = self.writer().begin().await?;
        self.insert_status_in(&mut tx, new).await?;
        tx.commit().await?;
        self.publish_created(new).await;
        self.status(new.id).await
    }

    /// Stores a post of a community hosted here, in one transaction with what the Group
    /// does about it: for a new thread, its `announcement` (a boost that Mastodon followers
    /// understand); and, when `relay_by` names the Group, a `GroupForward` event that relays
    /// the post to the members' instances (FEP-1b12). A post is never left unannounced.
    pub async fn create_community_post(
        &self,
        post: &NewStatus,
        announcement: Option<&NewStatus>,
        relay_by: Option<Id>,
    ) -> Result<StatusRecord, StoreError> {
        let mut tx = self.writer().begin().await?;
        self.insert_status_in(&mut tx, post).await?;
        self.announce_and_relay_in(&mut tx, post.id, announcement, relay_by)
            .await?;
        tx.commit().await?;
        self.publish_created(post).await;
        if let Some(announcement) = announcement {
            self.publish_created(announcement).await;
        }
        self.status(post.id).await
    }

    /// What the Group does about a community post that the PHI guard held and its author
    /// has now released: the announcement (for a thread) and the relay it did not get when
    /// written, in one transaction.
    pub async fn announce_released_community_post(
        &self,
        post: Id,
        announcement: Option<&NewStatus>,
        relay_by: Id,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        self.announce_and_relay_in(&mut tx, post, announcement, Some(relay_by))
            .await?;
        tx.commit().await?;
        if let Some(announcement) = announcement {
            self.publish_created(announcement).await;
        }
        Ok(())
    }

    pub(crate) async fn announce_and_relay_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        post: Id,
        announcement: Option<&NewStatus>,
        relay_by: Option<Id>,
    ) -> Result<(), StoreError> {
        if let Some(announcement) = announcement {
            self.insert_status_in(tx, announcement).await?;
        }
        if let Some(group) = relay_by {
            let event = crate::outbox::NewOutboxEvent {
                kind: crate::outbox::OutboxKind::GroupForward,
                actor: group,
                status: Some(post),
                target_account: None,
            };
            crate::outbox::enqueue_in(tx, self.next_id(), &event).await?;
        }
        Ok(())
    }

    /// The body of [`Store::create_status`], inside the caller's transaction.
    pub(crate) async fn insert_status_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        new: &NewStatus,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let thread_root: i64 = match new.in_reply_to {
            Some(parent) => {
                let root: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT thread_root_id FROM statuses WHERE id = $1")
                        .bind(parent.as_i64())
                        .fetch_optional(&mut **tx)
                        .await?;
                match root {
                    Some(root) => root.unwrap_or(parent.as_i64()),
                    None => return Err(StoreError::NotFound("parent status")),
                }
            }
            None => new.id.as_i64(),
        };
        let in_reply_to_account: Option<i64> = match new.in_reply_to {
            Some(parent) => {
                sqlx::query_scalar("SELECT account_id FROM statuses WHERE id = $1")
                    .bind(parent.as_i64())
                    .fetch_optional(&mut **tx)
                    .await?
            }
            None => None,
        };
        sqlx::query(
            "INSERT INTO statuses (id, account_id, uri, url, local, visibility, local_only, community_id, \
             in_reply_to_id, in_reply_to_account_id, reblog_of_id, thread_root_id, text_source, \
             content_html, spoiler_text, sensitive, language, created_at, expires_at, held_at, hold_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(new.id.as_i64())
        .bind(new.author.as_i64())
        .bind(&new.uri)
        .bind(&new.url)
        .bind(new.local)
        .bind(new.audience.visibility.as_str())
        .bind(new.audience.local_only)
        .bind(new.audience.community.map(Id::as_i64))
        .bind(new.in_reply_to.map(Id::as_i64))
        .bind(in_reply_to_account)
        .bind(new.reblog_of.map(Id::as_i64))
        .bind(thread_root)
        .bind(&new.text_source)
        .bind(&new.content_html)
        .bind(&new.spoiler_text)
        .bind(new.sensitive)
        .bind(&new.language)
        .bind(now)
        .bind(new.expires_at)
        .bind(new.held_reason.as_ref().map(|_| now))
        .bind(&new.held_reason)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict("status")
            } else {
                e.into()
            }
        })?;
        if new.local {
            let event = crate::outbox::NewOutboxEvent {
                kind: if new.reblog_of.is_some() {
                    crate::outbox::OutboxKind::Announce
                } else {
                    crate::outbox::OutboxKind::CreateStatus
                },
                actor: new.author,
                status: Some(new.id),
                target_account: None,
            };
            crate::outbox::enqueue_in(tx, self.next_id(), &event).await?;
        }
        let addressed: HashSet<Id> = new.addressed.iter().copied().collect();
        for account in addressed {
            sqlx::query("INSERT INTO status_mentions (status_id, account_id) VALUES ($1, $2)")
                .bind(new.id.as_i64())
                .bind(account.as_i64())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// One status with its facts (deleted ones included: the read gate hides them).
    pub async fn status(&self, status: Id) -> Result<StatusRecord, StoreError> {
        self.statuses(&[status])
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound("status"))
    }

    /// Statuses by id, in the order asked, with their audience facts: author, addressing,
    /// ancestors (up to [`MAX_ANCESTORS`]) and boosted originals. Unknown ids are skipped.
    pub async fn statuses(&self, ids: &[Id]) -> Result<Vec<StatusRecord>, StoreError> {
        let mut flat: HashMap<Id, FlatStatus> = HashMap::new();
        let mut wanted: Vec<Id> = ids.to_vec();
        let mut rounds = 0;
        while !wanted.is_empty() && rounds <= MAX_ANCESTORS {
            rounds += 1;
            let loaded = self.load_flat(&wanted).await?;
            let mut next = Vec::new();
            for status in loaded {
                for related in [status.parent, status.record.reblog_of_id]
                    .into_iter()
                    .flatten()
                {
                    if !flat.contains_key(&related) {
                        next.push(related);
                    }
                }
                flat.insert(status.record.facts.id, status);
            }
            next.retain(|id| !flat.contains_key(id));
            next.sort_unstable();
            next.dedup();
            wanted = next;
        }
        Ok(ids
            .iter()
            .filter_map(|id| assemble(&flat, *id, 0))
            .collect())
    }

    async fn load_flat(&self, ids: &[Id]) -> Result<Vec<FlatStatus>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "{} WHERE s.id IN ({})",
                select_statuses!(""),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_i64());
            }
            let rows = query.fetch_all(self.reader()).await?;
            let mut statuses: Vec<FlatStatus> =
                rows.iter().map(flat_from_row).collect::<Result<_, _>>()?;

            let sql = format!(
                "SELECT status_id, account_id FROM status_mentions WHERE status_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_i64());
            }
            let mut addressed: HashMap<Id, Vec<Id>> = HashMap::new();
            for row in query.fetch_all(self.reader()).await? {
                addressed
                    .entry(id(&row, "status_id")?)
                    .or_default()
                    .push(id(&row, "account_id")?);
            }
            for status in &mut statuses {
                if let Some(list) = addressed.remove(&status.record.facts.id) {
                    status.record.facts.addressed = list;
                }
            }
            out.extend(statuses);
        }
        Ok(out)
    }

    /// Marks a status deleted. The row stays as a tombstone so that the Delete can reach
    /// every inbox that received it and the decision log keeps its history. For a local
    /// status, the `Delete` event is recorded in the same transaction.
    pub async fn mark_status_deleted(&self, status: Id) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        self.mark_status_deleted_in(&mut tx, status).await?;
        tx.commit().await?;
        self.publish(StreamEvent::status(StreamEventKind::StatusDeleted, status))
            .await;
        Ok(())
    }

    /// [`Store::mark_status_deleted`] inside the caller's transaction (a moderator deleting
    /// reported posts together with the strike that names them).
    pub(crate) async fn mark_status_deleted_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        status: Id,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "UPDATE statuses SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL \
             RETURNING account_id, local, reblog_of_id",
        )
        .bind(now_ms())
        .bind(status.as_i64())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("status"))?;
        let is_boost = row.try_get::<Option<i64>, _>("reblog_of_id")?.is_some();
        if flag(&row, "local")? {
            let event = crate::outbox::NewOutboxEvent {
                kind: if is_boost {
                    crate::outbox::OutboxKind::UndoAnnounce
                } else {
                    crate::outbox::OutboxKind::DeleteStatus
                },
                actor: id(&row, "account_id")?,
                status: Some(status),
                target_account: None,
            };
            crate::outbox::enqueue_in(tx, self.next_id(), &event).await?;
        }
        Ok(())
    }

    /// Publishes a new status's live event, unless the PHI guard holds it (its release
    /// publishes it then).
    pub(crate) async fn publish_created(&self, new: &NewStatus) {
        if new.held_reason.is_none() {
            self.publish(StreamEvent::status(StreamEventKind::StatusCreated, new.id))
                .await;
        }
    }
}

impl Store {
    /// The author's statuses held by the PHI guard, newest first.
    pub async fn held_status_ids(&self, author: Id) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM statuses WHERE account_id = $1 AND held_at IS NOT NULL AND deleted_at IS NULL \
             ORDER BY id DESC LIMIT 200",
        )
        .bind(author.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|r| id_from(r, "statuses.id"))
            .collect()
    }

    /// Releases a held status: records who released it, when and what the guard had said,
    /// optionally narrows its audience, and records the `Create` event that was withheld,
    /// all in one transaction. `NotFound` if the status is not held.
    pub async fn release_held_status(
        &self,
        status: Id,
        released_by: Id,
        narrow_to: Option<Audience>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "SELECT account_id, visibility, local_only FROM statuses \
             WHERE id = $1 AND held_at IS NOT NULL AND deleted_at IS NULL",
        )
        .bind(status.as_i64())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("held status"))?;
        let author = id(&row, "account_id")?;
        let visibility: String = row.try_get("visibility")?;
        let local_only = flag(&row, "local_only")?;
        let (visibility, local_only) = match narrow_to {
            Some(a) => (a.visibility.as_str().to_owned(), a.local_only),
            None => (visibility, local_only),
        };
        sqlx::query(
            "UPDATE statuses SET held_at = NULL, released_at = $1, released_by = $2, \
             release_reason = hold_reason, visibility = $3, local_only = $4 WHERE id = $5",
        )
        .bind(now_ms())
        .bind(released_by.as_i64())
        .bind(&visibility)
        .bind(local_only)
        .bind(status.as_i64())
        .execute(&mut *tx)
        .await?;
        let event = crate::outbox::NewOutboxEvent {
            kind: crate::outbox::OutboxKind::CreateStatus,
            actor: author,
            status: Some(status),
            target_account: None,
        };
        crate::outbox::enqueue_in(&mut tx, self.next_id(), &event).await?;
        tx.commit().await?;
        self.publish(StreamEvent::status(StreamEventKind::StatusCreated, status))
            .await;
        Ok(())
    }

    /// Who released a status, when, and the guard's reason (for the audit trail).
    pub async fn status_release(
        &self,
        status: Id,
    ) -> Result<Option<(Id, i64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT released_by, released_at, release_reason FROM statuses WHERE id = $1 AND released_at IS NOT NULL",
        )
        .bind(status.as_i64())
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| {
            let by: i64 = r.try_get("released_by")?;
            let reason: Option<String> = r.try_get("release_reason")?;
            Ok((
                id_from(by, "released_by")?,
                r.try_get("released_at")?,
                reason.unwrap_or_default(),
            ))
        })
        .transpose()
    }
}

/// Builds a record with its ancestor chain and boosted original attached.
fn assemble(flat: &HashMap<Id, FlatStatus>, status: Id, depth: usize) -> Option<StatusRecord> {
    let entry = flat.get(&status)?;
    let mut record = entry.record.clone();
    if depth < MAX_ANCESTORS {
        record.facts.parent = entry
            .parent
            .and_then(|p| assemble(flat, p, depth + 1))
            .map(|r| Box::new(r.facts));
        record.facts.reblog_of = record
            .reblog_of_id
            .and_then(|o| assemble(flat, o, depth + 1))
            .map(|r| Box::new(r.facts));
    }
    Some(record)
}

fn flat_from_row(row: &AnyRow) -> Result<FlatStatus, StoreError> {
    let visibility: Visibility = parsed(row, "visibility")?;
    let community: Option<i64> = row.try_get("community_id")?;
    let audience = Audience {
        visibility,
        local_only: flag(row, "local_only")? || visibility == Visibility::Local,
        community: community.map(|c| id_from(c, "community_id")).transpose()?,
    };
    let author_domain: Option<String> = row.try_get("author_domain")?;
    let author_domain = author_domain
        .map(|d| {
            Domain::parse(&d).map_err(|e| StoreError::Corrupt {
                column: "accounts.domain",
                detail: e.to_string(),
            })
        })
        .transpose()?;
    let author_suspended: Option<i64> = row.try_get("author_suspended_at")?;
    let deleted_at: Option<i64> = row.try_get("deleted_at")?;
    let held_at: Option<i64> = row.try_get("held_at")?;
    let parent: Option<i64> = row.try_get("in_reply_to_id")?;
    let reblog: Option<i64> = row.try_get("reblog_of_id")?;
    let facts = PostFacts {
        id: id(row, "id")?,
        author: Party {
            id: id(row, "account_id")?,
            domain: author_domain,
            suspended: author_suspended.is_some(),
        },
        audience,
        addressed: Vec::new(),
        parent: None,
        reblog_of: None,
        deleted: deleted_at.is_some(),
        held: held_at.is_some(),
    };
    Ok(FlatStatus {
        parent: parent.map(|p| id_from(p, "in_reply_to_id")).transpose()?,
        record: StatusRecord {
            facts,
            uri: row.try_get("uri")?,
            url: row.try_get("url")?,
            text_source: row.try_get("text_source")?,
            content_html: row.try_get("content_html")?,
            spoiler_text: row.try_get("spoiler_text")?,
            // A moderator's `sensitive` mark covers every post of the account while it lasts.
            sensitive: flag(row, "sensitive")?
                || row
                    .try_get::<Option<i64>, _>("author_sensitized_at")?
                    .is_some(),
            language: row.try_get("language")?,
            in_reply_to_id: parent.map(|p| id_from(p, "in_reply_to_id")).transpose()?,
            reblog_of_id: reblog.map(|r| id_from(r, "reblog_of_id")).transpose()?,
            created_at: row.try_get("created_at")?,
            edited_at: row.try_get("edited_at")?,
            hold_reason: row.try_get("hold_reason")?,
        },
    })
}

/// A status edit: the new text and, from the PHI guard, whether it is (still) held.
#[derive(Clone, Debug)]
pub struct StatusEdit {
    /// The text as typed.
    pub text_source: String,
    /// Sanitised HTML.
    pub content_html: String,
    /// Content warning.
    pub spoiler_text: String,
    /// Media marked sensitive.
    pub sensitive: bool,
    /// Language.
    pub language: Option<String>,
    /// The guard's reason if the edited post identifies a patient and must be held.
    pub held_reason: Option<String>,
    /// The uploads the post shows from now on (`None` keeps its media as they are).
    pub media: Option<Vec<Id>>,
}

/// One earlier (or the current) version of a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusVersion {
    /// Text as typed.
    pub text_source: String,
    /// HTML.
    pub content_html: String,
    /// Content warning.
    pub spoiler_text: String,
    /// Sensitive media.
    pub sensitive: bool,
    /// When this version was written, Unix ms.
    pub created_at: i64,
}

impl Store {
    /// Edits a local status in one transaction: keeps the previous version, applies the new
    /// text, sets or clears the PHI hold, and records what other servers must hear: an
    /// `Update` for a post they have, or a `Create` for a post released from a hold by the
    /// edit (they never had it).
    pub async fn edit_status(&self, status: Id, edit: &StatusEdit) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "SELECT account_id, text_source, content_html, spoiler_text, sensitive, created_at, edited_at, held_at \
             FROM statuses WHERE id = $1 AND deleted_at IS NULL AND local = TRUE",
        )
        .bind(status.as_i64())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("status"))?;
        let author = id(&row, "account_id")?;
        let was_held = row.try_get::<Option<i64>, _>("held_at")?.is_some();
        let previous_at: Option<i64> = row.try_get("edited_at")?;
        let created_at: i64 = row.try_get("created_at")?;
        sqlx::query(
            "INSERT INTO status_edits (id, status_id, text_source, content_html, spoiler_text, sensitive, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.next_id().as_i64())
        .bind(status.as_i64())
        .bind(row.try_get::<String, _>("text_source")?)
        .bind(row.try_get::<String, _>("content_html")?)
        .bind(row.try_get::<String, _>("spoiler_text")?)
        .bind(flag(&row, "sensitive")?)
        .bind(previous_at.unwrap_or(created_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE statuses SET text_source = $1, content_html = $2, spoiler_text = $3, sensitive = $4, \
             language = $5, edited_at = $6, held_at = $7, hold_reason = $8 WHERE id = $9",
        )
        .bind(&edit.text_source)
        .bind(&edit.content_html)
        .bind(&edit.spoiler_text)
        .bind(edit.sensitive)
        .bind(&edit.language)
        .bind(now)
        .bind(edit.held_reason.as_ref().map(|_| now))
        .bind(&edit.held_reason)
        .bind(status.as_i64())
        .execute(&mut *tx)
        .await?;
        if let Some(media) = &edit.media {
            self.replace_media_in(&mut tx, status, author, media)
                .await?;
        }
        let kind = match (was_held, edit.held_reason.is_some()) {
            (_, true) => None,
            (true, false) => Some(crate::outbox::OutboxKind::CreateStatus),
            (false, false) => Some(crate::outbox::OutboxKind::UpdateStatus),
        };
        if let Some(kind) = kind {
            let event = crate::outbox::NewOutboxEvent {
                kind,
                actor: author,
                status: Some(status),
                target_account: None,
            };
            crate::outbox::enqueue_in(&mut tx, self.next_id(), &event).await?;
        }
        tx.commit().await?;
        let live = match (was_held, edit.held_reason.is_some()) {
            (_, true) => None,
            (true, false) => Some(StreamEventKind::StatusCreated),
            (false, false) => Some(StreamEventKind::StatusEdited),
        };
        if let Some(kind) = live {
            self.publish(StreamEvent::status(kind, status)).await;
        }
        Ok(())
    }

    /// Every version of a status, oldest first, the current one last.
    pub async fn status_versions(&self, status: Id) -> Result<Vec<StatusVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT text_source, content_html, spoiler_text, sensitive, created_at FROM status_edits \
             WHERE status_id = $1 ORDER BY id",
        )
        .bind(status.as_i64())
        .fetch_all(self.reader())
        .await?;
        let mut out: Vec<StatusVersion> = rows
            .iter()
            .map(|r| {
                Ok(StatusVersion {
                    text_source: r.try_get("text_source")?,
                    content_html: r.try_get("content_html")?,
                    spoiler_text: r.try_get("spoiler_text")?,
                    sensitive: flag(r, "sensitive")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let current = self.status(status).await?;
        out.push(StatusVersion {
            text_source: current.text_source,
            content_html: current.content_html,
            spoiler_text: current.spoiler_text,
            sensitive: current.sensitive,
            created_at: current.edited_at.unwrap_or(current.created_at),
        });
        Ok(out)
    }
}
