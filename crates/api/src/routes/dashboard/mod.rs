//! The moderator dashboard: server-rendered pages at `/admin/...` (no JavaScript), behind a
//! moderator sign-in.
//!
//! **Sessions are access tokens.** Signing in issues an ordinary access token (scopes
//! `read admin:read admin:write`, 12 hours) of a built-in application, stored hashed like every
//! token; the browser keeps it in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/admin`.
//! So every check a bearer token gets holds here too (suspension and disabling revoke it), and
//! each page calls the same admin API handlers a client would: one set of rules.
//!
//! **CSRF**: every form carries a token derived from the session (SHA-256 of a fixed label and
//! the session token), checked on every POST; a page from another site cannot know it, and the
//! `SameSite=Strict` cookie is not sent with cross-site requests anyway.

mod domains;
mod reports;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use cohort_store::StoreError;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::{Authenticated, authenticate_token, hash_secret, random_secret};
use crate::error::ApiError;
use crate::params::Params;
use crate::passwords::verify_password;
use crate::state::ApiState;
use crate::text::escape;

pub use domains::{
    confirm_import, discard_import, domain_blocks, export, import_page, import_submit,
};
pub use reports::{report_action, report_assign, report_page, report_resolve, reports};

/// The session cookie's name.
pub const COOKIE: &str = "cohort_dashboard";
/// The built-in application that dashboard sessions belong to.
const CLIENT_ID: &str = "cohort-moderator-dashboard";
/// What a session may do: read (statuses through the read gate) and moderate.
const SESSION_SCOPES: &str = "read admin:read admin:write";
/// How long a session lasts.
const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;

/// The page answering a request that cannot go on (to the sign-in page, a refused form),
/// boxed because a response is large and most requests go on.
pub(crate) type PageRefusal = Box<Response>;

/// A signed-in moderator, with the CSRF token their forms carry.
pub(crate) struct Session {
    pub auth: Authenticated,
    pub csrf: String,
}

impl Session {
    /// A hidden field with the CSRF token, for every form.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(&self.csrf)
        )
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), PageRefusal> {
        let given = given.unwrap_or_default().as_bytes();
        let expected = self.csrf.as_bytes();
        // Compared in full whatever the first difference, so timing says nothing.
        let same = given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(Box::new(message_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form is not from your current session. Go back, reload the page and try again.",
            )))
        }
    }
}

