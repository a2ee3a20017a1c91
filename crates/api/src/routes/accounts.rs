//! Accounts: sign-up, the signed-in account, profiles, and follows between local accounts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use cohort_federation::keys::generate_actor_keys;
use cohort_model::{AuthorKind, Id, Role, Username};
use cohort_store::{FollowState, NewLocalAccount, NewOutboxEvent, OutboxKind, StoreError};
use serde_json::{Value, json};

use crate::auth::{Authenticated, MaybeAuthenticated, hash_secret, random_secret};
use crate::entities::Account;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::passwords::{MIN_PASSWORD_CHARS, hash_password};
use crate::routes::shared::{account_json, link_header, page, parse_id, visible_statuses};
use crate::state::{ApiState, RegistrationMode};

/// Records a relationship activity (Follow, Undo, Accept, Reject, Block...) from a local
/// account to a remote one, for the delivery workers.
pub(crate) async fn tell_remote_account(
    state: &ApiState,
    kind: OutboxKind,
    actor: Id,
    target: Id,
) -> ApiResult<()> {
    state
        .store
        .enqueue_outbox_event(&NewOutboxEvent {
            kind,
            actor,
            status: None,
            target_account: Some(target),
        })
        .await?;
    Ok(())
}

/// `GET /api/v1/accounts/verify_credentials`.
pub async fn verify_credentials(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    if !(crate::auth::scope_covers(&auth.token.scopes, "read:accounts")
        || crate::auth::scope_covers(&auth.token.scopes, "profile"))
    {
        return Err(ApiError::Forbidden(
            "This action is outside the authorized scopes".into(),
        ));
    }
    let counts = state.store.account_counts(auth.account.id).await?;
    let note = state.store.account_note(auth.account.id).await?;
    let account = Account::render_with_note(&state, &auth.account, counts, &note)
        .with_credentials(&auth.account, &note);
    Ok(Json(
        serde_json::to_value(account).map_err(ApiError::internal)?,
    ))
}

fn validation(message: &str) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {message}"))
}

/// `POST /api/v1/accounts`: sign-up with an app token.
pub async fn register(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Json<Value>> {
    let raw_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized("The access token is invalid"))?;
    let app_token = match state
        .store
        .access_token_by_hash(&hash_secret(raw_token.trim()))
        .await
    {
        Ok(t) if t.revoked_at.is_none() => t,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return Err(ApiError::Unauthorized("The access token is invalid"));
        }
        Err(e) => return Err(e.into()),
    };
    if state.settings.registrations == RegistrationMode::Closed {
        return Err(ApiError::Forbidden(
            "Registrations are closed on this instance".into(),
        ));
    }
    let username = params.string("username").unwrap_or_default();
    let username = Username::parse(&username).map_err(|e| validation(&format!("Username {e}")))?;
    let email = params.string("email").unwrap_or_default().trim().to_owned();
    let email_ok = email.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !email.contains(char::is_whitespace)
    });
    if !email_ok {
        return Err(validation("Email is invalid"));
    }
    let password = params.string("password").unwrap_or_default();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(validation(&format!(
            "Password is too short (minimum is {MIN_PASSWORD_CHARS} characters)"
        )));
    }
    if !params.bool("agreement")?.unwrap_or(false) {
        return Err(validation("Agreement must be accepted"));
    }
    let password_hash = hash_password(&password).map_err(ApiError::internal)?;
    let keys = tokio::task::spawn_blocking(generate_actor_keys)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let urls = &state.urls;
    let new = NewLocalAccount {
        actor_uri: urls.actor(&username),
        inbox_uri: urls.inbox(&username),
        shared_inbox_uri: urls.shared_inbox(),
        followers_uri: urls.followers(&username),
        url: urls.profile_page(&username),
        key_id: urls.key_id(&username),
        username,
        email,
        role: Role::Member,
        author_kind: AuthorKind::Patient,
        password_hash,
        approved: state.settings.registrations == RegistrationMode::Open,
        locked: false,
        public_key_pem: keys.public_key_pem,
        private_key_pem: keys.private_key_pem,
    };
    let account = match state.store.create_local_account(&new).await {
        Ok(a) => a,
        Err(StoreError::Conflict("username")) => {
            return Err(validation("Username has already been taken"));
        }
        Err(StoreError::Conflict("email")) => {
            return Err(validation("Email has already been taken"));
        }
        Err(e) => return Err(e.into()),
    };
    let app = state.store.oauth_app(app_token.app_id).await?;
    let token = random_secret();
    let stored = state
        .store
        .create_access_token(
            app.id,
            Some(account.id),
            &hash_secret(&token),
            None,
            &app.scopes,
            None,
        )
        .await?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "scope": stored.scopes,
        "created_at": stored.created_at / 1000,
    })))
}

