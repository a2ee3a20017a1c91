//! Applying a verified, queued activity to the store.
//!
//! Each activity type maps to store writes; anything unknown or irrelevant is dropped.
//! Store errors and network failures are transient (the item is retried later); an
//! activity that can never apply (unknown target, wrong author) is permanent (dropped).

use cohort_model::{Id, Visibility};
use cohort_policy::Audience;
use cohort_store::{FollowState, InboxItem, NewOutboxEvent, NewStatus, OutboxKind, StoreError};

use super::activity::{Object, POST_TYPES, Reference};
use super::community;
use super::sanitize::{plain_summary, sanitize_html, with_title};
use crate::http::fetch::FetchError;
use crate::http::{FederationState, ResolveError, domain_of};

/// Why an activity was not applied.
#[derive(Debug)]
pub enum ProcessError {
    /// Try again later (store or network trouble).
    Transient(String),
    /// It can never apply; drop it.
    Permanent(String),
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        ProcessError::Transient(e.to_string())
    }
}

impl From<FetchError> for ProcessError {
    fn from(e: FetchError) -> Self {
        if e.is_transient() {
            ProcessError::Transient(e.to_string())
        } else {
            ProcessError::Permanent(e.to_string())
        }
    }
}

impl From<ResolveError> for ProcessError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Store(s) => s.into(),
            ResolveError::Fetch(f) => f.into(),
            ResolveError::Invalid(why) => ProcessError::Permanent(why),
        }
    }
}

pub(super) fn permanent(why: impl Into<String>) -> ProcessError {
    ProcessError::Permanent(why.into())
}

pub(super) type Result<T> = std::result::Result<T, ProcessError>;

/// Applies one queued activity.
pub(crate) async fn apply(state: &FederationState, item: &InboxItem) -> Result<()> {
    let activity = Object::parse_activity(item.activity_json.as_bytes())
        .map_err(|e| permanent(e.to_string()))?;
    let actor_uri = item.actor_uri.as_str();
    let actor = state.resolve_actor(actor_uri).await?;
    if state
        .store()
        .account_by_id(actor)
        .await?
        .suspended_at
        .is_some()
    {
        return Err(permanent("actor is suspended"));
    }
    match activity.kind() {
        "Follow" => follow(state, &activity, actor).await,
        "Accept" => accept_or_reject(state, &activity, actor, true).await,
        "Reject" => accept_or_reject(state, &activity, actor, false).await,
        "Undo" => undo(state, &activity, actor).await,
        "Create" => create(state, &activity, actor_uri, actor).await,
        "Update" => update(state, &activity, actor_uri, actor).await,
        "Delete" => delete(state, &activity, actor_uri, actor).await,
        "Announce" => announce(state, &activity, actor_uri, actor).await,
        "Like" | "EmojiReact" => like(state, &activity, actor).await,
        "Block" => block(state, &activity, actor).await,
        "Move" => move_actor(state, &activity, actor_uri, actor).await,
        "Flag" => super::flag::apply(state, &activity, actor_uri, actor).await,
        "Resolve" => super::flag::resolution(state, &activity, actor_uri).await,
        crate::aggregates::CONTRIBUTION => {
            crate::aggregates::apply(state, &activity, &item.activity_json, actor_uri).await
        }
        other => {
            tracing::debug!(kind = other, "inbound activity type not handled");
            Ok(())
        }
    }
}

/// The local account a local actor URL names.
async fn local_account(state: &FederationState, uri: &str) -> Result<Option<Id>> {
    let Some(name) = state.local_username_of(uri) else {
        return Ok(None);
    };
    match state.store().local_actor_profile(&name).await? {
        Some(p) if !p.suspended => Ok(Some(p.id)),
        _ => Ok(None),
    }
}

