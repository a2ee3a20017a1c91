//! The receiving side of federation: the durable inbox queue, the cache of remote actors'
//! keys, the instance actor's key pair, and the writes that inbound activities make
//! (favourites, follow ids, edits of remote posts, actor deletions and moves).
//!
//! The inbox answers `202` only after [`Store::enqueue_inbox_activity`] committed: the
//! activity id is recorded in `received_activities` and the activity in `inbox_queue` in one
//! transaction, so a replay is recognised (and dropped) and an accepted activity survives a
//! restart. The processor claims rows with a lease ([`Store::claim_inbox_items`]), applies
//! them and deletes them ([`Store::finish_inbox_item`]).

use std::collections::HashSet;

use cohort_model::{Id, Visibility};
use sqlx::Row;

use crate::row::{flag, id, id_from};
use crate::sql::{IN_LIST_CHUNK, anonymous_or_numbered, value_rows};
use crate::{Engine, Store, StoreError, now_ms};

/// After this many failed attempts an inbox item is dropped (logged by the caller).
pub const INBOX_MAX_ATTEMPTS: i64 = 8;

/// An accepted activity waiting to be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxItem {
    /// Queue row id.
    pub id: Id,
    /// The activity's id.
    pub activity_uri: String,
    /// The verified signer (the activity's actor).
    pub actor_uri: String,
    /// The activity as received.
    pub activity_json: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// An accepted activity to queue (see [`Store::enqueue_inbox_activities`]).
#[derive(Clone, Copy, Debug)]
pub struct NewInboxActivity<'a> {
    /// The activity's id (the dedup key).
    pub activity_uri: &'a str,
    /// The verified signer.
    pub actor_uri: &'a str,
    /// The activity as received.
    pub activity_json: &'a str,
}

/// A remote actor's public key, as fetched from the actor document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteKey {
    /// The keyId, exactly as `publicKey.id` gives it.
    pub key_id: String,
    /// The owning actor's id.
    pub actor_uri: String,
    /// The account it was cached as.
    pub account_id: Option<Id>,
    /// The actor's `type` (`Person`, `Application`, `Service`, `Group`...).
    pub actor_type: String,
    /// Whether the actor is its server's instance actor (signs for the instance).
    pub is_instance: bool,
    /// SPKI PEM.
    pub public_key_pem: String,
    /// When fetched, Unix ms.
    pub fetched_at: i64,
}

/// What an actor document of a local account shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalActorProfile {
    /// Account id.
    pub id: Id,
    /// `@name`.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Bio (HTML).
    pub note: String,
    /// Follows need approval.
    pub locked: bool,
    /// Automated.
    pub bot: bool,
    /// A community's Group actor.
    pub is_group: bool,
    /// Listed in directories.
    pub discoverable: bool,
    /// Searchable (FEP-5feb).
    pub indexable: bool,
    /// Profile fields (plain text), in order.
    pub fields: Vec<crate::ProfileField>,
    /// ActivityPub id.
    pub actor_uri: String,
    /// Profile page.
    pub url: Option<String>,
    /// `publicKey.id`.
    pub key_id: String,
    /// SPKI PEM.
    pub public_key_pem: String,
    /// Suspended accounts are not served.
    pub suspended: bool,
    /// Created, Unix ms.
    pub created_at: i64,
}

impl Store {
    /// Records an inbound activity id and queues the activity, in one transaction. Returns
    /// `false` (and writes nothing) when the id was seen before: a replay.
    pub async fn enqueue_inbox_activity(
        &self,
        activity_uri: &str,
        actor_uri: &str,
        activity_json: &str,
    ) -> Result<bool, StoreError> {
        let fresh = self
            .enqueue_inbox_activities(&[NewInboxActivity {
                activity_uri,
                actor_uri,
                activity_json,
            }])
            .await?;
        Ok(fresh.first().copied().unwrap_or(false))
    }

