//! Notifications. A notification about a status is shown only if the read gate still lets
//! the account see that status (a block or deletion since hides it).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use cohort_store::{NotificationRecord, Page};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{account_json, link_header, page, parse_id, visible_statuses};
use crate::state::ApiState;

/// The notification types Cohort produces.
pub(crate) const TYPES: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
];

/// Renders one notification for its account; `None` when what it is about is hidden now.
pub(crate) async fn render(
    state: &ApiState,
    auth: &Authenticated,
    n: &NotificationRecord,
) -> ApiResult<Option<Value>> {
    let status = match n.status {
        Some(id) => match visible_statuses(state, &auth.viewer(), &[id])
            .await?
            .into_iter()
            .next()
        {
            Some(s) => Some(s),
            None => return Ok(None),
        },
        None => None,
    };
    let account = match account_json(state, n.from_account).await {
        Ok(a) => a,
        Err(ApiError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut rendered = json!({
        "id": n.id.to_string(),
        "type": n.kind,
        "created_at": datetime(n.created_at),
        "account": account,
        "status": status,
        "group_key": format!("ungrouped-{}", n.id),
    });
    if let Some(strike) = n.strike {
        // A moderator acted on the viewer's account, or decided their appeal: the strike
        // (Mastodon's AccountWarning) with its appeal's state.
        let record = match state.store.strike(strike).await {
            Ok(r) => r,
            Err(cohort_store::StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        rendered["moderation_warning"] =
            crate::routes::strikes::strike_json(state, &record).await?;
        return Ok(Some(rendered));
    }
    if let Some(report) = n.report {
        // `admin.report`: a new report for a moderator. `moderation_warning`: a report of the
        // viewer's was handled (here, or by the instance it was forwarded to), in Mastodon's
        // shape whose text every app shows. Both carry the Report itself.
        let record = match state.store.report(report).await {
            Ok(r) => r,
            Err(cohort_store::StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        rendered["report"] = crate::routes::reports::report_json(state, &record).await?;
        if n.kind != "moderation_warning" {
            return Ok(Some(rendered));
        }
        let text = record
            .remote_resolution
            .clone()
            .or_else(|| record.resolution_note.clone())
            .unwrap_or_else(|| "Your report was resolved.".to_owned());
        rendered["moderation_warning"] = json!({
            "id": record.id.to_string(),
            "action": "none",
            "text": text,
            "status_ids": null,
            "target_account": rendered["account"].clone(),
            "appeal": null,
            "created_at": datetime(n.created_at),
        });
    }
    Ok(Some(rendered))
}

/// `GET /api/v1/notifications` with `types[]` and `exclude_types[]`.
pub async fn list(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:notifications")?;
    let include = params.list("types");
    let exclude = params.list("exclude_types");
    for t in include.iter().chain(&exclude) {
        if !TYPES.contains(&t.as_str())
            && !matches!(
                t.as_str(),
                "admin.sign_up" | "admin.report" | "severed_relationships" | "moderation_warning"
            )
        {
            return Err(ApiError::Unprocessable(format!(
                "Validation failed: unknown notification type {t:?}"
            )));
        }
    }
    let mut page: Page = page(&params, 80)?;
    // Notifications from accounts muted with their notifications stay hidden.
    let (_, silenced) = state.store.muted_accounts(auth.account.id).await?;
    let wanted = usize::try_from(page.limit).unwrap_or(40);
    let filters = crate::filtering::ActiveFilters::load(
        &state,
        &auth.viewer(),
        cohort_store::FilterContext::Notifications,
    )
    .await?;
    let mut out = Vec::new();
    for _ in 0..5 {
        let batch = state.store.notifications(auth.account.id, page).await?;
        let exhausted = batch.len() < wanted;
        let Some(last) = batch.last().map(|n| n.id) else {
            break;
        };
        for n in &batch {
            let wanted_type = (include.is_empty() || include.contains(&n.kind))
                && !exclude.contains(&n.kind)
                && !silenced.contains(&n.from_account);
            if wanted_type && let Some(v) = render(&state, &auth, n).await? {
                out.extend(filters.apply_to_notifications(vec![v]));
            }
        }
        if out.len() >= wanted || exhausted {
            break;
        }
        page.max_id = Some(last.as_i64());
        page.min_id = None;
        page.since_id = None;
    }
    out.truncate(wanted);
    let headers = link_header(&state, "/api/v1/notifications", "", &out);
    Ok((headers, Json(Value::Array(out))))
}

/// `GET /api/v1/notifications/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:notifications")?;
    let n = state
        .store
        .notification(auth.account.id, parse_id(&id)?)
        .await?;
    render(&state, &auth, &n)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `POST /api/v1/notifications/:id/dismiss`.
pub async fn dismiss(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:notifications")?;
    let id = parse_id(&id)?;
    state.store.notification(auth.account.id, id).await?;
    state
        .store
        .dismiss_notifications(auth.account.id, Some(id))
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/clear`.
pub async fn clear(State(state): State<ApiState>, auth: Authenticated) -> ApiResult<Json<Value>> {
    auth.require("write:notifications")?;
    state
        .store
        .dismiss_notifications(auth.account.id, None)
        .await?;
    Ok(Json(json!({})))
}
