//! Blocklist imports: a parsed list is saved as a draft (its valid rows and its per-line
//! errors), a moderator reviews it, and confirming applies every valid row in one
//! transaction with a mod-log line each, or nothing at all. A suspension drops the
//! deliveries already queued to the domain in the same transaction.

use cohort_model::{Domain, Id};
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::moderation::{DomainBlockWrite, log_in};
use crate::row::{id, id_from};
use crate::{Store, StoreError, now_ms};

/// A draft or decided import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockImportRecord {
    /// Id.
    pub id: Id,
    /// Who uploaded it.
    pub moderator: Option<Id>,
    /// Where it came from (`upload`, or a URL).
    pub source: String,
    /// The rows that will apply.
    pub rows: Vec<(Domain, DomainBlockWrite)>,
    /// The lines that could not be read: line number and why.
    pub errors: Vec<(u64, String)>,
    /// `draft`, `applied` or `discarded`.
    pub state: String,
    /// The subscription whose fetch this is (`None`: an upload).
    pub subscription: Option<Id>,
    /// Blocks this draft lifts: a subscription's blocks of domains no longer on its list.
    pub removals: Vec<Domain>,
    /// When applied or discarded, Unix ms.
    pub decided_at: Option<i64>,
    /// When uploaded, Unix ms.
    pub created_at: i64,
}

/// What confirming an import did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AppliedImport {
    /// Blocks created or replaced.
    pub blocks: u64,
    /// Queued deliveries dropped because their domain is now suspended.
    pub dropped_deliveries: u64,
    /// Blocks lifted (a subscription's retractions).
    pub removed: u64,
}

fn rows_json(rows: &[(Domain, DomainBlockWrite)]) -> String {
    Value::Array(
        rows.iter()
            .map(|(domain, b)| {
                json!({
                    "domain": domain.as_str(),
                    "severity": b.severity,
                    "reject_media": b.reject_media,
                    "reject_reports": b.reject_reports,
                    "private_comment": b.private_comment,
                    "public_comment": b.public_comment,
                    "obfuscate": b.obfuscate,
                })
            })
            .collect(),
    )
    .to_string()
}

fn corrupt(detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        column: "domain_block_imports",
        detail: detail.to_string(),
    }
}

fn rows_from_json(raw: &str) -> Result<Vec<(Domain, DomainBlockWrite)>, StoreError> {
    let value: Value = serde_json::from_str(raw).map_err(corrupt)?;
    let items = value
        .as_array()
        .ok_or_else(|| corrupt("rows are not a list"))?;
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
            let domain = Domain::parse(&text("domain")).map_err(corrupt)?;
            Ok((
                domain,
                DomainBlockWrite {
                    severity: text("severity"),
                    reject_media: item["reject_media"].as_bool().unwrap_or(false),
                    reject_reports: item["reject_reports"].as_bool().unwrap_or(false),
                    private_comment: text("private_comment"),
                    public_comment: text("public_comment"),
                    obfuscate: item["obfuscate"].as_bool().unwrap_or(false),
                },
            ))
        })
        .collect()
}

