//! Filters: Mastodon's v2 API (`/api/v2/filters`, keywords, statuses) and the v1 API mapped
//! onto it as Mastodon does (a v1 filter is one keyword of a v2 filter; its id is the
//! keyword's). Applying filters to views is [`crate::filtering`].

use axum::Json;
use axum::extract::{Path, State};
use cohort_model::Id;
use cohort_store::{
    FilterAction, FilterContext, FilterFields, FilterKeyword, FilterRecord, FilterStatus,
    KeywordChanges, NewKeyword, now_ms,
};
use serde_json::{Map, Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{parse_id, visible_record};
use crate::state::ApiState;

/// The Filter entity (v2).
pub fn filter_json(filter: &FilterRecord) -> Value {
    json!({
        "id": filter.id.to_string(),
        "title": filter.title,
        "context": contexts_json(&filter.contexts),
        "expires_at": filter.expires_at.map(datetime),
        "filter_action": filter.action.as_str(),
        "keywords": filter.keywords.iter().map(keyword_json).collect::<Vec<_>>(),
        "statuses": filter.statuses.iter().map(status_json).collect::<Vec<_>>(),
    })
}

fn contexts_json(contexts: &[FilterContext]) -> Vec<&'static str> {
    contexts.iter().map(|c| c.as_str()).collect()
}

fn keyword_json(keyword: &FilterKeyword) -> Value {
    json!({
        "id": keyword.id.to_string(),
        "keyword": keyword.keyword,
        "whole_word": keyword.whole_word,
    })
}

fn status_json(status: &FilterStatus) -> Value {
    json!({
        "id": status.id.to_string(),
        "status_id": status.status_id.to_string(),
    })
}

/// The v1 Filter entity: one keyword with its filter's settings.
fn v1_json(filter: &FilterRecord, keyword: &FilterKeyword) -> Value {
    json!({
        "id": keyword.id.to_string(),
        "phrase": keyword.keyword,
        "context": contexts_json(&filter.contexts),
        "whole_word": keyword.whole_word,
        "expires_at": filter.expires_at.map(datetime),
        "irreversible": filter.action == FilterAction::Hide,
    })
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {}", message.into()))
}

/// `title` (or v1's `phrase`): required non-blank when `required`.
fn title(params: &Params, key: &str, current: Option<&str>) -> ApiResult<String> {
    match params.string(key) {
        Some(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        Some(_) => Err(invalid(format!("{key} can't be blank"))),
        None => current
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("{key} can't be blank"))),
    }
}

/// `context[]`: at least one known context; absent keeps `current` on updates.
fn contexts(params: &Params, current: Option<&[FilterContext]>) -> ApiResult<Vec<FilterContext>> {
    if !params.0.contains_key("context")
        && let Some(current) = current
    {
        return Ok(current.to_vec());
    }
    let mut out: Vec<FilterContext> = Vec::new();
    for raw in params.list("context") {
        let context: FilterContext = raw.parse().map_err(|_| {
            invalid(format!(
                "context {raw:?} is not one of home, notifications, public, thread, account"
            ))
        })?;
        if !out.contains(&context) {
            out.push(context);
        }
    }
    if out.is_empty() {
        return Err(invalid("context can't be blank"));
    }
    Ok(out)
}

/// `expires_in` in seconds; empty or null means never; absent keeps `current`.
fn expires_at(params: &Params, current: Option<i64>) -> ApiResult<Option<i64>> {
    match params.0.get("expires_in") {
        None => Ok(current),
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(_) => {
            let secs = params
                .int("expires_in")
                .map_err(|_| invalid("expires_in must be a number of seconds"))?
                .unwrap_or(0);
            if secs <= 0 {
                return Err(invalid("expires_in must be a positive number of seconds"));
            }
            Ok(Some(now_ms().saturating_add(secs.saturating_mul(1000))))
        }
    }
}

