//! Polls: one per status, with their votes.
//!
//! A local poll's counts are counted from `poll_votes`; a remote poll's come from its origin
//! (the `replies.totalItems` of each option in a `Question`, refreshed by `Update(Question)`)
//! and are stored as sent: the origin counts the votes. Who may read or vote is the read
//! gate's decision on the poll's status, made by the caller.

use std::collections::HashMap;

use cohort_model::Id;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::outbox::{NewOutboxEvent, OutboxKind, enqueue_in};
use crate::row::{flag, id};
use crate::sql::{IN_LIST_CHUNK, placeholders};
use crate::{Store, StoreError, now_ms};

/// How far back a pending `Update` of a poll's status is looked for: older events have been
/// planned and sent long ago (the planner's markers of them may be pruned).
const PENDING_UPDATE_WINDOW_MS: i64 = 10 * 60 * 1000;

/// At most this many options (Mastodon's default limit).
pub const MAX_POLL_OPTIONS: usize = 4;
/// At most this many characters per option.
pub const MAX_POLL_OPTION_CHARS: usize = 50;

/// A poll to store with its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPoll {
    /// The status it belongs to.
    pub status: Id,
    /// Option titles, in order.
    pub options: Vec<String>,
    /// Several choices allowed.
    pub multiple: bool,
    /// Counts hidden until it ends.
    pub hide_totals: bool,
    /// When voting ends, Unix ms.
    pub expires_at: Option<i64>,
}

/// A stored poll with its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollRecord {
    /// The poll's id.
    pub id: Id,
    /// Its status.
    pub status_id: Id,
    /// Option titles, in order.
    pub options: Vec<String>,
    /// Votes per option, in order.
    pub votes: Vec<i64>,
    /// How many accounts voted (for a single-choice poll, the sum of `votes`).
    pub voters_count: i64,
    /// Several choices allowed.
    pub multiple: bool,
    /// Counts hidden until it ends.
    pub hide_totals: bool,
    /// When voting ends, Unix ms.
    pub expires_at: Option<i64>,
    /// Counted on another instance (its counts are the origin's).
    pub remote: bool,
}

impl PollRecord {
    /// Whether voting has ended at `now`.
    pub fn expired_at(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// All votes cast (for a multiple-choice poll, more than the voters).
    pub fn votes_count(&self) -> i64 {
        self.votes.iter().sum()
    }
}

/// Why a vote was refused.
#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    /// Voting has ended.
    #[error("The poll has already ended")]
    Expired,
    /// The account voted before.
    #[error("You have already voted on this poll")]
    AlreadyVoted,
    /// A choice is not an option of the poll.
    #[error("The chosen vote option does not exist")]
    NoSuchOption,
    /// Several choices in a single-choice poll (Mastodon answers with the same words as a
    /// second vote).
    #[error("You have already voted on this poll")]
    NotMultiple,
    /// No choice at all.
    #[error("Validation failed: choices can't be blank")]
    NoChoice,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A poll whose end has just been claimed for notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedPoll {
    /// The poll.
    pub poll: Id,
    /// Its status.
    pub status: Id,
    /// The status's author.
    pub author: Id,
    /// Local accounts that voted.
    pub voters: Vec<Id>,
}

const POLL_COLUMNS: &str = "p.id, p.status_id, p.options_json, p.multiple, p.hide_totals, \
     p.expires_at, p.remote_counts_json, p.remote_voters_count";

impl Store {
    /// Stores a poll for an existing status.
    pub async fn create_poll(&self, new: &NewPoll) -> Result<Id, StoreError> {
        let poll = self.next_id();
        let options = serde_json::to_string(&new.options).map_err(|e| StoreError::Corrupt {
            column: "polls.options_json",
            detail: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO polls (id, status_id, options_json, multiple, hide_totals, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(poll.as_i64())
        .bind(new.status.as_i64())
        .bind(options)
        .bind(new.multiple)
        .bind(new.hide_totals)
        .bind(new.expires_at)
        .bind(now_ms())
        .execute(self.writer())
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict("poll")
            } else {
                e.into()
            }
        })?;
        Ok(poll)
    }