    /// [`Store::enqueue_inbox_activity`] for several activities in **one** transaction (the
    /// inbox's group commit: on SQLite one commit of the single writer for many requests),
    /// written with two multi-row statements per batch rather than two per activity.
    /// Returns, in order, whether each was fresh; a replay (also of an earlier item of the
    /// same batch) writes nothing. Either every item is recorded or none is.
    pub async fn enqueue_inbox_activities(
        &self,
        items: &[NewInboxActivity<'_>],
    ) -> Result<Vec<bool>, StoreError> {
        /// Rows per statement: well under SQLite's oldest limit of 999 bound parameters.
        const ROWS: usize = 100;
        let now = now_ms();
        // The first item with each id; later ones of the batch are replays of it.
        let mut seen = HashSet::with_capacity(items.len());
        let firsts: Vec<&NewInboxActivity<'_>> = items
            .iter()
            .filter(|item| seen.insert(item.activity_uri))
            .collect();
        if self.engine() == Engine::Postgres && firsts.len() <= ROWS {
            return self.enqueue_in_one_statement(items, &firsts, now).await;
        }
        let mut tx = self.writer().begin().await?;
        let mut recorded: HashSet<String> = HashSet::with_capacity(firsts.len());
        for chunk in firsts.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO received_activities (activity_uri, received_at) VALUES {} \
                 ON CONFLICT (activity_uri) DO NOTHING RETURNING activity_uri",
                value_rows(self.engine(), chunk.len(), 2)
            );
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for item in chunk {
                query = query.bind(item.activity_uri).bind(now);
            }
            recorded.extend(query.fetch_all(&mut *tx).await?);
        }
        let mut queued: HashSet<&str> = HashSet::with_capacity(recorded.len());
        let fresh: Vec<bool> = items
            .iter()
            .map(|item| recorded.contains(item.activity_uri) && queued.insert(item.activity_uri))
            .collect();
        let to_queue: Vec<&NewInboxActivity<'_>> = items
            .iter()
            .zip(&fresh)
            .filter_map(|(item, fresh)| fresh.then_some(item))
            .collect();
        for chunk in to_queue.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO inbox_queue (id, activity_uri, actor_uri, activity_json, created_at) \
                 VALUES {}",
                value_rows(self.engine(), chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for item in chunk {
                query = query
                    .bind(self.next_id().as_i64())
                    .bind(item.activity_uri)
                    .bind(item.actor_uri)
                    .bind(item.activity_json)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        if !to_queue.is_empty() {
            tx.commit().await?;
        }
        Ok(fresh)
    }

    /// PostgreSQL: [`Store::enqueue_inbox_activities`] as one statement (a data-modifying
    /// `WITH`), so a group commit is one round trip. `firsts` are the items with distinct
    /// ids, in order.
    async fn enqueue_in_one_statement(
        &self,
        items: &[NewInboxActivity<'_>],
        firsts: &[&NewInboxActivity<'_>],
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let values: Vec<String> = (0..firsts.len())
            .map(|n| {
                let p = 4 * n + 2;
                format!("(${p}, ${}, ${}, ${}::bigint)", p + 1, p + 2, p + 3)
            })
            .collect();
        let sql = format!(
            "WITH incoming (activity_uri, actor_uri, activity_json, id) AS (VALUES {}), \
             recorded AS (INSERT INTO received_activities (activity_uri, received_at) \
             SELECT activity_uri, $1 FROM incoming ON CONFLICT (activity_uri) DO NOTHING \
             RETURNING activity_uri) \
             INSERT INTO inbox_queue (id, activity_uri, actor_uri, activity_json, created_at) \
             SELECT i.id, i.activity_uri, i.actor_uri, i.activity_json, $1 \
             FROM incoming i JOIN recorded r ON r.activity_uri = i.activity_uri \
             RETURNING activity_uri",
            values.join(", ")
        );
        let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(now);
        for item in firsts {
            query = query
                .bind(item.activity_uri)
                .bind(item.actor_uri)
                .bind(item.activity_json)
                .bind(self.next_id().as_i64());
        }
        let recorded: HashSet<String> = query.fetch_all(self.writer()).await?.into_iter().collect();
        let mut queued: HashSet<&str> = HashSet::with_capacity(recorded.len());
        Ok(items
            .iter()
            .map(|item| recorded.contains(item.activity_uri) && queued.insert(item.activity_uri))
            .collect())
    }

    /// Whether an activity id was received before.
    pub async fn activity_received(&self, activity_uri: &str) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM received_activities WHERE activity_uri = $1")
                .bind(activity_uri)
                .fetch_one(self.reader())
                .await?;
        Ok(n > 0)
    }

    /// Claims up to `limit` due items for `lease_ms`, oldest first, with one statement. On
    /// PostgreSQL several processes can claim concurrently (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_inbox_items(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let now = now_ms();
        let sql = match self.engine() {
            Engine::Sqlite => {
                "UPDATE inbox_queue SET lease_until = $1 WHERE id IN (SELECT id FROM inbox_queue \
                 WHERE next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
                 ORDER BY id LIMIT $3) \
                 RETURNING id, activity_uri, actor_uri, activity_json, attempts"
            }
            Engine::Postgres => {
                "UPDATE inbox_queue SET lease_until = $1 WHERE id IN (SELECT id FROM inbox_queue \
                 WHERE next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
                 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, activity_uri, actor_uri, activity_json, attempts"
            }
        };
        let rows = sqlx::query(sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(self.writer())
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(InboxItem {
                id: id(row, "id")?,
                activity_uri: row.try_get("activity_uri")?,
                actor_uri: row.try_get("actor_uri")?,
                activity_json: row.try_get("activity_json")?,
                attempts: row.try_get("attempts")?,
            });
        }
        // RETURNING gives no order: oldest first, as claimed.
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    /// Removes an applied item.
    pub async fn finish_inbox_item(&self, item: Id) -> Result<(), StoreError> {
        self.finish_inbox_items(&[item]).await
    }

    /// Removes applied items, in one statement per few hundred.
    pub async fn finish_inbox_items(&self, items: &[Id]) -> Result<(), StoreError> {
        for chunk in items.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "DELETE FROM inbox_queue WHERE id IN ({})",
                anonymous_or_numbered(self.engine(), chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for item in chunk {
                query = query.bind(item.as_i64());
            }
            query.execute(self.writer()).await?;
        }
        Ok(())
    }

    /// Records a transient failure: the item is retried after `retry_in_ms`, or dropped
    /// (returns `false`) once it has failed [`INBOX_MAX_ATTEMPTS`] times.
    pub async fn retry_inbox_item(
        &self,
        item: Id,
        error: &str,
        retry_in_ms: i64,
    ) -> Result<bool, StoreError> {
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM inbox_queue WHERE id = $1")
                .bind(item.as_i64())
                .fetch_optional(self.reader())
                .await?;
        let attempts = attempts.unwrap_or(0) + 1;
        if attempts >= INBOX_MAX_ATTEMPTS {
            self.finish_inbox_item(item).await?;
            return Ok(false);
        }
        sqlx::query(
            "UPDATE inbox_queue SET attempts = $1, next_attempt_at = $2, lease_until = NULL, \
             last_error = $3 WHERE id = $4",
        )
        .bind(attempts)
        .bind(now_ms() + retry_in_ms)
        .bind(error)
        .bind(item.as_i64())
        .execute(self.writer())
        .await?;
        Ok(true)
    }

    /// Items waiting (due or not).
    pub async fn inbox_queue_len(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbox_queue")
            .fetch_one(self.reader())
            .await?)
    }

