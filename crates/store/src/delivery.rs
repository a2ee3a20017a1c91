//! The delivery queue: what the federation layer's planner and per-domain workers keep.
//!
//! The outbox (`outbox_activities`) records what happened. The **planner** turns each event
//! into one `delivery_queue` row per candidate remote domain and marks the event planned, in
//! one transaction, so a crash re-runs it idempotently (`ON CONFLICT DO NOTHING`). One
//! **worker per domain** holds that domain's lease (`outbox_instance_state.lease_owner`,
//! `lease_until`), walks its rows in event order, and deletes each once it is delivered or
//! permanently refused. Failures back off per domain (`1.25^(fails-1)` seconds, capped at a
//! day); after three days of failures the domain is marked unreachable
//! (`instances.unreachable_since`) until something clears it.
//!
//! Claims are one conditional `UPDATE` on both engines. On PostgreSQL the candidate rows are
//! picked `FOR UPDATE SKIP LOCKED`, so several `cohort` processes sharing a database never
//! wait on each other's claims; on SQLite the single writer makes the conditional update
//! atomic by itself.
//!
//! This module also gathers the audience engine's facts for *one receiving domain* (a worker
//! re-plans each activity at send time for its domain only, so a post to 10,000 followers on
//! 500 instances loads 20 followers per worker, not 10,000).

use std::collections::{BTreeMap, BTreeSet};

use cohort_model::{Domain, Id};
use cohort_policy::{DomainDecision, FactSet, PostFacts, Recipient};
use sqlx::Row;

use crate::outbox::OutboxEvent;
use crate::row::{id, id_from};
use crate::sql::{
    IN_LIST_CHUNK, MULTI_ROW_CHUNK, anonymous_or_numbered, in_text_set, placeholders,
    text_set_value, value_rows,
};
use crate::{Engine, OutboxKind, Store, StoreError, now_ms};

/// How long before the cursor the planner looks again for late-committing events (ids are
/// issued before their transaction commits, so an older id can appear after a newer one).
pub const PLANNER_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// The backoff cap: one day.
pub const MAX_BACKOFF_MS: i64 = 24 * 60 * 60 * 1000;

/// After this long failing without a success, a domain is marked unreachable.
pub const UNREACHABLE_AFTER_MS: i64 = 3 * 24 * 60 * 60 * 1000;

/// The delay before the next attempt after `fails` consecutive failures:
/// `1.25^(fails-1)` seconds, capped at [`MAX_BACKOFF_MS`].
pub fn backoff_ms(fails: i64) -> i64 {
    let exponent = (fails.max(1) - 1).min(200) as i32;
    let secs = 1.25_f64.powi(exponent);
    let ms = (secs * 1000.0).round();
    if ms >= MAX_BACKOFF_MS as f64 {
        MAX_BACKOFF_MS
    } else {
        ms as i64
    }
}

/// One queued delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedDelivery {
    /// The receiving domain.
    pub domain: Domain,
    /// The outbox event.
    pub event_id: Id,
    /// Inboxes of this domain already served for this event.
    pub done_inboxes: Vec<String>,
}

/// What a worker needs of the local account that acts: its ids and its signing key.
#[derive(Clone)]
pub struct DeliveryActor {
    /// The account.
    pub id: Id,
    /// `@name`.
    pub username: String,
    /// ActivityPub id.
    pub actor_uri: String,
    /// Followers collection.
    pub followers_uri: Option<String>,
    /// `publicKey.id`, the signature's keyId.
    pub key_id: Option<String>,
    /// PKCS#8 PEM of the private key.
    pub private_key_pem: Option<String>,
    /// Suspended accounts send nothing.
    pub suspended: bool,
    /// `None` for local accounts.
    pub domain: Option<Domain>,
}

impl std::fmt::Debug for DeliveryActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryActor")
            .field("id", &self.id)
            .field("actor_uri", &self.actor_uri)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A domain's delivery state, for admins and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainDeliveryState {
    /// The domain.
    pub domain: Domain,
    /// Consecutive failures.
    pub fail_count: i64,
    /// No attempt before this time, Unix ms.
    pub next_attempt_at: i64,
    /// When the current run of failures began.
    pub failing_since: Option<i64>,
    /// The last error seen.
    pub last_error: Option<String>,
    /// When the domain was marked unreachable.
    pub unreachable_since: Option<i64>,
    /// Rows still queued.
    pub queued: i64,
}

/// What a recorded failure led to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FailureOutcome {
    /// Consecutive failures, this one included.
    pub fail_count: i64,
    /// The next attempt, Unix ms.
    pub next_attempt_at: i64,
    /// Whether the domain is now marked unreachable.
    pub unreachable: bool,
}

