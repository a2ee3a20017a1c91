//! Domain blocks: the list, the CSV export, and imports (upload, review the draft with its
//! per-line errors, confirm or discard).

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::{failure, layout, message_page, refused, session};
use crate::error::ApiError;
use crate::params::Params;
use crate::routes::blocklists::{MAX_BLOCKLIST_BYTES, apply, draft_from_text, export_text};
use crate::routes::shared::parse_id;
use crate::state::ApiState;
use crate::text::escape;

/// `GET /admin/domain_blocks`: the blocks, the export link and the import form.
pub async fn domain_blocks(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let blocks = match state.store.domain_policies("block").await {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut rows = String::new();
    for b in &blocks {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(b.domain.as_str()),
            escape(&b.severity),
            [
                ("reject media", b.reject_media),
                ("reject reports", b.reject_reports),
                ("obfuscated", b.obfuscate)
            ]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
            escape(&b.public_comment),
            escape(&b.private_comment),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"5\">No domain is blocked.</td></tr>");
    }
    let body = format!(
        "<p><a href=\"/admin/domain_blocks/export\">Export as CSV (Mastodon's format)</a></p>\
         <table id=\"blocks\"><tr><th>Domain</th><th>Severity</th><th>Flags</th><th>Public comment</th><th>Private comment</th></tr>{rows}</table>\
         <section><h2>Import a blocklist</h2><p>Mastodon's CSV (<code>#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate</code>) \
         or one domain per line. You will see what would apply, and every line that cannot, before anything changes.</p>\
         <form method=\"post\" action=\"/admin/domain_blocks/import\" enctype=\"multipart/form-data\" id=\"import-form\">{csrf}\
         <label for=\"file\">CSV file</label><input type=\"file\" name=\"file\" id=\"file\" accept=\".csv,text/csv,text/plain\">\
         <label for=\"data\">or paste it</label><textarea name=\"data\" id=\"data\" rows=\"6\"></textarea>\
         <label for=\"private_comment\">Private comment kept with each block (e.g. where the list came from)</label>\
         <input type=\"text\" name=\"private_comment\" id=\"private_comment\">\
         <button type=\"submit\" id=\"preview\">Preview</button></form></section>",
        csrf = session.csrf_field(),
    );
    Html(layout(&state, Some(&session), "Domain blocks", &body)).into_response()
}

/// `GET /admin/domain_blocks/export`: the CSV, as a download.
pub async fn export(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = session(&state, &headers).await {
        return *r;
    }
    match export_text(&state).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"domain_blocks.csv\"",
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /admin/domain_blocks/import` (multipart: `csrf`, `file` or `data`,
/// `private_comment`): saves a draft and shows it.
pub async fn import_submit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (mut csrf, mut file, mut pasted, mut comment) =
        (String::new(), String::new(), String::new(), String::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "Not done",
                    &format!("invalid upload: {e}"),
                );
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "Not done",
                    &format!("invalid upload: {e}"),
                );
            }
        };
        if bytes.len() > MAX_BLOCKLIST_BYTES {
            return message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Not done",
                &format!("the list is too large (at most {MAX_BLOCKLIST_BYTES} bytes)"),
            );
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => csrf = text,
            "file" => file = text,
            "data" => pasted = text,
            "private_comment" => comment = text,
            _ => {}
        }
    }
    if let Err(r) = session.check_csrf(Some(&csrf)) {
        return *r;
    }
    let text = if file.trim().is_empty() { pasted } else { file };
    match draft_from_text(
        &state,
        session.auth.account.id,
        "upload",
        &text,
        comment.trim(),
    )
    .await
    {
        Ok(draft) => {
            Redirect::to(&format!("/admin/domain_blocks/imports/{}", draft.id)).into_response()
        }
        Err(e) => refused(e),
    }
}

/// `GET /admin/domain_blocks/imports/:id`: what would apply, what cannot, and the decision.
pub async fn import_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let import = match parse_id(&id) {
        Ok(id) => state.store.block_import(id).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let import = match import {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let mut body = format!(
        "<p>State: <strong id=\"import-state\">{}</strong></p><h2>{} row(s) will apply</h2><table id=\"rows\">\
         <tr><th>Domain</th><th>Severity</th><th>Reject media</th><th>Reject reports</th><th>Public comment</th></tr>",
        escape(&import.state),
        import.rows.len()
    );
    for (domain, b) in &import.rows {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(domain.as_str()),
            escape(&b.severity),
            b.reject_media,
            b.reject_reports,
            escape(&b.public_comment)
        ));
    }
    body.push_str(&format!(
        "</table><h2>{} line(s) cannot apply</h2><table id=\"errors\"><tr><th>Line</th><th>Why</th></tr>",
        import.errors.len()
    ));
    for (line, message) in &import.errors {
        body.push_str(&format!(
            "<tr><td>{line}</td><td>{}</td></tr>",
            escape(message)
        ));
    }
    body.push_str("</table>");
    if import.state == "draft" {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/admin/domain_blocks/imports/{id}/confirm\" class=\"inline\">{csrf}\
             <button type=\"submit\" id=\"confirm\">Apply the valid rows</button></form> \
             <form method=\"post\" action=\"/admin/domain_blocks/imports/{id}/discard\" class=\"inline\">{csrf}\
             <button type=\"submit\">Discard</button></form>",
            id = import.id,
            csrf = session.csrf_field()
        ));
    }
    Html(layout(&state, Some(&session), "Blocklist import", &body)).into_response()
}

async fn decide(
    state: ApiState,
    headers: HeaderMap,
    id: String,
    params: Params,
    confirm: bool,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(r) = session.check_csrf(params.string("csrf").as_deref()) {
        return *r;
    }
    let import = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return failure(e),
    };
    let done = if confirm {
        apply(&state, session.auth.account.id, import)
            .await
            .map(|_| ())
    } else {
        match state.store.discard_block_import(import).await {
            Ok(()) => Ok(()),
            Err(cohort_store::StoreError::Conflict(_)) => Err(ApiError::Unprocessable(
                "Validation failed: this import was decided already".into(),
            )),
            Err(e) => Err(e.into()),
        }
    };
    match done {
        Ok(()) => Redirect::to(&format!("/admin/domain_blocks/imports/{import}")).into_response(),
        Err(e) => refused(e),
    }
}

/// `POST /admin/domain_blocks/imports/:id/confirm`.
pub async fn confirm_import(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    decide(state, headers, id, params, true).await
}

/// `POST /admin/domain_blocks/imports/:id/discard`.
pub async fn discard_import(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    decide(state, headers, id, params, false).await
}
