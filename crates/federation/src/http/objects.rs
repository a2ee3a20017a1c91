//! GET handlers: discovery, actors, statuses and collections.

use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cohort_model::{CommunityVisibility, Id, Visibility};
use cohort_policy::{Viewer, can_see};
use cohort_store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FederationState, Refusal, instance_key_id, wants_activity_json};
use crate::render::{self, AS_CONTEXT, NoteSource, PUBLIC, SECURITY_CONTEXT};

const ACTIVITY_JSON: &str = "application/activity+json; charset=utf-8";

pub(crate) fn activity_json(value: Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(ACTIVITY_JSON),
        )],
        Json(value),
    )
        .into_response()
}

/// The `@context` of actor documents: AS, security (for `publicKey`) and the toot terms used.
fn actor_context() -> Value {
    json!([
        AS_CONTEXT,
        SECURITY_CONTEXT,
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "webfinger": "https://purl.archive.org/socialweb/webfinger#webfinger",
            "cohort": crate::attestation::COHORT_NAMESPACE,
            "clinicianAttestation": {"@id": "cohort:clinicianAttestation", "@type": "@id"},
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// `?resource=`.
#[derive(Deserialize)]
pub(crate) struct ResourceQuery {
    resource: Option<String>,
}

/// `GET /.well-known/webfinger?resource=acct:NAME@DOMAIN` (or the actor's URL).
pub(crate) async fn webfinger(
    State(state): State<FederationState>,
    Query(query): Query<ResourceQuery>,
) -> Result<Response, Refusal> {
    let Some(resource) = query.resource else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "resource is required",
        ));
    };
    let domain = state.config().domain.as_str().to_owned();
    let urls = state.urls().clone();
    let username = if let Some(acct) = resource.strip_prefix("acct:") {
        let acct = acct.trim_start_matches('@');
        let (name, host) = acct
            .rsplit_once('@')
            .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "acct without a host"))?;
        if !host.eq_ignore_ascii_case(&domain) {
            return Err(Refusal::new(StatusCode::NOT_FOUND, "not this domain"));
        }
        name.to_owned()
    } else if resource == urls.instance_actor() {
        domain.clone()
    } else if let Some(name) = state.local_username_of(&resource) {
        name
    } else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "unknown resource"));
    };
    let body = if username.eq_ignore_ascii_case(&domain) {
        let actor = urls.instance_actor();
        json!({
            "subject": format!("acct:{domain}@{domain}"),
            "aliases": [actor],
            "links": [
                {"rel": "self", "type": "application/activity+json", "href": actor},
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                 "href": format!("{}/about", urls.base())}
            ]
        })
    } else {
        let Some(profile) = state.store().local_actor_profile(&username).await? else {
            return Err(Refusal::new(StatusCode::NOT_FOUND, "no such account"));
        };
        if profile.suspended {
            return Err(Refusal::new(StatusCode::GONE, "suspended"));
        }
        let page = profile
            .url
            .clone()
            .unwrap_or_else(|| format!("{}/@{}", urls.base(), profile.username));
        json!({
            "subject": format!("acct:{}@{domain}", profile.username),
            "aliases": [profile.actor_uri, page],
            "links": [
                {"rel": "self", "type": "application/activity+json", "href": profile.actor_uri},
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": page}
            ]
        })
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jrd+json; charset=utf-8"),
        )],
        Json(body),
    )
        .into_response())
}

/// `GET /.well-known/host-meta`: the lrdd template pointing at WebFinger.
pub(crate) async fn host_meta(State(state): State<FederationState>) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        state.urls().base()
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
        )],
        xml,
    )
        .into_response()
}

/// `GET /.well-known/nodeinfo`.
pub(crate) async fn nodeinfo_links(State(state): State<FederationState>) -> Json<Value> {
    let base = state.urls().base();
    Json(json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0")},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1")}
        ]
    }))
}

async fn nodeinfo(state: &FederationState, version: &str) -> Result<Response, Refusal> {
    let users = state.store().count_local_accounts().await?;
    let posts = state.store().count_open_local_statuses(None).await?;
    let mut software = json!({"name": "cohort", "version": env!("CARGO_PKG_VERSION")});
    if version == "2.1" {
        software["repository"] = json!("https://cohort.example/cohort");
        software["homepage"] = json!("https://cohort.example/cohort");
    }
    let body = json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": state.config().open_registrations,
        "usage": {"users": {"total": users}, "localPosts": posts},
        "metadata": {
            "nodeName": state.config().node_name,
            "upstream": {"name": "mastodon"},
            "features": ["communities", "audience_rules"],
            "federation": {"authorizedFetch": state.config().authorized_fetch}
        }
    });
    let profile = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    let mut response = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&profile) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(response)
}

