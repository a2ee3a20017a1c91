//! Statuses: post, read, delete, thread context, and where a post went.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use cohort_model::{CommunityVisibility, Id, Visibility};
use cohort_policy::{
    Audience, ComposeError, Party, PhiOutcome, Viewer, check_new_post,
    phi_guard_decides_before_a_post_leaves,
};
use cohort_store::{CommunityRecord, NewStatus, StoreError};
use serde_json::{Value, json};

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{parse_id, visible_record, visible_status, visible_statuses};
use crate::state::ApiState;
use crate::text::{LinkedMention, mentions, to_html};

/// The audience a client asked for: `visibility` (Mastodon's names, Akkoma's `local`,
/// Cohort's `community`) and GoToSocial's `local_only`; `default` when the client named none.
fn requested_audience(params: &Params, default: Visibility) -> ApiResult<Audience> {
    let visibility = match params.string("visibility").as_deref() {
        None | Some("") => default,
        Some(name) => name.parse::<Visibility>().map_err(|_| {
            ApiError::Unprocessable(format!(
                "Validation failed: Visibility {name:?} is not one of public, unlisted, private, direct, local, community"
            ))
        })?,
    };
    let mut audience = Audience::new(visibility);
    if params.bool("local_only")?.unwrap_or(false) {
        audience = audience.local_only();
    }
    if let Some(community) = params.string("community_id") {
        let id: Id = community.parse().map_err(|_| {
            ApiError::Unprocessable("Validation failed: community_id is not an id".into())
        })?;
        audience = audience.in_community(id);
    }
    Ok(audience)
}