fn parse_domain(raw: &str, column: &'static str) -> Result<Domain, StoreError> {
    Domain::parse(raw).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

impl Store {
    // ----- planner -----

    /// The planner's cursor: the newest event id planned (0 before the first).
    pub async fn planner_cursor(&self) -> Result<i64, StoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM delivery_cursors WHERE name = 'planner'")
                .fetch_optional(self.reader())
                .await?;
        Ok(position.unwrap_or(0))
    }

    /// Outbox events not planned yet, oldest first: those newer than the cursor, and those a
    /// little older (within [`PLANNER_LOOKBACK_MS`]) that committed late.
    pub async fn unplanned_outbox_events(
        &self,
        limit: i64,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let cursor = self.planner_cursor().await?;
        let from = if cursor <= 0 {
            0
        } else {
            let ms = (cursor >> 16) - PLANNER_LOOKBACK_MS;
            Id::lower_bound_at(ms.max(0)).as_i64()
        };
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT o.id FROM outbox_activities o WHERE o.id > $1 AND NOT EXISTS \
             (SELECT 1 FROM delivery_planned p WHERE p.event_id = o.id) ORDER BY o.id LIMIT $2",
        )
        .bind(from)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for raw in ids {
            if let Some(event) = self
                .outbox_event(id_from(raw, "outbox_activities.id")?)
                .await?
            {
                out.push(event);
            }
        }
        Ok(out)
    }

    /// Queues `event` for each of `domains` and marks it planned, in one transaction.
    /// Re-running it is harmless.
    pub async fn enqueue_deliveries(
        &self,
        event: Id,
        domains: &[Domain],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        for chunk in domains.chunks(IN_LIST_CHUNK / 4) {
            let mut sql =
                String::from("INSERT INTO delivery_queue (domain, event_id, created_at) VALUES ");
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, $1, $2)", i + 3))
                .collect();
            sql.push_str(&rows.join(", "));
            sql.push_str(" ON CONFLICT (domain, event_id) DO NOTHING");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(event.as_i64())
                .bind(now);
            for d in chunk {
                query = query.bind(d.as_str());
            }
            query.execute(&mut *tx).await?;

            let mut sql = String::from("INSERT INTO outbox_instance_state (domain) VALUES ");
            let rows: Vec<String> = (0..chunk.len()).map(|i| format!("(${})", i + 1)).collect();
            sql.push_str(&rows.join(", "));
            sql.push_str(" ON CONFLICT (domain) DO NOTHING");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for d in chunk {
                query = query.bind(d.as_str());
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO delivery_planned (event_id, planned_at) VALUES ($1, $2) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.as_i64())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO delivery_cursors (name, position, updated_at) VALUES ('planner', $1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at \
             WHERE delivery_cursors.position < excluded.position",
        )
        .bind(event.as_i64())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets planned markers older than the lookback window behind the cursor.
    pub async fn prune_planned_markers(&self) -> Result<u64, StoreError> {
        let cursor = self.planner_cursor().await?;
        if cursor <= 0 {
            return Ok(0);
        }
        let before = Id::lower_bound_at(((cursor >> 16) - 2 * PLANNER_LOOKBACK_MS).max(0));
        let done = sqlx::query("DELETE FROM delivery_planned WHERE event_id < $1")
            .bind(before.as_i64())
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    /// Domains with a queued row for any event about `status` (deliveries that may be in
    /// flight): a Delete planned now must reach them too.
    pub async fn queued_domains_for_status(&self, status: Id) -> Result<Vec<Domain>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT q.domain FROM delivery_queue q JOIN outbox_activities o ON o.id = q.event_id \
             WHERE o.subject_status_id = $1 ORDER BY q.domain",
        )
        .bind(status.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|d| parse_domain(d, "delivery_queue.domain"))
            .collect()
    }

    // ----- claims and leases -----

    /// Claims up to `limit` domains that have queued rows, are due, are not leased by
    /// anyone else and are not unreachable. Returns the domains now leased to `owner` until
    /// `now + lease_ms`.
    pub async fn claim_delivery_domains(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Domain>, StoreError> {
        let lock = match self.engine() {
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox_instance_state SET lease_owner = $1, lease_until = $2 \
             WHERE (lease_until IS NULL OR lease_until < $3) AND next_attempt_at <= $3 AND domain IN (\
               SELECT s.domain FROM outbox_instance_state s \
               WHERE s.next_attempt_at <= $3 AND (s.lease_until IS NULL OR s.lease_until < $3) \
               AND EXISTS (SELECT 1 FROM delivery_queue q WHERE q.domain = s.domain) \
               AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.domain = s.domain AND i.unreachable_since IS NOT NULL) \
               ORDER BY s.next_attempt_at, s.domain LIMIT $4{lock}) \
             RETURNING domain"
        );
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(self.writer())
            .await?;
        rows.iter()
            .map(|d| parse_domain(d, "outbox_instance_state.domain"))
            .collect()
    }

    /// Extends `owner`'s lease on `domain`; `false` if it no longer holds it.
    pub async fn renew_delivery_lease(
        &self,
        domain: &Domain,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox_instance_state SET lease_until = $1 WHERE domain = $2 AND lease_owner = $3",
        )
        .bind(until)
        .bind(domain.as_str())
        .bind(owner)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives up `owner`'s lease on `domain`.
    pub async fn release_delivery_lease(
        &self,
        domain: &Domain,
        owner: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox_instance_state SET lease_owner = NULL, lease_until = NULL \
             WHERE domain = $1 AND lease_owner = $2",
        )
        .bind(domain.as_str())
        .bind(owner)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The oldest queued rows of `domain`, in event order.
    pub async fn queued_deliveries(
        &self,
        domain: &Domain,
        limit: i64,
    ) -> Result<Vec<QueuedDelivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id, done_inboxes FROM delivery_queue WHERE domain = $1 ORDER BY event_id LIMIT $2",
        )
        .bind(domain.as_str())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let done: String = row.try_get("done_inboxes")?;
                Ok(QueuedDelivery {
                    domain: domain.clone(),
                    event_id: id(row, "event_id")?,
                    done_inboxes: done
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect(),
                })
            })
            .collect()
    }

    /// The oldest queued rows (at most `limit` each, in event order) of several domains, in
    /// one query: what the delivery lanes need of the domains they claimed together.
    pub async fn queued_deliveries_of_domains(
        &self,
        domains: &[Domain],
        limit: i64,
    ) -> Result<std::collections::HashMap<Domain, Vec<QueuedDelivery>>, StoreError> {
        let mut out: std::collections::HashMap<Domain, Vec<QueuedDelivery>> =
            std::collections::HashMap::new();
        for chunk in domains.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT domain, event_id, done_inboxes FROM (SELECT domain, event_id, done_inboxes, \
                 ROW_NUMBER() OVER (PARTITION BY domain ORDER BY event_id) AS n FROM delivery_queue \
                 WHERE domain IN ({})) q WHERE n <= $1 ORDER BY domain, event_id",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
            for d in chunk {
                query = query.bind(d.as_str());
            }
            for row in query.fetch_all(self.reader()).await? {
                let domain = parse_domain(
                    &row.try_get::<String, _>("domain")?,
                    "delivery_queue.domain",
                )?;
                let done: String = row.try_get("done_inboxes")?;
                out.entry(domain.clone()).or_default().push(QueuedDelivery {
                    domain,
                    event_id: id(&row, "event_id")?,
                    done_inboxes: done
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    /// Records progress inside a row that serves several inboxes of one domain: `inbox` was
    /// served (and, when `delivered_status` is given, received that status), in one
    /// transaction, so a retry sends nothing twice and a later Delete still reaches it.
    pub async fn record_inbox_progress(
        &self,
        domain: &Domain,
        event: Id,
        delivered_status: Option<Id>,
        inbox: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        if let Some(status) = delivered_status {
            insert_status_delivery(&mut tx, status, inbox, domain, now).await?;
        }
        sqlx::query(
            "UPDATE delivery_queue SET done_inboxes = done_inboxes || $1 WHERE domain = $2 AND event_id = $3",
        )
        .bind(format!("{}\n", inbox.replace('\n', "")))
        .bind(domain.as_str())
        .bind(event.as_i64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Completes a queued row in one transaction: the decision log rows for the status (as
    /// `Store::record_audience_decisions` writes them), the inboxes that received it (as
    /// `Store::record_status_delivery` does), and the removal of the row. A crash before the
    /// commit re-runs the row (receivers deduplicate by activity id); after it, nothing is
    /// sent again and the delivery record is complete.
    pub async fn complete_delivery(
        &self,
        domain: &Domain,
        event: Id,
        status: Option<Id>,
        decisions: &[DomainDecision],
        delivered_inboxes: &[String],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        if let Some(status) = status {
            for d in decisions {
                sqlx::query(
                    "INSERT INTO audience_decisions (status_id, domain, allowed, rule, decided_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (status_id, domain) DO UPDATE SET \
                     allowed = excluded.allowed, rule = excluded.rule, decided_at = excluded.decided_at",
                )
                .bind(status.as_i64())
                .bind(d.domain.as_str())
                .bind(d.allowed)
                .bind(d.rule.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for inbox in delivered_inboxes {
                insert_status_delivery(&mut tx, status, inbox, domain, now).await?;
            }
        }
        sqlx::query("DELETE FROM delivery_queue WHERE domain = $1 AND event_id = $2")
            .bind(domain.as_str())
            .bind(event.as_i64())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a queued row: delivered, refused for good, or nothing left to send.
    pub async fn finish_delivery(&self, domain: &Domain, event: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM delivery_queue WHERE domain = $1 AND event_id = $2")
            .bind(domain.as_str())
            .bind(event.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Records that `domain` answered: clears its failure run and unreachable mark. Writes
    /// only when there is something to clear.
    pub async fn record_domain_success(&self, domain: &Domain, now: i64) -> Result<(), StoreError> {
        let failing: Option<(i64, Option<i64>)> = sqlx::query(
            "SELECT s.next_attempt_at, (SELECT i.unreachable_since FROM instances i WHERE i.domain = s.domain) AS u \
             FROM outbox_instance_state s WHERE s.domain = $1 AND (s.fail_count > 0 OR s.failing_since IS NOT NULL \
             OR EXISTS (SELECT 1 FROM instances i WHERE i.domain = s.domain AND i.unreachable_since IS NOT NULL))",
        )
        .bind(domain.as_str())
        .fetch_optional(self.reader())
        .await?
        .map(|row| Ok::<_, StoreError>((row.try_get("next_attempt_at")?, row.try_get("u")?)))
        .transpose()?;
        if failing.is_none() {
            return Ok(());
        }
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "UPDATE outbox_instance_state SET fail_count = 0, failing_since = NULL, next_attempt_at = 0, \
             last_error = NULL WHERE domain = $1",
        )
        .bind(domain.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO instances (domain, first_seen_at, last_success_at) VALUES ($1, $2, $2) \
             ON CONFLICT (domain) DO UPDATE SET last_success_at = excluded.last_success_at, \
             unreachable_since = NULL",
        )
        .bind(domain.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a transient failure of `domain`: backs it off and, after
    /// [`UNREACHABLE_AFTER_MS`] of failures, marks it unreachable.
    pub async fn record_domain_failure(
        &self,
        domain: &Domain,
        now: i64,
        error: &str,
    ) -> Result<FailureOutcome, StoreError> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "UPDATE outbox_instance_state SET fail_count = fail_count + 1, \
             failing_since = COALESCE(failing_since, $1), last_error = $2 WHERE domain = $3 \
             RETURNING fail_count, failing_since",
        )
        .bind(now)
        .bind(error.chars().take(500).collect::<String>())
        .bind(domain.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("delivery domain"))?;
        let fail_count: i64 = row
            .try_get::<i64, _>("fail_count")
            .or_else(|_| row.try_get::<i32, _>("fail_count").map(i64::from))?;
        let failing_since: i64 = row
            .try_get::<Option<i64>, _>("failing_since")?
            .unwrap_or(now);
        let next_attempt_at = now + backoff_ms(fail_count);
        sqlx::query("UPDATE outbox_instance_state SET next_attempt_at = $1 WHERE domain = $2")
            .bind(next_attempt_at)
            .bind(domain.as_str())
            .execute(&mut *tx)
            .await?;
        let unreachable = now - failing_since >= UNREACHABLE_AFTER_MS;
        if unreachable {
            sqlx::query(
                "INSERT INTO instances (domain, first_seen_at, unreachable_since) VALUES ($1, $2, $2) \
                 ON CONFLICT (domain) DO UPDATE SET unreachable_since = \
                 COALESCE(instances.unreachable_since, excluded.unreachable_since)",
            )
            .bind(domain.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(FailureOutcome {
            fail_count,
            next_attempt_at,
            unreachable,
        })
    }

    /// Clears a domain's unreachable mark and backoff, so its worker resumes at once. The
    /// inbox calls it when the domain sends us something (one read when the domain was not
    /// marked); a successful probe does too. Returns whether it was marked.
    pub async fn clear_unreachable(&self, domain: &Domain) -> Result<bool, StoreError> {
        // Every verified inbox request calls this: look first, so that the common case (a
        // reachable domain) takes no write (on SQLite, a turn of the one writer).
        let marked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM instances WHERE domain = $1 AND unreachable_since IS NOT NULL",
        )
        .bind(domain.as_str())
        .fetch_one(self.reader())
        .await?;
        if marked == 0 {
            return Ok(false);
        }
        let mut tx = self.writer().begin().await?;
        let cleared = sqlx::query(
            "UPDATE instances SET unreachable_since = NULL WHERE domain = $1 AND unreachable_since IS NOT NULL",
        )
        .bind(domain.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if cleared {
            sqlx::query(
                "UPDATE outbox_instance_state SET fail_count = 0, failing_since = NULL, next_attempt_at = 0 \
                 WHERE domain = $1",
            )
            .bind(domain.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(cleared)
    }

    /// Makes a backed-off domain due now, keeping its failure count (an admin's "retry now";
    /// tests use it instead of waiting).
    pub async fn retry_domain_now(&self, domain: &Domain) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox_instance_state SET next_attempt_at = 0 WHERE domain = $1")
            .bind(domain.as_str())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Domains marked unreachable that still have queued rows.
    pub async fn unreachable_domains_with_queue(&self) -> Result<Vec<Domain>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT i.domain FROM instances i WHERE i.unreachable_since IS NOT NULL AND EXISTS \
             (SELECT 1 FROM delivery_queue q WHERE q.domain = i.domain) ORDER BY i.domain",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|d| parse_domain(d, "instances.domain"))
            .collect()
    }

    /// How many rows are queued, in all.
    pub async fn delivery_queue_len(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM delivery_queue")
            .fetch_one(self.reader())
            .await?)
    }

    /// Queued rows that a worker could take now (due, not unreachable), whoever leases them.
    pub async fn due_delivery_rows(&self, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM delivery_queue q JOIN outbox_instance_state s ON s.domain = q.domain \
             WHERE s.next_attempt_at <= $1 AND NOT EXISTS \
             (SELECT 1 FROM instances i WHERE i.domain = q.domain AND i.unreachable_since IS NOT NULL)",
        )
        .bind(now)
        .fetch_one(self.reader())
        .await?)
    }

    /// A domain's delivery state.
    pub async fn domain_delivery_state(
        &self,
        domain: &Domain,
    ) -> Result<Option<DomainDeliveryState>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT s.domain, s.fail_count, s.next_attempt_at, s.failing_since, s.last_error, \
             (SELECT i.unreachable_since FROM instances i WHERE i.domain = s.domain) AS unreachable_since, \
             (SELECT COUNT(*) FROM delivery_queue q WHERE q.domain = s.domain) AS queued \
             FROM outbox_instance_state s WHERE s.domain = $1",
        )
        .bind(domain.as_str())
        .fetch_optional(self.reader())
        .await?
        else {
            return Ok(None);
        };
        let fail_count: i64 = row
            .try_get::<i64, _>("fail_count")
            .or_else(|_| row.try_get::<i32, _>("fail_count").map(i64::from))?;
        Ok(Some(DomainDeliveryState {
            domain: domain.clone(),
            fail_count,
            next_attempt_at: row.try_get("next_attempt_at")?,
            failing_since: row.try_get("failing_since")?,
            last_error: row.try_get("last_error")?,
            unreachable_since: row.try_get("unreachable_since")?,
            queued: row.try_get("queued")?,
        }))
    }

    // ----- what rendering and signing need -----

    /// One outbox event by id.
    pub async fn outbox_event(&self, event: Id) -> Result<Option<OutboxEvent>, StoreError> {
        Ok(self
            .outbox_events_after(event.as_i64() - 1, 1)
            .await?
            .into_iter()
            .find(|e| e.id == event))
    }

    /// The federation mode and the policies of `domains`: the facts a relationship
    /// activity's plan needs.
    pub async fn domain_facts(&self, domains: &[Domain]) -> Result<FactSet, StoreError> {
        let mut facts = FactSet::default();
        let set: BTreeSet<Domain> = domains.iter().cloned().collect();
        self.load_domain_facts(&mut facts, &set).await?;
        Ok(facts)
    }

    /// The acting account's ids and signing key.
    pub async fn delivery_actor(&self, account: Id) -> Result<DeliveryActor, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.username, a.domain, a.actor_uri, a.followers_uri, a.suspended_at, \
             k.key_id, k.private_key_pem FROM accounts a LEFT JOIN actor_keys k ON k.account_id = a.id \
             WHERE a.id = $1",
        )
        .bind(account.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("account"))?;
        let domain: Option<String> = row.try_get("domain")?;
        let suspended: Option<i64> = row.try_get("suspended_at")?;
        Ok(DeliveryActor {
            id: id(&row, "id")?,
            username: row.try_get("username")?,
            actor_uri: row.try_get("actor_uri")?,
            followers_uri: row.try_get("followers_uri")?,
            key_id: row.try_get("key_id")?,
            private_key_pem: row.try_get("private_key_pem")?,
            suspended: suspended.is_some(),
            domain: domain
                .map(|d| parse_domain(&d, "accounts.domain"))
                .transpose()?,
        })
    }

    /// The stored id of the follow from `follower` to `followed`, if it has one.
    pub async fn follow_uri(
        &self,
        follower: Id,
        followed: Id,
    ) -> Result<Option<String>, StoreError> {
        let uri: Option<Option<String>> = sqlx::query_scalar(
            "SELECT uri FROM follows WHERE account_id = $1 AND target_account_id = $2",
        )
        .bind(follower.as_i64())
        .bind(followed.as_i64())
        .fetch_optional(self.reader())
        .await?;
        Ok(uri.flatten())
    }

    /// The newest earlier event of `kind` by `actor` about the same status or target: the
    /// activity an `Undo` undoes.
    pub async fn previous_outbox_event(
        &self,
        kind: OutboxKind,
        actor: Id,
        status: Option<Id>,
        target: Option<Id>,
        before: Id,
    ) -> Result<Option<Id>, StoreError> {
        let params = target.map_or_else(
            || "{}".to_owned(),
            |t| format!("{{\"target_account\":{t}}}"),
        );
        let query = match status {
            Some(_) => sqlx::query_scalar(
                "SELECT MAX(id) FROM outbox_activities WHERE kind = $1 AND actor_account_id = $2 \
                 AND id < $3 AND activity_json = $4 AND subject_status_id = $5",
            ),
            None => sqlx::query_scalar(
                "SELECT MAX(id) FROM outbox_activities WHERE kind = $1 AND actor_account_id = $2 \
                 AND id < $3 AND activity_json = $4 AND subject_status_id IS NULL AND $5 = $5",
            ),
        };
        let found: Option<i64> = query
            .bind(kind.as_str())
            .bind(actor.as_i64())
            .bind(before.as_i64())
            .bind(params)
            .bind(status.map_or(0, Id::as_i64))
            .fetch_one(self.reader())
            .await?;
        found
            .map(|f| id_from(f, "outbox_activities.id"))
            .transpose()
    }

    /// Statuses whose expiry has passed and that are not deleted yet, oldest expiry first.
    pub async fn statuses_due_to_expire(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM statuses WHERE expires_at IS NOT NULL AND expires_at <= $1 \
             AND deleted_at IS NULL ORDER BY expires_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|i| id_from(i, "statuses.id"))
            .collect()
    }

    // ----- facts for one receiving domain -----

    /// The candidates on `domain` for delivering `post`, with the facts to decide them: the
    /// same candidates as [`Store::delivery_candidates`] (the author's remote followers, the
    /// addressed accounts, the parent's author, community members), restricted to one domain.
    pub async fn delivery_candidates_on_domain(
        &self,
        post: &PostFacts,
        domain: &Domain,
    ) -> Result<(FactSet, Vec<Recipient>), StoreError> {
        self.delivery_candidates_on_domains(post, std::slice::from_ref(domain))
            .await
    }

    /// [`Store::delivery_candidates_on_domain`] for several domains at once, with one set
    /// of facts for them all: the delivery workers plan one activity for every domain whose
    /// turn has come together, with the same number of queries as for one.
    pub async fn delivery_candidates_on_domains(
        &self,
        post: &PostFacts,
        receiving: &[Domain],
    ) -> Result<(FactSet, Vec<Recipient>), StoreError> {
        let mut authors: BTreeSet<Id> = BTreeSet::new();
        let mut domains: BTreeSet<Domain> = BTreeSet::new();
        let mut communities: BTreeSet<Id> = BTreeSet::new();
        collect_involved(post, &mut authors, &mut domains, &mut communities);
        let receiving: BTreeSet<Domain> = receiving.iter().cloned().collect();
        domains.extend(receiving.iter().cloned());
        let subject_author = post.author.id;
        let engine = self.engine();
        let receiving_set = text_set_value(receiving.iter().map(Domain::as_str));

        // The author's followers on these domains, with their inboxes, in one statement:
        // from the domains' accounts (indexed by domain) to their follow of the author (the
        // unique index), so the cost grows with these domains' accounts, not with the
        // author's followers everywhere. Each of them follows the author: that fact is
        // recorded here rather than read again below.
        let followers_of_author = format!(
            "FROM accounts a WHERE {} AND a.inbox_uri IS NOT NULL AND EXISTS \
             (SELECT 1 FROM follows f WHERE f.account_id = a.id AND f.target_account_id = $1 \
             AND f.state = 'accepted')",
            in_text_set(engine, "a.domain", 2)
        );
        let mut candidates = match engine {
            // On SQLite they come back as one JSON array (`recipients_json`): for the
            // thousands of followers of a batch of domains, handing each row over from the
            // driver's thread cost twice what the query itself did.
            Engine::Sqlite => {
                let sql = format!(
                    "SELECT {} {followers_of_author}",
                    crate::audience::recipients_json("a")
                );
                let json: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(subject_author.as_i64())
                    .bind(&receiving_set)
                    .fetch_one(self.reader())
                    .await?;
                crate::audience::recipients_from_json(&json)?
            }
            // PostgreSQL builds JSON slowly (`json_build_array` took twice the query's time):
            // rows it is. It cannot know how many domains the set holds (it assumes 100), so
            // it scanned every account and every follow of the author for each batch; walked
            // domain by domain (`LATERAL ... OFFSET 0` keeps it from flattening the walk into
            // the same scans), each domain is one probe of `accounts_domain` and one of the
            // follows' unique index per account there.
            Engine::Postgres => {
                let sql = "SELECT a.id, a.domain, a.suspended_at, a.actor_uri, a.inbox_uri, \
                     a.shared_inbox_uri FROM (SELECT DISTINCT jsonb_array_elements_text(\
                     CAST($2 AS JSONB)) AS domain) d CROSS JOIN LATERAL (SELECT * FROM \
                     accounts x WHERE x.domain = d.domain AND x.inbox_uri IS NOT NULL AND \
                     EXISTS (SELECT 1 FROM follows f WHERE f.account_id = x.id AND \
                     f.target_account_id = $1 AND f.state = 'accepted') OFFSET 0) a";
                let rows = sqlx::query(sql)
                    .bind(subject_author.as_i64())
                    .bind(&receiving_set)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter()
                    .map(crate::audience::recipient)
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let followers: BTreeSet<Id> = candidates.iter().map(|c| c.party.id).collect();

        // The others: addressed accounts, the subject's and its parent's authors, and the
        // community's members on these domains.
        let mut others: BTreeSet<Id> = post.addressed.iter().copied().collect();
        let subject = post.reblog_of.as_deref().unwrap_or(post);
        others.insert(subject.author.id);
        if let Some(parent) = &subject.parent {
            others.insert(parent.author.id);
        }
        if let Some(community) = subject.audience.community {
            let sql = format!(
                "SELECT a.id FROM accounts a WHERE {} AND EXISTS (SELECT 1 FROM \
                 community_members m WHERE m.account_id = a.id AND m.community_id = $1 AND \
                 m.state = 'member')",
                in_text_set(engine, "a.domain", 2)
            );
            let members: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(community.as_i64())
                .bind(&receiving_set)
                .fetch_all(self.reader())
                .await?;
            others.extend(members.into_iter().filter_map(|i| Id::from_i64(i).ok()));
        }
        others.remove(&subject_author);
        let others: Vec<Id> = others.difference(&followers).copied().collect();
        candidates.extend(self.remote_recipients(&others).await?);
        candidates.retain(|c| {
            c.party.id != subject_author
                && c.party
                    .domain
                    .as_ref()
                    .is_some_and(|d| receiving.contains(d))
        });
        candidates.sort_by_key(|r| r.party.id);

        let candidate_list: Vec<Id> = candidates.iter().map(|c| c.party.id).collect();
        let author_list: Vec<Id> = authors.iter().copied().collect();
        // The same loaders as `facts_for_viewer` and `delivery_candidates`, restricted to these
        // domains' candidates.
        let mut facts = FactSet::default();
        self.load_domain_facts(&mut facts, &domains).await?;
        if !candidate_list.is_empty() {
            // Follows of the post's author: known for its followers, read for the others.
            for follower in &followers {
                facts.follows.insert((*follower, subject_author));
            }
            let not_followers: Vec<Id> = candidate_list
                .iter()
                .filter(|c| !followers.contains(c))
                .copied()
                .collect();
            self.load_follows(&mut facts, &not_followers, &[subject_author])
                .await?;
            let other_authors: Vec<Id> = author_list
                .iter()
                .filter(|a| **a != subject_author)
                .copied()
                .collect();
            self.load_follows(&mut facts, &candidate_list, &other_authors)
                .await?;
            self.load_blocks(&mut facts, &candidate_list, &author_list)
                .await?;
            let community_set: BTreeSet<Id> = communities.iter().copied().collect();
            self.load_memberships(&mut facts, &community_set, &candidate_list)
                .await?;
        }
        let mut accounts = author_list.clone();
        accounts.extend(candidate_list.iter().copied());
        self.load_account_domain_blocks(&mut facts, &accounts)
            .await?;
        let community_set: BTreeSet<Id> = communities.iter().copied().collect();
        self.load_communities(&mut facts, &community_set).await?;
        Ok((facts, candidates))
    }

    // ----- batched completions -----

    /// Completes several rows (of different domains) in **one** transaction, each as
    /// [`Store::complete_delivery`] does; for a row whose domain answered
    /// ([`DeliveryCompletion::answered`]) the domain's failure run is cleared in the same
    /// transaction, as [`Store::record_domain_success`] does. The delivery workers group the
    /// rows that finish together (on SQLite, one commit of the single writer for many rows).
    pub async fn complete_deliveries(&self, rows: &[DeliveryCompletion]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        // Multi-row statements, a few per chunk of rows, not a few per row: on SQLite every
        // statement is a round trip to the connection's thread, which a fan-out to hundreds of
        // domains would otherwise pay hundreds of times per commit.
        // One decision per (status, domain): the last one stands (PostgreSQL refuses an
        // upsert that touches the same row twice in one statement).
        let mut decisions: BTreeMap<(Id, &str), &DomainDecision> = BTreeMap::new();
        let mut delivered: BTreeSet<(Id, &str, &str)> = BTreeSet::new();
        for row in rows {
            if let Some(status) = row.status {
                for d in &row.decisions {
                    decisions.insert((status, d.domain.as_str()), d);
                }
                for inbox in &row.delivered_inboxes {
                    delivered.insert((status, inbox.as_str(), row.domain.as_str()));
                }
            }
        }
        let answered: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.answered)
            .map(|r| r.domain.as_str())
            .collect();
        let mut tx = self.writer().begin().await?;
        let decisions: Vec<_> = decisions.into_iter().collect();
        for chunk in decisions.chunks(MULTI_ROW_CHUNK) {
            let sql = format!(
                "INSERT INTO audience_decisions (status_id, domain, allowed, rule, decided_at) \
                 VALUES {} ON CONFLICT (status_id, domain) DO UPDATE SET \
                 allowed = excluded.allowed, rule = excluded.rule, decided_at = excluded.decided_at",
                value_rows(self.engine(), chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((status, domain), d) in chunk {
                query = query
                    .bind(status.as_i64())
                    .bind(*domain)
                    .bind(d.allowed)
                    .bind(d.rule.as_str())
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        let delivered: Vec<_> = delivered.into_iter().collect();
        for chunk in delivered.chunks(MULTI_ROW_CHUNK) {
            let sql = format!(
                "INSERT INTO status_deliveries (status_id, inbox_uri, domain, delivered_at) \
                 VALUES {} ON CONFLICT (status_id, inbox_uri) DO NOTHING",
                value_rows(self.engine(), chunk.len(), 4)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (status, inbox, domain) in chunk {
                query = query
                    .bind(status.as_i64())
                    .bind(*inbox)
                    .bind(*domain)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in rows.chunks(MULTI_ROW_CHUNK) {
            // `(a AND b) OR ...` rather than a row-value `IN (VALUES ...)`, whose parameter
            // types PostgreSQL cannot infer; parameters as `value_rows` numbers them.
            let engine = self.engine();
            let sql = format!(
                "DELETE FROM delivery_queue WHERE {}",
                (0..chunk.len())
                    .map(|n| match engine {
                        Engine::Sqlite => "(domain = ? AND event_id = ?)".to_owned(),
                        Engine::Postgres =>
                            format!("(domain = ${} AND event_id = ${})", 2 * n + 1, 2 * n + 2),
                    })
                    .collect::<Vec<_>>()
                    .join(" OR ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                query = query.bind(row.domain.as_str()).bind(row.event.as_i64());
            }
            query.execute(&mut *tx).await?;
        }
        let answered: Vec<&str> = answered.into_iter().collect();
        for chunk in answered.chunks(IN_LIST_CHUNK) {
            // A domain that answered ends its failure run; only those that were failing
            // get their success recorded on the instance.
            let sql = format!(
                "UPDATE outbox_instance_state SET fail_count = 0, failing_since = NULL, \
                 next_attempt_at = 0, last_error = NULL WHERE domain IN ({}) AND \
                 (fail_count > 0 OR failing_since IS NOT NULL) RETURNING domain",
                anonymous_or_numbered(self.engine(), chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for domain in chunk {
                query = query.bind(*domain);
            }
            let cleared: Vec<String> = query.fetch_all(&mut *tx).await?;
            if cleared.is_empty() {
                continue;
            }
            let sql = format!(
                "INSERT INTO instances (domain, first_seen_at, last_success_at) VALUES {} \
                 ON CONFLICT (domain) DO UPDATE SET last_success_at = excluded.last_success_at, \
                 unreachable_since = NULL",
                value_rows(self.engine(), cleared.len(), 3)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for domain in &cleared {
                query = query.bind(domain.as_str()).bind(now).bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives up `owner`'s leases on `domains`, in one statement per few hundred.
    pub async fn release_delivery_leases(
        &self,
        domains: &[Domain],
        owner: &str,
    ) -> Result<(), StoreError> {
        for chunk in domains.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "UPDATE outbox_instance_state SET lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = $1 AND domain IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner);
            for d in chunk {
                query = query.bind(d.as_str());
            }
            query.execute(self.writer()).await?;
        }
        Ok(())
    }
}

/// One row to complete with [`Store::complete_deliveries`].
#[derive(Clone, Debug)]
pub struct DeliveryCompletion {
    /// The receiving domain.
    pub domain: Domain,
    /// The outbox event.
    pub event: Id,
    /// The status concerned, for the decision log and the delivery record.
    pub status: Option<Id>,
    /// The plan's decisions for this domain.
    pub decisions: Vec<DomainDecision>,
    /// Inboxes that received the status (not yet recorded).
    pub delivered_inboxes: Vec<String>,
    /// The domain answered a POST of this row (2xx): its failure run ends.
    pub answered: bool,
}

async fn insert_status_delivery(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    status: Id,
    inbox: &str,
    domain: &Domain,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_deliveries (status_id, inbox_uri, domain, delivered_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (status_id, inbox_uri) DO NOTHING",
    )
    .bind(status.as_i64())
    .bind(inbox)
    .bind(domain.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn collect_involved(
    post: &PostFacts,
    authors: &mut BTreeSet<Id>,
    domains: &mut BTreeSet<Domain>,
    communities: &mut BTreeSet<Id>,
) {
    authors.insert(post.author.id);
    if let Some(d) = &post.author.domain {
        domains.insert(d.clone());
    }
    if let Some(c) = post.audience.community {
        communities.insert(c);
    }
    if let Some(parent) = &post.parent {
        collect_involved(parent, authors, domains, communities);
    }
    if let Some(original) = &post.reblog_of {
        collect_involved(original, authors, domains, communities);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_a_quarter_and_caps_at_a_day() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 1250);
        assert_eq!(backoff_ms(3), 1563);
        assert_eq!(backoff_ms(60), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(100_000), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0), 1000);
    }
}
