//! Conversations (`/api/v1/conversations`): direct threads the signed-in account takes part
//! in. The conversation's id is its thread root's; its `last_status` is rendered through the
//! read gate, and a conversation whose last status the gate hides is left out.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use cohort_store::ConversationRecord;
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{accounts_json, link_header, page, parse_id, visible_statuses};
use crate::state::ApiState;

async fn render(
    state: &ApiState,
    auth: &Authenticated,
    conversation: &ConversationRecord,
) -> ApiResult<Option<Value>> {
    let last = visible_statuses(state, &auth.viewer(), &[conversation.last_status]).await?;
    let Some(last) = last.into_iter().next() else {
        return Ok(None);
    };
    let participants = state
        .store
        .conversation_participants(auth.account.id, conversation.root)
        .await?;
    Ok(Some(json!({
        "id": conversation.root.to_string(),
        "unread": conversation.unread,
        "accounts": accounts_json(state, &participants).await?,
        "last_status": last,
    })))
}

/// `GET /api/v1/conversations`, most recently active first, `Link` paged by last status.
pub async fn index(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:statuses")?;
    let page = page(&params, 40)?;
    let conversations = state.store.conversations_of(auth.account.id, page).await?;
    let mut items = Vec::with_capacity(conversations.len());
    let mut cursors = Vec::with_capacity(conversations.len());
    for conversation in &conversations {
        cursors.push(json!({"id": conversation.last_status.to_string()}));
        if let Some(item) = render(&state, &auth, conversation).await? {
            items.push(item);
        }
    }
    let headers = link_header(&state, "/api/v1/conversations", "", &cursors);
    Ok((headers, Json(Value::Array(items))))
}

/// `POST /api/v1/conversations/:id/read`.
pub async fn read(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:conversations")?;
    let root = parse_id(&id)?;
    state
        .store
        .mark_conversation_read(auth.account.id, root)
        .await?;
    let conversation = state.store.conversation(auth.account.id, root).await?;
    render(&state, &auth, &conversation)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `DELETE /api/v1/conversations/:id`: hides it until a newer status arrives.
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:conversations")?;
    state
        .store
        .hide_conversation(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
