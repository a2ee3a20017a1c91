//! Minimal server-rendered pages for people who open a Cohort link in a browser: an
//! account's profile, a status, and the instance's about page. ActivityPub requests for the
//! same URLs are answered by the federation routes (content negotiation sends browsers here).
//! Pages show only what the read gate lets an anonymous reader see.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use cohort_federation::http::wants_activity_json;
use cohort_policy::Viewer;
use cohort_store::{Page, StoreError};
use serde_json::Value;

use crate::routes::shared::{parse_id, visible_statuses};
use crate::state::ApiState;
use crate::text::escape;

/// A minimal HTML page around `body` (already escaped where needed).
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><style>body{{font-family:sans-serif;\
         max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}article{{border-top:1px solid #ddd;\
         padding:.8rem 0}}.meta{{color:#666;font-size:.9rem}}</style></head><body>{}</body></html>",
        escape(title),
        body
    )
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "Not found",
            "<h1>Not found</h1><p>This page does not exist or is not public.</p>",
        )),
    )
        .into_response()
}

fn render_status(status: &Value) -> String {
    let account = &status["account"];
    let spoiler = status["spoiler_text"].as_str().unwrap_or_default();
    let warning = if spoiler.is_empty() {
        String::new()
    } else {
        format!("<p><strong>CW: {}</strong></p>", escape(spoiler))
    };
    format!(
        "<article><p class=\"meta\"><a href=\"{url}\">{name} (@{acct})</a> · <a href=\"{link}\">{date}</a></p>{warning}{content}</article>",
        url = escape(account["url"].as_str().unwrap_or_default()),
        name = escape(
            account["display_name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(account["username"].as_str())
                .unwrap_or_default()
        ),
        acct = escape(account["acct"].as_str().unwrap_or_default()),
        link = escape(status["url"].as_str().unwrap_or_default()),
        date = escape(status["created_at"].as_str().unwrap_or_default()),
        // Content is HTML this server produced (escaped local text) or cleaned with ammonia.
        content = status["content"].as_str().unwrap_or_default(),
    )
}

/// `GET /@{username}`: a local account's public posts.
pub async fn profile(
    State(state): State<ApiState>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Response {
    if wants_activity_json(&headers) {
        // A fediverse server resolving the profile's web address: the actor lives at its id.
        return match cohort_model::Username::parse(&username) {
            Ok(name) => Redirect::to(&state.urls.actor(&name)).into_response(),
            Err(_) => not_found(),
        };
    }
    let account = match state.store.local_account_by_username(&username).await {
        Ok(a) if a.suspended_at.is_none() => a,
        Ok(_) | Err(StoreError::NotFound(_)) => return not_found(),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let ids = match state
        .store
        .account_status_ids(
            account.id,
            Page {
                limit: 20,
                ..Page::default()
            },
        )
        .await
    {
        Ok(ids) => ids,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let statuses = match visible_statuses(&state, &Viewer::Anonymous, &ids).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let name = if account.display_name.is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    };
    let body = format!(
        "<h1>{}</h1><p class=\"meta\">@{}@{}</p>{}",
        escape(&name),
        escape(&account.username),
        escape(state.settings.domain.as_str()),
        statuses.iter().map(render_status).collect::<String>()
    );
    Html(page(&name, &body)).into_response()
}

/// `GET /@{username}/{id}`: one status, if an anonymous reader may see it.
pub async fn status(
    State(state): State<ApiState>,
    Path((username, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return not_found();
    };
    if wants_activity_json(&headers) {
        // A fediverse server resolving the post's web address (a link pasted into a search):
        // the object lives at its id, which serves it through the read gate and authorized
        // fetch like any other.
        return Redirect::to(&state.urls.status(&username, id)).into_response();
    }
    match visible_statuses(&state, &Viewer::Anonymous, &[id]).await {
        Ok(list) => match list.first() {
            Some(s)
                if s["account"]["username"]
                    .as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&username)) =>
            {
                Html(page(&format!("Post by @{username}"), &render_status(s))).into_response()
            }
            _ => not_found(),
        },
        Err(e) => e.into_response(),
    }
}

/// `GET /about`: the instance.
pub async fn about(State(state): State<ApiState>) -> Response {
    let users = state.store.count_local_accounts().await.unwrap_or(0);
    let body = format!(
        "<h1>{}</h1><p>A Cohort community server for health care: patients, caregivers and \
         clinicians, in the Mastodon apps they already use.</p><p>{} accounts. Sign in from any \
         Mastodon app with the address <code>{}</code>.</p>",
        escape(&state.settings.title),
        users,
        escape(&state.settings.base_url)
    );
    Html(page(&state.settings.title, &body)).into_response()
}
