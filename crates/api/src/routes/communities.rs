//! The communities API (`/api/v1/communities`), Cohort's addition beside the Mastodon API.
//! The contract is `shared/notes/communities-api.md` (documented for users in docs/API.md).
//!
//! Mastodon apps need none of it: a community is an account with `group: true`, following
//! it joins (see `accounts::follow`) and mentioning it posts to it (see `statuses::create`).
//! Both paths end in the same store calls as these routes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cohort_model::{CommunityVisibility, Id, Membership, Role, Username};
use cohort_policy::Viewer;
use cohort_store::{
    CommunityRecord, CommunityUpdate, JoinOutcome, MemberRecord, NewLocalCommunity, StoreError,
};
use serde_json::{Value, json};

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::accounts::relationship_json;
use crate::routes::shared::{
    account_json, accounts_json, link_header, page, parse_id, visible_statuses,
};
use crate::state::ApiState;

/// Longest title, description and rule, in characters.
const MAX_TITLE_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_RULE_CHARS: usize = 500;
const MAX_RULES: usize = 30;
const MAX_TAGS: usize = 20;

fn validation(message: &str) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {message}"))
}

/// Finds a community by the three spellings the contract allows: its id, its name (local
/// ones) or `name@domain` (remote ones). The Group account's id is accepted too, since
/// Mastodon apps only know that one.
pub async fn find_community(state: &ApiState, raw: &str) -> ApiResult<CommunityRecord> {
    let raw = raw.trim_start_matches('@');
    if let Ok(id) = raw.parse::<Id>() {
        match state.store.community(id).await {
            Ok(c) => return Ok(c),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(c) = state.store.community_of_group(id).await? {
            return Ok(c);
        }
    }
    let found = match raw.split_once('@') {
        Some((name, domain)) if domain.eq_ignore_ascii_case(state.settings.domain.as_str()) => {
            state.store.local_community_by_name(name).await
        }
        Some((name, domain)) => state.store.remote_community_by_acct(name, domain).await,
        None => state.store.local_community_by_name(raw).await,
    };
    found.map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::NotFound,
        other => other.into(),
    })
}

/// Whether `viewer` may know the community exists: `local` ones are for this instance's
/// signed-in accounts only.
fn may_see_community(community: &CommunityRecord, viewer: &Viewer) -> bool {
    community.visibility != CommunityVisibility::Local || matches!(viewer, Viewer::Account(_))
}

/// [`find_community`], then 404 for viewers who may not know it exists, and for suspended
/// ones.
pub(crate) async fn visible_community(
    state: &ApiState,
    raw: &str,
    viewer: &Viewer,
) -> ApiResult<CommunityRecord> {
    let community = find_community(state, raw).await?;
    if !may_see_community(&community, viewer) || community.account.suspended_at.is_some() {
        return Err(ApiError::NotFound);
    }
    Ok(community)
}

/// The viewer's standing, as the Community JSON's `relationship`.
fn relationship_of(member: Option<&MemberRecord>) -> Value {
    let now = cohort_store::now_ms();
    json!({
        "member": member.is_some_and(MemberRecord::is_member),
        "requested": member.is_some_and(|m| m.state == cohort_store::MemberState::Requested),
        "moderator": member.is_some_and(MemberRecord::can_moderate),
        "owner": member.is_some_and(|m| m.is_member() && m.role == cohort_model::CommunityRole::Owner),
        "banned": member.is_some_and(|m| m.is_banned_at(now)),
    })
}

