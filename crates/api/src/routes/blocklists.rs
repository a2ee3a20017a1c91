//! Domain blocklists in Mastodon's CSV format (Cohort's admin endpoints): export, and import
//! in two steps. An upload is read line by line into a **draft** listing the rows that will
//! apply and every line that cannot (with its number and why); nothing changes until a
//! moderator confirms, and confirming applies all valid rows in one transaction (or none).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use cohort_model::Domain;
use cohort_moderation::Severity;
use cohort_moderation::blocklist::{BlocklistRow, parse_blocklist, write_blocklist};
use cohort_store::{
    AppliedImport, BlockImportRecord, DomainBlockWrite, NewSubscription, StoreError,
    SubscriptionRecord,
};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::admin::moderator;
use crate::routes::shared::parse_id;
use crate::state::ApiState;

/// Largest list accepted in one upload (bytes); shared lists run to a few thousand lines.
pub const MAX_BLOCKLIST_BYTES: usize = 2 * 1024 * 1024;

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {why}"))
}

/// The import as moderators review it.
pub(crate) fn import_json(import: &BlockImportRecord) -> Value {
    json!({
        "id": import.id.to_string(),
        "source": import.source,
        "state": import.state,
        "created_at": datetime(import.created_at),
        "decided_at": import.decided_at.map(datetime),
        "rows": import.rows.iter().map(|(domain, b)| json!({
            "domain": domain.as_str(),
            "severity": b.severity,
            "reject_media": b.reject_media,
            "reject_reports": b.reject_reports,
            "public_comment": b.public_comment,
            "obfuscate": b.obfuscate,
        })).collect::<Vec<_>>(),
        "errors": import.errors.iter().map(|(line, message)| json!({
            "line": line,
            "message": message,
        })).collect::<Vec<_>>(),
        "subscription_id": import.subscription.map(|s| s.to_string()),
        "removals": import.removals.iter().map(Domain::as_str).collect::<Vec<_>>(),
    })
}

/// Reads an uploaded list into a draft. `own` is this instance's domain, which no list may
/// block; `private_comment` is kept with every row (the moderators' note, e.g. where the
/// list came from).
pub(crate) async fn draft_from_text(
    state: &ApiState,
    moderator_id: cohort_model::Id,
    source: &str,
    text: &str,
    private_comment: &str,
) -> ApiResult<BlockImportRecord> {
    let (rows, errors) = rows_from_text(state, text, private_comment)?;
    let id = state
        .store
        .save_block_import(moderator_id, source, &rows, &errors)
        .await?;
    Ok(state.store.block_import(id).await?)
}

/// A block to write, per domain.
type BlockRows = Vec<(Domain, DomainBlockWrite)>;

/// Reads a list: its valid rows (this instance's own domain refused) and per-line errors.
fn rows_from_text(
    state: &ApiState,
    text: &str,
    private_comment: &str,
) -> ApiResult<(BlockRows, Vec<(u64, String)>)> {
    if text.trim().is_empty() {
        return Err(invalid("data is missing: upload a CSV blocklist"));
    }
    if text.len() > MAX_BLOCKLIST_BYTES {
        return Err(invalid(format!(
            "the list is too large (at most {MAX_BLOCKLIST_BYTES} bytes)"
        )));
    }
    if private_comment.chars().count() > 1000 {
        return Err(invalid(
            "private_comment is too long (at most 1000 characters)",
        ));
    }
    let parsed = parse_blocklist(text);
    let mut errors: Vec<(u64, String)> = parsed
        .errors
        .iter()
        .map(|e| (e.line, e.message.clone()))
        .collect();
    let mut rows: BlockRows = Vec::with_capacity(parsed.rows.len());
    for row in parsed.rows {
        if row.domain == state.settings.domain {
            errors.push((row.line, "this instance cannot block itself".to_owned()));
            continue;
        }
        rows.push((
            row.domain,
            DomainBlockWrite {
                severity: row.severity.as_str().to_owned(),
                reject_media: row.reject_media,
                reject_reports: row.reject_reports,
                private_comment: private_comment.to_owned(),
                public_comment: row.public_comment,
                obfuscate: row.obfuscate,
            },
        ));
    }
    errors.sort_by_key(|(line, _)| *line);
    Ok((rows, errors))
}