    /// Items due now and not leased.
    pub async fn inbox_items_due(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbox_queue WHERE next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1)",
        )
        .bind(now_ms())
        .fetch_one(self.reader())
        .await?)
    }
}

impl Store {
    /// A cached remote key by its exact keyId.
    pub async fn remote_key(&self, key_id: &str) -> Result<Option<RemoteKey>, StoreError> {
        let row = sqlx::query(
            "SELECT key_id, actor_uri, account_id, actor_type, is_instance, public_key_pem, \
             fetched_at FROM remote_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let account: Option<i64> = row.try_get("account_id")?;
        Ok(Some(RemoteKey {
            key_id: row.try_get("key_id")?,
            actor_uri: row.try_get("actor_uri")?,
            account_id: account.map(|a| id_from(a, "account_id")).transpose()?,
            actor_type: row.try_get("actor_type")?,
            is_instance: flag(&row, "is_instance")?,
            public_key_pem: row.try_get("public_key_pem")?,
            fetched_at: row.try_get("fetched_at")?,
        }))
    }

    /// Caches (or refreshes) a remote key; other keys of the same actor are dropped (a
    /// rotated key stops verifying at once).
    pub async fn save_remote_key(&self, key: &RemoteKey) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM remote_keys WHERE actor_uri = $1 OR key_id = $2")
            .bind(&key.actor_uri)
            .bind(&key.key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO remote_keys (key_id, actor_uri, account_id, actor_type, is_instance, \
             public_key_pem, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.key_id)
        .bind(&key.actor_uri)
        .bind(key.account_id.map(Id::as_i64))
        .bind(&key.actor_type)
        .bind(key.is_instance)
        .bind(&key.public_key_pem)
        .bind(key.fetched_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The instance actor's key pair (public, private PEM), if generated.
    pub async fn instance_actor_keys(&self) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT public_key_pem, private_key_pem FROM instance_actor_keys WHERE id = 1",
        )
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((r.try_get("public_key_pem")?, r.try_get("private_key_pem")?)))
            .transpose()
    }