fn csrf_for(token: &str) -> String {
    Sha256::digest(format!("cohort-dashboard-csrf:{token}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The signed-in moderator, or a redirect to the sign-in page.
pub(crate) async fn session(state: &ApiState, headers: &HeaderMap) -> Result<Session, PageRefusal> {
    let to_login = || Box::new(Redirect::to("/admin/login").into_response());
    let Some(token) = cookie_token(headers) else {
        return Err(to_login());
    };
    let auth = match authenticate_token(state, &token).await {
        Ok(auth) => auth,
        Err(ApiError::Internal(e)) => {
            return Err(Box::new(ApiError::Internal(e).into_response()));
        }
        Err(_) => return Err(to_login()),
    };
    if !auth.account.role.can_moderate() {
        return Err(to_login());
    }
    Ok(Session {
        csrf: csrf_for(&token),
        auth,
    })
}

/// The page around every dashboard view.
pub(crate) fn layout(
    state: &ApiState,
    session: Option<&Session>,
    title: &str,
    body: &str,
) -> String {
    let nav = match session {
        Some(s) => format!(
            "<nav><a href=\"/admin/reports\">Reports</a> <a href=\"/admin/appeals\">Appeals</a> \
             <a href=\"/admin/domain_blocks\">Domain blocks</a> <a href=\"/admin/mod_log\">Mod log</a> \
             <span class=\"who\">@{}</span> <form method=\"post\" action=\"/admin/logout\" class=\"inline\">{}\
             <button type=\"submit\">Sign out</button></form></nav>",
            escape(&s.auth.account.username),
            s.csrf_field()
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title} · {site} moderation</title><style>\
         body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.4}}\
         nav{{border-bottom:1px solid #ccc;padding:.5rem 0;margin-bottom:1rem}}nav a{{margin-right:1rem}}\
         .who{{color:#555;margin-left:1rem}}form.inline{{display:inline}}table{{border-collapse:collapse;width:100%}}\
         th,td{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}}\
         label{{display:block;margin:.6rem 0 .2rem}}input[type=text],input[type=password],textarea,select{{width:100%;padding:.3rem}}\
         button{{margin-top:.6rem;padding:.4rem .9rem}}.error{{color:#a00}}.notice{{color:#060}}\
         article{{border-left:3px solid #ddd;padding:.2rem .8rem;margin:.5rem 0}}.meta{{color:#666;font-size:.9rem}}\
         section{{margin:1.5rem 0}}</style></head><body>{nav}<h1>{title}</h1>{body}</body></html>",
        title = escape(title),
        site = escape(&state.settings.title),
    )
}

/// A page with one message.
pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1><p class=\"error\">{m}</p></body></html>",
            t = escape(title),
            m = escape(message)
        )),
    )
        .into_response()
}

/// An API failure as a page: the message the API would have given, with its status.
pub(crate) fn failure(error: ApiError) -> Response {
    let response = error.into_response();
    let status = response.status();
    if status.is_server_error() {
        return response;
    }
    let title = if status == StatusCode::NOT_FOUND {
        "Not found"
    } else {
        "Not done"
    };
    message_page(status, title, &error_text(status))
}

fn error_text(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "This record does not exist.".to_owned(),
        StatusCode::FORBIDDEN => "You may not do this.".to_owned(),
        _ => "The request was refused.".to_owned(),
    }
}

/// An API failure as a page that says why (validation messages are meant for moderators).
pub(crate) fn refused(error: ApiError) -> Response {
    match error {
        ApiError::Unprocessable(message)
        | ApiError::Forbidden(message)
        | ApiError::BadRequest(message) => {
            message_page(StatusCode::UNPROCESSABLE_ENTITY, "Not done", &message)
        }
        other => failure(other),
    }
}

/// A form's parameters as the admin API handlers take them.
pub(crate) fn form(pairs: &[(&str, String)]) -> Params {
    let mut params = Params::default();
    for (key, value) in pairs {
        params.insert_pair(key, value.clone());
    }
    params
}

/// An account's `@user@domain` for a page.
pub(crate) fn acct(account: &Value) -> String {
    account["acct"].as_str().unwrap_or_default().to_owned()
}

fn login_page(state: &ApiState, error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\">{}</p>", escape(e))
    });
    layout(
        state,
        None,
        "Moderator sign-in",
        &format!(
            "{error}<form method=\"post\" action=\"/admin/login\">\
             <label for=\"username\">Email or username</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\" id=\"sign-in\">Sign in</button></form>"
        ),
    )
}

/// `GET /admin`: the report queue.
pub async fn home() -> Redirect {
    Redirect::to("/admin/reports")
}

/// `GET /admin/login`.
pub async fn login_form(State(state): State<ApiState>) -> Html<String> {
    Html(login_page(&state, None))
}

async fn dashboard_app(state: &ApiState) -> Result<cohort_store::OAuthApp, ApiError> {
    match state.store.oauth_app_by_client_id(CLIENT_ID).await {
        Ok(app) => return Ok(app),
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let created = state
        .store
        .create_oauth_app(
            "Cohort moderator dashboard",
            None,
            &[],
            SESSION_SCOPES,
            CLIENT_ID,
            &hash_secret(&random_secret()),
        )
        .await;
    match created {
        Ok(app) => Ok(app),
        // Two first sign-ins at once: the other created it.
        Err(_) => Ok(state.store.oauth_app_by_client_id(CLIENT_ID).await?),
    }
}

/// `POST /admin/login`: `username` (or email) and `password` of a moderator or admin.
pub async fn login(State(state): State<ApiState>, params: Params) -> Response {
    let identifier = params.string("username").unwrap_or_default();
    let password = params.string("password").unwrap_or_default();
    let refused = |message: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(login_page(&state, Some(message))),
        )
            .into_response()
    };
    let account = match state.store.account_for_login(&identifier).await {
        Ok((account, hash)) if verify_password(&password, &hash) => account,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return refused("Invalid email, username or password.");
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !account.role.can_moderate() {
        return refused("This account is not a moderator.");
    }
    if account.suspended_at.is_some() || !account.approved {
        return refused("This account cannot sign in.");
    }
    match state.store.login_disabled(account.id).await {
        Ok(false) => {}
        Ok(true) => return refused("Your login is currently disabled."),
        Err(e) => return ApiError::from(e).into_response(),
    }
    let app = match dashboard_app(&state).await {
        Ok(app) => app,
        Err(e) => return e.into_response(),
    };
    let token = random_secret();
    if let Err(e) = state
        .store
        .create_access_token(
            app.id,
            Some(account.id),
            &hash_secret(&token),
            None,
            SESSION_SCOPES,
            Some(cohort_store::now_ms() + SESSION_LIFETIME_MS),
        )
        .await
    {
        return ApiError::from(e).into_response();
    }
    let secure = if state.settings.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME_MS / 1000
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/admin/reports"),
    )
        .into_response()
}

