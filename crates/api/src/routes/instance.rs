//! The instance's description, and the answers clients expect at start-up for features
//! that come later (lists, filters, emojis...): empty collections rather than 404s, which
//! crash some clients.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::error::ApiResult;
use crate::state::{ApiState, RegistrationMode};

/// The version string clients parse: Mastodon-compatible, naming Cohort.
pub fn version() -> String {
    format!("4.3.0 (compatible; Cohort {})", env!("CARGO_PKG_VERSION"))
}

fn streaming_url(state: &ApiState) -> String {
    state
        .settings
        .base_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1)
}

/// `GET /api/v1/instance`.
pub async fn v1(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let s = &state.settings;
    let users = state.store.count_local_accounts().await?;
    Ok(Json(json!({
        "uri": s.domain.as_str(),
        "title": s.title,
        "short_description": "A Cohort community server for health care.",
        "description": "A Cohort community server for health care.",
        "email": "",
        "version": version(),
        "urls": { "streaming_api": streaming_url(&state) },
        "stats": { "user_count": users, "status_count": 0, "domain_count": 0 },
        "thumbnail": format!("{}/thumbnail.png", s.base_url),
        "languages": ["en"],
        "registrations": s.registrations != RegistrationMode::Closed,
        "approval_required": s.registrations == RegistrationMode::Approval,
        "invites_enabled": false,
        "configuration": configuration(&state),
        "contact_account": null,
        "rules": [],
    })))
}

fn configuration(state: &ApiState) -> Value {
    json!({
        "accounts": { "max_featured_tags": 10, "max_pinned_statuses": 5 },
        "statuses": {
            "max_characters": state.settings.max_status_chars,
            "max_media_attachments": cohort_store::MAX_ATTACHMENTS,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
            "image_size_limit": state.media.limits.max_bytes,
            "image_matrix_limit": state.media.limits.max_pixels,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2_629_746,
        },
        "translation": { "enabled": false },
        "urls": { "streaming": streaming_url(state) },
        "cohort": {
            "contact_routes": crate::urgent::contact_routes_json(&state.settings.contact_routes),
        },
    })
}

/// `GET /api/v1/cohort/contact_routes`: the institution's contact routes (phone, secure
/// messaging, emergency number, crisis line), each `null` when not configured. Public.
pub async fn contact_routes(State(state): State<ApiState>) -> Json<Value> {
    Json(crate::urgent::contact_routes_json(
        &state.settings.contact_routes,
    ))
}

/// `GET /api/v2/instance`.
pub async fn v2(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let s = &state.settings;
    Ok(Json(json!({
        "domain": s.domain.as_str(),
        "title": s.title,
        "version": version(),
        "source_url": "https://cohort.example/source",
        "description": "A Cohort community server for health care.",
        "usage": { "users": { "active_month": state.store.count_local_accounts().await? } },
        "thumbnail": { "url": format!("{}/thumbnail.png", s.base_url) },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(&state),
        "registrations": {
            "enabled": s.registrations != RegistrationMode::Closed,
            "approval_required": s.registrations == RegistrationMode::Approval,
            "message": null,
            "url": null,
        },
        "api_versions": { "mastodon": 1 },
        "contact": { "email": "", "account": null },
        "rules": [],
    })))
}

/// `GET /api/v1/preferences`: the posting defaults the account chose (`source[...]` in
/// `update_credentials`), or the server's: public, private for a locked account.
pub async fn preferences(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    auth.require("read:accounts")?;
    let profile = state.store.profile_details(auth.account.id).await?;
    let visibility = crate::entities::default_visibility(&auth.account, &profile.posting);
    Ok(Json(json!({
        "posting:default:visibility": crate::entities::visibility_name(visibility),
        "posting:default:sensitive": profile.posting.sensitive,
        "posting:default:language": profile.posting.language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    })))
}

/// An empty list, for start-up calls whose features come later.
pub async fn empty_list() -> Json<Value> {
    Json(json!([]))
}