    /// A poll by its id.
    pub async fn poll(&self, poll: Id) -> Result<PollRecord, StoreError> {
        let sql = format!("SELECT {POLL_COLUMNS} FROM polls p WHERE p.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(poll.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("poll"))?;
        let mut polls = self.polls_with_counts(vec![row]).await?;
        polls.pop().ok_or(StoreError::NotFound("poll"))
    }

    /// The polls of these statuses, by status id.
    pub async fn polls_of(&self, statuses: &[Id]) -> Result<HashMap<Id, PollRecord>, StoreError> {
        let mut rows = Vec::new();
        for chunk in statuses.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT {POLL_COLUMNS} FROM polls p WHERE p.status_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for status in chunk {
                query = query.bind(status.as_i64());
            }
            rows.extend(query.fetch_all(self.reader()).await?);
        }
        Ok(self
            .polls_with_counts(rows)
            .await?
            .into_iter()
            .map(|p| (p.status_id, p))
            .collect())
    }

    async fn polls_with_counts(&self, rows: Vec<AnyRow>) -> Result<Vec<PollRecord>, StoreError> {
        let mut polls = Vec::with_capacity(rows.len());
        for row in rows {
            let options = json_column(&row, "options_json")?;
            let remote_counts: Option<String> = row.try_get("remote_counts_json")?;
            let poll = id(&row, "id")?;
            let (votes, voters_count, remote) = match remote_counts {
                Some(raw) => {
                    let mut votes: Vec<i64> =
                        serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt {
                            column: "polls.remote_counts_json",
                            detail: e.to_string(),
                        })?;
                    votes.resize(options.len(), 0);
                    let voters: Option<i64> = row.try_get("remote_voters_count")?;
                    let voters = voters.unwrap_or_else(|| votes.iter().sum());
                    (votes, voters, true)
                }
                None => {
                    let (votes, voters) = self.local_poll_counts(poll, options.len()).await?;
                    (votes, voters, false)
                }
            };
            polls.push(PollRecord {
                id: poll,
                status_id: id(&row, "status_id")?,
                options,
                votes,
                voters_count,
                multiple: flag(&row, "multiple")?,
                hide_totals: flag(&row, "hide_totals")?,
                expires_at: row.try_get("expires_at")?,
                remote,
            });
        }
        Ok(polls)
    }