/// `GET /api/v1/accounts/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let id = parse_id(&id)?;
    let account = state.store.account_by_id(id).await?;
    if account.suspended_at.is_some() && account.domain.is_some() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(account_json(&state, id).await?))
}

/// `GET /api/v1/accounts/lookup?acct=`: local `name`, or remote `name@host` (resolved through
/// WebFinger when not known yet).
pub async fn lookup(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let acct = params
        .string("acct")
        .ok_or_else(|| ApiError::BadRequest("acct is missing".into()))?;
    let acct = acct.trim().trim_start_matches('@');
    let id = match acct.split_once('@') {
        Some((user, domain)) if !domain.eq_ignore_ascii_case(state.settings.domain.as_str()) => {
            state
                .resolve_remote(user, &domain.to_ascii_lowercase())
                .await?
        }
        Some((user, _)) => state.store.local_account_by_username(user).await?.id,
        None => state.store.local_account_by_username(acct).await?.id,
    };
    Ok(Json(account_json(&state, id).await?))
}

/// `GET /api/v2/search`: accounts (local by name; `user@host` resolved with `resolve=true`).
/// Statuses and hashtags come with full-text search (issue 6).
pub async fn search(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:search")?;
    let q = params.string("q").unwrap_or_default();
    let q = q.trim().trim_start_matches('@');
    let resolve = params.bool("resolve")?.unwrap_or(false);
    let kind = params.string("type");
    let mut accounts = Vec::new();
    if kind.as_deref().is_none_or(|k| k == "accounts") && !q.is_empty() {
        let found = match q.split_once('@') {
            Some((user, host)) if !host.eq_ignore_ascii_case(state.settings.domain.as_str()) => {
                if resolve && auth.0.is_some() {
                    state
                        .resolve_remote(user, &host.to_ascii_lowercase())
                        .await
                        .ok()
                } else {
                    state
                        .store
                        .remote_account_by_acct(user, &host.to_ascii_lowercase())
                        .await?
                }
            }
            Some((user, _)) => state
                .store
                .local_account_by_username(user)
                .await
                .ok()
                .map(|a| a.id),
            None => state
                .store
                .local_account_by_username(q)
                .await
                .ok()
                .map(|a| a.id),
        };
        if let Some(id) = found {
            accounts.push(account_json(&state, id).await?);
        }
    }
    Ok(Json(
        serde_json::json!({"accounts": accounts, "statuses": [], "hashtags": []}),
    ))
}

