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
use cohort_store::{AppliedImport, BlockImportRecord, DomainBlockWrite, StoreError};
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
    let mut rows: Vec<(Domain, DomainBlockWrite)> = Vec::with_capacity(parsed.rows.len());
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
    let id = state
        .store
        .save_block_import(moderator_id, source, &rows, &errors)
        .await?;
    Ok(state.store.block_import(id).await?)
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
    if draft.rows.is_empty() {
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
    out["applied"] = json!({
        "blocks": applied.blocks,
        "dropped_deliveries": applied.dropped_deliveries,
    });
    Ok(Json(out))
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
