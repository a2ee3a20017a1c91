//! Favourites, boosts and bookmarks of statuses, and who did them.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use cohort_model::Id;
use cohort_policy::{ComposeError, check_boost};
use cohort_store::{NewOutboxEvent, NewStatus, OutboxKind};
use serde_json::Value;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{
    accounts_json, page, parse_id, visible_record, visible_status, visible_statuses,
};
use crate::state::ApiState;

/// Records an outbox event for an interaction with a remote status (local ones need none).
async fn tell_remote_author(
    state: &ApiState,
    kind: OutboxKind,
    actor: Id,
    status: Id,
    remote: bool,
) -> ApiResult<()> {
    if remote {
        state
            .store
            .enqueue_outbox_event(&NewOutboxEvent {
                kind,
                actor,
                status: Some(status),
                target_account: None,
            })
            .await?;
    }
    Ok(())
}

/// `POST /api/v1/statuses/:id/favourite`.
pub async fn favourite(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:favourites")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if state.store.favourite(auth.account.id, id).await? {
        state
            .store
            .notify(
                record.facts.author.id,
                auth.account.id,
                "favourite",
                Some(id),
            )
            .await?;
        tell_remote_author(
            &state,
            OutboxKind::Like,
            auth.account.id,
            id,
            !record.facts.is_local(),
        )
        .await?;
    }
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `POST /api/v1/statuses/:id/unfavourite`.
pub async fn unfavourite(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:favourites")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if state.store.unfavourite(auth.account.id, id).await? {
        tell_remote_author(
            &state,
            OutboxKind::UndoLike,
            auth.account.id,
            id,
            !record.facts.is_local(),
        )
        .await?;
    }
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `POST /api/v1/statuses/:id/reblog`: only public and unlisted posts can be boosted; the
/// boost carries the original's audience.
pub async fn reblog(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let id = parse_id(&id)?;
    let original = visible_record(&state, &auth.viewer(), id).await?;
    // Boosting a boost boosts its original.
    let original = match original.reblog_of_id {
        Some(inner) => visible_record(&state, &auth.viewer(), inner).await?,
        None => original,
    };
    let original_id = original.facts.id;
    if let Some(existing) = state.store.reblog_by(auth.account.id, original_id).await? {
        return Ok(Json(
            visible_status(&state, &auth.viewer(), existing).await?,
        ));
    }
    let facts = state
        .store
        .facts_for_viewer(&auth.viewer(), &[&original.facts])
        .await?;
    let audience = check_boost(&facts, &auth.party(), &original.facts).map_err(|e| match e {
        ComposeError::BoostTargetNotVisible => ApiError::NotFound,
        other => ApiError::Unprocessable(format!("Validation failed: {other}")),
    })?;
    let boost = state.store.next_id();
    state
        .store
        .create_status(&NewStatus {
            id: boost,
            author: auth.account.id,
            uri: format!(
                "{}/activity",
                state.urls.status(&auth.account.username, boost)
            ),
            url: Some(original.url.clone().unwrap_or_else(|| original.uri.clone())),
            local: true,
            audience,
            text_source: String::new(),
            content_html: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            in_reply_to: None,
            reblog_of: Some(original_id),
            addressed: Vec::new(),
            held_reason: None,
            expires_at: None,
        })
        .await?;
    state
        .store
        .notify(
            original.facts.author.id,
            auth.account.id,
            "reblog",
            Some(original_id),
        )
        .await?;
    Ok(Json(visible_status(&state, &auth.viewer(), boost).await?))
}

/// `POST /api/v1/statuses/:id/unreblog`: returns the original.
pub async fn unreblog(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    let original = record.reblog_of_id.unwrap_or(id);
    if let Some(boost) = state.store.reblog_by(auth.account.id, original).await? {
        state.store.mark_status_deleted(boost).await?;
    }
    Ok(Json(
        visible_status(&state, &auth.viewer(), original).await?,
    ))
}

/// `POST /api/v1/statuses/:id/bookmark`.
pub async fn bookmark(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:bookmarks")?;
    let id = parse_id(&id)?;
    visible_record(&state, &auth.viewer(), id).await?;
    state.store.bookmark(auth.account.id, id).await?;
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `POST /api/v1/statuses/:id/unbookmark`.
pub async fn unbookmark(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:bookmarks")?;
    let id = parse_id(&id)?;
    visible_record(&state, &auth.viewer(), id).await?;
    state.store.unbookmark(auth.account.id, id).await?;
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `GET /api/v1/statuses/:id/favourited_by`.
pub async fn favourited_by(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let id = parse_id(&id)?;
    visible_record(&state, &auth.viewer(), id).await?;
    let ids = state.store.favourited_by(id, 80).await?;
    Ok(Json(Value::Array(accounts_json(&state, &ids).await?)))
}

/// `GET /api/v1/statuses/:id/reblogged_by`.
pub async fn reblogged_by(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let id = parse_id(&id)?;
    visible_record(&state, &auth.viewer(), id).await?;
    let ids = state.store.reblogged_by(id, 80).await?;
    Ok(Json(Value::Array(accounts_json(&state, &ids).await?)))
}

/// `GET /api/v1/favourites` and `GET /api/v1/bookmarks`.
async fn marked(
    state: ApiState,
    auth: Authenticated,
    params: Params,
    bookmarks: bool,
) -> ApiResult<impl IntoResponse> {
    auth.require(if bookmarks {
        "read:bookmarks"
    } else {
        "read:favourites"
    })?;
    let page = page(&params, 40)?;
    let pairs = state
        .store
        .marked_status_ids(auth.account.id, bookmarks, page)
        .await?;
    let ids: Vec<Id> = pairs.iter().map(|(_, s)| *s).collect();
    let items = visible_statuses(&state, &auth.viewer(), &ids).await?;
    let path = if bookmarks {
        "/api/v1/bookmarks"
    } else {
        "/api/v1/favourites"
    };
    let mut headers = axum::http::HeaderMap::new();
    if let (Some(first), Some(last)) = (pairs.first(), pairs.last()) {
        let base = format!("{}{}", state.settings.base_url, path);
        let value = format!(
            "<{base}?max_id={}>; rel=\"next\", <{base}?min_id={}>; rel=\"prev\"",
            last.0, first.0
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            headers.insert(axum::http::header::LINK, v);
        }
    }
    Ok((headers, Json(Value::Array(items))))
}

/// `GET /api/v1/favourites`.
pub async fn favourites(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    marked(state, auth, params, false).await
}

/// `GET /api/v1/bookmarks`.
pub async fn bookmarks(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    marked(state, auth, params, true).await
}