/// `GET /api/v1/accounts/:id/statuses`.
pub async fn statuses(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require_if_present("read:statuses")?;
    let id = parse_id(&id)?;
    state.store.account_by_id(id).await?;
    let viewer = auth.viewer();
    let mut page = page(&params, 40)?;
    let exclude_replies = params.bool("exclude_replies")?.unwrap_or(false);
    let exclude_reblogs = params.bool("exclude_reblogs")?.unwrap_or(false);
    let only_media = params.bool("only_media")?.unwrap_or(false);
    if params.bool("pinned")?.unwrap_or(false) {
        let ids = state.store.pinned_status_ids(id).await?;
        let items = visible_statuses(&state, &viewer, &ids).await?;
        return Ok((axum::http::HeaderMap::new(), Json(Value::Array(items))));
    }
    let wanted = page.limit as usize;
    let filters = crate::filtering::ActiveFilters::load(
        &state,
        &viewer,
        cohort_store::FilterContext::Account,
    )
    .await?;
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..5 {
        let ids = state.store.account_status_ids(id, page).await?;
        let exhausted = (ids.len() as i64) < page.limit;
        let Some(oldest) = ids.last().copied() else {
            break;
        };
        for status in filters.apply(visible_statuses(&state, &viewer, &ids).await?) {
            let is_reply = !status["in_reply_to_id"].is_null();
            let is_reblog = !status["reblog"].is_null();
            let has_media = status["media_attachments"]
                .as_array()
                .is_some_and(|m| !m.is_empty());
            if (exclude_replies && is_reply)
                || (exclude_reblogs && is_reblog)
                || (only_media && !has_media)
            {
                continue;
            }
            out.push(status);
        }
        if out.len() >= wanted || exhausted {
            break;
        }
        page.max_id = Some(oldest.as_i64());
        page.min_id = None;
        page.since_id = None;
    }
    out.truncate(wanted);
    let headers = link_header(&state, &format!("/api/v1/accounts/{id}/statuses"), "", &out);
    Ok((headers, Json(Value::Array(out))))
}

/// The relationship between the viewer and `target`, as Mastodon's Relationship entity.
pub async fn relationship_json(state: &ApiState, viewer: Id, target: Id) -> ApiResult<Value> {
    relationship(state, viewer, target).await
}

async fn relationship(state: &ApiState, viewer: Id, target: Id) -> ApiResult<Value> {
    let r = state.store.relationship(viewer, target).await?;
    let (muted, muted_notifications) = state.store.muted_accounts(viewer).await?;
    Ok(json!({
        "id": target.to_string(),
        "following": r.following,
        "showing_reblogs": r.following,
        "notifying": false,
        "languages": null,
        "followed_by": r.followed_by,
        "blocking": r.blocking,
        "blocked_by": r.blocked_by,
        "muting": muted.contains(&target),
        "muting_notifications": muted_notifications.contains(&target),
        "requested": r.requested,
        "requested_by": r.requested_by,
        "domain_blocking": false,
        "endorsed": false,
        "note": "",
    }))
}

/// `GET /api/v1/accounts/relationships?id[]=`.
pub async fn relationships(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("read:follows")?;
    let mut out = Vec::new();
    for raw in params.list("id") {
        let Ok(target) = raw.parse::<Id>() else {
            continue;
        };
        if state.store.account_by_id(target).await.is_ok() {
            out.push(relationship(&state, auth.account.id, target).await?);
        }
    }
    Ok(Json(Value::Array(out)))
}

/// `POST /api/v1/accounts/:id/follow`: follows (or requests to follow a locked account).
pub async fn follow(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let target_id = parse_id(&id)?;
    let target = state.store.account_by_id(target_id).await?;
    if target_id == auth.account.id {
        return Err(ApiError::Forbidden("You cannot follow yourself".into()));
    }
    let blocks = state
        .store
        .blocks_between(auth.account.id, &[target_id])
        .await?;
    if !blocks.is_empty() {
        return Err(ApiError::Forbidden("This action is not allowed".into()));
    }
    // Following a local community's Group is joining it (Mastodon apps know no other way).
    if target.is_group
        && target.domain.is_none()
        && let Some(community) = state.store.community_of_group(target_id).await?
    {
        crate::routes::communities::join_as(&state, &auth, &community, None).await?;
        return Ok(Json(
            relationship(&state, auth.account.id, target_id).await?,
        ));
    }
    let existing = state.store.relationship(auth.account.id, target_id).await?;
    if !existing.following && !existing.requested {
        let follow_state = if target.locked || target.domain.is_some() {
            // Remote follows are requests until the remote server sends Accept.
            FollowState::Requested
        } else {
            FollowState::Accepted
        };
        state
            .store
            .set_follow(auth.account.id, target_id, follow_state)
            .await?;
        if target.domain.is_none() {
            let kind = if follow_state == FollowState::Accepted {
                "follow"
            } else {
                "follow_request"
            };
            state
                .store
                .notify(target_id, auth.account.id, kind, None)
                .await?;
        }
        if target.domain.is_some() {
            tell_remote_account(&state, OutboxKind::Follow, auth.account.id, target_id).await?;
        }
    }
    Ok(Json(
        relationship(&state, auth.account.id, target_id).await?,
    ))
}

