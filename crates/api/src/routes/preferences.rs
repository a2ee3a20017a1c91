//! Pins, mutes and read markers: what an account keeps for its own views.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use cohort_model::Visibility;
use serde_json::{Map, Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{
    accounts_json, link_header, page, parse_id, visible_record, visible_status,
};
use crate::state::ApiState;

/// Most pinned statuses per account, as Mastodon.
const MAX_PINS: i64 = 5;

/// `POST /api/v1/statuses/:id/pin`: the author pins a post to their profile (not a direct
/// message; at most five).
pub async fn pin(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if record.facts.author.id != auth.account.id || record.reblog_of_id.is_some() {
        return Err(ApiError::Unprocessable(
            "Validation failed: you can only pin your own posts".into(),
        ));
    }
    if record.facts.audience.visibility == Visibility::Direct {
        return Err(ApiError::Unprocessable(
            "Validation failed: direct messages cannot be pinned".into(),
        ));
    }
    if state.store.pin_count(auth.account.id).await? >= MAX_PINS {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: you can pin at most {MAX_PINS} posts"
        )));
    }
    state.store.pin(auth.account.id, id).await?;
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `POST /api/v1/statuses/:id/unpin`.
pub async fn unpin(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let id = parse_id(&id)?;
    visible_record(&state, &auth.viewer(), id).await?;
    state.store.unpin(auth.account.id, id).await?;
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `POST /api/v1/accounts/:id/mute` (`notifications`, default true).
pub async fn mute(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:mutes")?;
    let target = parse_id(&id)?;
    state.store.account_by_id(target).await?;
    if target == auth.account.id {
        return Err(ApiError::Unprocessable(
            "Validation failed: you cannot mute yourself".into(),
        ));
    }
    let notifications = params.bool("notifications")?.unwrap_or(true);
    state
        .store
        .mute(auth.account.id, target, notifications)
        .await?;
    crate::routes::accounts::relationship_json(&state, auth.account.id, target)
        .await
        .map(Json)
}

/// `POST /api/v1/accounts/:id/unmute`.
pub async fn unmute(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:mutes")?;
    let target = parse_id(&id)?;
    state.store.account_by_id(target).await?;
    state.store.unmute(auth.account.id, target).await?;
    crate::routes::accounts::relationship_json(&state, auth.account.id, target)
        .await
        .map(Json)
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications`.
pub async fn markers(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("read:statuses")?;
    let wanted = params.list("timeline");
    let mut out = Map::new();
    for marker in state.store.markers(auth.account.id).await? {
        if wanted.is_empty() || wanted.contains(&marker.timeline) {
            out.insert(
                marker.timeline.clone(),
                json!({
                    "last_read_id": marker.last_read_id,
                    "version": marker.version,
                    "updated_at": datetime(marker.updated_at),
                }),
            );
        }
    }
    Ok(Json(Value::Object(out)))
}

/// `POST /api/v1/markers` with `home[last_read_id]` and/or `notifications[last_read_id]`.
pub async fn save_markers(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let mut saved = false;
    for timeline in ["home", "notifications"] {
        let Some(last) = params.0.get(timeline).and_then(|v| v.get("last_read_id")) else {
            continue;
        };
        let last = match last {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "{timeline}[last_read_id] must be an id"
                )));
            }
        };
        if last.parse::<cohort_model::Id>().is_err() {
            return Err(ApiError::BadRequest(format!(
                "{timeline}[last_read_id] must be an id"
            )));
        }
        state
            .store
            .save_marker(auth.account.id, timeline, &last)
            .await?;
        saved = true;
    }
    if !saved {
        return Err(ApiError::BadRequest(
            "give home[last_read_id] or notifications[last_read_id]".into(),
        ));
    }
    markers(State(state), auth, Params::default()).await
}

/// `GET /api/v1/mutes`: the accounts the user mutes, `Link` paged.
pub async fn mutes(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require("read:mutes")?;
    let ids = state
        .store
        .muted_account_ids(auth.account.id, page(&params, 80)?)
        .await?;
    let accounts = accounts_json(&state, &ids).await?;
    let headers = link_header(&state, "/api/v1/mutes", "", &accounts);
    Ok((headers, Json(Value::Array(accounts))))
}

/// `GET /api/v1/blocks`: the accounts the user blocks, `Link` paged.
pub async fn blocks(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require("read:blocks")?;
    let ids = state
        .store
        .blocked_account_ids(auth.account.id, page(&params, 80)?)
        .await?;
    let accounts = accounts_json(&state, &ids).await?;
    let headers = link_header(&state, "/api/v1/blocks", "", &accounts);
    Ok((headers, Json(Value::Array(accounts))))
}
