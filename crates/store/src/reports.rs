//! Reports: filed by local accounts through the client API, or received as `Flag`s from
//! other instances (with `origin_domain` set and no reporter: the sending instance keeps
//! its reporter anonymous).
//!
//! A forwarded report and the outbox event that carries its `Flag` commit in one
//! transaction (`flag_event_id` links them), so a report is never forwarded half-way. The
//! comment sent is `forward_comment`: the PHI guard's redacted copy when the original names
//! a patient (decided by the caller, which alone has the guard).

use cohort_model::{Domain, Id};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::outbox::{NewOutboxEvent, OutboxKind, enqueue_in};
use crate::row::{flag, id, id_from};
use crate::{Store, StoreError, now_ms};

/// A report to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReport {
    /// The local account that filed it; `None` for reports received from other instances.
    pub reporter: Option<Id>,
    /// The reported account.
    pub target: Id,
    /// Reported statuses (all by `target`; the caller checked).
    pub status_ids: Vec<Id>,
    /// The reporter's comment, as written.
    pub comment: String,
    /// The category's stored name (`cohort_moderation::Category`).
    pub category: String,
    /// Queue priority (higher first).
    pub priority: i32,
    /// The instance rules said to be broken.
    pub rule_ids: Vec<String>,
    /// Send a `Flag` to the target's instance (needs a reporter and a remote target).
    pub forward: bool,
    /// The comment as forwarded (redacted where it named a patient).
    pub forward_comment: Option<String>,
    /// The PHI guard's reason when it redacted the forwarded comment.
    pub comment_phi_reason: Option<String>,
    /// The instance a received report came from.
    pub origin_domain: Option<Domain>,
    /// The `Flag`'s id, for a received report.
    pub uri: Option<String>,
}

/// A stored report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    /// Time-ordered id.
    pub id: Id,
    /// Who filed it (`None`: received from another instance, or the reporter was deleted).
    pub reporter: Option<Id>,
    /// The reported account.
    pub target: Id,
    /// Reported statuses.
    pub status_ids: Vec<Id>,
    /// The comment, as written.
    pub comment: String,
    /// Category name.
    pub category: String,
    /// Queue priority.
    pub priority: i32,
    /// Rules said to be broken.
    pub rule_ids: Vec<String>,
    /// Whether a `Flag` was (or is being) sent.
    pub forwarded: bool,
    /// The comment as forwarded.
    pub forward_comment: Option<String>,
    /// Why the forwarded comment was redacted.
    pub comment_phi_reason: Option<String>,
    /// The instance a received report came from.
    pub origin_domain: Option<Domain>,
    /// A received report's `Flag` id.
    pub uri: Option<String>,
    /// The moderator handling it.
    pub assigned: Option<Id>,
    /// When it was resolved.
    pub action_taken_at: Option<i64>,
    /// Who resolved it.
    pub action_taken_by: Option<Id>,
    /// The outbox event carrying its `Flag`.
    pub flag_event: Option<Id>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// Which reports to list (Mastodon's admin filters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// `Some(true)`: resolved only; `Some(false)`: open only; `None`: both.
    pub resolved: Option<bool>,
    /// Filed by this account.
    pub reporter: Option<Id>,
    /// About this account.
    pub target: Option<Id>,
    /// Ids below this.
    pub max_id: Option<i64>,
    /// Ids above this.
    pub since_id: Option<i64>,
    /// How many.
    pub limit: i64,
}

const REPORT_COLUMNS: &str = "id, reporter_account_id, target_account_id, status_ids, comment, category, \
     priority, rule_ids, forwarded, forward_comment, comment_phi_reason, origin_domain, uri, \
     assigned_account_id, action_taken_at, action_taken_by_account_id, flag_event_id, created_at, updated_at";

fn optional_id(row: &AnyRow, column: &'static str) -> Result<Option<Id>, StoreError> {
    let raw: Option<i64> = row.try_get(column)?;
    raw.map(|r| id_from(r, column)).transpose()
}