/// `POST /api/v1/accounts/:id/unfollow`.
pub async fn unfollow(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let target_id = parse_id(&id)?;
    let target = state.store.account_by_id(target_id).await?;
    // Unfollowing a local community's Group is leaving it.
    if target.is_group
        && target.domain.is_none()
        && let Some(community) = state.store.community_of_group(target_id).await?
    {
        state
            .store
            .leave_community(&community, auth.account.id)
            .await?;
        return Ok(Json(
            relationship(&state, auth.account.id, target_id).await?,
        ));
    }
    let existing = state.store.relationship(auth.account.id, target_id).await?;
    state
        .store
        .remove_follow(auth.account.id, target_id)
        .await?;
    if target.domain.is_some() && (existing.following || existing.requested) {
        tell_remote_account(&state, OutboxKind::UndoFollow, auth.account.id, target_id).await?;
    }
    Ok(Json(
        relationship(&state, auth.account.id, target_id).await?,
    ))
}

/// `POST /api/v1/accounts/:id/block`.
pub async fn block(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:blocks")?;
    let target_id = parse_id(&id)?;
    let target = state.store.account_by_id(target_id).await?;
    if target_id == auth.account.id {
        return Err(ApiError::Forbidden("You cannot block yourself".into()));
    }
    state.store.block(auth.account.id, target_id).await?;
    if target.domain.is_some() {
        tell_remote_account(&state, OutboxKind::Block, auth.account.id, target_id).await?;
    }
    Ok(Json(
        relationship(&state, auth.account.id, target_id).await?,
    ))
}

/// `POST /api/v1/accounts/:id/unblock`.
pub async fn unblock(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:blocks")?;
    let target_id = parse_id(&id)?;
    let target = state.store.account_by_id(target_id).await?;
    state.store.unblock(auth.account.id, target_id).await?;
    if target.domain.is_some() {
        tell_remote_account(&state, OutboxKind::UndoBlock, auth.account.id, target_id).await?;
    }
    Ok(Json(
        relationship(&state, auth.account.id, target_id).await?,
    ))
}

/// `GET /api/v1/follow_requests`: accounts waiting for the signed-in account's approval.
pub async fn follow_requests(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    auth.require("read:follows")?;
    let ids = state.store.pending_follow_requests(auth.account.id).await?;
    Ok(Json(Value::Array(
        crate::routes::shared::accounts_json(&state, &ids).await?,
    )))
}

