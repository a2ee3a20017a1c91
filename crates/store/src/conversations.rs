//! Conversations: the direct statuses of one thread that an account takes part in (wrote or
//! was mentioned in), identified by the thread's root. Nothing is stored about the thread
//! itself; `conversation_states` keeps only what the account did with it (read up to which
//! status, hidden up to which). The caller renders each conversation's last status through
//! the read gate.

use cohort_model::Id;
use sqlx::Row;

use crate::row::id;
use crate::timelines::Page;
use crate::{Store, StoreError};

/// One conversation as an account sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRecord {
    /// The thread's root status (the conversation's id).
    pub root: Id,
    /// The newest direct status of the thread the account takes part in.
    pub last_status: Id,
    /// The account has not read up to the last status.
    pub unread: bool,
}

/// The direct statuses an account takes part in, grouped by thread.
const PARTICIPATING: &str = "SELECT COALESCE(s.thread_root_id, s.id) AS root, MAX(s.id) AS last_id \
     FROM statuses s WHERE s.visibility = 'direct' AND s.deleted_at IS NULL AND s.held_at IS NULL \
     AND (s.account_id = $1 OR s.id IN (SELECT status_id FROM status_mentions WHERE account_id = $1)) \
     GROUP BY COALESCE(s.thread_root_id, s.id)";

impl Store {
    /// An account's conversations, most recently active first, paged by last status id;
    /// hidden ones come back when a newer status arrives.
    pub async fn conversations_of(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<ConversationRecord>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let order = if ascending { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT c.root, c.last_id, COALESCE(cs.read_up_to, 0) AS read_up_to, \
               (SELECT account_id FROM statuses WHERE id = c.last_id) AS last_author \
             FROM ({PARTICIPATING}) c \
             LEFT JOIN conversation_states cs ON cs.account_id = $1 AND cs.root_status_id = c.root \
             WHERE c.last_id > COALESCE(cs.hidden_up_to, 0) AND c.last_id < $2 AND c.last_id > $3 \
             ORDER BY c.last_id {order} LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let last_status = id(&row, "last_id")?;
            let read_up_to: i64 = row.try_get("read_up_to")?;
            let last_author: i64 = row.try_get("last_author")?;
            out.push(ConversationRecord {
                root: id(&row, "root")?,
                last_status,
                unread: last_status.as_i64() > read_up_to && last_author != account.as_i64(),
            });
        }
        if ascending {
            out.reverse();
        }
        Ok(out)
    }

    /// One of an account's conversations (hidden or not).
    pub async fn conversation(
        &self,
        account: Id,
        root: Id,
    ) -> Result<ConversationRecord, StoreError> {
        let sql = format!(
            "SELECT c.root, c.last_id, COALESCE(cs.read_up_to, 0) AS read_up_to, \
               (SELECT account_id FROM statuses WHERE id = c.last_id) AS last_author \
             FROM ({PARTICIPATING}) c \
             LEFT JOIN conversation_states cs ON cs.account_id = $1 AND cs.root_status_id = c.root \
             WHERE c.root = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.as_i64())
            .bind(root.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("conversation"))?;
        let last_status = id(&row, "last_id")?;
        let read_up_to: i64 = row.try_get("read_up_to")?;
        let last_author: i64 = row.try_get("last_author")?;
        Ok(ConversationRecord {
            root,
            last_status,
            unread: last_status.as_i64() > read_up_to && last_author != account.as_i64(),
        })
    }

    /// The accounts taking part in a conversation (authors and mentioned accounts of its
    /// direct statuses), the account itself left out.
    pub async fn conversation_participants(
        &self,
        account: Id,
        root: Id,
    ) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT p FROM ( \
               SELECT s.account_id AS p FROM statuses s WHERE (s.thread_root_id = $1 OR s.id = $1) \
                 AND s.visibility = 'direct' AND s.deleted_at IS NULL \
               UNION SELECT m.account_id AS p FROM status_mentions m JOIN statuses s ON s.id = m.status_id \
                 WHERE (s.thread_root_id = $1 OR s.id = $1) AND s.visibility = 'direct' AND s.deleted_at IS NULL \
             ) found WHERE p <> $2 ORDER BY p",
        )
        .bind(root.as_i64())
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|p| crate::row::id_from(p, "statuses.account_id"))
            .collect()
    }

    /// Marks a conversation read up to its last status.
    pub async fn mark_conversation_read(&self, account: Id, root: Id) -> Result<(), StoreError> {
        let conversation = self.conversation(account, root).await?;
        sqlx::query(
            "INSERT INTO conversation_states (account_id, root_status_id, read_up_to) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, root_status_id) DO UPDATE SET read_up_to = excluded.read_up_to",
        )
        .bind(account.as_i64())
        .bind(root.as_i64())
        .bind(conversation.last_status.as_i64())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Hides a conversation until a newer status arrives in it (Mastodon's "delete").
    pub async fn hide_conversation(&self, account: Id, root: Id) -> Result<(), StoreError> {
        let conversation = self.conversation(account, root).await?;
        let last = conversation.last_status.as_i64();
        sqlx::query(
            "INSERT INTO conversation_states (account_id, root_status_id, read_up_to, hidden_up_to) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (account_id, root_status_id) DO UPDATE SET read_up_to = excluded.read_up_to, \
             hidden_up_to = excluded.hidden_up_to",
        )
        .bind(account.as_i64())
        .bind(root.as_i64())
        .bind(last)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
