//! Subscriptions to shared blocklists: a URL fetched periodically (or a file uploaded once).
//!
//! Each fetch becomes a draft of `domain_block_imports` (reviewed and applied like any
//! import, or applied at once when the subscription says `auto_apply`) holding only what
//! would change: blocks new or changed on the list, and **retractions**, the blocks that came
//! from this subscription and are no longer on it. Two rules keep moderators in charge:
//! - a domain the subscription **excludes** is never applied from it (and a block of it
//!   that came from it is proposed for removal);
//! - a block (or allow) a moderator made by hand (`domain_policies.subscription_id` NULL) is
//!   never replaced nor removed by a subscription.

use std::collections::{BTreeMap, BTreeSet};

use cohort_model::{Domain, Id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::moderation::DomainBlockWrite;
use crate::row::{flag, id, id_from};
use crate::{Store, StoreError, now_ms};

/// A subscription as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRecord {
    /// Id.
    pub id: Id,
    /// The list's URL; `None` for an uploaded file (applied once, never refetched).
    pub url: Option<String>,
    /// Apply each fetch at once instead of leaving a draft.
    pub auto_apply: bool,
    /// Domains never applied from this subscription.
    pub excludes: Vec<Domain>,
    /// Kept with every block it applies (where the list came from).
    pub private_comment: String,
    /// The moderator who subscribed (acts for automatic applications).
    pub moderator: Option<Id>,
    /// The last fetch, Unix ms.
    pub last_fetched_at: Option<i64>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// A subscription to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscription {
    /// The list's URL (`None`: an uploaded file).
    pub url: Option<String>,
    /// Apply each fetch at once.
    pub auto_apply: bool,
    /// Domains never applied from it.
    pub excludes: Vec<Domain>,
    /// Kept with every block it applies.
    pub private_comment: String,
    /// Who subscribes.
    pub moderator: Id,
}

fn corrupt(detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        column: "blocklist_subscriptions.excludes",
        detail: detail.to_string(),
    }
}