async fn answer_request(
    state: &ApiState,
    auth: &Authenticated,
    requester: Id,
    accept: bool,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let existing = state.store.relationship(requester, auth.account.id).await?;
    if !existing.requested {
        return Err(ApiError::NotFound);
    }
    let requester_account = state.store.account_by_id(requester).await?;
    // The remote Follow's id, read before a rejection deletes the row that holds it: the
    // Accept or Reject embeds it (peers such as Lemmy find their Follow by id).
    let follow_uri = state.store.follow_uri(requester, auth.account.id).await?;
    if accept {
        state
            .store
            .set_follow(requester, auth.account.id, FollowState::Accepted)
            .await?;
        state
            .store
            .notify(auth.account.id, requester, "follow", None)
            .await?;
    } else {
        state
            .store
            .remove_follow(requester, auth.account.id)
            .await?;
    }
    if requester_account.domain.is_some() {
        state
            .store
            .enqueue_follow_answer(
                &NewOutboxEvent {
                    kind: if accept {
                        OutboxKind::AcceptFollow
                    } else {
                        OutboxKind::RejectFollow
                    },
                    actor: auth.account.id,
                    status: None,
                    target_account: Some(requester),
                },
                follow_uri.as_deref(),
            )
            .await?;
    }
    Ok(Json(relationship(state, auth.account.id, requester).await?))
}

/// `POST /api/v1/follow_requests/:id/authorize`.
pub async fn authorize_request(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    answer_request(&state, &auth, parse_id(&id)?, true).await
}

/// `POST /api/v1/follow_requests/:id/reject`.
pub async fn reject_request(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    answer_request(&state, &auth, parse_id(&id)?, false).await
}

/// `GET /api/v1/accounts/:id/followers` and `.../following`.
async fn follow_list(
    state: ApiState,
    auth: MaybeAuthenticated,
    id: String,
    followers: bool,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let id = parse_id(&id)?;
    state.store.account_by_id(id).await?;
    let ids = if followers {
        state.store.followers_of(id, 80).await?
    } else {
        state.store.following_of(id, 80).await?
    };
    Ok(Json(Value::Array(
        crate::routes::shared::accounts_json(&state, &ids).await?,
    )))
}

/// `GET /api/v1/accounts/:id/followers`.
pub async fn followers(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    follow_list(state, auth, id, true).await
}

/// `GET /api/v1/accounts/:id/following`.
pub async fn following(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    follow_list(state, auth, id, false).await
}

/// `PATCH /api/v1/accounts/update_credentials`: display name, bio, locked, bot, and Cohort's
/// `default_status_lifetime` (seconds; empty to clear): new posts then expire and are deleted
/// here and everywhere they went.
pub async fn update_credentials(
    State(state): State<ApiState>,
    auth: Authenticated,
    form: crate::params::ParamsWithFiles,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let params = form.params;
    let display_name = params.string("display_name");
    if display_name
        .as_ref()
        .is_some_and(|d| d.chars().count() > 30)
    {
        return Err(validation(
            "Display name is too long (maximum is 30 characters)",
        ));
    }
    let note = params.string("note");
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(validation("Note is too long (maximum is 500 characters)"));
    }
    let default_status_lifetime_secs = match params.string("default_status_lifetime") {
        None => None,
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(secs) if (60..=315_360_000).contains(&secs) => Some(Some(secs)),
            _ => {
                return Err(validation(
                    "default_status_lifetime must be between 60 seconds and 10 years",
                ));
            }
        },
    };
    let update = cohort_store::ProfileUpdate {
        display_name,
        note,
        locked: params.bool("locked")?,
        bot: params.bool("bot")?,
        default_status_lifetime_secs,
    };
    // Images first: a refused file (422) leaves the profile as it was.
    crate::routes::media::set_account_images(
        &state,
        auth.account.id,
        &form.files,
        [
            ("avatar", cohort_store::MediaPurpose::Avatar),
            ("header", cohort_store::MediaPurpose::Header),
        ],
    )
    .await?;
    state.store.update_profile(auth.account.id, &update).await?;
    let account = state.store.account_by_id(auth.account.id).await?;
    let counts = state.store.account_counts(account.id).await?;
    let note = state.store.account_note(account.id).await?;
    let rendered = Account::render_with_note(&state, &account, counts, &note)
        .with_credentials(&account, &note);
    Ok(Json(
        serde_json::to_value(rendered).map_err(ApiError::internal)?,
    ))
}