fn action(params: &Params, current: Option<FilterAction>) -> ApiResult<FilterAction> {
    match params.string("filter_action") {
        None => Ok(current.unwrap_or_default()),
        Some(raw) => raw
            .parse()
            .map_err(|_| invalid(format!("filter_action {raw:?} is not warn or hide"))),
    }
}

fn fields(params: &Params, current: Option<&FilterRecord>) -> ApiResult<FilterFields> {
    Ok(FilterFields {
        title: title(params, "title", current.map(|f| f.title.as_str()))?,
        contexts: contexts(params, current.map(|f| f.contexts.as_slice()))?,
        action: action(params, current.map(|f| f.action))?,
        expires_at: expires_at(params, current.and_then(|f| f.expires_at))?,
    })
}

fn flag(value: Option<&Value>, key: &str, default: bool) -> ApiResult<bool> {
    let Some(value) = value else {
        return Ok(default);
    };
    let mut one = Params::default();
    one.0.insert(key.to_owned(), value.clone());
    Ok(one
        .bool(key)
        .map_err(|_| invalid(format!("{key} must be a boolean")))?
        .unwrap_or(default))
}

fn new_keyword(
    attrs: &Map<String, Value>,
    current: Option<&FilterKeyword>,
) -> ApiResult<NewKeyword> {
    let keyword = match attrs.get("keyword") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(_) => return Err(invalid("keyword can't be blank")),
        None => match current {
            Some(k) => k.keyword.clone(),
            None => return Err(invalid("keyword can't be blank")),
        },
    };
    let whole_word = flag(
        attrs.get("whole_word"),
        "whole_word",
        current.is_none_or(|k| k.whole_word),
    )?;
    Ok(NewKeyword {
        keyword,
        whole_word,
    })
}

/// `keywords_attributes`, as a JSON array of objects, a form's Rails-style
/// `keywords_attributes[][keyword]=..&keywords_attributes[][whole_word]=..` (one object per
/// field, grouped here until a key repeats, as Rails does) or `keywords_attributes[0][..]`.
fn keyword_attributes(params: &Params) -> ApiResult<Vec<Map<String, Value>>> {
    let items: Vec<Value> = match params.0.get("keywords_attributes") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(indexed)) => indexed.values().cloned().collect(),
        Some(_) => return Err(invalid("keywords_attributes must be a list")),
    };
    let mut out: Vec<Map<String, Value>> = Vec::new();
    let mut current = Map::new();
    for item in items {
        let Value::Object(fields) = item else {
            return Err(invalid("keywords_attributes must be a list of objects"));
        };
        if fields.keys().any(|k| current.contains_key(k)) {
            out.push(std::mem::take(&mut current));
        }
        current.extend(fields);
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

fn attr_id(attrs: &Map<String, Value>) -> ApiResult<Option<Id>> {
    match attrs.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse_id(s).map(Some),
        Some(Value::Number(n)) => parse_id(&n.to_string()).map(Some),
        Some(_) => Err(ApiError::NotFound),
    }
}

/// `GET /api/v2/filters`.
pub async fn index(State(state): State<ApiState>, auth: Authenticated) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let filters = state.store.filters_of(auth.account.id).await?;
    Ok(Json(Value::Array(
        filters.iter().map(filter_json).collect(),
    )))
}

/// `POST /api/v2/filters`.
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let fields = fields(&params, None)?;
    let mut keywords = Vec::new();
    for attrs in keyword_attributes(&params)? {
        if flag(attrs.get("_destroy"), "_destroy", false)? {
            continue;
        }
        keywords.push(new_keyword(&attrs, None)?);
    }
    let filter = state
        .store
        .create_filter(auth.account.id, &fields, &keywords)
        .await?;
    Ok(Json(filter_json(&filter)))
}

/// `GET /api/v2/filters/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let filter = state.store.filter(auth.account.id, parse_id(&id)?).await?;
    Ok(Json(filter_json(&filter)))
}