fn subscription_from_row(row: &AnyRow) -> Result<SubscriptionRecord, StoreError> {
    let excludes: String = row.try_get("excludes")?;
    let excludes: Vec<String> = serde_json::from_str(&excludes).map_err(corrupt)?;
    Ok(SubscriptionRecord {
        id: id(row, "id")?,
        url: row.try_get("url")?,
        auto_apply: flag(row, "auto_apply")?,
        excludes: excludes
            .iter()
            .map(|d| Domain::parse(d).map_err(corrupt))
            .collect::<Result<_, _>>()?,
        private_comment: row.try_get("private_comment")?,
        moderator: row
            .try_get::<Option<i64>, _>("moderator_account_id")?
            .map(|m| id_from(m, "moderator_account_id"))
            .transpose()?,
        last_fetched_at: row.try_get("last_fetched_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
    })
}

const SUBSCRIPTION_COLUMNS: &str = "id, url, auto_apply, excludes, private_comment, \
     moderator_account_id, last_fetched_at, last_error, created_at";

impl Store {
    /// Stores a subscription.
    pub async fn create_blocklist_subscription(
        &self,
        new: &NewSubscription,
    ) -> Result<Id, StoreError> {
        let subscription = self.next_id();
        let excludes: Vec<&str> = new.excludes.iter().map(Domain::as_str).collect();
        sqlx::query(
            "INSERT INTO blocklist_subscriptions (id, url, auto_apply, excludes, private_comment, \
             moderator_account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(subscription.as_i64())
        .bind(&new.url)
        .bind(new.auto_apply)
        .bind(serde_json::to_string(&excludes).map_err(corrupt)?)
        .bind(&new.private_comment)
        .bind(new.moderator.as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(subscription)
    }

    /// One subscription.
    pub async fn blocklist_subscription(
        &self,
        subscription: Id,
    ) -> Result<SubscriptionRecord, StoreError> {
        let sql =
            format!("SELECT {SUBSCRIPTION_COLUMNS} FROM blocklist_subscriptions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(subscription.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("blocklist subscription"))?;
        subscription_from_row(&row)
    }

    /// Every subscription, oldest first.
    pub async fn blocklist_subscriptions(&self) -> Result<Vec<SubscriptionRecord>, StoreError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM blocklist_subscriptions ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    /// Ends a subscription. Its blocks stay, as blocks made by hand (nothing is lifted
    /// without a moderator's decision); its undecided drafts are discarded.
    pub async fn delete_blocklist_subscription(&self, subscription: Id) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let gone = sqlx::query("DELETE FROM blocklist_subscriptions WHERE id = $1")
            .bind(subscription.as_i64())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(StoreError::NotFound("blocklist subscription"));
        }
        sqlx::query("UPDATE domain_policies SET subscription_id = NULL WHERE subscription_id = $1")
            .bind(subscription.as_i64())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE domain_block_imports SET state = 'discarded', decided_at = $1 \
             WHERE subscription_id = $2 AND state = 'draft'",
        )
        .bind(now_ms())
        .bind(subscription.as_i64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the outcome of a fetch (`error` when it failed).
    pub async fn record_subscription_fetch(
        &self,
        subscription: Id,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE blocklist_subscriptions SET last_fetched_at = $1, last_error = $2 WHERE id = $3",
        )
        .bind(now_ms())
        .bind(error)
        .bind(subscription.as_i64())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Turns a fetched list into a draft of what would change (see the module
    /// documentation): `rows` are the list's valid rows, `errors` its unreadable lines.
    /// Returns `None` when nothing would change and no line failed (no draft is kept).
    /// An earlier undecided draft of the subscription is discarded: the newest list wins.
    pub async fn subscription_draft(
        &self,
        subscription: &SubscriptionRecord,
        rows: &[(Domain, DomainBlockWrite)],
        errors: &[(u64, String)],
    ) -> Result<Option<Id>, StoreError> {
        let existing = sqlx::query(
            "SELECT domain, policy, severity, reject_media, reject_reports, public_comment, \
             obfuscate, subscription_id FROM domain_policies",
        )
        .fetch_all(self.reader())
        .await?;
        // domain -> (the current block as written, which subscription it came from)
        let mut current: BTreeMap<String, (Option<DomainBlockWrite>, Option<i64>)> =
            BTreeMap::new();
        for row in &existing {
            let policy: String = row.try_get("policy")?;
            let block = (policy == "block")
                .then(|| -> Result<DomainBlockWrite, StoreError> {
                    Ok(DomainBlockWrite {
                        severity: row.try_get("severity")?,
                        reject_media: flag(row, "reject_media")?,
                        reject_reports: flag(row, "reject_reports")?,
                        private_comment: String::new(),
                        public_comment: row.try_get("public_comment")?,
                        obfuscate: flag(row, "obfuscate")?,
                    })
                })
                .transpose()?;
            current.insert(
                row.try_get("domain")?,
                (block, row.try_get("subscription_id")?),
            );
        }
        let ours = Some(subscription.id.as_i64());
        let excluded: BTreeSet<&str> = subscription.excludes.iter().map(Domain::as_str).collect();
        let mut listed: BTreeSet<&str> = BTreeSet::new();
        let mut changes: Vec<(Domain, DomainBlockWrite)> = Vec::new();
        for (domain, block) in rows {
            if excluded.contains(domain.as_str()) {
                continue;
            }
            listed.insert(domain.as_str());
            match current.get(domain.as_str()) {
                // Made by hand (a block or an allow): a subscription never touches it.
                Some((_, None)) => {}
                // Another subscription's block: left to that one.
                Some((_, from)) if *from != ours => {}
                Some((Some(now), _)) if same_block(now, block) => {}
                _ => changes.push((domain.clone(), block.clone())),
            }
        }
        let mut removals: Vec<Domain> = Vec::new();
        for (domain, (block, from)) in &current {
            if block.is_some() && *from == ours && !listed.contains(domain.as_str()) {
                removals.push(Domain::parse(domain).map_err(|e| StoreError::Corrupt {
                    column: "domain_policies.domain",
                    detail: e.to_string(),
                })?);
            }
        }
        if changes.is_empty() && removals.is_empty() && errors.is_empty() {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE domain_block_imports SET state = 'discarded', decided_at = $1 \
             WHERE subscription_id = $2 AND state = 'draft'",
        )
        .bind(now_ms())
        .bind(subscription.id.as_i64())
        .execute(self.writer())
        .await?;
        let source = subscription
            .url
            .clone()
            .unwrap_or_else(|| "subscription upload".to_owned());
        let moderator = subscription.moderator;
        let import = self
            .save_block_import_from(
                moderator,
                &source,
                &changes,
                errors,
                Some(subscription.id),
                &removals,
            )
            .await?;
        Ok(Some(import))
    }
}

/// Whether a listed block is what is applied already (comments aside from the public one).
fn same_block(current: &DomainBlockWrite, listed: &DomainBlockWrite) -> bool {
    current.severity == listed.severity
        && current.reject_media == listed.reject_media
        && current.reject_reports == listed.reject_reports
        && current.public_comment == listed.public_comment
        && current.obfuscate == listed.obfuscate
}