/// `POST /admin/logout`: revokes the session's token and clears the cookie.
pub async fn logout(State(state): State<ApiState>, headers: HeaderMap, params: Params) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(r) = session.check_csrf(params.string("csrf").as_deref()) {
        return *r;
    }
    if let Err(e) = state.store.revoke_access_token(session.auth.token.id).await {
        return ApiError::from(e).into_response();
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/admin/login"),
    )
        .into_response()
}

/// `GET /admin/mod_log`: the newest 100 actions.
pub async fn mod_log(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let entries = match state.store.mod_log(100).await {
        Ok(e) => e,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut rows = String::new();
    for e in &entries {
        let who = match e.moderator {
            Some(m) => match state.store.account_by_id(m).await {
                Ok(a) => format!("@{}", a.username),
                Err(_) => "(deleted)".to_owned(),
            },
            None => "(Cohort)".to_owned(),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            escape(&crate::entities::datetime(e.created_at)),
            escape(&who),
            escape(&e.action),
            escape(&e.target_kind),
            escape(&e.target_id),
            escape(&e.reason)
        ));
    }
    Html(layout(
        &state,
        Some(&session),
        "Mod log",
        &format!(
            "<table id=\"mod-log\"><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Reason</th></tr>{rows}</table>"
        ),
    ))
    .into_response()
}

/// `GET /admin/appeals`: pending appeals, oldest first, each with approve and reject.
pub async fn appeals(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let listed = crate::routes::strikes::appeals(
        State(state.clone()),
        session.auth.clone(),
        form(&[("state", "pending".to_owned())]),
    )
    .await;
    let appeals = match listed {
        Ok(axum::Json(Value::Array(items))) => items,
        Ok(_) => Vec::new(),
        Err(e) => return failure(e),
    };
    let mut body = String::new();
    if appeals.is_empty() {
        body.push_str("<p>No appeal is waiting.</p>");
    }
    for a in &appeals {
        let id = escape(a["id"].as_str().unwrap_or_default());
        body.push_str(&format!(
            "<section class=\"appeal\"><h2>@{who}: {action}</h2><p class=\"meta\">Strike of {when}: {text}</p>\
             <p><strong>Appeal:</strong> {appeal}</p>\
             <form method=\"post\" action=\"/admin/appeals/{id}/approve\" class=\"inline\">{csrf}<button type=\"submit\">Approve (lift it)</button></form> \
             <form method=\"post\" action=\"/admin/appeals/{id}/reject\" class=\"inline\">{csrf}<button type=\"submit\">Reject</button></form></section>",
            who = escape(&acct(&a["strike"]["target_account"])),
            action = escape(a["strike"]["action"].as_str().unwrap_or_default()),
            when = escape(a["strike"]["created_at"].as_str().unwrap_or_default()),
            text = escape(a["strike"]["text"].as_str().unwrap_or_default()),
            appeal = escape(a["text"].as_str().unwrap_or_default()),
            csrf = session.csrf_field(),
        ));
    }
    Html(layout(&state, Some(&session), "Appeals", &body)).into_response()
}

async fn decide_appeal(
    state: ApiState,
    headers: HeaderMap,
    id: String,
    params: Params,
    approve: bool,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(r) = session.check_csrf(params.string("csrf").as_deref()) {
        return *r;
    }
    let decided = if approve {
        crate::routes::strikes::approve(State(state.clone()), session.auth, Path(id)).await
    } else {
        crate::routes::strikes::reject(State(state.clone()), session.auth, Path(id)).await
    };
    match decided {
        Ok(_) => Redirect::to("/admin/appeals").into_response(),
        Err(e) => refused(e),
    }
}

/// `POST /admin/appeals/:id/approve`.
pub async fn approve_appeal(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    decide_appeal(state, headers, id, params, true).await
}

/// `POST /admin/appeals/:id/reject`.
pub async fn reject_appeal(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    decide_appeal(state, headers, id, params, false).await
}