/// The Community JSON of the contract.
pub async fn community_json(
    state: &ApiState,
    community: &CommunityRecord,
    viewer: &Viewer,
) -> ApiResult<Value> {
    let account = account_json(state, community.account.id).await?;
    let relationship = match viewer {
        Viewer::Account(party) => relationship_of(
            state
                .store
                .membership(community.id, party.id)
                .await?
                .as_ref(),
        ),
        _ => Value::Null,
    };
    Ok(json!({
        "id": community.id.to_string(),
        "name": community.account.username,
        "acct": community.account.acct(),
        "title": community.account.display_name,
        "description": community.description,
        "membership": community.membership.as_str(),
        "visibility": community.visibility.as_str(),
        "rules": community.rules.iter().enumerate().map(|(i, text)| json!({
            "id": (i + 1).to_string(), "text": text,
        })).collect::<Vec<_>>(),
        "tags": community.tags,
        "language": community.language,
        "members_count": community.members_count,
        "created_at": datetime(community.created_at),
        "url": account["url"],
        "avatar": account["avatar"],
        "header": account["header"],
        "account": account,
        "relationship": relationship,
    }))
}

/// The viewer's standing in `community` (none for anonymous viewers).
async fn standing(
    state: &ApiState,
    community: &CommunityRecord,
    viewer: &Viewer,
) -> ApiResult<Option<MemberRecord>> {
    match viewer {
        Viewer::Account(party) => Ok(state.store.membership(community.id, party.id).await?),
        _ => Ok(None),
    }
}

/// Refuses unless the account moderates the community (its owner or a moderator) or
/// moderates the instance, which may step in anywhere on its own instance. Moderation of a
/// community hosted elsewhere is done there.
async fn require_moderator(
    state: &ApiState,
    community: &CommunityRecord,
    auth: &Authenticated,
) -> ApiResult<()> {
    if !community.is_local() {
        return Err(ApiError::Unprocessable(
            "This community is hosted on another instance; moderate it there".into(),
        ));
    }
    require_moderation_rights(state, community, auth).await
}

/// Refuses unless the account moderates this instance or is the community's owner or a
/// moderator here. The reports routes use it alone: a community hosted elsewhere relays its
/// reports to its moderators on other instances, who see and resolve them here.
async fn require_moderation_rights(
    state: &ApiState,
    community: &CommunityRecord,
    auth: &Authenticated,
) -> ApiResult<()> {
    if auth.account.role.can_moderate() {
        return Ok(());
    }
    let member = state
        .store
        .membership(community.id, auth.account.id)
        .await?;
    if member.as_ref().is_some_and(MemberRecord::can_moderate) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only this community's moderators may do that".into(),
        ))
    }
}

/// Refuses unless the account owns the community or administers the instance.
async fn require_owner(
    state: &ApiState,
    community: &CommunityRecord,
    auth: &Authenticated,
) -> ApiResult<()> {
    require_moderator(state, community, auth).await?;
    if auth.account.role == Role::Admin {
        return Ok(());
    }
    let member = state
        .store
        .membership(community.id, auth.account.id)
        .await?;
    if member.is_some_and(|m| m.role == cohort_model::CommunityRole::Owner) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only this community's owner may do that".into(),
        ))
    }
}

/// Reads a list of short texts (`rules[]`, `tags[]`), bounded in count and length.
fn text_list(
    params: &Params,
    key: &str,
    max_items: usize,
    max_chars: usize,
) -> ApiResult<Option<Vec<String>>> {
    if !params.has(key) {
        return Ok(None);
    }
    let items: Vec<String> = params
        .list(key)
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if items.len() > max_items {
        return Err(validation(&format!("at most {max_items} {key}")));
    }
    if items.iter().any(|s| s.chars().count() > max_chars) {
        return Err(validation(&format!(
            "each of {key} is at most {max_chars} characters"
        )));
    }
    Ok(Some(items))
}

fn bounded_text(params: &Params, key: &str, max_chars: usize) -> ApiResult<Option<String>> {
    match params.string(key) {
        Some(text) if text.chars().count() > max_chars => Err(validation(&format!(
            "{key} is too long (maximum is {max_chars} characters)"
        ))),
        other => Ok(other.map(|t| t.trim().to_owned())),
    }
}

fn parse_setting<T: std::str::FromStr<Err = cohort_model::CommunitySettingError>>(
    params: &Params,
    key: &str,
) -> ApiResult<Option<T>> {
    params
        .string(key)
        .filter(|s| !s.is_empty())
        .map(|raw| raw.parse::<T>().map_err(|e| validation(&e.to_string())))
        .transpose()
}