/// Resolves written mentions to accounts. Unknown accounts are refused (nothing is stored).
async fn resolve_mentions(state: &ApiState, text: &str) -> ApiResult<Vec<(Party, LinkedMention)>> {
    let mut out = Vec::new();
    let own_domain = state.settings.domain.as_str();
    for written in mentions(text) {
        let local = written.domain.as_deref().is_none_or(|d| d == own_domain);
        let account = if local {
            match state
                .store
                .local_account_by_username(&written.username)
                .await
            {
                Ok(a) => a,
                Err(StoreError::NotFound(_)) => {
                    return Err(ApiError::Unprocessable(format!(
                        "Validation failed: @{} does not exist",
                        written.username
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            let host = written.domain.clone().unwrap_or_default();
            let id = state
                .resolve_remote(&written.username, &host)
                .await
                .map_err(|_| {
                    ApiError::Unprocessable(format!(
                        "Validation failed: @{}@{host} could not be found",
                        written.username
                    ))
                })?;
            state.store.account_by_id(id).await?
        };
        let written_text = match &written.domain {
            Some(d) => format!("{}@{}", written.username, d),
            None => written.username.clone(),
        };
        let url = match &account.domain {
            None => format!("{}/@{}", state.settings.base_url, account.username),
            Some(_) => account.actor_uri.clone(),
        };
        out.push((
            Party {
                id: account.id,
                domain: account.domain.clone(),
                suspended: account.suspended_at.is_some(),
            },
            LinkedMention {
                written: written_text,
                url,
                username: account.username,
            },
        ));
    }
    Ok(out)
}

/// The community a new post belongs to, and the audience that community allows:
/// `community_id` when given, else the first community whose Group the post mentions, else
/// the parent's (a reply stays in its thread's community; the policy narrows it). A
/// members-only community's posts are `community` posts; a `local` community's never leave
/// the instance; an `unlisted` community's stay out of public timelines.
async fn community_of_post(
    state: &ApiState,
    mut requested: Audience,
    mentions: &[(Party, LinkedMention)],
    parent: Option<&cohort_store::StatusRecord>,
) -> ApiResult<(Audience, Option<CommunityRecord>)> {
    let community = match requested.community {
        Some(id) => Some(state.store.community(id).await.map_err(|e| match e {
            StoreError::NotFound(_) => {
                ApiError::Unprocessable("Validation failed: community_id is unknown".into())
            }
            other => other.into(),
        })?),
        None => {
            let mut found = None;
            for (party, _) in mentions {
                if let Some(c) = state.store.community_of_group(party.id).await? {
                    found = Some(c);
                    break;
                }
            }
            match (found, parent.and_then(|p| p.facts.audience.community)) {
                (Some(c), _) => Some(c),
                (None, Some(id)) => Some(state.store.community(id).await?),
                (None, None) => None,
            }
        }
    };
    let Some(community) = community else {
        return Ok((requested, None));
    };
    requested.community = Some(community.id);
    match community.visibility {
        CommunityVisibility::Members if requested.visibility != Visibility::Direct => {
            requested.visibility = Visibility::Community;
        }
        CommunityVisibility::Local => requested = requested.local_only(),
        CommunityVisibility::Unlisted if requested.visibility == Visibility::Public => {
            requested.visibility = Visibility::Unlisted;
        }
        _ => {}
    }
    Ok((requested, Some(community)))
}

/// `media_ids[]`: at most four ids (whose ownership the store checks when it attaches them).
fn media_ids(params: &Params) -> ApiResult<Vec<Id>> {
    let raw: Vec<String> = params
        .list("media_ids")
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if raw.len() > cohort_store::MAX_ATTACHMENTS {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: at most {} media attachments",
            cohort_store::MAX_ATTACHMENTS
        )));
    }
    raw.iter()
        .map(|s| {
            s.parse::<Id>().map_err(|_| {
                ApiError::Unprocessable(format!("Validation failed: media id {s:?} is not an id"))
            })
        })
        .collect()
}

fn compose_error(err: ComposeError) -> ApiError {
    match err {
        ComposeError::ParentNotVisible | ComposeError::BoostTargetNotVisible => ApiError::NotFound,
        ComposeError::NotACommunityMember => ApiError::Forbidden(err.to_string()),
        other => ApiError::Unprocessable(format!("Validation failed: {other}")),
    }
}

/// `POST /api/v1/statuses`: publishes now, or, with `scheduled_at`, keeps the request to
/// publish later (answering with a ScheduledStatus, as Mastodon does).
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|k| !k.is_empty());
    if let Some(key) = &idempotency_key
        && let Some(existing) = state.store.idempotent_status(auth.account.id, key).await?
    {
        return Ok(Json(
            visible_status(&state, &auth.viewer(), existing).await?,
        ));
    }
    if let Some(at) = crate::routes::scheduled::requested_time(&params)? {
        steer_scheduled(&state, &auth.account, &params).await?;
        return Ok(Json(
            crate::routes::scheduled::schedule(&state, &auth.account, &params, at).await?,
        ));
    }
    let id = publish(&state, &auth.account, &params).await?;
    if let Some(key) = &idempotency_key {
        state
            .store
            .remember_idempotency_key(auth.account.id, key, id)
            .await?;
    }
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// The urgent-question rules for a post to be scheduled: one that would be steered when it
/// is published is steered now, while its author is there to choose (the choice is kept
/// with the request and applies again at publication).
async fn steer_scheduled(
    state: &ApiState,
    account: &cohort_store::AccountRecord,
    params: &Params,
) -> ApiResult<()> {
    let text = params.string("status").unwrap_or_default();
    let posting = state.store.profile_details(account.id).await?.posting;
    let mut audience = requested_audience(
        params,
        crate::entities::default_visibility(account, &posting),
    )?;
    // What cannot be resolved now is refused at publication, as before.
    let Ok(resolved) = resolve_mentions(state, &text).await else {
        return Ok(());
    };
    let mentioned: Vec<Party> = resolved.into_iter().map(|(p, _)| p).collect();
    let parent = match params.string("in_reply_to_id").filter(|s| !s.is_empty()) {
        Some(raw) => state.store.status(parse_id(&raw)?).await.ok(),
        None => None,
    };
    if let Some(p) = &parent {
        audience = cohort_policy::audience_for_reply(audience, &p.facts);
    }
    crate::urgent::steer(
        state,
        crate::urgent::Draft {
            account,
            text: &text,
            audience,
            mentioned: &mentioned,
            parent: parent.as_ref(),
            writing: crate::urgent::Writing::New,
            previous_text: None,
        },
        params,
    )
    .await
    .map(|_| ())
}

/// Checks what a create request can be checked for without publishing it (used when it is
/// scheduled, so that a request that could never be published is refused at once).
pub(crate) fn check_request(state: &ApiState, params: &Params) -> ApiResult<()> {
    let text = params.string("status").unwrap_or_default();
    let poll = crate::routes::polls::requested_poll(params)?;
    if poll.is_some() && !params.list("media_ids").is_empty() {
        return Err(ApiError::Unprocessable(
            "Validation failed: a status cannot have both a poll and media".into(),
        ));
    }
    if text.trim().is_empty() && params.list("media_ids").is_empty() && poll.is_none() {
        return Err(ApiError::Unprocessable(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    let length = text.chars().count();
    if length > state.settings.max_status_chars {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: Text character limit of {} exceeded ({length})",
            state.settings.max_status_chars
        )));
    }
    // Only checked here; the account's default visibility applies when it is published.
    requested_audience(params, Visibility::Public)?;
    Ok(())
}

/// Publishes a status for `account` from the parameters of a create request: the one path
/// every new local status takes (now, or later for a scheduled one), with the audience
/// rules and the PHI guard applied at the moment of publication.
pub(crate) async fn publish(
    state: &ApiState,
    account: &cohort_store::AccountRecord,
    params: &Params,
) -> ApiResult<Id> {
    check_request(state, params)?;
    let poll = crate::routes::polls::requested_poll(params)?;
    let text = params.string("status").unwrap_or_default();
    let media = media_ids(params)?;
    let posting = state.store.profile_details(account.id).await?.posting;
    let requested = requested_audience(
        params,
        crate::entities::default_visibility(account, &posting),
    )?;
    let expires_in = params.int("expires_in")?;
    if let Some(secs) = expires_in
        && !(60..=315_360_000).contains(&secs)
    {
        return Err(ApiError::Unprocessable(
            "Validation failed: expires_in must be between 60 seconds and 10 years".into(),
        ));
    }
    let resolved = resolve_mentions(state, &text).await?;
    if resolved.len() > state.settings.max_mentions {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: too many mentions (at most {})",
            state.settings.max_mentions
        )));
    }
    let parent = match params.string("in_reply_to_id").filter(|s| !s.is_empty()) {
        Some(raw) => {
            let id = parse_id(&raw)?;
            Some(
                state
                    .store
                    .status(id)
                    .await
                    .map_err(|_| ApiError::NotFound)?,
            )
        }
        None => None,
    };

    let (requested, community) =
        community_of_post(state, requested, &resolved, parent.as_ref()).await?;
    let author = Party {
        id: account.id,
        domain: None,
        suspended: account.suspended_at.is_some(),
    };
    let mentioned: Vec<Party> = resolved.iter().map(|(p, _)| p.clone()).collect();
    let mut involved: Vec<&cohort_policy::PostFacts> = Vec::new();
    if let Some(p) = &parent {
        involved.push(&p.facts);
    }
    let mut facts = state
        .store
        .facts_for_viewer(&Viewer::Account(author.clone()), &involved)
        .await?;
    // Blocks between the author and each mentioned account, for the mention rule.
    let mention_blocks = state
        .store
        .blocks_between(
            author.id,
            &mentioned.iter().map(|m| m.id).collect::<Vec<_>>(),
        )
        .await?;
    facts.blocks.extend(mention_blocks);
    if let Some(community) = requested.community {
        facts
            .memberships
            .extend(state.store.memberships_of(author.id, community).await?);
    }
    let audience = check_new_post(
        &facts,
        &author,
        requested,
        parent.as_ref().map(|p| &p.facts),
        &mentioned,
    )
    .map_err(compose_error)?;
    // Urgent and sensitive questions to clinicians: steered (422), narrowed or confirmed.
    let steering = crate::urgent::steer(
        state,
        crate::urgent::Draft {
            account,
            text: &text,
            audience,
            mentioned: &mentioned,
            parent: parent.as_ref(),
            writing: crate::urgent::Writing::New,
            previous_text: None,
        },
        params,
    )
    .await?;
    let audience = steering.audience;
    let community = community.filter(|_| steering.narrowed_to.is_none());
    let recipients: Vec<Id> = match &steering.narrowed_to {
        Some(ids) => ids.clone(),
        None => mentioned.iter().map(|m| m.id).collect(),
    };
    if audience.visibility == cohort_model::Visibility::Direct {
        let now = cohort_store::now_ms();
        // Only local accounts have a boundary here (the store reads local rows only).
        let local = recipients.clone();
        let boundaries = state
            .store
            .direct_message_boundaries(&local, state.settings.clinician_direct_messages, now)
            .await?;
        let sender_is_colleague = account.role.can_moderate()
            || state.store.is_verified_clinician(author.id, now).await?;
        cohort_policy::direct_messages_respect_professional_boundaries(
            &audience,
            author.id,
            sender_is_colleague,
            parent.as_ref().map(|p| &p.facts),
            &boundaries,
        )
        .map_err(|e| match e {
            ComposeError::RoutedToContactChannel(_) => crate::urgent::routed_error(state, &e),
            other => compose_error(other),
        })?;
    }

    // The PHI guard, before anything is stored.
    let guard = state.phi_guard().await.map_err(ApiError::internal)?;
    let finding = guard.screen(&text, account.author_kind);
    let confirmed = params.bool("phi_confirmed")?.unwrap_or(false);
    let (audience, held_reason) = match phi_guard_decides_before_a_post_leaves(
        &finding,
        account.author_kind,
        audience,
        confirmed,
        state.settings.phi_rules,
    ) {
        PhiOutcome::Publish => (audience, None),
        PhiOutcome::Hold { reason } => (audience, Some(reason)),
        PhiOutcome::Narrow { audience, .. } => (audience, None),
        PhiOutcome::Warn { reason } => {
            return Err(ApiError::Unprocessable(format!(
                "This post may identify a patient ({reason}). Keep it on this instance \
                 (visibility local) or send it as a direct message, or post again with \
                 phi_confirmed=true to publish it as it is."
            )));
        }
    };

    // A post's lifetime: its own, else its community's default, else its author's.
    let lifetime = match expires_in {
        Some(secs) => Some(secs),
        None => match audience.community {
            Some(c) => state.store.community_status_lifetime(c).await?,
            None => None,
        }
        .or(state.store.default_status_lifetime(account.id).await?),
    };
    let expires_at = lifetime.map(|secs| cohort_store::now_ms() + secs * 1000);

    // A post in a community hosted elsewhere is addressed to its Group, which relays it to
    // the members (FEP-1b12: outgoing comments mention the community).
    let mut addressed_ids: Vec<Id> = recipients;
    if let Some(c) = community.as_ref().filter(|c| !c.is_local())
        && !addressed_ids.contains(&c.account.id)
    {
        addressed_ids.push(c.account.id);
    }
    let id = state.store.next_id();
    let linked: Vec<LinkedMention> = resolved.iter().map(|(_, l)| l.clone()).collect();
    let base = state.settings.base_url.clone();
    let html = to_html(&text, &linked, &|tag| format!("{base}/tags/{tag}"));
    let new = NewStatus {
        id,
        author: account.id,
        uri: state.urls.status(&account.username, id),
        url: Some(state.urls.status_page(&account.username, id)),
        local: true,
        audience,
        text_source: text,
        content_html: html,
        spoiler_text: params.string("spoiler_text").unwrap_or_default(),
        sensitive: params.bool("sensitive")?.unwrap_or(posting.sensitive),
        language: params
            .string("language")
            .filter(|l| !l.is_empty())
            .or(posting.language),
        in_reply_to: parent.as_ref().map(|p| p.facts.id),
        reblog_of: None,
        addressed: addressed_ids,
        held_reason,
        expires_at,
    };
    let post_media = cohort_store::PostMedia {
        uploaded: media,
        remote: Vec::new(),
    };
    match community.filter(|c| c.is_local() && new.held_reason.is_none()) {
        // A post in a community hosted here: the Group relays it to its members' instances
        // and, for a new thread, announces it (FEP-1b12), in the same transaction.
        Some(community) => {
            let announcement = new.in_reply_to.is_none().then(|| {
                cohort_federation::communities::group_announcement(
                    &state.urls,
                    state.store.next_id(),
                    &community,
                    &new,
                )
            });
            state
                .store
                .create_community_post_with_media(
                    &new,
                    &post_media,
                    announcement.as_ref(),
                    Some(community.account.id),
                )
                .await?;
        }
        None => {
            state
                .store
                .create_status_with_media(&new, &post_media)
                .await?;
        }
    }
    state
        .store
        .index_status_tags(id, &crate::text::hashtags(&new.text_source))
        .await?;
    if let Some(poll) = poll {
        crate::routes::polls::attach_poll(state, id, poll).await?;
    }
    if new.held_reason.is_none() {
        for mentioned in &new.addressed {
            state
                .store
                .notify(*mentioned, account.id, "mention", Some(id))
                .await?;
        }
    }
    steering.file_report(state, account.id, id).await;
    Ok(id)
}

