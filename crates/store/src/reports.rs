//! Reports: filed by local accounts through the client API, or received as `Flag`s from
//! other instances (with `origin_domain` set and no reporter: the sending instance keeps
//! its reporter anonymous).
//!
//! A forwarded report and the outbox event that carries its `Flag` commit in one
//! transaction (`flag_event_id` links them), so a report is never forwarded half-way. The
//! comment sent is `forward_comment`: the PHI guard's redacted copy when the original names
//! a patient (decided by the caller, which alone has the guard).
//!
//! A report about posts of a community hosted here also reaches the community's moderators
//! on other instances, who cannot see this instance's queue: the instances of those
//! moderators (never the one a received report came from) are added to the report's
//! `forward_domains`, and a report that is not forwarded anyway gets a `Flag` of its own
//! (`relay_event_id`), written in the same transaction. That relayed `Flag` carries the
//! comment only when it passed the PHI guard: a reporter's forwarded comment, or a received
//! report's comment as the inbox screened it; a local reporter who did not forward keeps
//! their words here.

use cohort_model::{Domain, Id};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

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
    /// The comment as forwarded (redacted where it named a patient). For a received report:
    /// its comment as screened by the PHI guard here, which a relay to the community's
    /// remote moderators carries (`None`: the relay carries no comment).
    pub forward_comment: Option<String>,
    /// Further instances the `Flag` goes to (Mastodon's `forward_to_domains`), besides the
    /// target's; the caller checked that each is involved in the reported posts. (The
    /// instances of the remote moderators of a community hosted here are added by the store.)
    pub forward_domains: Vec<Domain>,
    /// The PHI guard's reason when it redacted the forwarded comment.
    pub comment_phi_reason: Option<String>,
    /// The instance a received report came from.
    pub origin_domain: Option<Domain>,
    /// The `Flag`'s id, for a received report.
    pub uri: Option<String>,
    /// The remote actor that sent the `Flag` (an instance actor), for a received report: the
    /// outcome goes back to it.
    pub origin_actor: Option<Id>,
}

/// Where a report is relayed (see the module documentation).
struct Relay {
    /// The community's Group account: the relay's outbox event is recorded as its.
    group: Id,
    /// The instances of its remote moderators.
    domains: Vec<Domain>,
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
    /// Further instances the `Flag` goes to, besides the target's.
    pub forward_domains: Vec<Domain>,
    /// The community of the reported posts, if they are in one: its moderators see the report.
    pub community: Option<Id>,
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
    /// The outbox event carrying the `Flag` relayed to the remote moderators of the community
    /// (hosted here) of a report that was not forwarded.
    pub relay_event: Option<Id>,
    /// Who sent a received report's `Flag`.
    pub origin_actor: Option<Id>,
    /// The outcome note the moderator chose to tell the reporter (or the sending instance).
    pub resolution_note: Option<String>,
    /// The outbox event carrying the outcome back to the sending instance.
    pub resolution_event: Option<Id>,
    /// When the instance this report was forwarded to said it resolved it.
    pub remote_resolved_at: Option<i64>,
    /// What that instance said.
    pub remote_resolution: Option<String>,
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
    /// Highest priority first (then newest), for working the queue; otherwise newest first.
    pub by_priority: bool,
}