fn errors_from_json(raw: &str) -> Result<Vec<(u64, String)>, StoreError> {
    let value: Value = serde_json::from_str(raw).map_err(corrupt)?;
    let items = value
        .as_array()
        .ok_or_else(|| corrupt("errors are not a list"))?;
    Ok(items
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

const IMPORT_COLUMNS: &str = "id, moderator_account_id, source, rows_json, errors_json, state, \
     decided_at, created_at, subscription_id, removals_json";

fn import_from_row(row: &AnyRow) -> Result<BlockImportRecord, StoreError> {
    let rows: String = row.try_get("rows_json")?;
    let errors: String = row.try_get("errors_json")?;
    let removals: String = row.try_get("removals_json")?;
    let removals: Vec<String> = serde_json::from_str(&removals).map_err(corrupt)?;
    Ok(BlockImportRecord {
        id: id(row, "id")?,
        moderator: row
            .try_get::<Option<i64>, _>("moderator_account_id")?
            .map(|m| id_from(m, "moderator_account_id"))
            .transpose()?,
        source: row.try_get("source")?,
        rows: rows_from_json(&rows)?,
        errors: errors_from_json(&errors)?,
        state: row.try_get("state")?,
        subscription: row
            .try_get::<Option<i64>, _>("subscription_id")?
            .map(|s| id_from(s, "subscription_id"))
            .transpose()?,
        removals: removals
            .iter()
            .map(|d| Domain::parse(d).map_err(corrupt))
            .collect::<Result<_, _>>()?,
        decided_at: row.try_get("decided_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates or replaces a domain block inside the caller's transaction. A suspension drops
/// the deliveries queued to the domain (they would be refused at send time anyway; dropping
/// them now means nothing waits on a domain that will never receive). Returns how many
/// deliveries were dropped.
///
/// `subscription` records where the block came from: `None` for a moderator's own (by hand
/// or by an uploaded import), which no subscription ever replaces or lifts.
pub(crate) async fn put_domain_block_in(
    tx: &mut Transaction<'static, Any>,
    domain: &Domain,
    block: &DomainBlockWrite,
    subscription: Option<Id>,
) -> Result<u64, StoreError> {
    sqlx::query(
        "INSERT INTO domain_policies (domain, policy, severity, reject_media, reject_reports, \
         public_comment, private_comment, obfuscate, created_at, subscription_id) \
         VALUES ($1, 'block', $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (domain) DO UPDATE SET policy = 'block', severity = excluded.severity, \
         reject_media = excluded.reject_media, reject_reports = excluded.reject_reports, \
         public_comment = excluded.public_comment, private_comment = excluded.private_comment, \
         obfuscate = excluded.obfuscate, subscription_id = excluded.subscription_id",
    )
    .bind(domain.as_str())
    .bind(&block.severity)
    .bind(block.reject_media)
    .bind(block.reject_reports)
    .bind(&block.public_comment)
    .bind(&block.private_comment)
    .bind(block.obfuscate)
    .bind(now_ms())
    .bind(subscription.map(Id::as_i64))
    .execute(&mut **tx)
    .await?;
    if block.severity != "suspend" {
        return Ok(0);
    }
    Ok(sqlx::query("DELETE FROM delivery_queue WHERE domain = $1")
        .bind(domain.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

impl Store {
    /// Saves a parsed list as a draft for review. Nothing applies until
    /// [`Store::apply_block_import`].
    pub async fn save_block_import(
        &self,
        moderator: Id,
        source: &str,
        rows: &[(Domain, DomainBlockWrite)],
        errors: &[(u64, String)],
    ) -> Result<Id, StoreError> {
        self.save_block_import_from(Some(moderator), source, rows, errors, None, &[])
            .await
    }

    /// Saves a draft, from a subscription's fetch when `subscription` is set (with the
    /// blocks it would lift, `removals`).
    pub(crate) async fn save_block_import_from(
        &self,
        moderator: Option<Id>,
        source: &str,
        rows: &[(Domain, DomainBlockWrite)],
        errors: &[(u64, String)],
        subscription: Option<Id>,
        removals: &[Domain],
    ) -> Result<Id, StoreError> {
        let import = self.next_id();
        let removals: Vec<&str> = removals.iter().map(Domain::as_str).collect();
        let errors = Value::Array(
            errors
                .iter()
                .map(|(line, message)| json!({"line": line, "message": message}))
                .collect(),
        )
        .to_string();
        sqlx::query(
            "INSERT INTO domain_block_imports (id, moderator_account_id, source, rows_json, errors_json, \
             state, created_at, subscription_id, removals_json) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8)",
        )
        .bind(import.as_i64())
        .bind(moderator.map(Id::as_i64))
        .bind(source)
        .bind(rows_json(rows))
        .bind(errors)
        .bind(now_ms())
        .bind(subscription.map(Id::as_i64))
        .bind(serde_json::to_string(&removals).map_err(corrupt)?)
        .execute(self.writer())
        .await?;
        Ok(import)
    }

    /// One import.
    pub async fn block_import(&self, import: Id) -> Result<BlockImportRecord, StoreError> {
        let sql = format!("SELECT {IMPORT_COLUMNS} FROM domain_block_imports WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(import.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("blocklist import"))?;
        import_from_row(&row)
    }

    /// The newest imports.
    pub async fn block_imports(&self, limit: i64) -> Result<Vec<BlockImportRecord>, StoreError> {
        let sql =
            format!("SELECT {IMPORT_COLUMNS} FROM domain_block_imports ORDER BY id DESC LIMIT $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(import_from_row).collect()
    }

    /// Applies a draft: every row's block and mod-log line, and the dropped deliveries of
    /// suspended domains, in one transaction. `NotFound` for an unknown import, `Conflict`
    /// for one applied or discarded already.
    pub async fn apply_block_import(
        &self,
        import: Id,
        moderator: Id,
    ) -> Result<AppliedImport, StoreError> {
        let record = self.block_import(import).await?;
        let mut tx = self.writer().begin().await?;
        let claimed = sqlx::query(
            "UPDATE domain_block_imports SET state = 'applied', decided_at = $1 \
             WHERE id = $2 AND state = 'draft'",
        )
        .bind(now_ms())
        .bind(import.as_i64())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Err(StoreError::Conflict("a decision on this import"));
        }
        let mut applied = AppliedImport::default();
        for (domain, block) in &record.rows {
            applied.dropped_deliveries +=
                put_domain_block_in(&mut tx, domain, block, record.subscription).await?;
            applied.blocks += 1;
            log_in(
                &mut tx,
                self.next_id(),
                moderator,
                "import_domain_block",
                "domain",
                domain.as_str(),
                &block.private_comment,
            )
            .await?;
        }
        // A subscription's retractions lift only the blocks that came from it.
        if let Some(subscription) = record.subscription {
            for domain in &record.removals {
                let lifted = sqlx::query(
                    "DELETE FROM domain_policies WHERE domain = $1 AND policy = 'block' \
                     AND subscription_id = $2",
                )
                .bind(domain.as_str())
                .bind(subscription.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if lifted > 0 {
                    applied.removed += lifted;
                    log_in(
                        &mut tx,
                        self.next_id(),
                        moderator,
                        "retract_domain_block",
                        "domain",
                        domain.as_str(),
                        &record.source,
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// Discards a draft. `Conflict` if it was applied or discarded already.
    pub async fn discard_block_import(&self, import: Id) -> Result<(), StoreError> {
        self.block_import(import).await?;
        let changed = sqlx::query(
            "UPDATE domain_block_imports SET state = 'discarded', decided_at = $1 \
             WHERE id = $2 AND state = 'draft'",
        )
        .bind(now_ms())
        .bind(import.as_i64())
        .execute(self.writer())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict("a decision on this import"));
        }
        Ok(())
    }
}