    /// Stores the instance actor's key pair unless one exists; returns the pair in force
    /// (the first one stored wins when several processes start at once).
    pub async fn ensure_instance_actor_keys(
        &self,
        public_key_pem: &str,
        private_key_pem: &str,
    ) -> Result<(String, String), StoreError> {
        sqlx::query(
            "INSERT INTO instance_actor_keys (id, public_key_pem, private_key_pem, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(public_key_pem)
        .bind(private_key_pem)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.instance_actor_keys()
            .await?
            .ok_or(StoreError::NotFound("instance actor keys"))
    }
}

impl Store {
    /// The actor document's facts of a local account (by username, case-insensitively).
    pub async fn local_actor_profile(
        &self,
        username: &str,
    ) -> Result<Option<LocalActorProfile>, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.username, a.display_name, a.note, a.locked, a.bot, a.is_group, \
             a.discoverable, a.indexable, a.actor_uri, a.url, a.suspended_at, a.created_at, \
             a.fields_json, k.key_id, k.public_key_pem \
             FROM accounts a JOIN actor_keys k ON k.account_id = a.id \
             WHERE a.domain IS NULL AND a.username_lower = $1",
        )
        .bind(username.to_ascii_lowercase())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let suspended: Option<i64> = row.try_get("suspended_at")?;
        Ok(Some(LocalActorProfile {
            id: id(&row, "id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            note: row.try_get("note")?,
            locked: flag(&row, "locked")?,
            bot: flag(&row, "bot")?,
            is_group: flag(&row, "is_group")?,
            discoverable: flag(&row, "discoverable")?,
            indexable: flag(&row, "indexable")?,
            fields: crate::profiles::fields_from_json(&row.try_get::<String, _>("fields_json")?)?,
            actor_uri: row.try_get("actor_uri")?,
            url: row.try_get("url")?,
            key_id: row.try_get("key_id")?,
            public_key_pem: row.try_get("public_key_pem")?,
            suspended: suspended.is_some(),
            created_at: row.try_get("created_at")?,
        }))
    }

    /// The account with this ActivityPub id, local or remote.
    pub async fn account_id_by_actor_uri(&self, actor_uri: &str) -> Result<Option<Id>, StoreError> {
        let raw: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE actor_uri = $1")
            .bind(actor_uri)
            .fetch_optional(self.reader())
            .await?;
        raw.map(|r| id_from(r, "accounts.id")).transpose()
    }

    /// The status with this ActivityPub id (deleted ones included).
    pub async fn status_id_by_uri(&self, uri: &str) -> Result<Option<Id>, StoreError> {
        let raw: Option<i64> = sqlx::query_scalar("SELECT id FROM statuses WHERE uri = $1")
            .bind(uri)
            .fetch_optional(self.reader())
            .await?;
        raw.map(|r| id_from(r, "statuses.id")).transpose()
    }

    /// The author of a status.
    pub async fn status_author(&self, status: Id) -> Result<Option<Id>, StoreError> {
        let raw: Option<i64> = sqlx::query_scalar("SELECT account_id FROM statuses WHERE id = $1")
            .bind(status.as_i64())
            .fetch_optional(self.reader())
            .await?;
        raw.map(|r| id_from(r, "statuses.account_id")).transpose()
    }

    /// Records the id of a follow activity (the remote Follow's id, answered by Accept).
    pub async fn set_follow_uri(
        &self,
        follower: Id,
        followed: Id,
        uri: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE follows SET uri = $1 WHERE account_id = $2 AND target_account_id = $3")
            .bind(uri)
            .bind(follower.as_i64())
            .bind(followed.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// A remote account's followers collection, if known.
    pub async fn remote_followers_uri(&self, account: Id) -> Result<Option<String>, StoreError> {
        let uri: Option<Option<String>> =
            sqlx::query_scalar("SELECT followers_uri FROM accounts WHERE id = $1")
                .bind(account.as_i64())
                .fetch_optional(self.reader())
                .await?;
        Ok(uri.flatten().filter(|u| !u.is_empty()))
    }

    /// Whether any local account follows `account` (accepted).
    pub async fn has_local_follower(&self, account: Id) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND f.state = 'accepted' AND a.domain IS NULL",
        )
        .bind(account.as_i64())
        .fetch_one(self.reader())
        .await?;
        Ok(n > 0)
    }