const REPORT_COLUMNS: &str = "id, reporter_account_id, target_account_id, status_ids, comment, category, \
     priority, rule_ids, forwarded, forward_comment, comment_phi_reason, origin_domain, uri, \
     assigned_account_id, action_taken_at, action_taken_by_account_id, flag_event_id, origin_actor_id, \
     resolution_note, resolution_event_id, remote_resolved_at, remote_resolution, created_at, updated_at, \
     forward_domains, community_id, relay_event_id";

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
        let forward_domains: String = row.try_get("forward_domains")?;
        let forward_domains: Vec<String> =
            serde_json::from_str(&forward_domains).map_err(|e| StoreError::Corrupt {
                column: "reports.forward_domains",
                detail: e.to_string(),
            })?;
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
            forward_domains: forward_domains
                .iter()
                .filter_map(|d| Domain::parse(d).ok())
                .collect(),
            community: optional_id(row, "community_id")?,
            comment_phi_reason: row.try_get("comment_phi_reason")?,
            origin_domain: origin.and_then(|d| Domain::parse(&d).ok()),
            uri: row.try_get("uri")?,
            assigned: optional_id(row, "assigned_account_id")?,
            action_taken_at: row.try_get("action_taken_at")?,
            action_taken_by: optional_id(row, "action_taken_by_account_id")?,
            flag_event: optional_id(row, "flag_event_id")?,
            relay_event: optional_id(row, "relay_event_id")?,
            origin_actor: optional_id(row, "origin_actor_id")?,
            resolution_note: row.try_get("resolution_note")?,
            resolution_event: optional_id(row, "resolution_event_id")?,
            remote_resolved_at: row.try_get("remote_resolved_at")?,
            remote_resolution: row.try_get("remote_resolution")?,
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
        let mut tx = self.writer().begin().await?;
        let report_id = self.create_report_in(&mut tx, new).await?;
        tx.commit().await?;
        Ok(report_id)
    }

    /// An automatic crisis report (issue 10), filed once per post: `fingerprint` names the
    /// post among `account`'s (a digest of a local post's text, a remote post's URI). Returns
    /// `None`, writing nothing, when that post was reported before.
    pub async fn create_urgent_report(
        &self,
        account: Id,
        fingerprint: &str,
        label: &str,
        new: &NewReport,
    ) -> Result<Option<Id>, StoreError> {
        let mut tx = self.writer().begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO urgent_reports (account_id, fingerprint, label, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, fingerprint) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(fingerprint)
        .bind(label)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let report_id = self.create_report_in(&mut tx, new).await?;
        sqlx::query(
            "UPDATE urgent_reports SET report_id = $1 WHERE account_id = $2 AND fingerprint = $3",
        )
        .bind(report_id.as_i64())
        .bind(account.as_i64())
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(report_id))
    }

    async fn create_report_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        new: &NewReport,
    ) -> Result<Id, StoreError> {
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
        let forward_domains: Vec<&str> = new.forward_domains.iter().map(Domain::as_str).collect();
        let flag_event = match (new.forward, new.reporter) {
            (true, Some(_)) => Some(self.next_id()),
            _ => None,
        };
        let community = self.community_of_statuses(&new.status_ids).await?;
        let relay = self.relay_plan(community, new).await?;
        // A forwarded report's Flag goes to the moderators' instances too; any other gets a
        // Flag of its own for them.
        let relay_event = match (&relay, flag_event) {
            (Some(_), None) => Some(self.next_id()),
            _ => None,
        };
        let mut sent_to: Vec<&str> = if flag_event.is_some() {
            forward_domains
        } else {
            Vec::new()
        };
        if let Some(relay) = &relay {
            for domain in &relay.domains {
                if !sent_to.contains(&domain.as_str()) {
                    sent_to.push(domain.as_str());
                }
            }
        }
        let domains_json = serde_json::to_string(&sent_to).map_err(|e| StoreError::Corrupt {
            column: "reports.forward_domains",
            detail: e.to_string(),
        })?;
        // The comment that leaves: the forwarded one, or the relay's (see the module docs).
        let comment_sent = match (flag_event, relay_event) {
            (Some(_), _) => new.forward_comment.clone(),
            (None, Some(_)) if new.reporter.is_none() => new.forward_comment.clone(),
            _ => None,
        };
        if let Some(uri) = &new.uri {
            let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE uri = $1")
                .bind(uri)
                .fetch_one(&mut **tx)
                .await?;
            if known > 0 {
                return Err(StoreError::Conflict("report"));
            }
        }
        sqlx::query(
            "INSERT INTO reports (id, reporter_account_id, target_account_id, status_ids, comment, category, \
             priority, rule_ids, forwarded, forward_comment, comment_phi_reason, origin_domain, uri, \
             flag_event_id, origin_actor_id, created_at, updated_at, forward_domains, community_id, \
             relay_event_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19)",
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
        .bind(comment_sent)
        .bind(&new.comment_phi_reason)
        .bind(new.origin_domain.as_ref().map(Domain::as_str))
        .bind(&new.uri)
        .bind(flag_event.map(Id::as_i64))
        .bind(new.origin_actor.map(Id::as_i64))
        .bind(now)
        .bind(domains_json)
        .bind(community.map(Id::as_i64))
        .bind(relay_event.map(Id::as_i64))
        .execute(&mut **tx)
        .await?;
        // The moderators hear of it at once (Mastodon's `admin.report` notification), from
        // the reporter, or for a received report from the instance that sent it.
        let from = new.reporter.or(new.origin_actor).unwrap_or(new.target);
        let mut staff: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM accounts WHERE domain IS NULL AND role IN ('admin', 'moderator') \
             AND suspended_at IS NULL AND id <> $1 AND id <> $2",
        )
        .bind(from.as_i64())
        .bind(new.target.as_i64())
        .fetch_all(&mut **tx)
        .await?;
        // And the local moderators of the community the reported posts are in.
        if let Some(community) = community {
            let moderators: Vec<i64> = sqlx::query_scalar(
                "SELECT m.account_id FROM community_members m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.community_id = $1 AND m.state = 'member' AND m.role IN ('moderator', 'owner') \
                 AND a.domain IS NULL AND a.suspended_at IS NULL AND a.id <> $2 AND a.id <> $3",
            )
            .bind(community.as_i64())
            .bind(from.as_i64())
            .bind(new.target.as_i64())
            .fetch_all(&mut **tx)
            .await?;
            for moderator in moderators {
                if !staff.contains(&moderator) {
                    staff.push(moderator);
                }
            }
        }
        for moderator in staff {
            sqlx::query(
                "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, report_id, created_at) \
                 VALUES ($1, $2, $3, 'admin.report', NULL, $4, $5)",
            )
            .bind(self.next_id().as_i64())
            .bind(moderator)
            .bind(from.as_i64())
            .bind(report_id.as_i64())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        if let (Some(event), Some(reporter)) = (flag_event, new.reporter) {
            // The event's actor is the reporter, for the record only: the Flag is sent and
            // signed by the instance actor, and names nobody.
            enqueue_in(
                tx,
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
        if let (Some(event), Some(relay)) = (relay_event, &relay) {
            // The event's actor is the community's Group, for the record only: the Flag is
            // sent and signed by the instance actor.
            enqueue_in(
                tx,
                event,
                &NewOutboxEvent {
                    kind: OutboxKind::Flag,
                    actor: relay.group,
                    status: None,
                    target_account: Some(new.target),
                },
            )
            .await?;
        }
        Ok(report_id)
    }

    /// Where a new report about posts of `community` is relayed: the instances of the
    /// community's remote moderators when it is hosted here, less the instance a received
    /// report came from. `None` when there is nowhere to relay it, and for the reports the
    /// instance files itself (crisis routing, impersonation), which never leave.
    async fn relay_plan(
        &self,
        community: Option<Id>,
        new: &NewReport,
    ) -> Result<Option<Relay>, StoreError> {
        let Some(community) = community else {
            return Ok(None);
        };
        if new.reporter.is_none() && new.origin_domain.is_none() {
            return Ok(None);
        }
        let record = match self.community(community).await {
            Ok(record) => record,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !record.is_local() {
            return Ok(None);
        }
        let domains: Vec<Domain> = self
            .remote_moderator_domains(community)
            .await?
            .into_iter()
            .filter(|d| Some(d) != new.origin_domain.as_ref())
            .collect();
        if domains.is_empty() {
            return Ok(None);
        }
        Ok(Some(Relay {
            group: record.account.id,
            domains,
        }))
    }

    /// The domains of the remote moderators of `community` (current, not suspended here).
    pub async fn remote_moderator_domains(&self, community: Id) -> Result<Vec<Domain>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT a.domain FROM community_members m JOIN accounts a ON a.id = m.account_id \
             WHERE m.community_id = $1 AND m.state = 'member' AND m.role IN ('moderator', 'owner') \
             AND a.domain IS NOT NULL AND a.suspended_at IS NULL ORDER BY a.domain",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|d| {
                Domain::parse(d).map_err(|e| StoreError::Corrupt {
                    column: "accounts.domain",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// The remote moderators of `community` on `domain`: whom a relayed report is addressed
    /// to there.
    pub async fn remote_moderators_on(
        &self,
        community: Id,
        domain: &Domain,
    ) -> Result<Vec<Id>, StoreError> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT a.id FROM community_members m JOIN accounts a ON a.id = m.account_id \
             WHERE m.community_id = $1 AND m.state = 'member' AND m.role IN ('moderator', 'owner') \
             AND a.domain = $2 AND a.suspended_at IS NULL ORDER BY m.created_at",
        )
        .bind(community.as_i64())
        .bind(domain.as_str())
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|r| id_from(r, "community_members.account_id"))
            .collect()
    }

    /// Whether a local account (not suspended) moderates `community`: a report about its
    /// posts, hosted here or elsewhere, is for this instance to handle.
    pub async fn community_moderated_here(&self, community: Id) -> Result<bool, StoreError> {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM community_members m JOIN accounts a ON a.id = m.account_id \
             WHERE m.community_id = $1 AND m.state = 'member' AND m.role IN ('moderator', 'owner') \
             AND a.domain IS NULL AND a.suspended_at IS NULL",
        )
        .bind(community.as_i64())
        .fetch_one(self.reader())
        .await?;
        Ok(found > 0)
    }

    /// The accounts the reported `statuses` answer or mention: whose instances a report may
    /// also be forwarded to (Mastodon's `forward_to_domains`).
    pub async fn accounts_involved_in(&self, statuses: &[Id]) -> Result<Vec<Id>, StoreError> {
        let mut out: Vec<Id> = Vec::new();
        for status in statuses {
            let found: Vec<i64> = sqlx::query_scalar(
                "SELECT in_reply_to_account_id FROM statuses WHERE id = $1 \
                 AND in_reply_to_account_id IS NOT NULL \
                 UNION SELECT account_id FROM status_mentions WHERE status_id = $1",
            )
            .bind(status.as_i64())
            .fetch_all(self.reader())
            .await?;
            for raw in found {
                let account = id_from(raw, "statuses.in_reply_to_account_id")?;
                if !out.contains(&account) {
                    out.push(account);
                }
            }
        }
        Ok(out)
    }

    /// The community the first of `statuses` that is in one belongs to.
    pub async fn community_of_statuses(&self, statuses: &[Id]) -> Result<Option<Id>, StoreError> {
        for status in statuses {
            let found: Option<Option<i64>> =
                sqlx::query_scalar("SELECT community_id FROM statuses WHERE id = $1")
                    .bind(status.as_i64())
                    .fetch_optional(self.reader())
                    .await?;
            if let Some(Some(community)) = found {
                return Ok(Some(id_from(community, "statuses.community_id")?));
            }
        }
        Ok(None)
    }

    /// The reports about posts of `community`, newest first: open ones (`resolved` false),
    /// resolved ones (true), or both (`None`).
    pub async fn community_reports(
        &self,
        community: Id,
        resolved: Option<bool>,
        limit: i64,
    ) -> Result<Vec<ReportRecord>, StoreError> {
        let resolved = match resolved {
            None => 0_i64,
            Some(true) => 1,
            Some(false) => 2,
        };
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE community_id = $1 \
             AND ($2 = 0 OR ($2 = 1 AND action_taken_at IS NOT NULL) OR ($2 = 2 AND action_taken_at IS NULL)) \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(community.as_i64())
            .bind(resolved)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(ReportRecord::from_row).collect()
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

    /// The report whose `Flag` (forwarded, or relayed to its community's remote moderators)
    /// an outbox event carries.
    pub async fn report_by_flag_event(
        &self,
        event: Id,
    ) -> Result<Option<ReportRecord>, StoreError> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE flag_event_id = $1 OR relay_event_id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event.as_i64())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(ReportRecord::from_row).transpose()
    }

    /// The received report whose outcome an outbox event carries back.
    pub async fn report_by_resolution_event(
        &self,
        event: Id,
    ) -> Result<Option<ReportRecord>, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE resolution_event_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event.as_i64())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(ReportRecord::from_row).transpose()
    }

    /// Records the outcome the instance a report was forwarded to sent back, and tells the
    /// reporter (a `moderation_warning` notification naming the report), in one transaction.
    pub async fn record_remote_resolution(
        &self,
        report: Id,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let record = self.report(report).await?;
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "UPDATE reports SET remote_resolved_at = $1, remote_resolution = $2, updated_at = $1 WHERE id = $3",
        )
        .bind(now)
        .bind(outcome)
        .bind(report.as_i64())
        .execute(&mut *tx)
        .await?;
        if let Some(reporter) = record.reporter {
            notify_reporter_in(&mut tx, self.next_id(), reporter, record.target, report).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reports matching `filter`, newest first (or by priority).
    pub async fn reports(&self, filter: &ReportFilter) -> Result<Vec<ReportRecord>, StoreError> {
        let resolved = match filter.resolved {
            None => 0_i64,
            Some(true) => 1,
            Some(false) => 2,
        };
        let order = if filter.by_priority {
            "priority DESC, id DESC"
        } else {
            "id DESC"
        };
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE id < $1 AND id > $2 \
             AND ($3 = 0 OR ($3 = 1 AND action_taken_at IS NOT NULL) OR ($3 = 2 AND action_taken_at IS NULL)) \
             AND ($4 = 0 OR reporter_account_id = $4) AND ($5 = 0 OR target_account_id = $5) \
             ORDER BY {order} LIMIT $6"
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

    /// A moderator forwards a report that its reporter did not: the report is marked
    /// forwarded with the comment to send, and the outbox event of its `Flag` is written, with
    /// the mod-log line, in one transaction. A report forwarded already is a
    /// [`StoreError::Conflict`].
    pub async fn forward_report(
        &self,
        report: Id,
        moderator: Id,
        forward_comment: &str,
        comment_phi_reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let record = self.report(report).await?;
        if record.forwarded {
            return Err(StoreError::Conflict("a forwarded copy of this report"));
        }
        let event = self.next_id();
        let mut tx = self.writer().begin().await?;
        let changed = sqlx::query(
            "UPDATE reports SET forwarded = TRUE, forward_comment = $1, comment_phi_reason = $2, \
             flag_event_id = $3, updated_at = $4 WHERE id = $5 AND forwarded = FALSE",
        )
        .bind(forward_comment)
        .bind(comment_phi_reason)
        .bind(event.as_i64())
        .bind(now_ms())
        .bind(report.as_i64())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict("a forwarded copy of this report"));
        }
        enqueue_in(
            &mut tx,
            event,
            &NewOutboxEvent {
                kind: OutboxKind::Flag,
                actor: moderator,
                status: None,
                target_account: Some(record.target),
            },
        )
        .await?;
        crate::moderation::log_in(
            &mut tx,
            self.next_id(),
            moderator,
            "forward_report",
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
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        if resolved {
            resolve_in(self, &mut tx, report, moderator, note).await?;
        } else {
            reopen_in(&mut tx, report).await?;
        }
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
            note.unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Marks a report resolved inside the caller's transaction, with what follows from it: the
/// local reporter is told (a `moderation_warning` notification naming the report), and a
/// report received from another instance gets the outcome sent back to the instance actor
/// that sent it (an outbox event, delivered by the instance actor: `reports.resolution_event_id`).
pub(crate) async fn resolve_in(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    report: Id,
    moderator: Id,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(report.as_i64())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("report"))?;
    let record = ReportRecord::from_row(&row)?;
    let now = now_ms();
    let event = match (record.origin_actor, &record.uri) {
        (Some(origin), Some(_)) => {
            let event = store.next_id();
            enqueue_in(
                tx,
                event,
                &NewOutboxEvent {
                    kind: OutboxKind::ResolveReport,
                    actor: moderator,
                    status: None,
                    target_account: Some(origin),
                },
            )
            .await?;
            Some(event)
        }
        _ => None,
    };
    sqlx::query(
        "UPDATE reports SET action_taken_at = $1, action_taken_by_account_id = $2, updated_at = $1, \
         resolution_note = $3, resolution_event_id = COALESCE($4, resolution_event_id) WHERE id = $5",
    )
    .bind(now)
    .bind(moderator.as_i64())
    .bind(note)
    .bind(event.map(Id::as_i64))
    .bind(report.as_i64())
    .execute(&mut **tx)
    .await?;
    if let Some(reporter) = record.reporter {
        notify_reporter_in(tx, store.next_id(), reporter, record.target, report).await?;
    }
    Ok(())
}

/// Reopens a report inside the caller's transaction.
async fn reopen_in(tx: &mut Transaction<'static, Any>, report: Id) -> Result<(), StoreError> {
    let changed = sqlx::query(
        "UPDATE reports SET action_taken_at = NULL, action_taken_by_account_id = NULL, updated_at = $1 \
         WHERE id = $2",
    )
    .bind(now_ms())
    .bind(report.as_i64())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("report"));
    }
    Ok(())
}

/// Tells a reporter their report was handled: Mastodon's `moderation_warning` type (the
/// closest every app shows), naming the report (`notifications.report_id`), from the
/// reported account.
async fn notify_reporter_in(
    tx: &mut Transaction<'static, Any>,
    id: Id,
    reporter: Id,
    target: Id,
    report: Id,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, report_id, created_at) \
         VALUES ($1, $2, $3, 'moderation_warning', NULL, $4, $5)",
    )
    .bind(id.as_i64())
    .bind(reporter.as_i64())
    .bind(target.as_i64())
    .bind(report.as_i64())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