/// `GET /nodeinfo/2.0`.
pub(crate) async fn nodeinfo_20(State(state): State<FederationState>) -> Result<Response, Refusal> {
    nodeinfo(&state, "2.0").await
}

/// `GET /nodeinfo/2.1`.
pub(crate) async fn nodeinfo_21(State(state): State<FederationState>) -> Result<Response, Refusal> {
    nodeinfo(&state, "2.1").await
}

/// `GET /actor`: the instance actor, an `Application`, served unsigned (otherwise two
/// authorized-fetch servers loop fetching each other's keys).
pub(crate) async fn instance_actor(State(state): State<FederationState>) -> Response {
    let urls = state.urls();
    let id = urls.instance_actor();
    let domain = state.config().domain.as_str();
    activity_json(json!({
        "@context": actor_context(),
        "id": id,
        "type": "Application",
        "preferredUsername": domain,
        "name": domain,
        "summary": "",
        "url": format!("{}/about", urls.base()),
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": true,
        "discoverable": false,
        "indexable": false,
        "publicKey": {
            "id": instance_key_id(urls),
            "owner": id,
            "publicKeyPem": state.instance_public_key_pem()
        }
    }))
}

/// `GET /users/{name}`: the actor document (unsigned GETs get it too: peers need the key),
/// or a minimal HTML page for browsers.
pub(crate) async fn actor(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let Some(profile) = state.store().local_actor_profile(&name).await? else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "no such account"));
    };
    if profile.suspended {
        return Err(Refusal::new(StatusCode::GONE, "suspended"));
    }
    let community = if profile.is_group {
        state.store().community_of_group(profile.id).await?
    } else {
        None
    };
    if community
        .as_ref()
        .is_some_and(|c| c.visibility == CommunityVisibility::Local)
    {
        // A `local` community is never federated: its Group does not exist outside.
        return Err(Refusal::new(StatusCode::NOT_FOUND, "no such account"));
    }
    let urls = state.urls();
    let page = profile
        .url
        .clone()
        .unwrap_or_else(|| format!("{}/@{}", urls.base(), profile.username));
    if !wants_activity_json(&headers) {
        let html = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{name}</title>\
             <link rel=\"alternate\" type=\"application/activity+json\" href=\"{actor}\"></head>\
             <body><h1>{name}</h1><p>@{user}@{domain}</p><p><a href=\"{page}\">Profile</a></p></body></html>",
            name = ammonia::clean_text(if profile.display_name.is_empty() {
                &profile.username
            } else {
                &profile.display_name
            }),
            actor = ammonia::clean_text(&profile.actor_uri),
            user = ammonia::clean_text(&profile.username),
            domain = state.config().domain,
            page = ammonia::clean_text(&page),
        );
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response());
    }
    let body = actor_document(
        state.store(),
        urls,
        &state.config().domain,
        &profile,
        community.as_ref(),
    )
    .await?;
    Ok(activity_json(body))
}

/// The viewer of a GET: `Some` when signed (verified), `None` when unsigned. A bad
/// signature is refused (401).
pub(crate) async fn viewer_of(
    state: &FederationState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<Option<Viewer>, Refusal> {
    if !headers.contains_key("signature")
        && !headers.contains_key("signature-input")
        && !headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.len() > 10 && v[..10].eq_ignore_ascii_case("signature "))
    {
        return Ok(None);
    }
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let signed = state.verify_signature(method, path, headers, None).await?;
    Ok(Some(state.viewer_for(&signed).await?))
}