/// The description as safe HTML: plain text in, paragraphs and links out.
fn description_html(state: &ApiState, text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let base = state.settings.base_url.clone();
    crate::text::to_html(text, &[], &|tag| format!("{base}/tags/{tag}"))
}

/// `POST /api/v1/communities`.
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(StatusCode, Json<Value>)> {
    auth.require("write")?;
    if !state.settings.user_communities && !auth.account.role.can_moderate() {
        return Err(ApiError::Forbidden(
            "Only admins and moderators may create communities on this instance".into(),
        ));
    }
    let raw_name = params.string("name").unwrap_or_default();
    let name = Username::parse(raw_name.trim())
        .map_err(|e| validation(&format!("name is invalid: {e}")))?;
    let title = bounded_text(&params, "title", MAX_TITLE_CHARS)?
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| name.as_str().to_owned());
    let description =
        bounded_text(&params, "description", MAX_DESCRIPTION_CHARS)?.unwrap_or_default();
    let membership =
        parse_setting::<Membership>(&params, "membership")?.unwrap_or(Membership::Open);
    let visibility = parse_setting::<CommunityVisibility>(&params, "visibility")?
        .unwrap_or(CommunityVisibility::Public);
    let rules = text_list(&params, "rules", MAX_RULES, MAX_RULE_CHARS)?.unwrap_or_default();
    let tags = text_list(&params, "tags", MAX_TAGS, MAX_TITLE_CHARS)?.unwrap_or_default();
    let language = params.string("language").filter(|l| !l.is_empty());

    let keys = tokio::task::spawn_blocking(cohort_federation::keys::generate_actor_keys)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let urls = &state.urls;
    let new = NewLocalCommunity {
        actor_uri: urls.actor(&name),
        inbox_uri: urls.inbox(&name),
        shared_inbox_uri: urls.shared_inbox(),
        followers_uri: urls.followers(&name),
        url: urls.profile_page(&name),
        key_id: urls.key_id(&name),
        name,
        title,
        description: description_html(&state, &description),
        membership,
        visibility,
        rules,
        tags,
        language,
        owner: auth.account.id,
        public_key_pem: keys.public_key_pem,
        private_key_pem: keys.private_key_pem,
    };
    let community = match state.store.create_local_community(&new).await {
        Ok(c) => c,
        Err(StoreError::Conflict(_)) => return Err(validation("name has already been taken")),
        Err(e) => return Err(e.into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(community_json(&state, &community, &auth.viewer()).await?),
    ))
}

/// `GET /api/v1/communities?q=&local=`: discoverable communities, newest first.
pub async fn index(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require_if_present("read")?;
    let viewer = auth.viewer();
    let page = page(&params, 80)?;
    let query = params.string("q").filter(|q| !q.trim().is_empty());
    let local_only = params.bool("local")?.unwrap_or(false);
    let viewer_is_local = matches!(viewer, Viewer::Account(_));
    let found = state
        .store
        .list_communities(query.as_deref(), local_only, viewer_is_local, page)
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for community in &found {
        out.push(community_json(&state, community, &viewer).await?);
    }
    let mut extra = String::new();
    if let Some(q) = &query {
        extra = format!("q={}", url_escape(q));
    }
    if local_only {
        extra = if extra.is_empty() {
            "local=true".to_owned()
        } else {
            format!("{extra}&local=true")
        };
    }
    let headers = link_header(&state, "/api/v1/communities", &extra, &out);
    Ok((headers, Json(Value::Array(out))))
}

fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GET /api/v1/communities/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read")?;
    let viewer = auth.viewer();
    let community = visible_community(&state, &id, &viewer).await?;
    Ok(Json(community_json(&state, &community, &viewer).await?))
}