/// `POST /api/v1/admin/cohort/domain_blocks/imports`: `data` (the CSV text), optional
/// `private_comment`. Returns the draft: `rows` that would apply and `errors` per line.
pub async fn create_import(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let text = params.string("data").unwrap_or_default();
    let comment = params.string("private_comment").unwrap_or_default();
    let draft = draft_from_text(&state, auth.account.id, "upload", &text, &comment).await?;
    Ok(Json(import_json(&draft)))
}

/// `GET /api/v1/admin/cohort/domain_blocks/imports`: the newest imports.
pub async fn imports(State(state): State<ApiState>, auth: Authenticated) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let imports = state.store.block_imports(50).await?;
    Ok(Json(Value::Array(
        imports.iter().map(import_json).collect(),
    )))
}

/// `GET /api/v1/admin/cohort/domain_blocks/imports/:id`.
pub async fn import(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let import = state.store.block_import(parse_id(&id)?).await?;
    Ok(Json(import_json(&import)))
}

/// Applies a draft (shared by the API and the dashboard): `422` when it has no valid row or
/// was decided already.
pub(crate) async fn apply(
    state: &ApiState,
    moderator_id: cohort_model::Id,
    import: cohort_model::Id,
) -> ApiResult<(BlockImportRecord, AppliedImport)> {
    let draft = state.store.block_import(import).await?;
    if draft.state != "draft" {
        return Err(invalid("this import was decided already"));
    }
    if draft.rows.is_empty() && draft.removals.is_empty() {
        return Err(invalid("this import has no valid row to apply"));
    }
    let applied = match state.store.apply_block_import(import, moderator_id).await {
        Ok(applied) => applied,
        Err(StoreError::Conflict(_)) => return Err(invalid("this import was decided already")),
        Err(e) => return Err(e.into()),
    };
    Ok((state.store.block_import(import).await?, applied))
}

/// `POST /api/v1/admin/cohort/domain_blocks/imports/:id/confirm`: applies every valid row
/// in one transaction; suspensions drop the deliveries queued to their domains.
pub async fn confirm_import(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let (import, applied) = apply(&state, auth.account.id, parse_id(&id)?).await?;
    let mut out = import_json(&import);
    out["applied"] = applied_json(&applied);
    Ok(Json(out))
}

fn applied_json(applied: &AppliedImport) -> Value {
    json!({
        "blocks": applied.blocks,
        "dropped_deliveries": applied.dropped_deliveries,
        "removed": applied.removed,
    })
}

// Subscriptions to shared blocklists (Cohort's extension; docs/MODERATION.md).

fn subscription_json(sub: &SubscriptionRecord) -> Value {
    json!({
        "id": sub.id.to_string(),
        "url": sub.url,
        "auto_apply": sub.auto_apply,
        "excludes": sub.excludes.iter().map(Domain::as_str).collect::<Vec<_>>(),
        "private_comment": sub.private_comment,
        "created_at": datetime(sub.created_at),
        "last_fetched_at": sub.last_fetched_at.map(datetime),
        "last_error": sub.last_error,
    })
}

/// What one refresh of a subscription came to.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// The draft it left (or applied), if anything would change.
    pub draft: Option<BlockImportRecord>,
    /// What applying it did, for an `auto_apply` subscription.
    pub applied: Option<AppliedImport>,
    /// Why the list could not be fetched.
    pub error: Option<String>,
}