/// `GET /api/v1/statuses/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    Ok(Json(
        visible_status(&state, &auth.viewer(), parse_id(&id)?).await?,
    ))
}

/// `DELETE /api/v1/statuses/:id`: the author deletes; the response carries the text so
/// clients can offer "delete and redraft".
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let id = parse_id(&id)?;
    let mut rendered = visible_status(&state, &auth.viewer(), id).await?;
    let record = state.store.status(id).await?;
    if record.facts.author.id != auth.account.id {
        // Someone else's visible post: Mastodon answers 404 rather than revealing it.
        return Err(ApiError::NotFound);
    }
    state.store.mark_status_deleted(id).await?;
    rendered["text"] = Value::String(record.text_source);
    Ok(Json(rendered))
}

/// `GET /api/v1/statuses/:id/context`: ancestors and descendants the viewer may see.
pub async fn context(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    let viewer = auth.viewer();
    let id = parse_id(&id)?;
    let record = visible_record(&state, &viewer, id).await?;
    let mut ancestors = Vec::new();
    let mut parent = record.facts.parent.as_deref();
    while let Some(p) = parent {
        ancestors.push(p.id);
        parent = p.parent.as_deref();
    }
    ancestors.reverse();
    let root = state.store.thread_root(id).await?;
    let thread = state.store.thread_ids(root, 4096).await?;
    // Descendants: statuses in the thread whose ancestor chain contains `id`.
    let thread_records = state.store.statuses(&thread).await?;
    let descendants: Vec<Id> = thread_records
        .iter()
        .filter(|r| {
            let mut p = r.facts.parent.as_deref();
            while let Some(pp) = p {
                if pp.id == id {
                    return true;
                }
                p = pp.parent.as_deref();
            }
            false
        })
        .map(|r| r.facts.id)
        .collect();
    let filters =
        crate::filtering::ActiveFilters::load(&state, &viewer, cohort_store::FilterContext::Thread)
            .await?;
    Ok(Json(json!({
        "ancestors": filters.apply(visible_statuses(&state, &viewer, &ancestors).await?),
        "descendants": filters.apply(visible_statuses(&state, &viewer, &descendants).await?),
    })))
}