/// `PATCH /api/v1/communities/:id` (owner, moderators).
pub async fn update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    form: crate::params::ParamsWithFiles,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let params = form.params;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    if !community.is_local()
        && (form.files.contains_key("avatar") || form.files.contains_key("header"))
    {
        return Err(ApiError::Unprocessable(
            "Validation failed: the images of a community hosted elsewhere are set there".into(),
        ));
    }
    let update = CommunityUpdate {
        title: bounded_text(&params, "title", MAX_TITLE_CHARS)?.filter(|t| !t.is_empty()),
        description: bounded_text(&params, "description", MAX_DESCRIPTION_CHARS)?
            .map(|d| description_html(&state, &d)),
        membership: parse_setting(&params, "membership")?,
        visibility: parse_setting(&params, "visibility")?,
        rules: text_list(&params, "rules", MAX_RULES, MAX_RULE_CHARS)?,
        tags: text_list(&params, "tags", MAX_TAGS, MAX_TITLE_CHARS)?,
        language: params.string("language").filter(|l| !l.is_empty()),
    };
    // The avatar and banner are the Group account's (`header` and `banner` both name the
    // banner); a refused file (422) changes nothing.
    let mut files = form.files;
    if let Some(banner) = files.remove("banner") {
        files.entry("header".to_owned()).or_insert(banner);
    }
    crate::routes::media::set_account_images(
        &state,
        community.account.id,
        &files,
        [
            ("avatar", cohort_store::MediaPurpose::Avatar),
            ("header", cohort_store::MediaPurpose::Header),
        ],
    )
    .await?;
    let updated = state.store.update_community(&community, &update).await?;
    Ok(Json(
        community_json(&state, &updated, &auth.viewer()).await?,
    ))
}

/// `GET /api/v1/communities/:id/members`: for `members` communities, only members and the
/// instance's moderators see who belongs.
pub async fn members(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require_if_present("read:accounts")?;
    let viewer = auth.viewer();
    let community = visible_community(&state, &id, &viewer).await?;
    if community.visibility.is_members_only() {
        let entitled = match &auth.0 {
            Some(a) if a.account.role.can_moderate() => true,
            Some(_) => standing(&state, &community, &viewer)
                .await?
                .is_some_and(|m| m.is_member()),
            None => false,
        };
        if !entitled {
            return Err(ApiError::Forbidden(
                "Only members see who belongs to this community".into(),
            ));
        }
    }
    let members = state
        .store
        .community_members(community.id, page(&params, 80)?)
        .await?;
    let ids: Vec<Id> = members.iter().map(|m| m.account).collect();
    let accounts = accounts_json(&state, &ids).await?;
    let headers = link_header(
        &state,
        &format!("/api/v1/communities/{}/members", community.id),
        "",
        &accounts,
    );
    Ok((headers, Json(Value::Array(accounts))))
}