    async fn local_poll_counts(
        &self,
        poll: Id,
        options: usize,
    ) -> Result<(Vec<i64>, i64), StoreError> {
        let mut votes = vec![0_i64; options];
        let rows = sqlx::query(
            "SELECT CAST(choice AS BIGINT) AS choice, COUNT(*) AS n FROM poll_votes WHERE poll_id = $1 GROUP BY choice",
        )
        .bind(poll.as_i64())
        .fetch_all(self.reader())
        .await?;
        for row in rows {
            let choice: i64 = row.try_get("choice")?;
            let n: i64 = row.try_get("n")?;
            if let Some(slot) = usize::try_from(choice).ok().and_then(|c| votes.get_mut(c)) {
                *slot = n;
            }
        }
        let voters: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT account_id) FROM poll_votes WHERE poll_id = $1",
        )
        .bind(poll.as_i64())
        .fetch_one(self.reader())
        .await?;
        Ok((votes, voters))
    }

    /// The choices an account made in each of these polls.
    pub async fn own_votes(
        &self,
        account: Id,
        polls: &[Id],
    ) -> Result<HashMap<Id, Vec<i64>>, StoreError> {
        let mut out: HashMap<Id, Vec<i64>> = HashMap::new();
        for chunk in polls.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT poll_id, CAST(choice AS BIGINT) AS choice FROM poll_votes WHERE account_id = $1 AND poll_id IN ({}) \
                 ORDER BY choice",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_i64());
            for poll in chunk {
                query = query.bind(poll.as_i64());
            }
            for row in query.fetch_all(self.reader()).await? {
                let choice: i64 = row.try_get("choice")?;
                out.entry(id(&row, "poll_id")?).or_default().push(choice);
            }
        }
        Ok(out)
    }

    /// Records an account's vote: every choice at once, once per poll, before it ends. The
    /// caller has checked that the account may see the poll's status and is not its author.
    pub async fn vote_in_poll(
        &self,
        poll: Id,
        account: Id,
        choices: &[i64],
        uri: Option<&str>,
    ) -> Result<(), VoteError> {
        let record = self.poll(poll).await?;
        let now = now_ms();
        if record.expired_at(now) {
            return Err(VoteError::Expired);
        }
        let mut choices = choices.to_vec();
        choices.sort_unstable();
        choices.dedup();
        if choices.is_empty() {
            return Err(VoteError::NoChoice);
        }
        if choices
            .iter()
            .any(|c| usize::try_from(*c).map_or(true, |c| c >= record.options.len()))
        {
            return Err(VoteError::NoSuchOption);
        }
        if !record.multiple && choices.len() > 1 {
            return Err(VoteError::NotMultiple);
        }
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let already: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM poll_votes WHERE poll_id = $1 AND account_id = $2",
        )
        .bind(poll.as_i64())
        .bind(account.as_i64())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if already > 0 {
            return Err(VoteError::AlreadyVoted);
        }
        for choice in &choices {
            sqlx::query(
                "INSERT INTO poll_votes (poll_id, account_id, choice, uri, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(poll.as_i64())
            .bind(account.as_i64())
            .bind(i32::try_from(*choice).unwrap_or(i32::MAX))
            .bind(uri)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if StoreError::is_unique_violation(&e) {
                    VoteError::AlreadyVoted
                } else {
                    VoteError::Store(e.into())
                }
            })?;
        }
        if record.remote {
            // The origin counts the votes: tell it (one `Create(Note)` per choice, rendered
            // from these rows at send time), and count them here meanwhile, as Mastodon does,
            // until its next `Update(Question)` brings the real figures.
            let mut votes = record.votes.clone();
            for choice in &choices {
                if let Some(count) = usize::try_from(*choice).ok().and_then(|c| votes.get_mut(c)) {
                    *count += 1;
                }
            }
            let counts = serde_json::to_string(&votes).map_err(|e| StoreError::Corrupt {
                column: "polls.remote_counts_json",
                detail: e.to_string(),
            })?;
            sqlx::query(
                "UPDATE polls SET remote_counts_json = $1, remote_voters_count = $2 WHERE id = $3",
            )
            .bind(counts)
            .bind(record.voters_count + 1)
            .bind(poll.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            let event = NewOutboxEvent {
                kind: OutboxKind::PollVote,
                actor: account,
                status: Some(record.status_id),
                target_account: None,
            };
            enqueue_in(&mut tx, self.next_id(), &event).await?;
        } else {
            self.announce_new_counts(&mut tx, record.status_id, now)
                .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Records one choice of a remote account's vote (Mastodon sends one `Create(Note)` per
    /// choice): refused after the end, for an unknown option, and for a second choice in a
    /// single-choice poll; a repeated delivery changes nothing.
    pub async fn record_remote_vote(
        &self,
        poll: Id,
        account: Id,
        choice: i64,
        uri: Option<&str>,
    ) -> Result<(), VoteError> {
        let record = self.poll(poll).await?;
        let now = now_ms();
        if record.expired_at(now) {
            return Err(VoteError::Expired);
        }
        if usize::try_from(choice).map_or(true, |c| c >= record.options.len()) {
            return Err(VoteError::NoSuchOption);
        }
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let earlier: Vec<i64> = sqlx::query_scalar(
            "SELECT CAST(choice AS BIGINT) FROM poll_votes WHERE poll_id = $1 AND account_id = $2",
        )
        .bind(poll.as_i64())
        .bind(account.as_i64())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if earlier.contains(&choice) {
            return Ok(());
        }
        if !record.multiple && !earlier.is_empty() {
            return Err(VoteError::AlreadyVoted);
        }
        sqlx::query(
            "INSERT INTO poll_votes (poll_id, account_id, choice, uri, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (poll_id, account_id, choice) DO NOTHING",
        )
        .bind(poll.as_i64())
        .bind(account.as_i64())
        .bind(i32::try_from(choice).unwrap_or(i32::MAX))
        .bind(uri)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        self.announce_new_counts(&mut tx, record.status_id, now)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// After a vote in a local poll: an `Update` of the poll's status, so that the instances
    /// that have the `Question` show the new counts. The worker renders the status when it
    /// sends, so one pending update carries every vote cast before it goes out: while one
    /// is still waiting (not yet planned, or queued for some instance), no other is added.
    async fn announce_new_counts(
        &self,
        tx: &mut Transaction<'static, Any>,
        status: Id,
        now: i64,
    ) -> Result<(), StoreError> {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox_activities o WHERE o.kind = $1 AND o.subject_status_id = $2 \
             AND o.created_at > $3 AND (NOT EXISTS (SELECT 1 FROM delivery_planned p WHERE p.event_id = o.id) \
             OR EXISTS (SELECT 1 FROM delivery_queue q WHERE q.event_id = o.id))",
        )
        .bind(OutboxKind::UpdateStatus.as_str())
        .bind(status.as_i64())
        .bind(now - PENDING_UPDATE_WINDOW_MS)
        .fetch_one(&mut **tx)
        .await?;
        if pending > 0 {
            return Ok(());
        }
        let author: Option<i64> = sqlx::query_scalar(
            "SELECT account_id FROM statuses WHERE id = $1 AND local = TRUE AND deleted_at IS NULL",
        )
        .bind(status.as_i64())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(author) = author else {
            return Ok(());
        };
        let event = NewOutboxEvent {
            kind: OutboxKind::UpdateStatus,
            actor: crate::row::id_from(author, "statuses.account_id")?,
            status: Some(status),
            target_account: None,
        };
        enqueue_in(tx, self.next_id(), &event).await
    }

    /// Replaces a remote poll's counts with the ones its origin sent.
    pub async fn set_remote_poll_counts(
        &self,
        status: Id,
        votes: &[i64],
        voters_count: Option<i64>,
    ) -> Result<(), StoreError> {
        let counts = serde_json::to_string(votes).map_err(|e| StoreError::Corrupt {
            column: "polls.remote_counts_json",
            detail: e.to_string(),
        })?;
        sqlx::query(
            "UPDATE polls SET remote_counts_json = $1, remote_voters_count = $2 WHERE status_id = $3",
        )
        .bind(counts)
        .bind(voters_count)
        .bind(status.as_i64())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Claims every poll of a live status that ended by `now` and has not been announced,
    /// and notifies (`poll`) its author, if local, and its local voters, in one transaction
    /// per poll, so each poll's end is announced once even with several processes.
    pub async fn end_due_polls(&self, now: i64) -> Result<Vec<EndedPoll>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.status_id, s.account_id, s.local FROM polls p JOIN statuses s ON s.id = p.status_id \
             WHERE p.ended_notified_at IS NULL AND p.expires_at IS NOT NULL AND p.expires_at <= $1 \
             AND s.deleted_at IS NULL ORDER BY p.expires_at LIMIT 500",
        )
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        let mut ended = Vec::new();
        for row in rows {
            let poll = id(&row, "id")?;
            let status = id(&row, "status_id")?;
            let author = id(&row, "account_id")?;
            let local_author = flag(&row, "local")?;
            let mut tx = self.writer().begin().await?;
            let claimed = sqlx::query(
                "UPDATE polls SET ended_notified_at = $1 WHERE id = $2 AND ended_notified_at IS NULL",
            )
            .bind(now)
            .bind(poll.as_i64())
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            let voters: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT v.account_id FROM poll_votes v JOIN accounts a ON a.id = v.account_id \
                 WHERE v.poll_id = $1 AND a.domain IS NULL",
            )
            .bind(poll.as_i64())
            .fetch_all(&mut *tx)
            .await?;
            let voters: Vec<Id> = voters
                .into_iter()
                .map(|v| crate::row::id_from(v, "poll_votes.account_id"))
                .collect::<Result<_, _>>()?;
            let mut notified: Vec<Id> = voters.iter().copied().filter(|v| *v != author).collect();
            if local_author {
                notified.push(author);
            }
            for account in &notified {
                sqlx::query(
                    "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, created_at) \
                     VALUES ($1, $2, $3, 'poll', $4, $5)",
                )
                .bind(self.next_id().as_i64())
                .bind(account.as_i64())
                .bind(author.as_i64())
                .bind(status.as_i64())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if local_author {
                // The final counts, and the poll shown as closed, on every instance that has it.
                self.announce_new_counts(&mut tx, status, now).await?;
            }
            tx.commit().await?;
            ended.push(EndedPoll {
                poll,
                status,
                author,
                voters,
            });
        }
        Ok(ended)
    }
}

fn json_column(row: &AnyRow, column: &'static str) -> Result<Vec<String>, StoreError> {
    let raw: String = row.try_get(column)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}
