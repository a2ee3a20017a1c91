//! Strikes and appeals (Cohort's endpoints; a strike is Mastodon's AccountWarning entity).
//!
//! A member sees the strikes moderators gave their account (`GET /api/v1/cohort/strikes`)
//! and may appeal each once (`POST /api/v1/cohort/strikes/:id/appeal`). Moderators list
//! appeals (`GET /api/v1/admin/cohort/appeals`) and approve or reject them; either way the
//! member is notified (`moderation_warning`, naming the strike with its appeal's state).

use axum::Json;
use axum::extract::{Path, State};
use cohort_store::{AppealRecord, StoreError, StrikeRecord};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::admin::{admin_account_json, moderator};
use crate::routes::shared::{account_json, parse_id};
use crate::state::ApiState;

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {why}"))
}

/// Mastodon's AccountWarning: what was done, why, to which posts, and the appeal. The
/// moderator is never named to the account's owner.
pub(crate) async fn strike_json(state: &ApiState, strike: &StrikeRecord) -> ApiResult<Value> {
    let appeal = strike.appeal.as_ref().map(|a| {
        json!({
            "text": a.text,
            "state": a.state,
        })
    });
    Ok(json!({
        "id": strike.id.to_string(),
        "action": strike.action,
        "text": strike.text,
        "status_ids": if strike.status_ids.is_empty() {
            Value::Null
        } else {
            Value::Array(strike.status_ids.iter().map(|s| Value::String(s.to_string())).collect())
        },
        "target_account": account_json(state, strike.account).await?,
        "appeal": appeal,
        "overruled_at": strike.overruled_at.map(datetime),
        "created_at": datetime(strike.created_at),
    }))
}

/// `GET /api/v1/cohort/strikes` (scope `read:accounts`): the signed-in account's strikes,
/// newest first.
pub async fn mine(State(state): State<ApiState>, auth: Authenticated) -> ApiResult<Json<Value>> {
    auth.require("read:accounts")?;
    let mut out = Vec::new();
    for strike in state.store.strikes_of(auth.account.id).await? {
        out.push(strike_json(&state, &strike).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/cohort/strikes/:id`: one of the signed-in account's strikes (someone
/// else's is a 404).
pub async fn one(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:accounts")?;
    let strike = state.store.strike(parse_id(&id)?).await?;
    if strike.account != auth.account.id {
        return Err(ApiError::NotFound);
    }
    Ok(Json(strike_json(&state, &strike).await?))
}

/// `POST /api/v1/cohort/strikes/:id/appeal` (scope `write:accounts`), `text` (1 to 2000
/// characters): one appeal per strike (a second is `422`); someone else's strike is `404`.
pub async fn appeal(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let strike = parse_id(&id)?;
    let text = params.string("text").unwrap_or_default();
    cohort_moderation::check_appeal(&text).map_err(invalid)?;
    match state
        .store
        .appeal_strike(auth.account.id, strike, text.trim())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(invalid("this strike was appealed already"));
        }
        Err(e) => return Err(e.into()),
    }
    let strike = state.store.strike(strike).await?;
    Ok(Json(strike_json(&state, &strike).await?))
}

/// An appeal for moderators: the appeal, the strike it contests and the account.
async fn admin_appeal_json(state: &ApiState, appeal: &AppealRecord) -> ApiResult<Value> {
    let strike = state.store.strike(appeal.strike).await?;
    Ok(json!({
        "id": appeal.id.to_string(),
        "text": appeal.text,
        "state": appeal.state,
        "created_at": datetime(appeal.created_at),
        "decided_at": appeal.decided_at.map(datetime),
        "decided_by_id": appeal.decided_by.map(|m| m.to_string()),
        "strike": strike_json(state, &strike).await?,
        "account": admin_account_json(state, appeal.account).await?,
    }))
}

/// `GET /api/v1/admin/cohort/appeals?state=pending|approved|rejected|all` (default
/// `pending`), oldest first: the queue.
pub async fn appeals(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:accounts")?;
    let wanted = match params.string("state").as_deref() {
        None | Some("" | "pending") => Some("pending"),
        Some("approved") => Some("approved"),
        Some("rejected") => Some("rejected"),
        Some("all") => None,
        Some(other) => {
            return Err(invalid(format!(
                "state {other:?} is not pending, approved, rejected or all"
            )));
        }
    };
    let limit = params.int("limit")?.unwrap_or(100).clamp(1, 200);
    let mut out = Vec::new();
    for appeal in state.store.appeals(wanted, limit).await? {
        out.push(admin_appeal_json(&state, &appeal).await?);
    }
    Ok(Json(Value::Array(out)))
}

async fn decide(
    state: &ApiState,
    auth: &Authenticated,
    id: &str,
    approve: bool,
) -> ApiResult<Json<Value>> {
    moderator(auth, "admin:write:accounts")?;
    let appeal = state.store.appeal(parse_id(id)?).await?;
    if appeal.account == auth.account.id {
        return Err(ApiError::Forbidden(
            "This action is not allowed on your own account".into(),
        ));
    }
    match state
        .store
        .decide_appeal(appeal.id, auth.account.id, approve)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(invalid("this appeal was decided already")),
        Err(e) => return Err(e.into()),
    }
    let appeal = state.store.appeal(appeal.id).await?;
    Ok(Json(admin_appeal_json(state, &appeal).await?))
}

/// `POST /api/v1/admin/cohort/appeals/:id/approve`: overrules the strike and lifts what its
/// action set (suspension, limit, disabling, sensitive); deleted posts stay deleted.
pub async fn approve(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    decide(&state, &auth, &id, true).await
}

/// `POST /api/v1/admin/cohort/appeals/:id/reject`: the strike stands.
pub async fn reject(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    decide(&state, &auth, &id, false).await
}
