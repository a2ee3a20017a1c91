//! OAuth 2: app registration, the sign-in and consent page, tokens and revocation.
//!
//! The authorize page is server-rendered HTML with plain forms, so it works without
//! JavaScript and scripts can submit it like a browser. Authorization codes live ten
//! minutes, are single-use (a replayed code revokes the tokens it produced), and bind the
//! redirect URI and the PKCE challenge (S256 or plain) they were issued with.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cohort_store::{AuthorizationCode, CodeProblem, OAuthApp, StoreError, now_ms};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::{hash_secret, random_secret, validate_scopes};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::passwords::verify_password;
use crate::state::ApiState;

/// The out-of-band redirect: the code is shown to the user instead of redirected.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;

fn oauth_error(status: StatusCode, code: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        status,
        code,
        description: description.into(),
    }
}

/// `POST /api/v1/apps`.
pub async fn create_app(State(state): State<ApiState>, params: Params) -> ApiResult<Json<Value>> {
    let name = params
        .string("client_name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            ApiError::Unprocessable("Validation failed: Application name can't be blank".into())
        })?;
    if name.chars().count() > 60 {
        return Err(ApiError::Unprocessable(
            "Validation failed: Application name is too long".into(),
        ));
    }
    let mut redirect_uris: Vec<String> = params
        .list("redirect_uris")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    if redirect_uris.is_empty() {
        redirect_uris.push(OOB.to_owned());
    }
    for uri in &redirect_uris {
        if uri != OOB && url::Url::parse(uri).is_err() {
            return Err(ApiError::Unprocessable(
                "Validation failed: Redirect URI must be an absolute URI".into(),
            ));
        }
    }
    let scopes = validate_scopes(&params.string("scopes").unwrap_or_else(|| "read".into()))
        .map_err(|_| ApiError::Unprocessable("Validation failed: Scopes are invalid".into()))?;
    let website = params.string("website").filter(|w| !w.is_empty());
    let client_id = random_secret();
    let client_secret = random_secret();
    let app = state
        .store
        .create_oauth_app(
            &name,
            website.as_deref(),
            &redirect_uris,
            &scopes,
            &client_id,
            &hash_secret(&client_secret),
        )
        .await?;
    Ok(Json(json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split_whitespace().collect::<Vec<_>>(),
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "client_id": client_id,
        "client_secret": client_secret,
        "client_secret_expires_at": 0,
        "vapid_key": "",
    })))
}

/// `GET /api/v1/apps/verify_credentials`: the app a token belongs to.
pub async fn verify_app(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized("The access token is invalid"))?;
    let token = match state
        .store
        .access_token_by_hash(&hash_secret(token.trim()))
        .await
    {
        Ok(t) if t.revoked_at.is_none() => t,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return Err(ApiError::Unauthorized("The access token is invalid"));
        }
        Err(e) => return Err(e.into()),
    };
    let app = state.store.oauth_app(token.app_id).await?;
    Ok(Json(json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": token.scopes.split_whitespace().collect::<Vec<_>>(),
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "vapid_key": "",
    })))
}

