//! `GET /api/v2/search`: accounts, statuses and hashtags.
//!
//! A URL with `resolve=true` is fetched (signed) if it is not known: an actor becomes an
//! account, a post a status (with its thread above it, within a limit). Other statuses come
//! from the store's full-text candidates. All are rendered only through
//! [`visible_statuses`] (the read gate), so a search never shows a post its viewer could not
//! open; posts of accounts or communities that did not opt in to search (`indexable`) are
//! never candidates for others. A query that starts with `#` looks for hashtags only.

use axum::Json;
use axum::extract::State;
use cohort_federation::inbox::Resolved;
use cohort_model::Id;
use cohort_policy::Viewer;
use cohort_store::{StatusSearch, search_words};
use serde_json::{Value, json};

use crate::auth::MaybeAuthenticated;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{accounts_json, parse_id, visible_statuses};
use crate::routes::tags::render_tags;
use crate::state::ApiState;

/// What a search looks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kinds {
    All,
    Accounts,
    Statuses,
    Hashtags,
}

impl Kinds {
    fn parse(raw: Option<&str>) -> ApiResult<Self> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Kinds::All),
            Some("accounts") => Ok(Kinds::Accounts),
            Some("statuses") => Ok(Kinds::Statuses),
            Some("hashtags") => Ok(Kinds::Hashtags),
            Some(other) => Err(ApiError::BadRequest(format!(
                "type must be accounts, statuses or hashtags (got {other:?})"
            ))),
        }
    }

    fn wants(self, kind: Kinds) -> bool {
        self == Kinds::All || self == kind
    }
}

/// `GET /api/v2/search` with `q`, `type`, `resolve`, `limit`, `offset`, `account_id`,
/// `following`.
pub async fn search(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:search")?;
    let q = params.string("q").unwrap_or_default();
    let q = q.trim();
    let kinds = Kinds::parse(params.string("type").as_deref())?;
    let resolve = params.bool("resolve")?.unwrap_or(false);
    let following = params.bool("following")?.unwrap_or(false);
    let limit = params.int("limit")?.unwrap_or(20).clamp(1, 40);
    let offset = params.int("offset")?.unwrap_or(0).max(0);
    let author = match params.string("account_id").filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            parse_id(&raw)
                .map_err(|_| ApiError::BadRequest("account_id must be an account id".into()))?,
        ),
        None => None,
    };
    let viewer = auth.viewer();
    let signed_in = match &viewer {
        Viewer::Account(p) => Some(p.id),
        _ => None,
    };
    let hashtag_query = q.starts_with('#');
    let mut accounts = Vec::new();
    let mut statuses = Vec::new();
    let mut hashtags = Vec::new();
    if q.is_empty() {
        return Ok(Json(
            json!({"accounts": accounts, "statuses": statuses, "hashtags": hashtags}),
        ));
    }
    // A URL with `resolve`: fetched once, whatever it is (an actor or a post).
    let is_url = q.starts_with("https://") || q.starts_with("http://");
    let resolved = match (&state.federation, is_url && resolve && signed_in.is_some()) {
        (Some(federation), true) => match federation.resolve_url(q).await {
            Ok(found) => Some(found),
            Err(e) => {
                tracing::debug!(url = q, error = %e, "search could not resolve a URL");
                None
            }
        },
        _ => None,
    };
    if let Some(found) = resolved {
        if let (Resolved::Account(id), true) = (found, kinds.wants(Kinds::Accounts)) {
            accounts = accounts_json(&state, &[id]).await?;
        }
        if let (Resolved::Post(id), true) = (found, kinds.wants(Kinds::Statuses)) {
            statuses = visible_statuses(&state, &viewer, &[id]).await?;
        }
        return Ok(Json(
            json!({"accounts": accounts, "statuses": statuses, "hashtags": hashtags}),
        ));
    }
    if kinds.wants(Kinds::Accounts) && !hashtag_query {
        let ids = find_accounts(
            &state,
            q,
            resolve && signed_in.is_some(),
            following.then_some(signed_in).flatten(),
            limit,
            offset,
        )
        .await?;
        accounts = accounts_json(&state, &ids).await?;
    }
    if kinds.wants(Kinds::Statuses)
        && !hashtag_query
        && let Some(viewer_id) = signed_in
    {
        statuses = find_statuses(&state, &viewer, viewer_id, q, author, limit, offset).await?;
    }
    if kinds.wants(Kinds::Hashtags) {
        let prefix: String = q
            .trim_start_matches('#')
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !prefix.is_empty() {
            let names = state
                .store
                .search_tags(signed_in, &prefix, limit, offset)
                .await?;
            hashtags = render_tags(&state, signed_in, &names).await?;
        }
    }
    Ok(Json(
        json!({"accounts": accounts, "statuses": statuses, "hashtags": hashtags}),
    ))
}

