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
    let profile = state.store.profile_details(account).await?;
    let badge = clinician_badge(state, account).await?;
    serde_json::to_value(
        Account::render_with_profile(state, &record, counts, &profile)
            .with_clinician_badge(badge.as_ref()),
    )
    .map_err(ApiError::internal)
}

/// The clinician badge of `account`, if it has a verification valid now (checked at every
/// read, so expiry and revocation take effect at once).
pub async fn clinician_badge(
    state: &ApiState,
    account: Id,
) -> ApiResult<Option<cohort_store::ClinicianBadge>> {
    Ok(state
        .store
        .clinician_badges(&[account], cohort_store::now_ms())
        .await?
        .remove(&account))
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
    let visible: Vec<cohort_policy::Visible<StatusRecord>> = records
        .into_iter()
        .filter_map(|record| can_see(&facts, viewer, record).ok())
        .collect();
    let shown: Vec<Id> = visible.iter().map(|v| v.get().facts.id).collect();
    let counts = state.store.status_counts(&shown).await?;
    let marks = match viewer {
        Viewer::Account(p) => state.store.viewer_marks(p.id, &shown).await?,
        _ => cohort_store::ViewerMarks::default(),
    };
    let tags = state.store.tags_of(&shown).await?;
    let authored: Vec<(Id, Id)> = visible
        .iter()
        .map(|v| (v.get().facts.id, v.get().facts.author.id))
        .collect();
    let mut polls = crate::routes::polls::polls_for_statuses(state, viewer, &authored).await?;
    let mut media = state.store.media_of_statuses(&shown).await?;
    let mut accounts: HashMap<Id, Value> = HashMap::new();
    let people: Vec<Id> = visible
        .iter()
        .flat_map(|v| {
            let facts = &v.get().facts;
            std::iter::once(facts.author.id).chain(facts.addressed.iter().copied())
        })
        .collect();
    prefetch_accounts(state, &mut accounts, &people).await?;
    let mut out = Vec::with_capacity(visible.len());
    for visible in visible {
        let status = visible.get();
        let reblog = match status.reblog_of_id {
            Some(original) => {
                // The gate allowed the boost because the original is visible to this viewer;
                // the original is rendered through the gate too.
                let rendered = Box::pin(visible_statuses(state, viewer, &[original])).await?;
                match rendered.into_iter().next() {
                    Some(v) => Some(v),
                    None => continue,
                }
            }
            None => None,
        };
        let mut mentions = Vec::new();
        for addressed in &status.facts.addressed {
            let account = cached_account(state, &mut accounts, *addressed).await?;
            mentions.push(serde_json::json!({
                "id": account["id"], "username": account["username"],
                "acct": account["acct"], "url": account["url"],
            }));
        }
        let author = cached_account(state, &mut accounts, status.facts.author.id).await?;
        let id = status.facts.id;
        out.push(render_status(
            &visible,
            StatusContext {
                author: &author,
                reblog,
                counts: counts.get(&id).copied().unwrap_or_default(),
                favourited: marks.favourited.contains(&id),
                // A boost shows as reblogged to the account that boosted it, like its original.
                reblogged: marks.reblogged.contains(&id)
                    || (status.reblog_of_id.is_some()
                        && matches!(viewer, Viewer::Account(p) if p.id == status.facts.author.id)),
                bookmarked: marks.bookmarked.contains(&id),
                pinned: marks.pinned.contains(&id),
                mentions,
                poll: polls.remove(&id),
                tags: tags
                    .get(&id)
                    .map(|names| {
                        names
                            .iter()
                            .map(|name| {
                                serde_json::json!({
                                    "name": name,
                                    "url": format!("{}/tags/{name}", state.settings.base_url),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                media: media
                    .remove(&id)
                    .unwrap_or_default()
                    .iter()
                    .map(|m| crate::entities::render_media(&state.settings.base_url, m))
                    .collect(),
            },
        ));
    }
    Ok(out)
}

/// Renders, in one query, every account of `ids` not yet in `cache`.
async fn prefetch_accounts(
    state: &ApiState,
    cache: &mut HashMap<Id, Value>,
    ids: &[Id],
) -> ApiResult<()> {
    let mut missing: Vec<Id> = ids
        .iter()
        .copied()
        .filter(|id| !cache.contains_key(id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let badges = state
        .store
        .clinician_badges(&missing, cohort_store::now_ms())
        .await?;
    for (record, counts, profile) in state.store.accounts_for_rendering(&missing).await? {
        let rendered = serde_json::to_value(
            Account::render_with_profile(state, &record, counts, &profile)
                .with_clinician_badge(badges.get(&record.id)),
        )
        .map_err(ApiError::internal)?;
        cache.insert(record.id, rendered);
    }
    Ok(())
}

async fn cached_account(
    state: &ApiState,
    cache: &mut HashMap<Id, Value>,
    id: Id,
) -> ApiResult<Value> {
    if let Some(v) = cache.get(&id) {
        return Ok(v.clone());
    }
    let rendered = account_json(state, id).await?;
    cache.insert(id, rendered.clone());
    Ok(rendered)
}

/// Renders accounts by id, skipping unknown ones.
pub async fn accounts_json(state: &ApiState, ids: &[Id]) -> ApiResult<Vec<Value>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match account_json(state, *id).await {
            Ok(v) => out.push(v),
            Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
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
    let id_of = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
    link_header_between(
        state,
        path,
        extra,
        items.first().and_then(id_of),
        items.last().and_then(id_of),
    )
}

/// The `Link` header for a page whose cursors are not the items' own ids (followers are
/// paged by follow, not by account): `first` the newest cursor, `last` the oldest.
pub fn link_header_between(
    state: &ApiState,
    path: &str,
    extra: &str,
    first: Option<String>,
    last: Option<String>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let (Some(first), Some(last)) = (first, last) else {
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

/// Text that leaves the moderators (a forwarded report comment, a resolution note, a public
/// mod-log reason) as it may be shown: when the PHI guard, reading it as written by
/// `author_kind`, finds that it identifies a patient, the identifying spans are replaced by
/// `[redacted KIND]`, and the guard's reason comes back for the moderators.
pub async fn redacted_for_publication(
    state: &ApiState,
    text: &str,
    author_kind: cohort_model::AuthorKind,
) -> ApiResult<(String, Option<String>)> {
    if text.trim().is_empty() {
        return Ok((text.to_owned(), None));
    }
    let guard = state.phi_guard().await.map_err(ApiError::internal)?;
    let finding = guard.screen(text, author_kind);
    if !finding.identifies_patient {
        return Ok((text.to_owned(), None));
    }
    let spans: Vec<(std::ops::Range<usize>, &str)> = finding
        .spans
        .iter()
        .map(|s| (s.start..s.end, s.kind.as_str()))
        .collect();
    Ok((
        cohort_moderation::redact(text, &spans),
        Some(finding.reason.clone()),
    ))
}