async fn follow(state: &FederationState, activity: &Object, actor: Id) -> Result<()> {
    let target = activity
        .first_object()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("Follow without object"))?;
    let Some(local) = local_account(state, target).await? else {
        return Err(permanent("Follow of an unknown local account"));
    };
    let store = state.store();
    if let Some(community) = store.community_of_group(local).await? {
        return community::follow_group(state, activity, actor, &community).await;
    }
    let relationship = store.relationship(local, actor).await?;
    if relationship.blocking || relationship.blocked_by {
        // No follow row is written, so the Reject carries the Follow's id itself.
        store
            .enqueue_follow_answer(
                &NewOutboxEvent {
                    kind: OutboxKind::RejectFollow,
                    actor: local,
                    status: None,
                    target_account: Some(actor),
                },
                activity.id.as_deref(),
            )
            .await?;
        return Ok(());
    }
    let locked = store.account_by_id(local).await?.locked;
    let already_accepted = relationship.followed_by;
    let follow_state = if locked && !already_accepted {
        FollowState::Requested
    } else {
        FollowState::Accepted
    };
    store.set_follow(actor, local, follow_state).await?;
    if let Some(id) = &activity.id {
        store.set_follow_uri(actor, local, id).await?;
    }
    let kind = match follow_state {
        FollowState::Accepted => "follow",
        FollowState::Requested => "follow_request",
    };
    store.notify(local, actor, kind, None).await?;
    if follow_state == FollowState::Accepted {
        store
            .enqueue_follow_answer(
                &NewOutboxEvent {
                    kind: OutboxKind::AcceptFollow,
                    actor: local,
                    status: None,
                    target_account: Some(actor),
                },
                activity.id.as_deref(),
            )
            .await?;
    }
    Ok(())
}

/// Accept/Reject of one of our follows. The object is the Follow (embedded: its actor is
/// the local follower) or its IRI (Akkoma): our `/activities/EVENT` id names the event.
async fn accept_or_reject(
    state: &FederationState,
    activity: &Object,
    actor: Id,
    accepted: bool,
) -> Result<()> {
    let object = activity
        .first_object()
        .ok_or_else(|| permanent("Accept/Reject without object"))?;
    let follower = match object {
        Reference::Object(follow) => match follow.actor_id() {
            Some(uri) => local_account(state, uri).await?,
            None => None,
        },
        Reference::Iri(iri) => {
            let prefix = format!("{}/activities/", state.urls().base());
            match iri.strip_prefix(&prefix).and_then(|n| n.parse::<Id>().ok()) {
                Some(event) => state
                    .store()
                    .outbox_event(event)
                    .await?
                    .filter(|e| e.kind == OutboxKind::Follow && e.target_account == Some(actor))
                    .and_then(|e| e.actor),
                None => None,
            }
        }
    };
    let Some(follower) = follower else {
        return Err(permanent("Accept/Reject of a follow that is not ours"));
    };
    let relationship = state.store().relationship(follower, actor).await?;
    if accepted {
        if relationship.requested {
            state
                .store()
                .set_follow(follower, actor, FollowState::Accepted)
                .await?;
        }
    } else if relationship.requested || relationship.following {
        state.store().remove_follow(follower, actor).await?;
    }
    Ok(())
}