/// Accounts for a query: `user@host` exactly (resolved through WebFinger with `resolve`),
/// an actor URL, else accounts by name.
async fn find_accounts(
    state: &ApiState,
    q: &str,
    resolve: bool,
    followed_by: Option<Id>,
    limit: i64,
    offset: i64,
) -> ApiResult<Vec<Id>> {
    let bare = q.trim_start_matches('@');
    let mut found: Vec<Id> = Vec::new();
    if q.starts_with("https://") || q.starts_with("http://") {
        let known = state.store.account_id_by_actor_uri(q).await?;
        let known = match (known, resolve, state.federation.as_ref()) {
            (Some(id), _, _) => Some(id),
            (None, true, Some(federation)) => federation.resolve_actor(q).await.ok(),
            _ => None,
        };
        found.extend(known);
        return Ok(found);
    }
    if let Some((user, host)) = bare.split_once('@') {
        let host = host.to_ascii_lowercase();
        let exact = if host == state.settings.domain.as_str() {
            state
                .store
                .local_account_by_username(user)
                .await
                .ok()
                .map(|a| a.id)
        } else if resolve {
            state.resolve_remote(user, &host).await.ok()
        } else {
            state.store.remote_account_by_acct(user, &host).await?
        };
        found.extend(exact);
        return Ok(found);
    }
    Ok(state
        .store
        .search_account_ids(bare, followed_by, limit, offset)
        .await?)
}

/// How many full-text candidates are read at a time, and how many rounds at most: the
/// offset counts statuses the viewer may see, so hidden candidates are read past.
const CANDIDATE_BATCH: i64 = 40;
const CANDIDATE_ROUNDS: usize = 5;

/// Statuses for a query, rendered through the read gate: a status URL known here, else
/// full-text matches, `offset` and `limit` applied to what the viewer may see.
async fn find_statuses(
    state: &ApiState,
    viewer: &Viewer,
    viewer_id: Id,
    q: &str,
    author: Option<Id>,
    limit: i64,
    offset: i64,
) -> ApiResult<Vec<Value>> {
    if q.starts_with("https://") || q.starts_with("http://") {
        let ids: Vec<Id> = state.store.status_id_by_uri(q).await?.into_iter().collect();
        return visible_statuses(state, viewer, &ids).await;
    }
    let words = search_words(q);
    let wanted = usize::try_from(offset + limit).unwrap_or(usize::MAX);
    let mut shown = Vec::new();
    let mut cursor = 0;
    for _ in 0..CANDIDATE_ROUNDS {
        let ids = state
            .store
            .search_status_ids(
                viewer_id,
                &StatusSearch {
                    words: words.clone(),
                    author,
                    limit: CANDIDATE_BATCH,
                    offset: cursor,
                },
            )
            .await?;
        cursor += CANDIDATE_BATCH;
        let exhausted = (ids.len() as i64) < CANDIDATE_BATCH;
        shown.extend(visible_statuses(state, viewer, &ids).await?);
        if shown.len() >= wanted || exhausted {
            break;
        }
    }
    Ok(shown
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}