impl ReportRecord {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let status_ids: String = row.try_get("status_ids")?;
        let status_ids: Vec<i64> =
            serde_json::from_str(&status_ids).map_err(|e| StoreError::Corrupt {
                column: "reports.status_ids",
                detail: e.to_string(),
            })?;
        let rule_ids: String = row.try_get("rule_ids")?;
        let rule_ids: Vec<String> =
            serde_json::from_str(&rule_ids).map_err(|e| StoreError::Corrupt {
                column: "reports.rule_ids",
                detail: e.to_string(),
            })?;
        let origin: Option<String> = row.try_get("origin_domain")?;
        let priority: i64 = match row.try_get::<i64, _>("priority") {
            Ok(p) => p,
            Err(_) => i64::from(row.try_get::<i32, _>("priority")?),
        };
        Ok(ReportRecord {
            id: id(row, "id")?,
            reporter: optional_id(row, "reporter_account_id")?,
            target: id(row, "target_account_id")?,
            status_ids: status_ids
                .into_iter()
                .map(|s| id_from(s, "reports.status_ids"))
                .collect::<Result<_, _>>()?,
            comment: row.try_get("comment")?,
            category: row.try_get("category")?,
            priority: i32::try_from(priority).unwrap_or_default(),
            rule_ids,
            forwarded: flag(row, "forwarded")?,
            forward_comment: row.try_get("forward_comment")?,
            comment_phi_reason: row.try_get("comment_phi_reason")?,
            origin_domain: origin.and_then(|d| Domain::parse(&d).ok()),
            uri: row.try_get("uri")?,
            assigned: optional_id(row, "assigned_account_id")?,
            action_taken_at: row.try_get("action_taken_at")?,
            action_taken_by: optional_id(row, "action_taken_by_account_id")?,
            flag_event: optional_id(row, "flag_event_id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl Store {
    /// Stores a report, and when it is forwarded, the outbox event of its `Flag`, in one
    /// transaction. A received report whose `uri` is known already is a
    /// [`StoreError::Conflict`].
    pub async fn create_report(&self, new: &NewReport) -> Result<Id, StoreError> {
        let report_id = self.next_id();
        let now = now_ms();
        let status_ids: Vec<i64> = new.status_ids.iter().map(|s| s.as_i64()).collect();
        let status_json = serde_json::to_string(&status_ids).map_err(|e| StoreError::Corrupt {
            column: "reports.status_ids",
            detail: e.to_string(),
        })?;
        let rules_json = serde_json::to_string(&new.rule_ids).map_err(|e| StoreError::Corrupt {
            column: "reports.rule_ids",
            detail: e.to_string(),
        })?;
        let flag_event = match (new.forward, new.reporter) {
            (true, Some(_)) => Some(self.next_id()),
            _ => None,
        };
        let mut tx = self.writer().begin().await?;
        if let Some(uri) = &new.uri {
            let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE uri = $1")
                .bind(uri)
                .fetch_one(&mut *tx)
                .await?;
            if known > 0 {
                return Err(StoreError::Conflict("report"));
            }
        }
        sqlx::query(
            "INSERT INTO reports (id, reporter_account_id, target_account_id, status_ids, comment, category, \
             priority, rule_ids, forwarded, forward_comment, comment_phi_reason, origin_domain, uri, \
             flag_event_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
        .bind(report_id.as_i64())
        .bind(new.reporter.map(Id::as_i64))
        .bind(new.target.as_i64())
        .bind(status_json)
        .bind(&new.comment)
        .bind(&new.category)
        .bind(i64::from(new.priority))
        .bind(rules_json)
        .bind(flag_event.is_some())
        .bind(flag_event.and(new.forward_comment.clone()))
        .bind(&new.comment_phi_reason)
        .bind(new.origin_domain.as_ref().map(Domain::as_str))
        .bind(&new.uri)
        .bind(flag_event.map(Id::as_i64))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let (Some(event), Some(reporter)) = (flag_event, new.reporter) {
            // The event's actor is the reporter, for the record only: the Flag is sent and
            // signed by the instance actor, and names nobody.
            enqueue_in(
                &mut tx,
                event,
                &NewOutboxEvent {
                    kind: OutboxKind::Flag,
                    actor: reporter,
                    status: None,
                    target_account: Some(new.target),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(report_id)
    }

    /// One report.
    pub async fn report(&self, report: Id) -> Result<ReportRecord, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(report.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("report"))?;
        ReportRecord::from_row(&row)
    }

    /// The report whose `Flag` an outbox event carries.
    pub async fn report_by_flag_event(
        &self,
        event: Id,
    ) -> Result<Option<ReportRecord>, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE flag_event_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event.as_i64())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(ReportRecord::from_row).transpose()
    }

    /// Reports matching `filter`, newest first.
    pub async fn reports(&self, filter: &ReportFilter) -> Result<Vec<ReportRecord>, StoreError> {
        let resolved = match filter.resolved {
            None => 0_i64,
            Some(true) => 1,
            Some(false) => 2,
        };
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE id < $1 AND id > $2 \
             AND ($3 = 0 OR ($3 = 1 AND action_taken_at IS NOT NULL) OR ($3 = 2 AND action_taken_at IS NULL)) \
             AND ($4 = 0 OR reporter_account_id = $4) AND ($5 = 0 OR target_account_id = $5) \
             ORDER BY id DESC LIMIT $6"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.max_id.unwrap_or(i64::MAX))
            .bind(filter.since_id.unwrap_or(0))
            .bind(resolved)
            .bind(filter.reporter.map_or(0, Id::as_i64))
            .bind(filter.target.map_or(0, Id::as_i64))
            .bind(filter.limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(ReportRecord::from_row).collect()
    }

    /// How many reports `domain` sent since `since` (Unix ms), for the per-origin limit.
    pub async fn reports_from_domain_since(
        &self,
        domain: &Domain,
        since: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM reports WHERE origin_domain = $1 AND created_at > $2",
        )
        .bind(domain.as_str())
        .bind(since)
        .fetch_one(self.reader())
        .await?)
    }

    /// Assigns a report to a moderator (or unassigns it with `None`), with its mod-log line.
    pub async fn assign_report(
        &self,
        report: Id,
        moderator: Id,
        assignee: Option<Id>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let changed = sqlx::query(
            "UPDATE reports SET assigned_account_id = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(assignee.map(Id::as_i64))
        .bind(now_ms())
        .bind(report.as_i64())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound("report"));
        }
        let action = if assignee.is_some() {
            "assign_report"
        } else {
            "unassign_report"
        };
        crate::moderation::log_in(
            &mut tx,
            self.next_id(),
            moderator,
            action,
            "report",
            &report.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resolves (`resolved`) or reopens a report, with its mod-log line.
    pub async fn set_report_resolved(
        &self,
        report: Id,
        moderator: Id,
        resolved: bool,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        resolve_in(&mut tx, report, moderator, resolved).await?;
        let action = if resolved {
            "resolve_report"
        } else {
            "reopen_report"
        };
        crate::moderation::log_in(
            &mut tx,
            self.next_id(),
            moderator,
            action,
            "report",
            &report.to_string(),
            reason,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Marks a report resolved or open inside the caller's transaction.
pub(crate) async fn resolve_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    report: Id,
    moderator: Id,
    resolved: bool,
) -> Result<(), StoreError> {
    let now = now_ms();
    let changed = sqlx::query(
        "UPDATE reports SET action_taken_at = $1, action_taken_by_account_id = $2, updated_at = $3 \
         WHERE id = $4",
    )
    .bind(resolved.then_some(now))
    .bind(resolved.then_some(moderator.as_i64()))
    .bind(now)
    .bind(report.as_i64())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("report"));
    }
    Ok(())
}