async fn undo(state: &FederationState, activity: &Object, actor: Id) -> Result<()> {
    let object = activity
        .first_object()
        .ok_or_else(|| permanent("Undo without object"))?;
    let store = state.store();
    match object {
        Reference::Object(inner) => match inner.kind() {
            "Follow" => {
                if let Some(target) = inner.first_object().and_then(Reference::id)
                    && let Some(local) = local_account(state, target).await?
                {
                    match store.community_of_group(local).await? {
                        // Leaving a community hosted here.
                        Some(community) => {
                            store.leave_community(&community, actor).await?;
                        }
                        None => store.remove_follow(actor, local).await?,
                    }
                }
                Ok(())
            }
            "Block" => {
                if let Some(target) = inner.first_object().and_then(Reference::id)
                    && let Some(local) = local_account(state, target).await?
                {
                    store.unblock(actor, local).await?;
                }
                Ok(())
            }
            "Like" | "EmojiReact" => {
                if let Some(status) = inner.first_object().and_then(Reference::id)
                    && let Some(status) = store.status_id_by_uri(status).await?
                {
                    store.remove_favourite(actor, status).await?;
                } else if let Some(id) = &inner.id {
                    store.remove_favourite_by_uri(actor, id).await?;
                }
                Ok(())
            }
            "Announce" => {
                let boost = match &inner.id {
                    Some(id) => store.status_id_by_uri(id).await?,
                    None => None,
                };
                let boost = match boost {
                    Some(b) => Some(b),
                    None => match inner.first_object().and_then(Reference::id) {
                        Some(original) => match store.status_id_by_uri(original).await? {
                            Some(o) => store.boost_by(actor, o).await?,
                            None => None,
                        },
                        None => None,
                    },
                };
                if let Some(boost) = boost
                    && store.status_author(boost).await? == Some(actor)
                {
                    delete_status(state, boost).await?;
                }
                Ok(())
            }
            _ => Ok(()),
        },
        Reference::Iri(iri) => {
            // Akkoma undoes by IRI: a favourite or a boost of this actor with that id.
            if store.remove_favourite_by_uri(actor, iri).await? {
                return Ok(());
            }
            if let Some(boost) = store.status_id_by_uri(iri).await?
                && store.status_author(boost).await? == Some(actor)
            {
                delete_status(state, boost).await?;
            }
            Ok(())
        }
    }
}