/// `GET /api/v1/communities/:id/reports` (the community's moderators, or the instance's):
/// the reports about posts of this community, newest first; `resolved=true` lists the
/// resolved ones, `resolved=false` (default) the open ones. Reports filed here or received
/// from other instances (a Lemmy `Flag` to the community) alike; the reporter is never shown.
/// For a community hosted elsewhere, its moderators here see the reports its instance relayed
/// to them (and those sent here directly).
pub async fn reports(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("read")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderation_rights(&state, &community, &auth).await?;
    let resolved = params.bool("resolved")?.unwrap_or(false);
    let limit = page(&params, 80)?.limit;
    let reports = state
        .store
        .community_reports(community.id, Some(resolved), limit)
        .await?;
    let mut out = Vec::with_capacity(reports.len());
    for report in &reports {
        out.push(community_report_json(&state, &auth, report).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `POST /api/v1/communities/:id/reports/:report_id/resolve` (`resolution_note`, optional,
/// up to 1000 characters; the community's moderators): resolves a report about a post of
/// this community, with what resolving does anywhere (the reporter told, the outcome sent
/// back to the instance the report came from, the mod-log line).
pub async fn resolve_report(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, report)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderation_rights(&state, &community, &auth).await?;
    let report = parse_id(&report)?;
    let record = match state.store.report(report).await {
        Ok(r) if r.community == Some(community.id) => r,
        Ok(_) | Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if record.action_taken_at.is_some() {
        return Err(validation("this report is resolved already"));
    }
    let note = bounded_text(&params, "resolution_note", 1000)?;
    let note = match note.filter(|n| !n.trim().is_empty()) {
        Some(n) => Some(
            crate::routes::shared::redacted_for_publication(&state, &n, auth.account.author_kind)
                .await?
                .0,
        ),
        None => None,
    };
    state
        .store
        .set_report_resolved(report, auth.account.id, true, note.as_deref())
        .await?;
    let record = state.store.report(report).await?;
    Ok(Json(community_report_json(&state, &auth, &record).await?))
}

/// A report as a community's moderators see it: what and why, never who filed it.
async fn community_report_json(
    state: &ApiState,
    auth: &Authenticated,
    report: &cohort_store::ReportRecord,
) -> ApiResult<Value> {
    let target = match account_json(state, report.target).await {
        Ok(v) => v,
        Err(ApiError::NotFound) => Value::Null,
        Err(e) => return Err(e),
    };
    let statuses = visible_statuses(state, &auth.viewer(), &report.status_ids).await?;
    Ok(json!({
        "id": report.id.to_string(),
        "category": report.category,
        "comment": report.comment,
        "created_at": datetime(report.created_at),
        "action_taken": report.action_taken_at.is_some(),
        "action_taken_at": report.action_taken_at.map(datetime),
        "resolution_note": report.resolution_note,
        "origin_domain": report.origin_domain.as_ref().map(|d| d.as_str()),
        "target_account": target,
        "status_ids": report.status_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "statuses": statuses,
    }))
}

/// `GET /api/v1/communities/:id/join_requests` (moderators): the accounts waiting.
pub async fn join_requests(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:follows")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    let waiting = state.store.join_requests(community.id).await?;
    Ok(Json(Value::Array(accounts_json(&state, &waiting).await?)))
}

async fn decide_request(
    state: ApiState,
    auth: Authenticated,
    id: String,
    account: String,
    approve: bool,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    let account = parse_id(&account)?;
    // The Follow's id, read before the request row goes: the answer names it.
    let follow_uri = state
        .store
        .follow_uri(account, community.account.id)
        .await?;
    if !state
        .store
        .decide_join_request(&community, account, approve)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let requester = state.store.account_by_id(account).await?;
    if requester.domain.is_some() {
        // The remote member's instance waits for the Group's answer to its Follow.
        let kind = if approve {
            cohort_store::OutboxKind::AcceptFollow
        } else {
            cohort_store::OutboxKind::RejectFollow
        };
        state
            .store
            .enqueue_follow_answer(
                &cohort_store::NewOutboxEvent {
                    kind,
                    actor: community.account.id,
                    status: None,
                    target_account: Some(account),
                },
                follow_uri.as_deref(),
            )
            .await?;
    } else if approve {
        state
            .store
            .notify(account, community.account.id, "follow", None)
            .await?;
    }
    Ok(Json(
        relationship_json(&state, community.account.id, account).await?,
    ))
}

/// `POST /api/v1/communities/:id/join_requests/:account_id/authorize`.
pub async fn authorize_request(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, account)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    decide_request(state, auth, id, account, true).await
}

/// `POST /api/v1/communities/:id/join_requests/:account_id/reject`.
pub async fn reject_request(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, account)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    decide_request(state, auth, id, account, false).await
}

/// `POST /api/v1/communities/:id/invites` (moderators): `max_uses`, `expires_in` seconds.
pub async fn create_invite(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    let max_uses = params.int("max_uses")?;
    if max_uses.is_some_and(|n| !(1..=10_000).contains(&n)) {
        return Err(validation("max_uses must be between 1 and 10000"));
    }
    let expires_in = params.int("expires_in")?;
    if expires_in.is_some_and(|s| !(60..=31_536_000).contains(&s)) {
        return Err(validation(
            "expires_in must be between 60 seconds and one year",
        ));
    }
    let expires_at = expires_in.map(|s| cohort_store::now_ms() + s * 1000);
    let invite = state
        .store
        .create_invite(community.id, auth.account.id, max_uses, expires_at)
        .await?;
    Ok(Json(json!({
        "code": invite.code,
        "url": format!(
            "{}/@{}?invite={}",
            state.settings.base_url, community.account.username, invite.code
        ),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "expires_at": invite.expires_at.map(datetime),
    })))
}

/// Joins as the community's membership mode allows and answers with the Community JSON;
/// shared with `POST /api/v1/accounts/:id/follow` on a Group.
pub async fn join_as(
    state: &ApiState,
    auth: &Authenticated,
    community: &CommunityRecord,
    code: Option<&str>,
) -> ApiResult<JoinOutcome> {
    if !community.is_local() {
        // A community hosted elsewhere: follow its Group; its instance answers with Accept
        // (then this account is a member here too) or Reject.
        let group = community.account.id;
        let existing = state.store.relationship(auth.account.id, group).await?;
        if existing.following {
            return Ok(JoinOutcome::Joined);
        }
        if !existing.requested {
            state
                .store
                .set_follow(auth.account.id, group, cohort_store::FollowState::Requested)
                .await?;
            crate::routes::accounts::tell_remote_account(
                state,
                cohort_store::OutboxKind::Follow,
                auth.account.id,
                group,
            )
            .await?;
        }
        return Ok(JoinOutcome::Requested);
    }
    let outcome = state
        .store
        .join_community(community, auth.account.id, code)
        .await?;
    match outcome {
        JoinOutcome::Banned => Err(ApiError::Forbidden(
            "You are banned from this community".into(),
        )),
        JoinOutcome::InviteRequired => Err(ApiError::Forbidden(
            "This community needs an invite code to join".into(),
        )),
        JoinOutcome::InviteInvalid => {
            Err(validation("the invite code is unknown, used up or expired"))
        }
        JoinOutcome::TooManyRequests => Err(ApiError::TooManyRequests(format!(
            "Too many join requests: at most {} an hour",
            cohort_store::JOIN_REQUESTS_PER_HOUR
        ))),
        JoinOutcome::Requested => {
            for moderator in state.store.community_moderators(community.id).await? {
                state
                    .store
                    .notify(moderator.account, auth.account.id, "follow_request", None)
                    .await?;
            }
            Ok(outcome)
        }
        JoinOutcome::Joined => Ok(outcome),
    }
}

/// `POST /api/v1/communities/:id/join` (`code` for invite communities).
pub async fn join(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    let code = params.string("code");
    join_as(&state, &auth, &community, code.as_deref()).await?;
    let community = state.store.community(community.id).await?;
    Ok(Json(
        community_json(&state, &community, &auth.viewer()).await?,
    ))
}

/// `POST /api/v1/communities/:id/leave`.
pub async fn leave(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    let member = standing(&state, &community, &auth.viewer()).await?;
    if member
        .as_ref()
        .is_some_and(|m| m.is_member() && m.role == cohort_model::CommunityRole::Owner)
    {
        return Err(validation(
            "the owner cannot leave; hand the community to another owner first",
        ));
    }
    if community.is_local() {
        state
            .store
            .leave_community(&community, auth.account.id)
            .await?;
    } else {
        // A community hosted elsewhere: undo the follow of its Group there too.
        let group = community.account.id;
        let existing = state.store.relationship(auth.account.id, group).await?;
        state.store.remove_follow(auth.account.id, group).await?;
        if existing.following || existing.requested {
            crate::routes::accounts::tell_remote_account(
                &state,
                cohort_store::OutboxKind::UndoFollow,
                auth.account.id,
                group,
            )
            .await?;
        }
    }
    let community = state.store.community(community.id).await?;
    Ok(Json(
        community_json(&state, &community, &auth.viewer()).await?,
    ))
}

/// `GET /api/v1/communities/:id/moderators`.
pub async fn moderators(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    let ids: Vec<Id> = state
        .store
        .community_moderators(community.id)
        .await?
        .iter()
        .map(|m| m.account)
        .collect();
    Ok(Json(Value::Array(accounts_json(&state, &ids).await?)))
}

async fn set_moderator(
    state: ApiState,
    auth: Authenticated,
    id: String,
    account: Id,
    moderator: bool,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_owner(&state, &community, &auth).await?;
    state.store.account_by_id(account).await?;
    if !state
        .store
        .set_community_moderator(community.id, account, moderator)
        .await?
    {
        return Err(validation(
            "only current members (other than the owner) can be made or unmade moderators",
        ));
    }
    let ids: Vec<Id> = state
        .store
        .community_moderators(community.id)
        .await?
        .iter()
        .map(|m| m.account)
        .collect();
    Ok(Json(Value::Array(accounts_json(&state, &ids).await?)))
}

/// `POST /api/v1/communities/:id/moderators` (`account_id`; owner or admin).
pub async fn add_moderator(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let account = params
        .string("account_id")
        .ok_or_else(|| validation("account_id is required"))?;
    let account = account
        .parse::<Id>()
        .map_err(|_| validation("account_id is not an id"))?;
    set_moderator(state, auth, id, account, true).await
}

/// `DELETE /api/v1/communities/:id/moderators/:account_id` (owner or admin).
pub async fn remove_moderator(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, account)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let account = parse_id(&account)?;
    set_moderator(state, auth, id, account, false).await
}

/// `POST /api/v1/communities/:id/bans` (`account_id`, `reason`, `expires_in`; moderators).
/// Only the owner (or an admin) may ban a moderator.
pub async fn ban(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    let account = params
        .string("account_id")
        .ok_or_else(|| validation("account_id is required"))?
        .parse::<Id>()
        .map_err(|_| validation("account_id is not an id"))?;
    state.store.account_by_id(account).await?;
    if account == auth.account.id {
        return Err(validation("you cannot ban yourself"));
    }
    let target = state.store.membership(community.id, account).await?;
    if target.as_ref().is_some_and(MemberRecord::can_moderate) {
        require_owner(&state, &community, &auth).await?;
    }
    let reason = bounded_text(&params, "reason", 1000)?.unwrap_or_default();
    let expires_in = params.int("expires_in")?;
    if expires_in.is_some_and(|s| s < 60) {
        return Err(validation("expires_in must be at least 60 seconds"));
    }
    let expires_at = expires_in.map(|s| cohort_store::now_ms() + s * 1000);
    if !state
        .store
        .ban_from_community(&community, auth.account.id, account, &reason, expires_at)
        .await?
    {
        return Err(validation("the owner cannot be banned"));
    }
    let banned = state.store.membership(community.id, account).await?;
    Ok(Json(json!({
        "account": account_json(&state, account).await?,
        "reason": reason,
        "expires_at": banned.and_then(|m| m.ban_expires_at).map(datetime),
    })))
}

/// `DELETE /api/v1/communities/:id/bans/:account_id` (moderators).
pub async fn unban(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, account)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    let account = parse_id(&account)?;
    if !state
        .store
        .unban_from_community(community.id, auth.account.id, account)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/communities/:id/statuses/:status_id` (`reason`; moderators): removes a
/// post from the community, and its replies stay but lose their thread.
pub async fn remove_status(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, status)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    let status = parse_id(&status)?;
    let reason = bounded_text(&params, "reason", 1000)?.unwrap_or_default();
    if !community.is_local() {
        return remove_from_remote_community(&state, &auth, &community, status, &reason).await;
    }
    require_moderator(&state, &community, &auth).await?;
    if !state
        .store
        .remove_from_community(
            community.id,
            status,
            auth.account.id,
            &reason,
            cohort_store::RemovalNotice::RelayFromGroup(community.account.id),
        )
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({})))
}

/// A local moderator of a community hosted elsewhere removes a post: the community's own
/// moderator list (its Group's `attributedTo`, fetched now) must name them; the post goes
/// here at once and a `Delete` with the reason goes to the Group, which relays it to every
/// member's instance.
async fn remove_from_remote_community(
    state: &ApiState,
    auth: &Authenticated,
    community: &CommunityRecord,
    status: Id,
    reason: &str,
) -> ApiResult<Json<Value>> {
    let federation = state
        .federation
        .as_ref()
        .ok_or_else(|| ApiError::internal("federation is not running"))?;
    let moderators = federation
        .remote_moderators(&community.account.actor_uri)
        .await
        .map_err(|e| {
            ApiError::Unprocessable(format!(
                "The community's moderator list could not be fetched: {e}"
            ))
        })?;
    if !moderators.contains(&auth.account.actor_uri) {
        return Err(ApiError::Forbidden(
            "Only this community's moderators may do that".into(),
        ));
    }
    let record = state.store.status(status).await?;
    if record.facts.audience.community != Some(community.id) {
        return Err(ApiError::NotFound);
    }
    if !state
        .store
        .remove_from_community(
            community.id,
            status,
            auth.account.id,
            reason,
            cohort_store::RemovalNotice::ToRemoteGroup(community.account.id),
        )
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({})))
}

async fn pin_status(
    state: ApiState,
    auth: Authenticated,
    id: String,
    status: String,
    pinned: bool,
) -> ApiResult<Json<Value>> {
    auth.require("write")?;
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    require_moderator(&state, &community, &auth).await?;
    let status = parse_id(&status)?;
    if !state
        .store
        .set_community_pin(community.id, status, pinned)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let rendered = visible_statuses(&state, &auth.viewer(), &[status]).await?;
    Ok(Json(rendered.into_iter().next().unwrap_or(Value::Null)))
}

/// `POST /api/v1/communities/:id/statuses/:status_id/pin` (moderators).
pub async fn pin(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, status)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    pin_status(state, auth, id, status, true).await
}

/// `POST /api/v1/communities/:id/statuses/:status_id/unpin` (moderators).
pub async fn unpin(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((id, status)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    pin_status(state, auth, id, status, false).await
}

/// `GET /api/v1/communities/:id/statuses` (`pinned=true` for featured threads): the
/// community's threads, each through the read gate, so a members-only community shows
/// nothing to anyone else.
pub async fn statuses(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require_if_present("read:statuses")?;
    let viewer = auth.viewer();
    let community = visible_community(&state, &id, &viewer).await?;
    let ids = if params.bool("pinned")?.unwrap_or(false) {
        state.store.community_pins(community.id).await?
    } else {
        state
            .store
            .community_thread_ids(community.id, page(&params, 40)?)
            .await?
    };
    let shown = visible_statuses(&state, &viewer, &ids).await?;
    let headers = link_header(
        &state,
        &format!("/api/v1/communities/{}/statuses", community.id),
        "",
        &shown,
    );
    Ok((headers, Json(Value::Array(shown))))
}

/// `GET /api/v1/directory` (`local`, `order` = `active`|`new`, `offset`, `limit`): Mastodon's
/// profile directory. On Cohort it lists the accounts that opted in to discovery: mostly
/// communities, whose `followers_count` is their member count, and institutions.
pub async fn directory(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let limit = params.int("limit")?.unwrap_or(40).clamp(1, 80);
    let offset = params.int("offset")?.unwrap_or(0).max(0);
    let recently_active = match params.string("order").as_deref() {
        None | Some("") | Some("active") => true,
        Some("new") => false,
        Some(other) => {
            return Err(validation(&format!(
                "order {other:?} is not one of active, new"
            )));
        }
    };
    let local = params.bool("local")?.unwrap_or(false);
    let ids = state
        .store
        .directory_account_ids(local, recently_active, offset, limit)
        .await?;
    Ok(Json(Value::Array(accounts_json(&state, &ids).await?)))
}