/// `GET /users/{name}/statuses/{id}`: a `Note`, if the read gate lets the signer see it.
pub(crate) async fn status(
    State(state): State<FederationState>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let not_found = || Refusal::new(StatusCode::NOT_FOUND, "not found");
    let id: Id = id.parse().map_err(|_| not_found())?;
    let record = match state.store().status(id).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let author = state.store().account_by_id(record.facts.author.id).await?;
    if !record.facts.is_local()
        || !author.username.eq_ignore_ascii_case(&name)
        || record.reblog_of_id.is_some()
    {
        return Err(not_found());
    }
    let viewer = viewer_of(&state, &method, &uri, &headers).await?;
    let open = record.facts.audience.is_open() && !record.facts.held;
    if record.facts.deleted {
        // Only open posts say they existed; a deleted restricted post is simply not found.
        if !open {
            return Err(not_found());
        }
        return Ok((
            StatusCode::GONE,
            activity_json(json!({
                "@context": AS_CONTEXT,
                "id": record.uri,
                "type": "Tombstone"
            })),
        )
            .into_response());
    }
    let viewer = match viewer {
        Some(v) => v,
        None if state.config().authorized_fetch => {
            return Err(if open {
                Refusal::new(StatusCode::UNAUTHORIZED, "signature required")
            } else {
                not_found()
            });
        }
        None => Viewer::Anonymous,
    };
    let facts = state
        .store()
        .facts_for_viewer(&viewer, &[&record.facts])
        .await?;
    let Ok(visible) = can_see(&facts, &viewer, &record) else {
        return Err(not_found());
    };
    if !wants_activity_json(&headers) {
        let page = visible
            .get()
            .url
            .clone()
            .unwrap_or_else(|| state.urls().status_page(&author.username, id));
        return Ok(Redirect::to(&page).into_response());
    }
    let record = visible.into_inner();
    let actor_uri = author.actor_uri.clone();
    let followers = format!("{actor_uri}/followers");
    let mut mentions = Vec::new();
    for account in &record.facts.addressed {
        if let Ok(a) = state.store().account_by_id(*account).await {
            let acct = match &a.domain {
                Some(d) => format!("@{}@{d}", a.username),
                None => format!("@{}@{}", a.username, state.config().domain),
            };
            mentions.push(render::Mention {
                href: a.actor_uri,
                name: acct,
            });
        }
    }
    let in_reply_to = match record.in_reply_to_id {
        Some(parent) => state.store().status(parent).await.ok().map(|p| p.uri),
        None => None,
    };
    let audience = match record.facts.audience.community {
        Some(community) => Some(state.store().community(community).await?.account.actor_uri),
        None => None,
    };
    let source = NoteSource {
        id: record.uri.clone(),
        url: record.url.clone(),
        attributed_to: actor_uri.clone(),
        audience,
        content_html: record.content_html.clone(),
        summary: record.spoiler_text.clone(),
        sensitive: record.sensitive,
        language: record.language.clone(),
        in_reply_to,
        published_ms: record.created_at,
        updated_ms: record.edited_at,
        poll: state
            .store()
            .polls_of(&[record.facts.id])
            .await?
            .get(&record.facts.id)
            .map(|p| render::QuestionSource::of(p, cohort_store::now_ms())),
        mentions: mentions.clone(),
        attachments: render::attachments(
            state.urls(),
            &state
                .store()
                .media_of_statuses(&[record.facts.id])
                .await?
                .remove(&record.facts.id)
                .unwrap_or_default(),
        ),
    };
    let mentioned: Vec<String> = mentions.iter().map(|m| m.href.clone()).collect();
    let (to, cc): (Vec<String>, Vec<String>) = match record.facts.audience.visibility {
        Visibility::Public => (vec![PUBLIC.to_owned()], {
            let mut cc = vec![followers];
            cc.extend(mentioned);
            cc
        }),
        Visibility::Unlisted => (vec![followers], {
            let mut cc = vec![PUBLIC.to_owned()];
            cc.extend(mentioned);
            cc
        }),
        Visibility::Followers => (vec![followers], mentioned),
        _ => (mentioned, Vec::new()),
    };
    let mut note = render::note(&source);
    if let Value::Object(map) = &mut note {
        map.insert("@context".into(), render::context());
        map.insert("to".into(), json!(to));
        map.insert("cc".into(), json!(cc));
        let tags: Vec<Value> = mentions
            .iter()
            .map(|m| json!({"type": "Mention", "href": m.href, "name": m.name}))
            .collect();
        map.insert("tag".into(), Value::Array(tags));
    }
    Ok(activity_json(note))
}

enum Collection {
    Outbox,
    Followers,
    Following,
    Featured,
    Moderators,
}

