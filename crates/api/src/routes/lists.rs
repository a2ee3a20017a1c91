//! Lists: `/api/v1/lists` (CRUD and members), `/api/v1/accounts/:id/lists` and the list
//! timeline `/api/v1/timelines/list/:id`. Another account's list answers 404 like a missing
//! one; only followed accounts can be added (422 otherwise, as Mastodon).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use cohort_model::Id;
use cohort_store::{ListFields, ListMemberError, ListRecord, Page, RepliesPolicy};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{accounts_json, link_header, page, parse_id};
use crate::state::ApiState;

fn list_json(list: &ListRecord) -> Value {
    json!({
        "id": list.id.to_string(),
        "title": list.title,
        "replies_policy": list.replies_policy.as_str(),
        "exclusive": list.exclusive,
    })
}

/// The list's fields from the request; absent ones keep `current`'s (or the defaults).
fn list_fields(params: &Params, current: Option<&ListRecord>) -> ApiResult<ListFields> {
    let title = match params.string("title") {
        Some(t) if !t.trim().is_empty() => t.trim().to_owned(),
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "Validation failed: Title can't be blank".into(),
            ));
        }
        None => current.map(|l| l.title.clone()).ok_or_else(|| {
            ApiError::Unprocessable("Validation failed: Title can't be blank".into())
        })?,
    };
    let replies_policy = match params.string("replies_policy") {
        Some(raw) if !raw.is_empty() => raw.parse().map_err(|_| {
            ApiError::Unprocessable(format!(
                "Validation failed: replies_policy {raw:?} is not followed, list or none"
            ))
        })?,
        _ => current.map_or(RepliesPolicy::default(), |l| l.replies_policy),
    };
    let exclusive = params
        .bool("exclusive")?
        .unwrap_or_else(|| current.is_some_and(|l| l.exclusive));
    Ok(ListFields {
        title,
        replies_policy,
        exclusive,
    })
}

/// `account_ids[]`, each an existing account (404 otherwise).
async fn account_ids(state: &ApiState, params: &Params) -> ApiResult<Vec<Id>> {
    let raw = params.list("account_ids");
    if raw.is_empty() {
        return Err(ApiError::Unprocessable(
            "Validation failed: account_ids can't be blank".into(),
        ));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for id in raw {
        let id = parse_id(&id)?;
        state.store.account_by_id(id).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// `GET /api/v1/lists`.
pub async fn index(State(state): State<ApiState>, auth: Authenticated) -> ApiResult<Json<Value>> {
    auth.require("read:lists")?;
    let lists = state.store.lists_of(auth.account.id).await?;
    Ok(Json(Value::Array(lists.iter().map(list_json).collect())))
}

/// `POST /api/v1/lists` (`title`, `replies_policy`, `exclusive`).
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:lists")?;
    let fields = list_fields(&params, None)?;
    let list = state.store.create_list(auth.account.id, &fields).await?;
    Ok(Json(list_json(&list)))
}

/// `GET /api/v1/lists/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:lists")?;
    let list = state.store.list(auth.account.id, parse_id(&id)?).await?;
    Ok(Json(list_json(&list)))
}

/// `PUT /api/v1/lists/:id`.
pub async fn update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:lists")?;
    let current = state.store.list(auth.account.id, parse_id(&id)?).await?;
    let fields = list_fields(&params, Some(&current))?;
    let list = state
        .store
        .update_list(auth.account.id, current.id, &fields)
        .await?;
    Ok(Json(list_json(&list)))
}

/// `DELETE /api/v1/lists/:id`.
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:lists")?;
    state
        .store
        .delete_list(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/lists/:id/accounts` (40 by default, at most 80; `limit=0` for all).
pub async fn members(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:lists")?;
    let list = parse_id(&id)?;
    let mut page: Page = page(&params, 80)?;
    match params.int("limit")? {
        Some(0) => page.limit = 0,
        None => page.limit = 40,
        Some(_) => {}
    }
    let ids = state
        .store
        .list_member_ids(auth.account.id, list, page)
        .await?;
    let items = accounts_json(&state, &ids).await?;
    let headers = link_header(
        &state,
        &format!("/api/v1/lists/{list}/accounts"),
        "",
        &items,
    );
    Ok((headers, Json(Value::Array(items))))
}

/// `POST /api/v1/lists/:id/accounts` (`account_ids[]`): all or none; each must be followed.
pub async fn add_members(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:lists")?;
    let list = parse_id(&id)?;
    state.store.list(auth.account.id, list).await?;
    let ids = account_ids(&state, &params).await?;
    match state
        .store
        .add_list_members(auth.account.id, list, &ids)
        .await
    {
        Ok(()) => Ok(Json(json!({}))),
        Err(ListMemberError::NotFollowed(_)) => Err(ApiError::Unprocessable(
            "Validation failed: Account has not been followed".into(),
        )),
        Err(ListMemberError::Store(e)) => Err(e.into()),
    }
}

/// `DELETE /api/v1/lists/:id/accounts` (`account_ids[]`).
pub async fn remove_members(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:lists")?;
    let list = parse_id(&id)?;
    state.store.list(auth.account.id, list).await?;
    let ids = account_ids(&state, &params).await?;
    state
        .store
        .remove_list_members(auth.account.id, list, &ids)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/accounts/:id/lists`: the viewer's lists that contain the account.
pub async fn of_account(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:lists")?;
    let account = parse_id(&id)?;
    state.store.account_by_id(account).await?;
    let lists = state
        .store
        .lists_containing(auth.account.id, account)
        .await?;
    Ok(Json(Value::Array(lists.iter().map(list_json).collect())))
}