/// Reads a subscription's list (fetched from its URL through the SSRF-guarded client, or
/// `text` when given) into a draft of what would change, and applies it at once when the
/// subscription says `auto_apply`. A fetch that fails is recorded on the subscription
/// (`last_error`) and changes nothing.
pub async fn refresh_subscription(
    state: &ApiState,
    sub: &SubscriptionRecord,
    text: Option<&str>,
) -> ApiResult<Refreshed> {
    let fetched;
    let text = match (text, &sub.url) {
        (Some(text), _) => text,
        (None, Some(url)) => {
            let federation = state
                .federation
                .as_ref()
                .ok_or_else(|| ApiError::internal("federation is not running"))?;
            match federation
                .fetcher()
                .fetch_text(url, MAX_BLOCKLIST_BYTES)
                .await
            {
                Ok(t) => {
                    fetched = t;
                    fetched.as_str()
                }
                Err(e) => {
                    let error = e.to_string();
                    state
                        .store
                        .record_subscription_fetch(sub.id, Some(&error))
                        .await?;
                    return Ok(Refreshed {
                        error: Some(error),
                        ..Refreshed::default()
                    });
                }
            }
        }
        (None, None) => return Ok(Refreshed::default()),
    };
    let (rows, errors) = match rows_from_text(state, text, &sub.private_comment) {
        Ok(read) => read,
        Err(ApiError::Unprocessable(why)) => {
            state
                .store
                .record_subscription_fetch(sub.id, Some(&why))
                .await?;
            return Ok(Refreshed {
                error: Some(why),
                ..Refreshed::default()
            });
        }
        Err(e) => return Err(e),
    };
    let draft = state.store.subscription_draft(sub, &rows, &errors).await?;
    state.store.record_subscription_fetch(sub.id, None).await?;
    let Some(draft) = draft else {
        return Ok(Refreshed::default());
    };
    let mut record = state.store.block_import(draft).await?;
    let mut applied = None;
    if sub.auto_apply
        && let Some(moderator) = sub.moderator
        && !(record.rows.is_empty() && record.removals.is_empty())
    {
        let (decided, done) = apply(state, moderator, draft).await?;
        record = decided;
        applied = Some(done);
    }
    Ok(Refreshed {
        draft: Some(record),
        applied,
        error: None,
    })
}

/// Refreshes every subscription that has a URL (`cohort serve` calls it every
/// `COHORT_BLOCKLIST_REFRESH_SECONDS`). Returns how many drafts were made.
pub async fn refresh_all_subscriptions(state: &ApiState) -> ApiResult<usize> {
    let mut drafts = 0;
    for sub in state.store.blocklist_subscriptions().await? {
        if sub.url.is_none() {
            continue;
        }
        let refreshed = refresh_subscription(state, &sub, None).await?;
        if let Some(error) = &refreshed.error {
            tracing::warn!(subscription = %sub.id, %error, "a blocklist subscription could not be refreshed");
        }
        drafts += usize::from(refreshed.draft.is_some());
    }
    Ok(drafts)
}

fn refreshed_json(sub: &SubscriptionRecord, refreshed: &Refreshed) -> Value {
    let mut out = subscription_json(sub);
    out["draft"] = refreshed.draft.as_ref().map_or(Value::Null, import_json);
    out["applied"] = refreshed.applied.as_ref().map_or(Value::Null, applied_json);
    out
}

