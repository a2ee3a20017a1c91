//! Accounts: sign-up, the signed-in account, profiles, and follows between local accounts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use cohort_federation::keys::generate_actor_keys;
use cohort_model::{AuthorKind, Id, Role, Username, Visibility};
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
    let profile = state.store.profile_details(auth.account.id).await?;
    let badge = crate::routes::shared::clinician_badge(&state, auth.account.id).await?;
    let boundary = state.store.direct_messages_from(auth.account.id).await?;
    let account = Account::render_with_profile(&state, &auth.account, counts, &profile)
        .with_clinician_badge(badge.as_ref())
        .with_credentials(&auth.account, &profile)
        .with_direct_messages_from(boundary);
    Ok(Json(
        serde_json::to_value(account).map_err(ApiError::internal)?,
    ))
}

fn validation(message: &str) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {message}"))
}

/// Longest profile field name or value, in characters (Mastodon's limit).
const MAX_FIELD_CHARS: usize = 255;

/// Reads the parts of `update_credentials` kept in [`cohort_store::ProfileDetails`]:
/// `fields_attributes`, `discoverable`, `indexable`, `hide_collections` and the posting
/// defaults under `source[...]`. Every value is checked before anything is written.
fn profile_details_update(params: &Params) -> ApiResult<cohort_store::ProfileDetailsUpdate> {
    let fields = if params.has("fields_attributes") {
        let mut fields = Vec::new();
        for item in params.objects("fields_attributes") {
            let name = item.string("name").unwrap_or_default().trim().to_owned();
            let value = item.string("value").unwrap_or_default().trim().to_owned();
            if name.is_empty() && value.is_empty() {
                continue; // Mastodon's apps send the empty rows of their form.
            }
            if name.chars().count() > MAX_FIELD_CHARS || value.chars().count() > MAX_FIELD_CHARS {
                return Err(validation(&format!(
                    "Profile field names and values are at most {MAX_FIELD_CHARS} characters"
                )));
            }
            fields.push(cohort_store::ProfileField {
                name,
                value,
                verified_at: None,
            });
        }
        if fields.len() > cohort_store::MAX_PROFILE_FIELDS {
            return Err(validation(&format!(
                "Fields may have at most {} entries",
                cohort_store::MAX_PROFILE_FIELDS
            )));
        }
        Some(fields)
    } else {
        None
    };
    let source = params.nested("source");
    let default_visibility = match source.string("privacy").as_deref() {
        None | Some("") => None,
        Some(name) => match name.parse::<Visibility>() {
            Ok(
                v @ (Visibility::Public
                | Visibility::Unlisted
                | Visibility::Followers
                | Visibility::Local),
            ) => Some(v),
            _ => {
                return Err(validation(&format!(
                    "source[privacy] {name:?} is not one of public, unlisted, private, local"
                )));
            }
        },
    };
    let default_language = match source.string("language") {
        None => None,
        Some(l) if l.trim().is_empty() => Some(None),
        Some(l) => {
            let l = l.trim().to_ascii_lowercase();
            if !(2..=3).contains(&l.len()) || !l.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(validation(&format!(
                    "source[language] {l:?} is not an ISO 639 language code"
                )));
            }
            Some(Some(l))
        }
    };
    Ok(cohort_store::ProfileDetailsUpdate {
        fields,
        discoverable: params.bool("discoverable")?,
        indexable: params.bool("indexable")?,
        hide_collections: params.bool("hide_collections")?,
        default_visibility,
        default_sensitive: source.bool("sensitive")?,
        default_language,
    })
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
    let endorsed = state.store.endorses(viewer, target).await?;
    let domain_blocking = match state.store.account_by_id(target).await?.domain {
        Some(domain) => state.store.blocks_domain(viewer, &domain).await?,
        None => false,
    };
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
        "domain_blocking": domain_blocking,
        "endorsed": endorsed,
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
    params: Params,
    followers: bool,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require_if_present("read:accounts")?;
    let id = parse_id(&id)?;
    state.store.account_by_id(id).await?;
    let own = auth.0.as_ref().is_some_and(|a| a.account.id == id);
    if !own && state.store.profile_details(id).await?.hide_collections {
        // The account hides whom it follows and who follows it (Mastodon answers an empty
        // list, which clients show as "hidden").
        return Ok((HeaderMap::new(), Json(Value::Array(Vec::new()))));
    }
    let page = page(&params, 80)?;
    let rows = if followers {
        state.store.followers_of(id, page).await?
    } else {
        state.store.following_of(id, page).await?
    };
    let ids: Vec<Id> = rows.iter().map(|(_, account)| *account).collect();
    let accounts = crate::routes::shared::accounts_json(&state, &ids).await?;
    let path = format!(
        "/api/v1/accounts/{id}/{}",
        if followers { "followers" } else { "following" }
    );
    let headers = crate::routes::shared::link_header_between(
        &state,
        &path,
        "",
        rows.first().map(|(cursor, _)| cursor.to_string()),
        rows.last().map(|(cursor, _)| cursor.to_string()),
    );
    Ok((headers, Json(Value::Array(accounts))))
}

/// `GET /api/v1/accounts/:id/followers`: newest follow first, `Link` paged (the cursors are
/// follows, as Mastodon's).
pub async fn followers(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    follow_list(state, auth, id, params, true).await
}

/// `GET /api/v1/accounts/:id/following`: as followers.
pub async fn following(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    follow_list(state, auth, id, params, false).await
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
    let details = profile_details_update(&params)?;
    let direct_messages_from = match params.string("direct_messages_from") {
        None => None,
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => match raw.parse::<cohort_model::DirectMessagesFrom>() {
            Ok(v) => Some(Some(v)),
            Err(_) => {
                return Err(validation(
                    "direct_messages_from must be everyone, colleagues or route",
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
        details,
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
    if let Some(choice) = direct_messages_from {
        state
            .store
            .set_direct_messages_from(auth.account.id, choice)
            .await?;
    }
    // Other instances learn of the new profile (name, bio, fields, flags) by an Update.
    state.store.enqueue_actor_update(auth.account.id).await?;
    let account = state.store.account_by_id(auth.account.id).await?;
    let counts = state.store.account_counts(account.id).await?;
    let profile = state.store.profile_details(account.id).await?;
    crate::impersonation::flag_title_claims(&state, &account, &account.display_name, &profile.note)
        .await?;
    let badge = crate::routes::shared::clinician_badge(&state, account.id).await?;
    let boundary = state.store.direct_messages_from(account.id).await?;
    let rendered = Account::render_with_profile(&state, &account, counts, &profile)
        .with_clinician_badge(badge.as_ref())
        .with_credentials(&account, &profile)
        .with_direct_messages_from(boundary);
    Ok(Json(
        serde_json::to_value(rendered).map_err(ApiError::internal)?,
    ))
}
