//! An account's own domain blocks (`/api/v1/domain_blocks`): the read gate hides the
//! domain's accounts and posts from that account everywhere (timelines, notifications,
//! search), and blocking removes the account's followers there, as Mastodon does.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use cohort_model::Domain;
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::ApiState;

fn requested_domain(state: &ApiState, params: &Params) -> ApiResult<Domain> {
    let raw = params.string("domain").unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(ApiError::Unprocessable(
            "Validation failed: Domain can't be blank".into(),
        ));
    }
    let domain = Domain::parse(raw.trim()).map_err(|_| {
        ApiError::Unprocessable("Validation failed: Domain is not a valid domain".into())
    })?;
    if domain == state.settings.domain {
        return Err(ApiError::Unprocessable(
            "Validation failed: Domain cannot be this instance's own".into(),
        ));
    }
    Ok(domain)
}

/// `GET /api/v1/domain_blocks`: the blocked domains by name, paged by `limit`/`offset`
/// (Mastodon pages by id; names are what clients show).
pub async fn index(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:blocks")?;
    let limit = params.int("limit")?.unwrap_or(100).clamp(1, 200);
    let offset = params.int("offset")?.unwrap_or(0).max(0);
    let domains = state
        .store
        .domains_blocked_by(auth.account.id, limit, offset)
        .await?;
    Ok(Json(Value::Array(
        domains.iter().map(|d| json!(d.as_str())).collect(),
    )))
}

/// `POST /api/v1/domain_blocks` with `domain`.
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:blocks")?;
    let domain = requested_domain(&state, &params)?;
    let removed = state
        .store
        .block_domain_and_drop_followers(auth.account.id, &domain)
        .await?;
    if !removed.is_empty() {
        tracing::info!(count = removed.len(), %domain, "followers removed by a user domain block");
    }
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/domain_blocks` with `domain`.
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:blocks")?;
    let domain = requested_domain(&state, &params)?;
    state
        .store
        .unblock_domain_for_account(auth.account.id, &domain)
        .await?;
    Ok(Json(json!({})))
}