/// `POST /api/v1/admin/blocklist_subscriptions`: `url` (https; http only with loopback
/// federation) or `data` (an uploaded list, read once), `auto_apply`, `excludes[]`,
/// `private_comment`. Reads the list at once: the answer carries its first `draft`.
pub async fn create_subscription(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let url = params.string("url").filter(|u| !u.trim().is_empty());
    let data = params.string("data").filter(|d| !d.trim().is_empty());
    let url = match (&url, &data) {
        (Some(_), Some(_)) => return Err(invalid("give either url or data, not both")),
        (None, None) => return Err(invalid("url or data is missing")),
        (Some(url), None) => {
            let parsed = url::Url::parse(url.trim())
                .map_err(|_| invalid(format!("url {url:?} is not a URL")))?;
            let federation = state
                .federation
                .as_ref()
                .ok_or_else(|| ApiError::internal("federation is not running"))?;
            federation.fetcher().check_url(&parsed).map_err(|_| {
                invalid(format!(
                    "url {url:?} must be https, with a host name (http only for loopback test networks)"
                ))
            })?;
            Some(parsed.to_string())
        }
        (None, Some(_)) => None,
    };
    let mut excludes: Vec<Domain> = Vec::new();
    for raw in params.list("excludes") {
        if raw.trim().is_empty() {
            continue;
        }
        let domain =
            Domain::parse(raw.trim()).map_err(|e| invalid(format!("excludes: {raw:?}: {e}")))?;
        if !excludes.contains(&domain) {
            excludes.push(domain);
        }
    }
    let private_comment = params.string("private_comment").unwrap_or_default();
    if private_comment.chars().count() > 1000 {
        return Err(invalid(
            "private_comment is too long (at most 1000 characters)",
        ));
    }
    if let Some(text) = &data {
        // An upload is checked before anything is stored.
        rows_from_text(&state, text, &private_comment)?;
    }
    let id = state
        .store
        .create_blocklist_subscription(&NewSubscription {
            url,
            auto_apply: params.bool("auto_apply")?.unwrap_or(false),
            excludes,
            private_comment,
            moderator: auth.account.id,
        })
        .await?;
    let sub = state.store.blocklist_subscription(id).await?;
    let refreshed = refresh_subscription(&state, &sub, data.as_deref()).await?;
    let sub = state.store.blocklist_subscription(id).await?;
    Ok(Json(refreshed_json(&sub, &refreshed)))
}

/// `GET /api/v1/admin/blocklist_subscriptions`.
pub async fn subscriptions(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let subs = state.store.blocklist_subscriptions().await?;
    Ok(Json(Value::Array(
        subs.iter().map(subscription_json).collect(),
    )))
}

/// `GET /api/v1/admin/blocklist_subscriptions/:id`.
pub async fn subscription(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let sub = state.store.blocklist_subscription(parse_id(&id)?).await?;
    Ok(Json(subscription_json(&sub)))
}

/// `POST /api/v1/admin/blocklist_subscriptions/:id/refresh`: fetches the list now.
pub async fn refresh(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let id = parse_id(&id)?;
    let sub = state.store.blocklist_subscription(id).await?;
    if sub.url.is_none() {
        return Err(invalid(
            "this subscription is an uploaded list: nothing to fetch",
        ));
    }
    let refreshed = refresh_subscription(&state, &sub, None).await?;
    let sub = state.store.blocklist_subscription(id).await?;
    Ok(Json(refreshed_json(&sub, &refreshed)))
}

/// `DELETE /api/v1/admin/blocklist_subscriptions/:id`: ends the subscription; the blocks it
/// applied stay (as if made by hand) and its undecided drafts are discarded.
pub async fn delete_subscription(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    state
        .store
        .delete_blocklist_subscription(parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/admin/cohort/domain_blocks/imports/:id/discard`.
pub async fn discard_import(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let import = parse_id(&id)?;
    match state.store.discard_block_import(import).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(invalid("this import was decided already")),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(import_json(&state.store.block_import(import).await?)))
}

/// The instance's blocks in Mastodon's CSV format.
pub(crate) async fn export_text(state: &ApiState) -> ApiResult<String> {
    let blocks = state.store.domain_policies("block").await?;
    let rows: Vec<BlocklistRow> = blocks
        .into_iter()
        .map(|b| {
            Ok(BlocklistRow {
                line: 0,
                severity: b
                    .severity
                    .parse::<Severity>()
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
                domain: b.domain,
                reject_media: b.reject_media,
                reject_reports: b.reject_reports,
                public_comment: b.public_comment,
                obfuscate: b.obfuscate,
            })
        })
        .collect::<ApiResult<_>>()?;
    write_blocklist(&rows).map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

/// `GET /api/v1/admin/cohort/domain_blocks/export`: every block as Mastodon's CSV
/// (`text/csv`), which Mastodon's import reads.
pub async fn export(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<impl IntoResponse> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let text = export_text(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"domain_blocks.csv\"",
            ),
        ],
        text,
    ))
}