/// Collections show counts only, never items (so no non-public item can leak through one),
/// except a community's moderators and its featured public threads.
async fn collection(
    state: &FederationState,
    name: &str,
    which: Collection,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<Response, Refusal> {
    let Some(profile) = state.store().local_actor_profile(name).await? else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "no such account"));
    };
    if profile.suspended {
        return Err(Refusal::new(StatusCode::GONE, "suspended"));
    }
    let viewer = viewer_of(state, method, uri, headers).await?;
    if viewer.is_none() && state.config().authorized_fetch {
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, "signature required"));
    }
    let counts = state.store().account_counts(profile.id).await?;
    let (suffix, total) = match which {
        Collection::Outbox => (
            "outbox",
            state
                .store()
                .count_open_local_statuses(Some(profile.id))
                .await?,
        ),
        Collection::Followers => ("followers", counts.followers),
        Collection::Following => ("following", counts.following),
        Collection::Featured => ("collections/featured", 0),
        Collection::Moderators => ("moderators", 0),
    };
    let mut body = json!({
        "@context": AS_CONTEXT,
        "id": format!("{}/{suffix}", profile.actor_uri),
        "type": "OrderedCollection",
        "totalItems": total,
    });
    if matches!(which, Collection::Featured | Collection::Moderators) {
        body["orderedItems"] = json!([]);
    }
    if profile.is_group
        && let Some(community) = state.store().community_of_group(profile.id).await?
    {
        let items: Vec<String> = match which {
            Collection::Moderators => {
                let mut uris = Vec::new();
                for m in state.store().community_moderators(community.id).await? {
                    uris.push(state.store().account_by_id(m.account).await?.actor_uri);
                }
                uris
            }
            Collection::Featured => {
                let mut uris = Vec::new();
                for s in state.store().community_pins(community.id).await? {
                    let record = state.store().status(s).await?;
                    if record.facts.audience.is_open() {
                        uris.push(record.uri);
                    }
                }
                uris
            }
            _ => Vec::new(),
        };
        if matches!(which, Collection::Moderators | Collection::Featured) {
            body["totalItems"] = json!(items.len());
            body["orderedItems"] = json!(items);
        }
    }
    Ok(activity_json(body))
}

/// `GET /users/{name}/outbox`.
pub(crate) async fn outbox(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    collection(&state, &name, Collection::Outbox, &method, &uri, &headers).await
}

/// `GET /users/{name}/followers`.
pub(crate) async fn followers(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    collection(
        &state,
        &name,
        Collection::Followers,
        &method,
        &uri,
        &headers,
    )
    .await
}

/// `GET /users/{name}/following`.
pub(crate) async fn following(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    collection(
        &state,
        &name,
        Collection::Following,
        &method,
        &uri,
        &headers,
    )
    .await
}

/// `GET /users/{name}/moderators`: a community's moderators (its Group's `attributedTo`).
pub(crate) async fn moderators(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    collection(
        &state,
        &name,
        Collection::Moderators,
        &method,
        &uri,
        &headers,
    )
    .await
}

/// `GET /users/{name}/collections/featured`.
pub(crate) async fn featured(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    collection(&state, &name, Collection::Featured, &method, &uri, &headers).await
}

/// The ActivityStreams document of a local actor (a Person, a Service for bots, or a
/// community's Group), as served at its id and sent in an actor `Update`.
pub(crate) async fn actor_document(
    store: &cohort_store::Store,
    urls: &crate::urls::LocalUrls,
    domain: &cohort_model::Domain,
    profile: &cohort_store::LocalActorProfile,
    community: Option<&cohort_store::CommunityRecord>,
) -> Result<Value, StoreError> {
    let page = profile
        .url
        .clone()
        .unwrap_or_else(|| format!("{}/@{}", urls.base(), profile.username));
    let id = &profile.actor_uri;
    let kind = if community.is_some() {
        "Group"
    } else if profile.bot {
        "Service"
    } else {
        "Person"
    };
    let mut body = json!({
        "@context": actor_context(),
        "id": id,
        "type": kind,
        "preferredUsername": profile.username,
        "name": profile.display_name,
        "summary": if profile.is_group { profile.note.clone() } else { render::bio_html(&profile.note) },
        "attachment": render::profile_attachments(&profile.fields),
        "url": page,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "following": format!("{id}/following"),
        "featured": format!("{id}/collections/featured"),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": profile.locked,
        "discoverable": profile.discoverable,
        "indexable": profile.indexable,
        "published": render::timestamp(profile.created_at),
        "webfinger": format!("{}@{}", profile.username, domain),
        "publicKey": {
            "id": profile.key_id,
            "owner": id,
            "publicKeyPem": profile.public_key_pem
        }
    });
    if let (Some(community), Value::Object(map)) = (community, &mut body) {
        // FEP-1b12 / Lemmy: the moderators collection, who may post, and the rules.
        map.insert("attributedTo".into(), json!(format!("{id}/moderators")));
        map.insert("postingRestrictedToMods".into(), json!(false));
        if !community.rules.is_empty() {
            let rules: String = community
                .rules
                .iter()
                .map(|r| format!("<li>{}</li>", ammonia::clean_text(r)))
                .collect();
            map.insert("rules".into(), json!(format!("<ol>{rules}</ol>")));
        }
        if let Some(language) = &community.language {
            map.insert(
                "language".into(),
                json!([{"identifier": language, "name": language}]),
            );
        }
    }
    if community.is_none() {
        crate::attestation::add_clinician_claim(store, profile, &mut body).await?;
    }
    Ok(body)
}
