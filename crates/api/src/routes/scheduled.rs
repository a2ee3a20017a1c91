//! Scheduled statuses: `scheduled_at` in a create request keeps the request; a background
//! task ([`publish_due_scheduled`], called by `cohort serve` and directly by tests) replays
//! it through the normal create path when it is due, so the audience rules, mentions and the
//! PHI guard apply as they are at publication.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use cohort_model::Id;
use cohort_store::{AccountRecord, ScheduledStatusRecord, StoreError};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{link_header, page, parse_id};
use crate::routes::statuses::{check_request, publish};
use crate::state::ApiState;

/// How far ahead a status must be scheduled (Mastodon's rule): five minutes.
const MIN_LEAD_MS: i64 = 5 * 60 * 1000;
/// How long one process holds a due status while publishing it.
const PUBLISH_LEASE_MS: i64 = 60_000;

/// Parses an RFC 3339 time into Unix ms; anything else is Mastodon's "Record invalid".
fn parse_time(raw: &str) -> ApiResult<i64> {
    let parsed = OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| ApiError::Unprocessable("Record invalid".into()))?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::Unprocessable("Record invalid".into()))
}

/// A time at least five minutes ahead, else 422.
fn checked_time(raw: &str) -> ApiResult<i64> {
    let at = parse_time(raw)?;
    if at < cohort_store::now_ms() + MIN_LEAD_MS {
        return Err(ApiError::Unprocessable(
            "Validation failed: Scheduled at must be at least 5 minutes in the future".into(),
        ));
    }
    Ok(at)
}

/// The `scheduled_at` of a create request, checked; `None` to publish now.
pub fn requested_time(params: &Params) -> ApiResult<Option<i64>> {
    match params.string("scheduled_at") {
        None => Ok(None),
        Some(raw) if raw.trim().is_empty() => Ok(None),
        Some(raw) => checked_time(&raw).map(Some),
    }
}

/// Keeps a create request to publish at `at`, and renders the ScheduledStatus.
pub async fn schedule(
    state: &ApiState,
    account: &AccountRecord,
    params: &Params,
    at: i64,
) -> ApiResult<Value> {
    check_request(state, params)?;
    let mut kept: Map<String, Value> = params.0.clone();
    kept.remove("scheduled_at");
    let raw = Value::Object(kept).to_string();
    let record = state
        .store
        .create_scheduled_status(account.id, at, &raw)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::Unprocessable(
                "Validation failed: You have exceeded the limit of scheduled statuses".into(),
            ),
            other => other.into(),
        })?;
    render(&record)
}

/// The ScheduledStatus entity: the kept parameters under Mastodon's names.
fn render(record: &ScheduledStatusRecord) -> ApiResult<Value> {
    let kept: Map<String, Value> = match serde_json::from_str(&record.params_json) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(ApiError::internal(
                "a scheduled status's parameters are not an object",
            ));
        }
    };
    let params = Params(kept);
    let poll = match params.0.get("poll") {
        Some(Value::Object(poll)) => {
            let poll = Params(poll.clone());
            json!({
                "options": poll.list("options"),
                "expires_in": poll.string("expires_in"),
                "multiple": poll.bool("multiple").ok().flatten().unwrap_or(false),
                "hide_totals": poll.bool("hide_totals").ok().flatten().unwrap_or(false),
            })
        }
        _ => Value::Null,
    };
    Ok(json!({
        "id": record.id.to_string(),
        "scheduled_at": datetime(record.scheduled_at),
        "params": {
            "text": params.string("status").unwrap_or_default(),
            "poll": poll,
            "media_ids": if params.has("media_ids") { json!(params.list("media_ids")) } else { Value::Null },
            "sensitive": params.bool("sensitive").ok().flatten(),
            "spoiler_text": params.string("spoiler_text"),
            "visibility": params.string("visibility").unwrap_or_else(|| "public".into()),
            "in_reply_to_id": params.string("in_reply_to_id"),
            "language": params.string("language"),
            "application_id": null,
            "scheduled_at": null,
            "idempotency": null,
            "with_rate_limit": false,
        },
        "media_attachments": [],
    }))
}

