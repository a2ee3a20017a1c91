//! What several routes share: rendering statuses through the read gate, rendering
//! accounts, and pagination.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, header};
use cohort_model::Id;
use cohort_policy::{Viewer, can_see};
use cohort_store::{Page, StatusRecord};
use serde_json::Value;

use crate::entities::{Account, StatusContext, render_status};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::ApiState;

/// Renders an account by id.
pub async fn account_json(state: &ApiState, account: Id) -> ApiResult<Value> {
    let record = state.store.account_by_id(account).await?;
    let counts = state.store.account_counts(account).await?;
    serde_json::to_value(Account::render(state, &record, counts)).map_err(ApiError::internal)
}

/// Loads `ids`, keeps those the read gate lets `viewer` see, and renders them, in order.
/// This is the only way the API turns stored statuses into JSON.
pub async fn visible_statuses(
    state: &ApiState,
    viewer: &Viewer,
    ids: &[Id],
) -> ApiResult<Vec<Value>> {
    let records = state.store.statuses(ids).await?;
    let facts_refs: Vec<&cohort_policy::PostFacts> = records.iter().map(|r| &r.facts).collect();
    let facts = state.store.facts_for_viewer(viewer, &facts_refs).await?;
    let mut authors: HashMap<Id, Value> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let reblog_of = record.reblog_of_id;
        let Ok(visible) = can_see(&facts, viewer, record) else {
            continue;
        };
        let reblog = match reblog_of {
            Some(original) => {
                // The boost was allowed because the original is visible (the gate checks it);
                // render the original through the gate too.
                let rendered = Box::pin(visible_statuses(state, viewer, &[original])).await?;
                match rendered.into_iter().next() {
                    Some(v) => Some(v),
                    None => continue,
                }
            }
            None => None,
        };
        let author_id = visible.get().facts.author.id;
        let author = match authors.entry(author_id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(account_json(state, author_id).await?)
            }
        };
        out.push(render_status(&visible, StatusContext { author, reblog }));
    }
    Ok(out)
}

/// One status the viewer may see, or 404 (the same answer for hidden and missing).
pub async fn visible_status(state: &ApiState, viewer: &Viewer, id: Id) -> ApiResult<Value> {
    visible_statuses(state, viewer, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// A status record the viewer may see, or 404.
pub async fn visible_record(state: &ApiState, viewer: &Viewer, id: Id) -> ApiResult<StatusRecord> {
    let record = state.store.status(id).await?;
    let facts = state
        .store
        .facts_for_viewer(viewer, &[&record.facts])
        .await?;
    can_see(&facts, viewer, record)
        .map(cohort_policy::Visible::into_inner)
        .map_err(|_| ApiError::NotFound)
}

/// Parses an id from a path segment; a malformed id is a 404 like an unknown one.
pub fn parse_id(raw: &str) -> ApiResult<Id> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Mastodon's page parameters; `limit` is clamped (20 by default, at most `max`).
pub fn page(params: &Params, max: i64) -> ApiResult<Page> {
    let cursor = |key: &str| -> ApiResult<Option<i64>> {
        match params.string(key) {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::BadRequest(format!("{key} must be an id"))),
        }
    };
    let limit = params.int("limit")?.unwrap_or(20).clamp(1, max);
    Ok(Page {
        max_id: cursor("max_id")?,
        since_id: cursor("since_id")?,
        min_id: cursor("min_id")?,
        limit,
    })
}

/// The `Link` header for a page of items with ids `first..last` (newest first).
pub fn link_header(state: &ApiState, path: &str, extra: &str, items: &[Value]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let id_of = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
    let (Some(first), Some(last)) = (items.first().and_then(id_of), items.last().and_then(id_of))
    else {
        return headers;
    };
    let base = format!("{}{}", state.settings.base_url, path);
    let sep = if extra.is_empty() { "" } else { "&" };
    let value = format!(
        "<{base}?{extra}{sep}max_id={last}>; rel=\"next\", <{base}?{extra}{sep}min_id={first}>; rel=\"prev\""
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(header::LINK, v);
    }
    headers
}
