//! The public mod log (`GET /api/v1/cohort/mod_log`), when the instance publishes it
//! (`COHORT_PUBLIC_MOD_LOG`): every moderation action with its target, reason and time, the
//! moderator named unless the instance hides them. Entries of members-only and local
//! communities never appear (the store keeps them private), and every reason passes the PHI
//! guard first: spans that identify a patient are redacted, since a moderator explaining a
//! removal may quote exactly what was removed.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use cohort_model::AuthorKind;
use serde_json::{Value, json};

use crate::auth::MaybeAuthenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{account_json, link_header, redacted_for_publication};
use crate::state::{ApiState, PublicModLog};

/// `GET /api/v1/cohort/mod_log?max_id=&limit=`.
pub async fn public_log(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require_if_present("read")?;
    if state.settings.public_mod_log == PublicModLog::Off {
        return Err(ApiError::NotFound);
    }
    let limit = params.int("limit")?.unwrap_or(40).clamp(1, 80);
    let max_id = match params.string("max_id").filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("max_id must be an id".into()))?,
        ),
        None => None,
    };
    let entries = state.store.public_mod_log(max_id, limit).await?;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        // Moderators write as professionals: the strictest reading of "identifies a patient".
        let (reason, _) =
            redacted_for_publication(&state, &entry.reason, AuthorKind::Clinician).await?;
        let moderator = match (state.settings.public_mod_log, entry.moderator) {
            (PublicModLog::On, Some(id)) => account_json(&state, id).await.ok(),
            _ => None,
        };
        let community = match entry.community {
            Some(id) => state
                .store
                .community(id)
                .await
                .ok()
                .map(|c| json!({"id": c.id.to_string(), "name": c.account.username})),
            None => None,
        };
        out.push(json!({
            "id": entry.id.to_string(),
            "action": entry.action,
            "target_type": entry.target_kind,
            "target_id": entry.target_id,
            "reason": reason,
            "moderator": moderator,
            "community": community,
            "created_at": datetime(entry.created_at),
        }));
    }
    let headers = link_header(&state, "/api/v1/cohort/mod_log", "", &out);
    Ok((headers, Json(Value::Array(out))))
}