/// `GET /api/v1/statuses/:id/audience`: where the author's post went, and where it did not,
/// one line per instance with the deciding rule (Cohort's decision log; authors and
/// moderators only).
pub async fn audience(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:statuses")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if record.facts.author.id != auth.account.id && !auth.account.role.can_moderate() {
        return Err(ApiError::NotFound);
    }
    let decisions = state.store.audience_decisions_for_status(id).await?;
    let audience = record.facts.audience;
    Ok(Json(json!({
        "id": id.to_string(),
        "visibility": crate::entities::visibility_name(audience.visibility),
        "local_only": audience.local_only,
        "held_for_review": record.facts.held,
        "domains": decisions.iter().map(|d| json!({
            "domain": d.domain,
            "delivered": d.allowed,
            "rule": d.rule,
            "decided_at": datetime(d.decided_at),
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/cohort/held_statuses`: the signed-in author's posts held by the PHI guard.
pub async fn held(State(state): State<ApiState>, auth: Authenticated) -> ApiResult<Json<Value>> {
    auth.require("read:statuses")?;
    let ids = state.store.held_status_ids(auth.account.id).await?;
    Ok(Json(Value::Array(
        visible_statuses(&state, &auth.viewer(), &ids).await?,
    )))
}

/// `POST /api/v1/statuses/:id/release`: the author releases a held post as it is, or with
/// `visibility=local` / `visibility=direct` narrows it instead. The release is recorded
/// (who, when, and the guard's reason) and the post is then published to its audience.
pub async fn release(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if record.facts.author.id != auth.account.id {
        return Err(ApiError::NotFound);
    }
    if !record.facts.held {
        return Err(ApiError::Unprocessable(
            "Validation failed: this post is not held for review".into(),
        ));
    }
    let narrow_to = match params.string("visibility").as_deref() {
        None | Some("") => None,
        Some("local") => Some(record.facts.audience.local_only()),
        Some("direct") => Some(Audience {
            visibility: Visibility::Direct,
            ..record.facts.audience
        }),
        Some(other) => {
            return Err(ApiError::Unprocessable(format!(
                "Validation failed: a held post can be narrowed to local or direct, not {other:?}"
            )));
        }
    };
    state
        .store
        .release_held_status(id, auth.account.id, narrow_to)
        .await?;
    // Released as it was, in a community hosted here: the Group now does what it would have
    // done when the post was written (announce a thread, relay the post).
    if narrow_to.is_none()
        && let Some(community) = record.facts.audience.community
    {
        let community = state.store.community(community).await?;
        if community.is_local() {
            let announcement = record.in_reply_to_id.is_none().then(|| {
                cohort_federation::communities::group_announcement_of(
                    &state.urls,
                    state.store.next_id(),
                    &community,
                    &record,
                )
            });
            state
                .store
                .announce_released_community_post(id, announcement.as_ref(), community.account.id)
                .await?;
        }
    }
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `GET /api/v1/admin/cohort/audience_decisions?domain=&limit=`: the newest delivery
/// decisions about one instance (admins and moderators; scope `admin:read`): which posts went
/// there or were withheld, and by which rule.
pub async fn decisions_by_domain(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("admin:read")?;
    if !auth.account.role.can_moderate() {
        return Err(ApiError::Forbidden("This action is not allowed".into()));
    }
    let raw = params
        .string("domain")
        .ok_or_else(|| ApiError::BadRequest("domain is missing".into()))?;
    let domain = cohort_model::Domain::parse(&raw)
        .map_err(|e| ApiError::Unprocessable(format!("Validation failed: {e}")))?;
    let limit = params.int("limit")?.unwrap_or(40).clamp(1, 200);
    let decisions = state
        .store
        .audience_decisions_for_domain(&domain, limit)
        .await?;
    Ok(Json(Value::Array(
        decisions
            .iter()
            .map(|d| {
                json!({
                    "status_id": d.status_id.to_string(),
                    "domain": d.domain,
                    "delivered": d.allowed,
                    "rule": d.rule,
                    "decided_at": datetime(d.decided_at),
                })
            })
            .collect(),
    )))
}

/// `PUT /api/v1/statuses/:id`: the author edits the text, content warning, sensitivity or
/// language. The audience does not change. The PHI guard screens the new text: an edit can
/// put a post on hold, and an edit that no longer identifies anyone releases it.
pub async fn edit(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if record.facts.author.id != auth.account.id || record.reblog_of_id.is_some() {
        return Err(ApiError::NotFound);
    }
    let text = params
        .string("status")
        .unwrap_or_else(|| record.text_source.clone());
    if text.trim().is_empty() {
        return Err(ApiError::Unprocessable(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    let length = text.chars().count();
    if length > state.settings.max_status_chars {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: Text character limit of {} exceeded ({length})",
            state.settings.max_status_chars
        )));
    }
    let guard = state.phi_guard().await.map_err(ApiError::internal)?;
    let finding = guard.screen(&text, auth.account.author_kind);
    let confirmed = params.bool("phi_confirmed")?.unwrap_or(false);
    let held_reason = match phi_guard_decides_before_a_post_leaves(
        &finding,
        auth.account.author_kind,
        record.facts.audience,
        confirmed,
        state.settings.phi_rules,
    ) {
        PhiOutcome::Publish | PhiOutcome::Narrow { .. } => None,
        PhiOutcome::Hold { reason } => Some(reason),
        PhiOutcome::Warn { reason } => {
            return Err(ApiError::Unprocessable(format!(
                "This edit may identify a patient ({reason}). Post it again with \
                 phi_confirmed=true to publish it as it is."
            )));
        }
    };
    let resolved = resolve_mentions(&state, &text).await?;
    let mentioned: Vec<Party> = resolved.iter().map(|(p, _)| p.clone()).collect();
    let parent = match record.in_reply_to_id {
        Some(p) => state.store.status(p).await.ok(),
        None => None,
    };
    let steering = crate::urgent::steer(
        &state,
        crate::urgent::Draft {
            account: &auth.account,
            text: &text,
            audience: record.facts.audience,
            mentioned: &mentioned,
            parent: parent.as_ref(),
            writing: crate::urgent::Writing::Edit(id),
            previous_text: Some(&record.text_source),
        },
        &params,
    )
    .await?;
    let linked: Vec<LinkedMention> = resolved.into_iter().map(|(_, l)| l).collect();
    let base = state.settings.base_url.clone();
    let html = to_html(&text, &linked, &|tag| format!("{base}/tags/{tag}"));
    state
        .store
        .edit_status(
            id,
            &cohort_store::StatusEdit {
                content_html: html,
                spoiler_text: params
                    .string("spoiler_text")
                    .unwrap_or_else(|| record.spoiler_text.clone()),
                sensitive: params.bool("sensitive")?.unwrap_or(record.sensitive),
                language: params
                    .string("language")
                    .filter(|l| !l.is_empty())
                    .or(record.language.clone()),
                held_reason,
                text_source: text.clone(),
                media: if params.has("media_ids") || params.has("media_ids[]") {
                    Some(media_ids(&params)?)
                } else {
                    None
                },
            },
        )
        .await?;
    state
        .store
        .index_status_tags(id, &crate::text::hashtags(&text))
        .await?;
    steering.file_report(&state, auth.account.id, id).await;
    Ok(Json(visible_status(&state, &auth.viewer(), id).await?))
}

/// `GET /api/v1/statuses/:id/history`: every version, oldest first.
pub async fn history(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    let id = parse_id(&id)?;
    let current = visible_status(&state, &auth.viewer(), id).await?;
    let versions = state.store.status_versions(id).await?;
    Ok(Json(Value::Array(
        versions
            .into_iter()
            .map(|v| {
                json!({
                    "content": v.content_html,
                    "spoiler_text": v.spoiler_text,
                    "sensitive": v.sensitive,
                    "created_at": datetime(v.created_at),
                    "account": current["account"],
                    "poll": null,
                    "media_attachments": [],
                    "emojis": [],
                })
            })
            .collect(),
    )))
}

/// `GET /api/v1/statuses/:id/source`: the text as typed, for editing.
pub async fn source(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:statuses")?;
    let id = parse_id(&id)?;
    let record = visible_record(&state, &auth.viewer(), id).await?;
    if record.facts.author.id != auth.account.id {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({
        "id": id.to_string(),
        "text": record.text_source,
        "spoiler_text": record.spoiler_text,
    })))
}