    /// Replaces the content of a remote status (an `Update` from its author).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_remote_status(
        &self,
        status: Id,
        content_html: &str,
        spoiler_text: &str,
        sensitive: bool,
        language: Option<&str>,
        visibility: Visibility,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE statuses SET content_html = $1, spoiler_text = $2, sensitive = $3, \
             language = $4, visibility = $5, edited_at = $6 WHERE id = $7 AND local = $8",
        )
        .bind(content_html)
        .bind(spoiler_text)
        .bind(sensitive)
        .bind(language)
        .bind(visibility.as_str())
        .bind(now_ms())
        .bind(status.as_i64())
        .bind(false)
        .execute(self.writer())
        .await?;
        self.publish(crate::StreamEvent::status(
            crate::StreamEventKind::StatusEdited,
            status,
        ))
        .await;
        Ok(())
    }

    /// Records a favourite (idempotent).
    pub async fn add_favourite(
        &self,
        account: Id,
        status: Id,
        uri: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO favourites (id, account_id, status_id, uri, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, status_id) DO NOTHING",
        )
        .bind(self.next_id().as_i64())
        .bind(account.as_i64())
        .bind(status.as_i64())
        .bind(uri)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Removes a favourite.
    pub async fn remove_favourite(&self, account: Id, status: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM favourites WHERE account_id = $1 AND status_id = $2")
            .bind(account.as_i64())
            .bind(status.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Removes a favourite by the Like's id; returns whether one was removed.
    pub async fn remove_favourite_by_uri(
        &self,
        account: Id,
        uri: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM favourites WHERE account_id = $1 AND uri = $2")
            .bind(account.as_i64())
            .bind(uri)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many accounts favourited a status.
    pub async fn favourites_count(&self, status: Id) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM favourites WHERE status_id = $1")
                .bind(status.as_i64())
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// The live boost of `original` by `account`, if any.
    pub async fn boost_by(&self, account: Id, original: Id) -> Result<Option<Id>, StoreError> {
        let raw: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM statuses WHERE account_id = $1 AND reblog_of_id = $2 \
             AND deleted_at IS NULL",
        )
        .bind(account.as_i64())
        .bind(original.as_i64())
        .fetch_optional(self.reader())
        .await?;
        raw.map(|r| id_from(r, "statuses.id")).transpose()
    }

    /// A remote actor deleted itself: its posts are tombstoned, its follows and favourites
    /// removed, and the account suspended so that nothing of it is shown again.
    pub async fn remove_remote_actor(&self, account: Id) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "UPDATE statuses SET deleted_at = $1 WHERE account_id = $2 AND deleted_at IS NULL \
             AND local = $3",
        )
        .bind(now)
        .bind(account.as_i64())
        .bind(false)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM follows WHERE account_id = $1 OR target_account_id = $1")
            .bind(account.as_i64())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM favourites WHERE account_id = $1")
            .bind(account.as_i64())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM remote_keys WHERE account_id = $1")
            .bind(account.as_i64())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE accounts SET suspended_at = $1, updated_at = $1 WHERE id = $2 \
             AND domain IS NOT NULL",
        )
        .bind(now)
        .bind(account.as_i64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that a remote account moved to `target_uri`; `verified` when the target
    /// lists the account in `alsoKnownAs`.
    pub async fn record_account_move(
        &self,
        account: Id,
        target_uri: &str,
        verified: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO account_moves (account_id, target_uri, verified, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
             target_uri = excluded.target_uri, verified = excluded.verified, \
             created_at = excluded.created_at",
        )
        .bind(account.as_i64())
        .bind(target_uri)
        .bind(verified)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The recorded move of an account: (target, verified).
    pub async fn account_move(&self, account: Id) -> Result<Option<(String, bool)>, StoreError> {
        let row =
            sqlx::query("SELECT target_uri, verified FROM account_moves WHERE account_id = $1")
                .bind(account.as_i64())
                .fetch_optional(self.reader())
                .await?;
        row.map(|r| Ok((r.try_get("target_uri")?, flag(&r, "verified")?)))
            .transpose()
    }

    /// Local, open (public or unlisted, not local-only), live, not held statuses: the
    /// count an outbox may show, and NodeInfo's `localPosts` (with `account = None`).
    pub async fn count_open_local_statuses(&self, account: Option<Id>) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM statuses WHERE local = $1 AND deleted_at IS NULL \
             AND held_at IS NULL AND local_only = $2 AND visibility IN ('public', 'unlisted') \
             AND ($3 = 0 OR account_id = $3)",
        )
        .bind(true)
        .bind(false)
        .bind(account.map_or(0, Id::as_i64))
        .fetch_one(self.reader())
        .await?;
        Ok(n)
    }
}