/// `PUT /api/v2/filters/:id`: fields given replace the stored ones; `keywords_attributes`
/// adds (no id), changes (id) or removes (id and `_destroy`) keywords, all or nothing.
pub async fn update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let current = state.store.filter(auth.account.id, parse_id(&id)?).await?;
    let fields = fields(&params, Some(&current))?;
    let mut changes = KeywordChanges::default();
    for attrs in keyword_attributes(&params)? {
        let destroy = flag(attrs.get("_destroy"), "_destroy", false)?;
        match attr_id(&attrs)? {
            None if destroy => {}
            None => changes.add.push(new_keyword(&attrs, None)?),
            Some(keyword) => {
                let existing = current
                    .keywords
                    .iter()
                    .find(|k| k.id == keyword)
                    .ok_or(ApiError::NotFound)?;
                if destroy {
                    changes.remove.push(keyword);
                } else {
                    changes
                        .change
                        .push((keyword, new_keyword(&attrs, Some(existing))?));
                }
            }
        }
    }
    let filter = state
        .store
        .update_filter(auth.account.id, current.id, &fields, &changes)
        .await?;
    Ok(Json(filter_json(&filter)))
}

/// `DELETE /api/v2/filters/:id`.
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    state
        .store
        .delete_filter(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v2/filters/:id/keywords`.
pub async fn keywords(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let filter = state.store.filter(auth.account.id, parse_id(&id)?).await?;
    Ok(Json(Value::Array(
        filter.keywords.iter().map(keyword_json).collect(),
    )))
}

/// `POST /api/v2/filters/:id/keywords` (`keyword`, `whole_word`).
pub async fn add_keyword(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let filter = parse_id(&id)?;
    state.store.filter(auth.account.id, filter).await?;
    let keyword = new_keyword(&params.0, None)?;
    let keyword = state
        .store
        .add_filter_keyword(auth.account.id, filter, &keyword)
        .await?;
    Ok(Json(keyword_json(&keyword)))
}

/// `GET /api/v2/filters/keywords/:id`.
pub async fn show_keyword(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let keyword = state
        .store
        .filter_keyword(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(keyword_json(&keyword)))
}

/// `PUT /api/v2/filters/keywords/:id`.
pub async fn update_keyword(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let current = state
        .store
        .filter_keyword(auth.account.id, parse_id(&id)?)
        .await?;
    let new = new_keyword(&params.0, Some(&current))?;
    let keyword = state
        .store
        .update_filter_keyword(auth.account.id, current.id, &new)
        .await?;
    Ok(Json(keyword_json(&keyword)))
}

/// `DELETE /api/v2/filters/keywords/:id`.
pub async fn delete_keyword(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    state
        .store
        .delete_filter_keyword(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v2/filters/:id/statuses`.
pub async fn statuses(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let filter = state.store.filter(auth.account.id, parse_id(&id)?).await?;
    Ok(Json(Value::Array(
        filter.statuses.iter().map(status_json).collect(),
    )))
}

/// `POST /api/v2/filters/:id/statuses` (`status_id`): only a status the viewer may see.
pub async fn add_status(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let filter = parse_id(&id)?;
    state.store.filter(auth.account.id, filter).await?;
    let status = params
        .string("status_id")
        .ok_or_else(|| invalid("status_id can't be blank"))?;
    let status = parse_id(&status)?;
    visible_record(&state, &auth.viewer(), status).await?;
    let row = state
        .store
        .add_filter_status(auth.account.id, filter, status)
        .await?;
    Ok(Json(status_json(&row)))
}

/// `GET /api/v2/filters/statuses/:id`.
pub async fn show_status(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let row = state
        .store
        .filter_status(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(status_json(&row)))
}

/// `DELETE /api/v2/filters/statuses/:id`.
pub async fn delete_status(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    state
        .store
        .delete_filter_status(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// The v1 filter with that (keyword) id.
async fn v1_filter(
    state: &ApiState,
    owner: Id,
    id: &str,
) -> ApiResult<(FilterRecord, FilterKeyword)> {
    let keyword = state.store.filter_keyword(owner, parse_id(id)?).await?;
    let filter = state.store.filter(owner, keyword.filter_id).await?;
    Ok((filter, keyword))
}

/// `GET /api/v1/filters`: every keyword of every filter, as v1 filters.
pub async fn v1_index(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let filters = state.store.filters_of(auth.account.id).await?;
    let out = filters
        .iter()
        .flat_map(|f| f.keywords.iter().map(move |k| v1_json(f, k)))
        .collect();
    Ok(Json(Value::Array(out)))
}

fn v1_fields(
    params: &Params,
    current: Option<&FilterRecord>,
    phrase: &str,
) -> ApiResult<FilterFields> {
    let action = match params.0.get("irreversible") {
        None => current.map_or(FilterAction::Warn, |f| f.action),
        Some(v) => {
            if flag(Some(v), "irreversible", false)? {
                FilterAction::Hide
            } else {
                FilterAction::Warn
            }
        }
    };
    Ok(FilterFields {
        title: current.map_or_else(|| phrase.to_owned(), |f| f.title.clone()),
        contexts: contexts(params, current.map(|f| f.contexts.as_slice()))?,
        action,
        expires_at: expires_at(params, current.and_then(|f| f.expires_at))?,
    })
}

/// `POST /api/v1/filters` (`phrase`, `context[]`, `irreversible`, `whole_word`,
/// `expires_in`): a v2 filter titled with the phrase, holding it as its one keyword.
pub async fn v1_create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let phrase = title(&params, "phrase", None)?;
    let fields = v1_fields(&params, None, &phrase)?;
    let keyword = NewKeyword {
        keyword: phrase,
        whole_word: flag(params.0.get("whole_word"), "whole_word", true)?,
    };
    let filter = state
        .store
        .create_filter(auth.account.id, &fields, std::slice::from_ref(&keyword))
        .await?;
    let stored = filter
        .keywords
        .first()
        .ok_or_else(|| ApiError::internal("a new filter lost its keyword"))?;
    Ok(Json(v1_json(&filter, stored)))
}

/// `GET /api/v1/filters/:id`.
pub async fn v1_show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:filters")?;
    let (filter, keyword) = v1_filter(&state, auth.account.id, &id).await?;
    Ok(Json(v1_json(&filter, &keyword)))
}

/// `PUT /api/v1/filters/:id`: changes the keyword and, as Mastodon, the filter's settings
/// only when the keyword is the filter's only one (422 otherwise).
pub async fn v1_update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let (filter, keyword) = v1_filter(&state, auth.account.id, &id).await?;
    let phrase = title(&params, "phrase", Some(&keyword.keyword))?;
    let fields = v1_fields(&params, Some(&filter), &phrase)?;
    let new = NewKeyword {
        keyword: phrase,
        whole_word: flag(params.0.get("whole_word"), "whole_word", keyword.whole_word)?,
    };
    let own_fields = FilterFields {
        title: filter.title.clone(),
        contexts: filter.contexts.clone(),
        action: filter.action,
        expires_at: filter.expires_at,
    };
    if fields != own_fields && filter.keywords.len() > 1 {
        return Err(invalid(
            "this filter has several keywords: change its settings with the v2 API",
        ));
    }
    let changes = KeywordChanges {
        change: vec![(keyword.id, new)],
        ..KeywordChanges::default()
    };
    let updated = state
        .store
        .update_filter(auth.account.id, filter.id, &fields, &changes)
        .await?;
    let stored = updated
        .keywords
        .iter()
        .find(|k| k.id == keyword.id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(v1_json(&updated, stored)))
}

/// `DELETE /api/v1/filters/:id`: removes the keyword, and the filter with it when it was
/// the only one (so no empty filter is left behind).
pub async fn v1_delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:filters")?;
    let (filter, keyword) = v1_filter(&state, auth.account.id, &id).await?;
    if filter.keywords.len() <= 1 && filter.statuses.is_empty() {
        state
            .store
            .delete_filter(auth.account.id, filter.id)
            .await?;
    } else {
        state
            .store
            .delete_filter_keyword(auth.account.id, keyword.id)
            .await?;
    }
    Ok(Json(json!({})))
}