/// What an authorization request asks for, validated against the registered app.
struct AuthorizationRequest {
    app: OAuthApp,
    redirect_uri: String,
    scopes: String,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn validate_authorization(
    state: &ApiState,
    params: &Params,
) -> Result<AuthorizationRequest, String> {
    let client_id = params.string("client_id").ok_or("client_id is missing")?;
    let app = state
        .store
        .oauth_app_by_client_id(&client_id)
        .await
        .map_err(|_| {
            "unknown client_id: register the app with POST /api/v1/apps first".to_owned()
        })?;
    let redirect_uri = params
        .string("redirect_uri")
        .or_else(|| (app.redirect_uris.len() == 1).then(|| app.redirect_uris[0].clone()))
        .ok_or("redirect_uri is missing")?;
    if !app.redirect_uris.contains(&redirect_uri) {
        return Err("the redirect_uri was not registered for this app".to_owned());
    }
    if let Some(kind) = params.string("response_type")
        && kind != "code"
    {
        return Err(format!("unsupported response_type {kind:?}: only \"code\""));
    }
    let requested = params.string("scope").unwrap_or_else(|| app.scopes.clone());
    let scopes = validate_scopes(&requested).map_err(|e| e.to_string())?;
    if let Some(outside) = scopes
        .split_whitespace()
        .find(|s| !crate::auth::scope_covers(&app.scopes, s))
    {
        return Err(format!(
            "the app was not registered for the scope {outside:?}"
        ));
    }
    let code_challenge = params.string("code_challenge").filter(|c| !c.is_empty());
    let code_challenge_method = params
        .string("code_challenge_method")
        .filter(|c| !c.is_empty());
    if code_challenge.is_some() {
        match code_challenge_method.as_deref() {
            None | Some("S256") | Some("plain") => {}
            Some(other) => return Err(format!("unsupported code_challenge_method {other:?}")),
        }
    }
    Ok(AuthorizationRequest {
        app,
        redirect_uri,
        scopes,
        state: params
            .string("state")
            .filter(|s| !s.is_empty() && s != "None"),
        code_challenge,
        code_challenge_method,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><style>body{{font-family:sans-serif;\
         max-width:28rem;margin:3rem auto;padding:0 1rem}}label{{display:block;margin:.8rem 0 .2rem}}\
         input[type=text],input[type=password]{{width:100%;padding:.4rem}}button{{margin-top:1rem;padding:.5rem 1rem}}\
         .error{{color:#a00}}code{{font-size:1.2rem}}</style></head><body>{}</body></html>",
        escape(title),
        body
    )
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(page(
            "Authorization error",
            &format!(
                "<h1>Cannot authorize</h1><p class=\"error\">{}</p>",
                escape(message)
            ),
        )),
    )
        .into_response()
}

fn login_form(state: &ApiState, request: &AuthorizationRequest, error: Option<&str>) -> String {
    let hidden = |name: &str, value: Option<&str>| {
        value.map_or(String::new(), |v| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            )
        })
    };
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\">{}</p>", escape(e))
    });
    page(
        &format!("Sign in to {}", state.settings.title),
        &format!(
            "<h1>Sign in to {title}</h1>{error}<p><strong>{app}</strong> asks for access to your account: \
             <code>{scopes}</code>.</p><form method=\"post\" action=\"/oauth/authorize\">\
             {client_id}{redirect_uri}{scope}{state}{challenge}{method}\
             <input type=\"hidden\" name=\"response_type\" value=\"code\">\
             <label for=\"username\">Email or username</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\" name=\"consent\" value=\"authorize\">Authorize</button></form>",
            title = escape(&state.settings.title),
            app = escape(&request.app.name),
            scopes = escape(&request.scopes),
            client_id = hidden("client_id", Some(&request.app.client_id)),
            redirect_uri = hidden("redirect_uri", Some(&request.redirect_uri)),
            scope = hidden("scope", Some(&request.scopes)),
            state = hidden("state", request.state.as_deref()),
            challenge = hidden("code_challenge", request.code_challenge.as_deref()),
            method = hidden(
                "code_challenge_method",
                request.code_challenge_method.as_deref()
            ),
        ),
    )
}

/// `GET /oauth/authorize`: the sign-in and consent form.
pub async fn authorize_form(State(state): State<ApiState>, params: Params) -> Response {
    match validate_authorization(&state, &params).await {
        Ok(request) => Html(login_form(&state, &request, None)).into_response(),
        Err(message) => error_page(&message),
    }
}