/// `GET /api/v1/scheduled_statuses`.
pub async fn index(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:statuses")?;
    let page = page(&params, 40)?;
    let records = state
        .store
        .scheduled_statuses_of(auth.account.id, page)
        .await?;
    let items = records.iter().map(render).collect::<ApiResult<Vec<_>>>()?;
    let headers = link_header(&state, "/api/v1/scheduled_statuses", "", &items);
    Ok((headers, Json(Value::Array(items))))
}

/// `GET /api/v1/scheduled_statuses/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:statuses")?;
    let record = state
        .store
        .scheduled_status(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(render(&record)?))
}

/// `PUT /api/v1/scheduled_statuses/:id` with `scheduled_at`.
pub async fn update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let id = parse_id(&id)?;
    state.store.scheduled_status(auth.account.id, id).await?;
    let Some(raw) = params
        .string("scheduled_at")
        .filter(|s| !s.trim().is_empty())
    else {
        return Err(ApiError::Unprocessable(
            "Validation failed: Scheduled at can't be blank".into(),
        ));
    };
    let at = checked_time(&raw)?;
    let record = state
        .store
        .reschedule_status(auth.account.id, id, at)
        .await?;
    Ok(Json(render(&record)?))
}

/// `DELETE /api/v1/scheduled_statuses/:id`.
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    state
        .store
        .delete_scheduled_status(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// What one round of [`publish_due_scheduled`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishedScheduled {
    /// Statuses published, by id.
    pub published: Vec<Id>,
    /// Scheduled statuses dropped because the rules refused them at publication.
    pub refused: usize,
}

/// Publishes every scheduled status due at `now` through the normal create path. A status
/// the rules refuse at publication (a mention that no longer resolves, a reply to a post
/// now hidden, a suspended author) is dropped, as Mastodon drops it; a transient failure
/// leaves it claimed, and it is tried again when the claim lapses.
pub async fn publish_due_scheduled(state: &ApiState, now: i64) -> ApiResult<PublishedScheduled> {
    let mut outcome = PublishedScheduled::default();
    for due in state
        .store
        .claim_due_scheduled_statuses(now, PUBLISH_LEASE_MS)
        .await?
    {
        let account = match state.store.account_by_id(due.account).await {
            Ok(a) => a,
            Err(StoreError::NotFound(_)) => {
                state.store.finish_scheduled_status(due.id).await?;
                outcome.refused += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let params = match serde_json::from_str(&due.params_json) {
            Ok(Value::Object(map)) => Params(map),
            _ => Params::default(),
        };
        let refused = if account.suspended_at.is_some() {
            Some("the author is suspended".to_owned())
        } else {
            match publish(state, &account, &params).await {
                Ok(id) => {
                    outcome.published.push(id);
                    None
                }
                Err(ApiError::Internal(cause)) => {
                    tracing::warn!(scheduled = %due.id, %cause, "publishing a scheduled status failed; will retry");
                    continue;
                }
                Err(other) => Some(other.to_string()),
            }
        };
        if let Some(reason) = refused {
            tracing::info!(scheduled = %due.id, %reason, "a scheduled status was refused at publication");
            outcome.refused += 1;
        }
        state.store.finish_scheduled_status(due.id).await?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_and_anything_else_is_record_invalid() {
        assert_eq!(
            parse_time("2024-05-01T00:29:32.391Z").unwrap(),
            1_714_523_372_391
        );
        assert_eq!(
            parse_time("2024-05-01T02:29:32+02:00").unwrap(),
            1_714_523_372_000
        );
        assert!(
            matches!(parse_time("banana"), Err(ApiError::Unprocessable(m)) if m == "Record invalid")
        );
    }
}
