//! Timelines: home, list, public and tag. Candidates come from the store newest first; each
//! passes the read gate, then the viewer's filters for the view's context; pages are
//! refilled when the gate or a filter hides some, so a page is short only at the end of the
//! timeline.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use cohort_model::Id;
use cohort_policy::Viewer;
use cohort_store::{FilterContext, Page, PublicScope};
use serde_json::Value;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::error::{ApiError, ApiResult};
use crate::filtering::ActiveFilters;
use crate::params::Params;
use crate::routes::shared::{link_header, page, parse_id, visible_statuses};
use crate::state::ApiState;

/// How many store pages one request may read to fill a page the gate thinned.
const MAX_REFILLS: usize = 5;

async fn fill_page<F, Fut>(
    state: &ApiState,
    viewer: &Viewer,
    filters: &ActiveFilters,
    mut page: Page,
    fetch: F,
) -> ApiResult<Vec<Value>>
where
    F: Fn(Page) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Id>, cohort_store::StoreError>>,
{
    let wanted = usize::try_from(page.limit).unwrap_or(20);
    let ascending = page.min_id.is_some();
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..MAX_REFILLS {
        let ids = fetch(page).await?;
        let exhausted = ids.len() < wanted;
        let (Some(newest), Some(oldest)) = (ids.first().copied(), ids.last().copied()) else {
            break;
        };
        let visible = filters.apply(visible_statuses(state, viewer, &ids).await?);
        if ascending {
            // Catching up: these are the oldest of the newer posts; keep the order newest
            // first and continue above the newest.
            let mut merged = visible;
            merged.extend(out);
            out = merged;
            page.min_id = Some(newest.as_i64());
        } else {
            out.extend(visible);
            page.max_id = Some(oldest.as_i64());
        }
        if out.len() >= wanted || exhausted {
            break;
        }
    }
    if ascending {
        let excess = out.len().saturating_sub(wanted);
        out.drain(..excess);
    } else {
        out.truncate(wanted);
    }
    Ok(out)
}

/// `GET /api/v1/timelines/home`.
pub async fn home(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:statuses")?;
    let page = page(&params, 40)?;
    let viewer = auth.viewer();
    let me = auth.account.id;
    let filters = ActiveFilters::load(&state, &viewer, FilterContext::Home).await?;
    let store = state.store.clone();
    let items = fill_page(&state, &viewer, &filters, page, |p| {
        let store = store.clone();
        async move { store.home_timeline_ids(me, p).await }
    })
    .await?;
    let items = without_muted(&state, me, items).await?;
    let headers = link_header(&state, "/api/v1/timelines/home", "", &items);
    Ok((headers, Json(Value::Array(items))))
}

/// `GET /api/v1/timelines/list/:id`: posts of the list's members (404 for another
/// account's list), with the home context's filters as Mastodon.
pub async fn list(
    State(state): State<ApiState>,
    auth: Authenticated,
    axum::extract::Path(id): axum::extract::Path<String>,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:lists")?;
    let me = auth.account.id;
    let list = state.store.list(me, parse_id(&id)?).await?;
    let page = page(&params, 40)?;
    let viewer = auth.viewer();
    let filters = ActiveFilters::load(&state, &viewer, FilterContext::Home).await?;
    let store = state.store.clone();
    let items = fill_page(&state, &viewer, &filters, page, |p| {
        let store = store.clone();
        let list = list.clone();
        async move { store.list_timeline_ids(&list, p).await }
    })
    .await?;
    let items = without_muted(&state, me, items).await?;
    let path = format!("/api/v1/timelines/list/{}", list.id);
    let headers = link_header(&state, &path, "", &items);
    Ok((headers, Json(Value::Array(items))))
}

/// Muted accounts (and boosts by them) stay out of the home and list timelines; a mute is
/// the viewer's preference, not an audience rule.
async fn without_muted(state: &ApiState, me: Id, mut items: Vec<Value>) -> ApiResult<Vec<Value>> {
    let (muted, _) = state.store.muted_accounts(me).await?;
    if !muted.is_empty() {
        let muted: Vec<String> = muted.iter().map(ToString::to_string).collect();
        items.retain(|s| {
            let author = s["account"]["id"].as_str().unwrap_or_default();
            let original = s["reblog"]["account"]["id"].as_str().unwrap_or_default();
            !muted.iter().any(|m| m == author || m == original)
        });
    }
    Ok(items)
}

/// `GET /api/v1/timelines/public?local=&remote=`.
pub async fn public(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require_if_present("read:statuses")?;
    let local = params.bool("local")?.unwrap_or(false);
    let remote = params.bool("remote")?.unwrap_or(false);
    let scope = match (local, remote) {
        (true, false) => PublicScope::Local,
        (false, true) => PublicScope::Remote,
        _ => PublicScope::All,
    };
    let page = page(&params, 40)?;
    let viewer = auth.viewer();
    let filters = ActiveFilters::load(&state, &viewer, FilterContext::Public).await?;
    let store = state.store.clone();
    let items = fill_page(&state, &viewer, &filters, page, |p| {
        let store = store.clone();
        async move { store.public_timeline_ids(scope, p).await }
    })
    .await?;
    let extra = match scope {
        PublicScope::Local => "local=true",
        PublicScope::Remote => "remote=true",
        PublicScope::All => "",
    };
    let headers = link_header(&state, "/api/v1/timelines/public", extra, &items);
    Ok((headers, Json(Value::Array(items))))
}

/// `GET /api/v1/timelines/tag/:hashtag?local=`.
pub async fn tag(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    axum::extract::Path(tag): axum::extract::Path<String>,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require_if_present("read:statuses")?;
    let tag = tag.trim_start_matches('#').to_lowercase();
    let query = tag_query(&tag, &params)?;
    let page = page(&params, 40)?;
    let viewer = auth.viewer();
    let filters = ActiveFilters::load(&state, &viewer, FilterContext::Public).await?;
    let store = state.store.clone();
    let items = fill_page(&state, &viewer, &filters, page, |p| {
        let store = store.clone();
        let query = query.clone();
        async move { store.tagged_timeline_ids(&query, p).await }
    })
    .await?;
    let headers = link_header(&state, &format!("/api/v1/timelines/tag/{tag}"), "", &items);
    Ok((headers, Json(Value::Array(items))))
}

/// Most extra tags in each of `any[]`, `all[]` and `none[]` (Mastodon's limit).
const MAX_EXTRA_TAGS: usize = 4;

/// The tag timeline's query: the path's tag, Mastodon's `any[]`, `all[]` and `none[]`
/// (names with or without `#`; at most four each), `local` and `remote`.
fn tag_query(tag: &str, params: &Params) -> ApiResult<cohort_store::TagQuery> {
    let names = |key: &str| -> ApiResult<Vec<String>> {
        let names: Vec<String> = params
            .list(key)
            .iter()
            .map(|n| n.trim().trim_start_matches('#').to_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if names.len() > MAX_EXTRA_TAGS {
            return Err(ApiError::Unprocessable(format!(
                "Validation failed: {key}[] takes at most {MAX_EXTRA_TAGS} tags"
            )));
        }
        Ok(names)
    };
    let mut any = vec![tag.to_owned()];
    any.extend(names("any")?);
    Ok(cohort_store::TagQuery {
        any,
        all: names("all")?,
        none: names("none")?,
        local_only: params.bool("local")?.unwrap_or(false),
        remote_only: params.bool("remote")?.unwrap_or(false),
    })
}