/// `POST /oauth/authorize`: checks the credentials and issues a code.
pub async fn authorize_submit(State(state): State<ApiState>, params: Params) -> Response {
    let request = match validate_authorization(&state, &params).await {
        Ok(r) => r,
        Err(message) => return error_page(&message),
    };
    let identifier = params.string("username").unwrap_or_default();
    let password = params.string("password").unwrap_or_default();
    let refused = |message: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(login_form(&state, &request, Some(message))),
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
    if account.suspended_at.is_some() {
        return refused("This account is suspended.");
    }
    match state.store.login_disabled(account.id).await {
        Ok(false) => {}
        Ok(true) => return refused("Your login is currently disabled."),
        Err(e) => return ApiError::from(e).into_response(),
    }
    if !account.approved {
        return refused("This account is waiting for approval by the instance's staff.");
    }
    let code = random_secret();
    let stored = AuthorizationCode {
        app_id: request.app.id,
        account_id: account.id,
        redirect_uri: request.redirect_uri.clone(),
        scopes: request.scopes.clone(),
        code_challenge: request.code_challenge.clone(),
        code_challenge_method: request.code_challenge_method.clone(),
        expires_at: now_ms() + CODE_LIFETIME_MS,
    };
    if let Err(e) = state
        .store
        .create_authorization_code(&hash_secret(&code), &stored)
        .await
    {
        return ApiError::from(e).into_response();
    }
    if request.redirect_uri == OOB {
        return Html(page(
            "Authorization code",
            &format!(
                "<h1>Authorization code</h1><p>Copy this code into {}:</p><p><code id=\"code\">{}</code></p>",
                escape(&request.app.name),
                escape(&code)
            ),
        ))
        .into_response();
    }
    let mut target = match url::Url::parse(&request.redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("the registered redirect_uri is not a URL"),
    };
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = &request.state {
        target.query_pairs_mut().append_pair("state", s);
    }
    Redirect::to(target.as_str()).into_response()
}

/// The client credentials of a token request: body fields or HTTP Basic.
fn client_credentials(headers: &HeaderMap, params: &Params) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        && let Some((id, secret)) = basic.split_once(':')
    {
        return (Some(id.to_owned()), Some(secret.to_owned()));
    }
    (params.string("client_id"), params.string("client_secret"))
}