async fn delete_status(state: &FederationState, status: Id) -> Result<()> {
    match state.store().mark_status_deleted(status).await {
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The object of a Create/Update: embedded, or fetched from its origin by IRI.
async fn post_object(state: &FederationState, activity: &Object) -> Result<Object> {
    match activity.first_object() {
        Some(Reference::Object(o)) => Ok((**o).clone()),
        Some(Reference::Iri(iri)) => fetch_object(state, iri).await,
        None => Err(permanent("activity without object")),
    }
}

async fn fetch_object(state: &FederationState, iri: &str) -> Result<Object> {
    let document = state.fetcher().fetch(iri).await?;
    Object::from_value(document).map_err(|e| permanent(e.to_string()))
}

/// The local accounts a post addresses: in `to`, `cc` or a Mention tag.
async fn addressed_locals(state: &FederationState, object: &Object) -> Result<Vec<Id>> {
    let mut out = Vec::new();
    for iri in object
        .to_ids()
        .into_iter()
        .chain(object.cc_ids())
        .chain(object.mention_hrefs())
    {
        if let Some(local) = local_account(state, iri).await?
            && !out.contains(&local)
        {
            out.push(local);
        }
    }
    Ok(out)
}

/// Stores a remote post (if not known yet) and returns its id. `require_relevance` drops
/// posts no local account has a reason to see (not followed, not addressed, not a reply to
/// a known post), as Mastodon does.
pub(super) async fn store_post(
    state: &FederationState,
    object: &Object,
    author_uri: &str,
    author: Id,
    require_relevance: bool,
    relayed_by: Option<Id>,
) -> Result<Option<Id>> {
    if !POST_TYPES.contains(&object.kind()) {
        return Err(permanent(format!("not a post: {}", object.kind())));
    }
    let uri = object
        .id
        .as_deref()
        .ok_or_else(|| permanent("post without id"))?;
    if domain_of(uri) != domain_of(author_uri) {
        return Err(permanent("post is not on its author's host"));
    }
    let store = state.store();
    if let Some(known) = store.status_id_by_uri(uri).await? {
        return Ok(Some(known));
    }
    if object.content_html().is_none() && object.name.is_some() && object.in_reply_to.is_some() {
        // A poll vote (a Note with `name` and no content): not a post.
        record_vote(state, object, author, uri).await?;
        return Ok(None);
    }
    let addressed = addressed_locals(state, object).await?;
    let parent = match object.in_reply_to.as_ref().and_then(Reference::id) {
        Some(p) => store.status_id_by_uri(p).await?,
        None => None,
    };
    let community =
        community::community_of_post(state, object, &addressed, parent, relayed_by).await?;
    if let Some(c) = community.as_ref().filter(|c| c.is_local()) {
        community::admit(state, c, author).await?;
    }
    if require_relevance
        && addressed.is_empty()
        && parent.is_none()
        && community.is_none()
        && !store.has_local_follower(author).await?
    {
        tracing::debug!(post = uri, "post unrelated to any local account dropped");
        return Ok(None);
    }
    let followers = store_followers_uri(state, author).await?;
    let mut visibility = object.visibility(author_uri, followers.as_deref());
    let mut audience_community = None;
    if let Some(c) = &community {
        audience_community = Some(c.id);
        if c.visibility.is_members_only() {
            visibility = narrower(visibility, Visibility::Community);
        }
    }
    // Professional boundaries hold for remote senders too: a direct message does not reach
    // a clinician here who keeps them to colleagues (no row, no notification).
    let mut addressed = addressed;
    if visibility == Visibility::Direct && !addressed.is_empty() {
        let refused = super::urgent::refused_recipients(state, author, &addressed, parent).await?;
        if !refused.is_empty() {
            addressed.retain(|a| !refused.contains(a));
            if addressed.is_empty() {
                tracing::debug!(
                    post = uri,
                    "direct message outside a clinician's professional boundary dropped"
                );
                return Ok(None);
            }
        }
    }
    let summary = object
        .summary
        .as_deref()
        .map(plain_summary)
        .unwrap_or_default();
    let content = post_content(object);
    let new = NewStatus {
        id: store.next_id(),
        author,
        uri: uri.to_owned(),
        url: object.url_string().map(str::to_owned),
        local: false,
        audience: Audience {
            community: audience_community,
            ..Audience::new(visibility)
        },
        text_source: String::new(),
        content_html: content,
        sensitive: object.sensitive.unwrap_or(false) || !summary.is_empty(),
        spoiler_text: summary,
        language: object.language().map(str::to_owned),
        in_reply_to: parent,
        reblog_of: None,
        addressed,
        held_reason: None,
        expires_at: None,
    };
    // Attachments are kept by URL; nothing is downloaded. From a domain whose block has
    // `reject_media`, they are kept as plain links only (see `media_as_links`).
    let mut remote = object.remote_media();
    if !remote.is_empty()
        && let Some(domain) = domain_of(author_uri)
        && store.domain_rejects_media(&domain).await?
    {
        remote = media_as_links(remote);
    }
    let media = cohort_store::PostMedia {
        uploaded: Vec::new(),
        remote,
    };
    let created = match community.as_ref().filter(|c| c.is_local()) {
        // A post into a community hosted here: the Group relays it to the members and,
        // for a new thread, announces it.
        Some(c) => {
            let announcement = new.in_reply_to.is_none().then(|| {
                crate::communities::group_announcement(state.urls(), store.next_id(), c, &new)
            });
            store
                .create_community_post_with_media(
                    &new,
                    &media,
                    announcement.as_ref(),
                    Some(c.account.id),
                )
                .await
                .map(|record| (record.facts.id, record.facts.addressed))
        }
        // Shares its transaction with the posts other lanes store meanwhile.
        None => state
            .create_remote_post(new.clone(), media)
            .await
            .map(|()| (new.id, new.addressed.clone())),
    };
    match created {
        Ok((id, addressed)) => {
            let tags = object.hashtag_names();
            if !tags.is_empty() {
                store.index_status_tags(id, &tags).await?;
            }
            if let Some(poll) = object.remote_poll() {
                store_remote_poll(state, id, &poll).await?;
            }
            for local in &addressed {
                store.notify(*local, author, "mention", Some(id)).await?;
            }
            super::urgent::report_crisis(
                state,
                author,
                id,
                uri,
                &new.content_html,
                visibility,
                &addressed,
            )
            .await;
            Ok(Some(id))
        }
        Err(StoreError::Conflict(_)) => Ok(store.status_id_by_uri(uri).await?),
        Err(e) => Err(e.into()),
    }
}

/// Attachments from a domain that rejects media (`reject_media`), as Mastodon keeps them:
/// links of type `unknown`, with the alt text but without the announced content type, size or
/// blurhash, so that apps show a link to the origin instead of loading the file inline.
pub(super) fn media_as_links(
    media: Vec<cohort_store::NewRemoteMedia>,
) -> Vec<cohort_store::NewRemoteMedia> {
    media
        .into_iter()
        .map(|m| cohort_store::NewRemoteMedia {
            kind: "unknown".to_owned(),
            content_type: None,
            blurhash: None,
            width: None,
            height: None,
            ..m
        })
        .collect()
}

/// A remote `Question`'s poll, stored with the counts its origin sent (the origin counts
/// the votes; `Update(Question)` refreshes them).
async fn store_remote_poll(
    state: &FederationState,
    status: Id,
    poll: &super::activity::RemotePoll,
) -> Result<()> {
    let store = state.store();
    match store
        .create_poll(&cohort_store::NewPoll {
            status,
            options: poll.options.iter().map(|(name, _)| name.clone()).collect(),
            multiple: poll.multiple,
            hide_totals: false,
            expires_at: poll.end_ms,
        })
        .await
    {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let counts: Vec<i64> = poll.options.iter().map(|(_, n)| *n).collect();
    store
        .set_remote_poll_counts(status, &counts, poll.voters_count)
        .await?;
    Ok(())
}

/// A remote account's vote in a poll of this instance: Mastodon's `Create(Note)` with the
/// chosen option's title as `name` and the `Question` as `inReplyTo`, one per choice. The
/// voter must be able to see the poll's status (the read gate decides, as for local votes);
/// a vote the poll refuses (ended, unknown option, a second choice in a single-choice poll)
/// is dropped.
async fn record_vote(state: &FederationState, object: &Object, voter: Id, uri: &str) -> Result<()> {
    let store = state.store();
    let (Some(choice_name), Some(question)) = (
        object.name.as_deref(),
        object.in_reply_to.as_ref().and_then(Reference::id),
    ) else {
        return Ok(());
    };
    let Some(status) = store.status_id_by_uri(question).await? else {
        return Ok(());
    };
    let Some(poll) = store.polls_of(&[status]).await?.remove(&status) else {
        return Ok(());
    };
    if poll.remote {
        return Ok(());
    }
    let Some(choice) = poll.options.iter().position(|o| o == choice_name) else {
        tracing::debug!(
            vote = uri,
            "a vote for an option the poll does not have, dropped"
        );
        return Ok(());
    };
    let account = store.account_by_id(voter).await?;
    let viewer = cohort_policy::Viewer::Account(cohort_policy::Party {
        id: voter,
        domain: account.domain.clone(),
        suspended: account.suspended_at.is_some(),
    });
    let record = store.status(status).await?;
    let facts = store.facts_for_viewer(&viewer, &[&record.facts]).await?;
    if cohort_policy::can_see(&facts, &viewer, record).is_err() {
        tracing::debug!(
            vote = uri,
            "a vote from an account that may not see the poll, dropped"
        );
        return Ok(());
    }
    let choice = i64::try_from(choice).unwrap_or(i64::MAX);
    match store
        .record_remote_vote(poll.id, voter, choice, Some(uri))
        .await
    {
        Ok(()) => Ok(()),
        Err(cohort_store::VoteError::Store(e)) => Err(e.into()),
        Err(refused) => {
            tracing::debug!(vote = uri, %refused, "a remote vote refused");
            Ok(())
        }
    }
}

/// The HTML stored for a post: its content sanitised, with the title first for types that
/// carry one in `name` (Lemmy's `Page`, `Article`, PeerTube's `Video`...). A `Note`'s or
/// `Question`'s `name` is no title (a poll vote, a poll's text), and neither is a chat
/// message's.
pub(super) fn post_content(object: &Object) -> String {
    let content = object.content_html().map(sanitize_html).unwrap_or_default();
    match object.name.as_deref() {
        Some(title) if !matches!(object.kind(), "Note" | "Question" | "ChatMessage") => {
            with_title(title, &content)
        }
        _ => content,
    }
}

async fn store_followers_uri(state: &FederationState, account: Id) -> Result<Option<String>> {
    Ok(state.store().remote_followers_uri(account).await?)
}

async fn create(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
    actor: Id,
) -> Result<()> {
    let object = post_object(state, activity).await?;
    if object.attributed_to_id() != Some(actor_uri) {
        return Err(permanent("object is not attributed to the actor"));
    }
    store_post(state, &object, actor_uri, actor, true, None).await?;
    Ok(())
}

async fn update(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
    actor: Id,
) -> Result<()> {
    let object = post_object(state, activity).await?;
    let object_id = object
        .id
        .as_deref()
        .ok_or_else(|| permanent("Update without object id"))?;
    if object_id == actor_uri {
        // The actor updated itself: refresh the account from the (signed) document, and
        // recheck its clinician attestation at once (a revocation arrives this way).
        let account = state
            .upsert_actor(&object)
            .await
            .map_err(|r| permanent(r.reason))?;
        let _ = state.check_attestation(account, &object, true).await;
        return Ok(());
    }
    if object.attributed_to_id() != Some(actor_uri) {
        return Err(permanent("object is not attributed to the actor"));
    }
    let store = state.store();
    let Some(status) = store.status_id_by_uri(object_id).await? else {
        return Ok(());
    };
    if store.status_author(status).await? != Some(actor) {
        return Err(permanent("Update of another account's post"));
    }
    let followers = store_followers_uri(state, actor).await?;
    let visibility = object.visibility(actor_uri, followers.as_deref());
    let summary = object
        .summary
        .as_deref()
        .map(plain_summary)
        .unwrap_or_default();
    let content = post_content(&object);
    // An edit never widens who may see a post: keep the narrower of the two visibilities.
    let current = store.status(status).await?.facts.audience.visibility;
    let visibility = narrower(current, visibility);
    store
        .update_remote_status(
            status,
            &content,
            &summary,
            object.sensitive.unwrap_or(false) || !summary.is_empty(),
            object.language(),
            visibility,
        )
        .await?;
    // As for local edits, tags the edit adds are indexed (none are removed).
    store
        .index_status_tags(status, &object.hashtag_names())
        .await?;
    // Update(Question): the origin's new counts.
    if let Some(poll) = object.remote_poll() {
        let counts: Vec<i64> = poll.options.iter().map(|(_, n)| *n).collect();
        store
            .set_remote_poll_counts(status, &counts, poll.voters_count)
            .await?;
    }
    Ok(())
}

fn rank(v: Visibility) -> u8 {
    match v {
        Visibility::Public => 5,
        Visibility::Unlisted => 4,
        Visibility::Followers => 3,
        Visibility::Community => 2,
        Visibility::Direct => 1,
        Visibility::Local => 0,
    }
}

fn narrower(a: Visibility, b: Visibility) -> Visibility {
    if rank(a) <= rank(b) { a } else { b }
}

async fn delete(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
    actor: Id,
) -> Result<()> {
    let object_id = activity
        .first_object()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("Delete without object"))?;
    let store = state.store();
    if object_id == actor_uri {
        store.remove_remote_actor(actor).await?;
        state.forget_actor(actor_uri);
        return Ok(());
    }
    if let Some(status) = store.status_id_by_uri(object_id).await? {
        if store.status_author(status).await? != Some(actor) {
            // Only a moderator of a community hosted here may delete another's post in it.
            if community::moderator_removal(state, activity, actor, status).await? {
                return Ok(());
            }
            return Err(permanent("Delete of another account's post"));
        }
        delete_status(state, status).await?;
        community::relay_author_deletion(state, status).await?;
    }
    Ok(())
}

/// A boost. The announced object is looked up by id; if unknown it is fetched **from its
/// own origin** (never taken from the Announce, whose sender could forge it) and stored
/// with the audience its own addressing gives. Only open posts can be boosted.
async fn announce(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
    actor: Id,
) -> Result<()> {
    let object = activity
        .first_object()
        .ok_or_else(|| permanent("Announce without object"))?;
    // A group's FEP-1b12 Announce wraps the activity it forwards: for a Create or Update,
    // the post is the inner object (refetched from its origin below like any other);
    // forwarded votes, deletions and the like are not boosts.
    let store = state.store();
    let group = store.community_of_group(actor).await?.map(|c| c.account.id);
    let (object_id, wrapped) = match object.object() {
        Some(inner) if inner.is("Create") || inner.is("Update") => (
            inner
                .first_object()
                .and_then(Reference::id)
                .ok_or_else(|| permanent("wrapped activity without object"))?,
            true,
        ),
        Some(inner) if community::is_moderation(inner) => {
            return match group {
                Some(group) => community::relayed_moderation(state, group, actor_uri, inner).await,
                None => Ok(()),
            };
        }
        Some(inner) if inner.is("Delete") || inner.is("Remove") => {
            return match group {
                Some(group) => community::relayed_removal(state, group, inner).await,
                None => Ok(()),
            };
        }
        Some(inner) if super::activity::ACTIVITY_TYPES.contains(&inner.kind()) => {
            return Ok(());
        }
        _ => (
            object
                .id()
                .ok_or_else(|| permanent("Announce without object id"))?,
            false,
        ),
    };
    let object_id = object_id.to_owned();
    if wrapped && group.is_some() {
        // A Group relaying a post of its community (FEP-1b12): store the post, refetched
        // from its origin; a relay is no boost (comments are not boosted). (A wrapped
        // Announce from any other actor is taken as a boost of the inner post, below.)
        if store.status_id_by_uri(&object_id).await?.is_some() {
            return Ok(());
        }
        if !store.has_local_follower(actor).await? {
            return Ok(());
        }
        let fetched = fetch_object(state, &object_id).await?;
        if fetched.id.as_deref() != Some(object_id.as_str()) {
            return Err(permanent("relayed object's id differs from its URL"));
        }
        let author_uri = fetched
            .attributed_to_id()
            .ok_or_else(|| permanent("relayed object without author"))?
            .to_owned();
        if domain_of(&author_uri) != domain_of(&object_id) {
            return Err(permanent("relayed object's author is on another host"));
        }
        let author = state.resolve_actor(&author_uri).await?;
        store_post(state, &fetched, &author_uri, author, false, group).await?;
        return Ok(());
    }
    let announce_id = activity
        .id
        .clone()
        .ok_or_else(|| permanent("Announce without id"))?;
    if store.status_id_by_uri(&announce_id).await?.is_some() {
        return Ok(());
    }
    let original = match store.status_id_by_uri(&object_id).await? {
        Some(known) => known,
        None => {
            let booster_followed = store.has_local_follower(actor).await?;
            if !booster_followed {
                tracing::debug!(announce = %announce_id, "boost by an account nobody here follows dropped");
                return Ok(());
            }
            let fetched = fetch_object(state, &object_id).await?;
            if fetched.id.as_deref() != Some(object_id.as_str()) {
                return Err(permanent("announced object's id differs from its URL"));
            }
            let author_uri = fetched
                .attributed_to_id()
                .ok_or_else(|| permanent("announced object without author"))?
                .to_owned();
            if domain_of(&author_uri) != domain_of(&object_id) {
                return Err(permanent("announced object's author is on another host"));
            }
            let author = state.resolve_actor(&author_uri).await?;
            match store_post(state, &fetched, &author_uri, author, false, group).await? {
                Some(id) => id,
                None => return Ok(()),
            }
        }
    };
    let original_record = store.status(original).await?;
    if !original_record.facts.audience.is_open() || original_record.facts.deleted {
        return Err(permanent("only open posts can be boosted"));
    }
    if !original_record.facts.is_local() && !store.has_local_follower(actor).await? {
        return Ok(());
    }
    let followers = store_followers_uri(state, actor).await?;
    let visibility = narrower(
        activity.visibility(actor_uri, followers.as_deref()),
        original_record.facts.audience.visibility,
    );
    let new = NewStatus {
        id: store.next_id(),
        author: actor,
        uri: announce_id.clone(),
        url: None,
        local: false,
        audience: Audience::new(visibility),
        text_source: String::new(),
        content_html: String::new(),
        spoiler_text: String::new(),
        sensitive: false,
        language: None,
        in_reply_to: None,
        reblog_of: Some(original),
        addressed: Vec::new(),
        held_reason: None,
        expires_at: None,
    };
    match store.create_status(&new).await {
        Ok(_) => {
            if original_record.facts.is_local() {
                store
                    .notify(
                        original_record.facts.author.id,
                        actor,
                        "reblog",
                        Some(original),
                    )
                    .await?;
            }
            Ok(())
        }
        Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn like(state: &FederationState, activity: &Object, actor: Id) -> Result<()> {
    let object = activity
        .first_object()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("Like without object"))?;
    let store = state.store();
    let Some(status) = store.status_id_by_uri(object).await? else {
        return Ok(());
    };
    store
        .add_favourite(actor, status, activity.id.as_deref())
        .await?;
    let record = store.status(status).await?;
    if record.facts.is_local() && activity.kind() == "Like" {
        store
            .notify(record.facts.author.id, actor, "favourite", Some(status))
            .await?;
    }
    Ok(())
}

async fn block(state: &FederationState, activity: &Object, actor: Id) -> Result<()> {
    let target = activity
        .first_object()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("Block without object"))?;
    if activity.target.is_some() {
        // Lemmy's community ban (Block with a target): not an account block.
        return Ok(());
    }
    if let Some(local) = local_account(state, target).await? {
        state.store().block(actor, local).await?;
    }
    Ok(())
}

/// `Move`: accepted and recorded; verified when the target lists the actor in
/// `alsoKnownAs` (fetched from the target's origin).
async fn move_actor(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
    actor: Id,
) -> Result<()> {
    let object = activity
        .first_object()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("Move without object"))?;
    if object != actor_uri {
        return Err(permanent("Move of another actor"));
    }
    let target = activity
        .target
        .as_ref()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("Move without target"))?;
    let document = state.fetcher().fetch(target).await?;
    let target_actor = Object::from_value(document).map_err(|e| permanent(e.to_string()))?;
    let verified = target_actor
        .also_known_as
        .iter()
        .filter_map(Reference::id)
        .any(|a| a == actor_uri);
    if verified {
        state
            .upsert_actor(&target_actor)
            .await
            .map_err(|r| permanent(r.reason))?;
    }
    state
        .store()
        .record_account_move(actor, target, verified)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: serde_json::Value) -> Object {
        Object::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_lemmy_page_keeps_its_title_before_the_content() {
        let page = object(json!({
            "type": "Page", "id": "https://lemmy.example/post/4821",
            "name": "Respite care options: what worked for you?",
            "content": "<p>What should we ask the provider?</p>\n",
        }));
        assert_eq!(
            post_content(&page),
            "<p><strong>Respite care options: what worked for you?</strong></p>\
             <p>What should we ask the provider?</p>\n"
        );
        let link_post = object(json!({"type": "Page", "name": "A guide to respite"}));
        assert_eq!(
            post_content(&link_post),
            "<p><strong>A guide to respite</strong></p>"
        );
    }

    #[test]
    fn a_notes_name_is_no_title() {
        let note = object(json!({"type": "Note", "name": "Yes", "content": "<p>hi</p>"}));
        assert_eq!(post_content(&note), "<p>hi</p>");
        let question = object(json!({"type": "Question", "name": "Poll", "content": "<p>Q?</p>"}));
        assert_eq!(post_content(&question), "<p>Q?</p>");
    }
}