async fn authenticate_client(
    state: &ApiState,
    client_id: Option<String>,
    client_secret: Option<String>,
    secret_required: bool,
) -> ApiResult<OAuthApp> {
    let invalid = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
    };
    let client_id = client_id.ok_or_else(invalid)?;
    let app = match state.store.oauth_app_by_client_id(&client_id).await {
        Ok(app) => app,
        Err(StoreError::NotFound(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    match client_secret {
        Some(secret) if hash_secret(&secret) == app.client_secret_hash => Ok(app),
        None if !secret_required => Ok(app),
        _ => Err(invalid()),
    }
}

fn pkce_matches(code: &AuthorizationCode, verifier: Option<&str>) -> bool {
    let Some(challenge) = &code.code_challenge else {
        return true;
    };
    let Some(verifier) = verifier else {
        return false;
    };
    match code.code_challenge_method.as_deref() {
        Some("plain") => verifier == challenge,
        _ => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge,
    }
}

async fn issue_token(
    state: &ApiState,
    app: &OAuthApp,
    account: Option<cohort_model::Id>,
    scopes: &str,
) -> ApiResult<Json<Value>> {
    let token = random_secret();
    let refresh = account.map(|_| random_secret());
    let stored = state
        .store
        .create_access_token(
            app.id,
            account,
            &hash_secret(&token),
            refresh.as_deref().map(hash_secret).as_deref(),
            scopes,
            None,
        )
        .await?;
    let mut body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "scope": stored.scopes,
        "created_at": stored.created_at / 1000,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = Value::String(refresh);
    }
    Ok(Json(body))
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Json<Value>> {
    let grant = params.string("grant_type").ok_or_else(|| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is missing",
        )
    })?;
    let (client_id, client_secret) = client_credentials(&headers, &params);
    let invalid_grant = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    match grant.as_str() {
        "authorization_code" => {
            let verifier = params.string("code_verifier");
            let app =
                authenticate_client(&state, client_id, client_secret, verifier.is_none()).await?;
            let code = params
                .string("code")
                .ok_or_else(|| invalid_grant("code is missing"))?;
            let stored = match state
                .store
                .consume_authorization_code(&hash_secret(&code))
                .await?
            {
                Ok(stored) => stored,
                Err(CodeProblem::Replayed(stored)) => {
                    // RFC 6749 4.1.2: a code used twice may have leaked; revoke what it gave.
                    state
                        .store
                        .revoke_tokens_of(stored.app_id, stored.account_id)
                        .await?;
                    return Err(invalid_grant("The authorization code was already used"));
                }
                Err(CodeProblem::Expired) => {
                    return Err(invalid_grant("The authorization code expired"));
                }
                Err(CodeProblem::Unknown) => {
                    return Err(invalid_grant("The authorization code is invalid"));
                }
            };
            if stored.app_id != app.id {
                return Err(invalid_grant(
                    "The authorization code was issued to another client",
                ));
            }
            let redirect_uri = params
                .string("redirect_uri")
                .unwrap_or_else(|| stored.redirect_uri.clone());
            if redirect_uri != stored.redirect_uri {
                return Err(invalid_grant(
                    "The redirect_uri does not match the authorization request",
                ));
            }
            if !pkce_matches(&stored, verifier.as_deref()) {
                return Err(invalid_grant(
                    "The code_verifier does not match the code_challenge",
                ));
            }
            issue_token(&state, &app, Some(stored.account_id), &stored.scopes).await
        }
        "client_credentials" => {
            let app = authenticate_client(&state, client_id, client_secret, true).await?;
            let scopes = validate_scopes(&params.string("scope").unwrap_or_else(|| "read".into()))?;
            issue_token(&state, &app, None, &scopes).await
        }
        "refresh_token" => {
            let app = authenticate_client(&state, client_id, client_secret, true).await?;
            let refresh = params
                .string("refresh_token")
                .ok_or_else(|| invalid_grant("refresh_token is missing"))?;
            let old = match state
                .store
                .access_token_by_refresh_hash(&hash_secret(&refresh))
                .await
            {
                Ok(t) if t.app_id == app.id => t,
                Ok(_) | Err(StoreError::NotFound(_)) => {
                    return Err(invalid_grant("The refresh token is invalid"));
                }
                Err(e) => return Err(e.into()),
            };
            state.store.revoke_access_token(old.id).await?;
            issue_token(&state, &app, old.account_id, &old.scopes).await
        }
        "password" if state.settings.password_grant => {
            let app = authenticate_client(&state, client_id, client_secret, true).await?;
            let username = params.string("username").unwrap_or_default();
            let password = params.string("password").unwrap_or_default();
            let account = match state.store.account_for_login(&username).await {
                Ok((account, hash)) if verify_password(&password, &hash) => account,
                Ok(_) | Err(StoreError::NotFound(_)) => {
                    return Err(invalid_grant("Invalid username or password"));
                }
                Err(e) => return Err(e.into()),
            };
            if account.suspended_at.is_some()
                || !account.approved
                || state.store.login_disabled(account.id).await?
            {
                return Err(invalid_grant("This account cannot sign in"));
            }
            let scopes = validate_scopes(&params.string("scope").unwrap_or_else(|| "read".into()))?;
            issue_token(&state, &app, Some(account.id), &scopes).await
        }
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("The grant type {grant:?} is not supported"),
        )),
    }
}

/// `POST /oauth/revoke`: always 200, as RFC 7009 asks, once the client is authenticated.
pub async fn revoke(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Json<Value>> {
    let (client_id, client_secret) = client_credentials(&headers, &params);
    let app = authenticate_client(&state, client_id, client_secret, true).await?;
    if let Some(token) = params.string("token")
        && let Ok(stored) = state.store.access_token_by_hash(&hash_secret(&token)).await
        && stored.app_id == app.id
    {
        state.store.revoke_access_token(stored.id).await?;
    }
    Ok(Json(json!({})))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn metadata(State(state): State<ApiState>) -> Json<Value> {
    let base = &state.settings.base_url;
    let mut grants = vec!["authorization_code", "client_credentials", "refresh_token"];
    if state.settings.password_grant {
        grants.push("password");
    }
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": crate::auth::KNOWN_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}
