//! The bulk path for the commonest inbound activity: a `Create` of a post that involves
//! nobody here but its followers (no local account addressed or mentioned, no community,
//! no poll), as every post of a followed account arrives.
//!
//! [`process::apply`](super::process) handles such a Create with about six queries; for a
//! claimed batch the bulk path reads what all of them need with three queries (authors'
//! facts, known posts and parents, and on PostgreSQL nothing else), then stores every post
//! and removes every handled activity from the queue in **one** transaction. It decides
//! exactly as `store_post` does (same checks, same rows, same events); anything it cannot
//! decide from what it read goes the one-by-one way:
//! - [`candidates`] takes, per actor, only the leading run of plain Creates, so an actor's
//!   later activities (an Update or Delete of one of them) still apply after them;
//! - a lane whose actor is not known here yet, or one of whose posts answers a post in a
//!   community, is handed back whole (see [`apply`]);
//! - if the transaction fails (a post stored meanwhile by another process, say), every
//!   item is handed back and applied one by one: nothing is lost, nothing applied twice.

use std::collections::{HashMap, HashSet};

use cohort_model::Id;
use cohort_policy::Audience;
use cohort_store::{InboxItem, KnownStatus, NewStatus, PostMedia, RemotePost, StoreError};

use super::activity::{Object, POST_TYPES, Reference};
use super::process::{media_as_links, post_content};
use super::sanitize::plain_summary;
use crate::http::{FederationState, domain_of};

/// A claimed item the bulk path may apply.
pub(super) struct Candidate {
    /// Index of its actor's lane in the claimed batch.
    pub lane: usize,
    /// The queued item.
    pub item: InboxItem,
    /// The Create's embedded post.
    post: Object,
}

/// The post of `item` if it is a plain Create: a `Create` (by the actor that signed it)
/// embedding a post on the actor's host and attributed to it, that addresses and mentions
/// no account here, names no `audience`, answers no poll and carries none. Decided from
/// the item alone: every such Create is one that `store_post` would either store as a
/// plain remote post or drop (unknown actor, suspended actor, nobody here following).
fn plain_post(state: &FederationState, item: &InboxItem) -> Option<Object> {
    let activity = Object::parse_activity(item.activity_json.as_bytes()).ok()?;
    if !activity.is("Create") {
        return None;
    }
    let Some(Reference::Object(post)) = activity.first_object() else {
        return None;
    };
    let actor = item.actor_uri.as_str();
    let uri = post.id.as_deref()?;
    let local_named = post
        .to_ids()
        .into_iter()
        .chain(post.cc_ids())
        .chain(post.mention_hrefs())
        .any(|iri| state.local_username_of(iri).is_some());
    let is_vote =
        post.content_html().is_none() && post.name.is_some() && post.in_reply_to.is_some();
    let plain = POST_TYPES.contains(&post.kind())
        && post.attributed_to_id() == Some(actor)
        && domain_of(uri).is_some()
        && domain_of(uri) == domain_of(actor)
        && !local_named
        && post.audience.is_empty()
        && !is_vote
        && post.remote_poll().is_none();
    plain.then(|| (**post).clone())
}

/// Takes the bulk path's items out of `lanes` (one lane per actor, in arrival order): the
/// leading run of plain Creates of each lane, cut before a reply to a post that another
/// candidate creates (the one-by-one path stores the parent first, then the reply).
pub(super) fn candidates(state: &FederationState, lanes: &mut [Vec<InboxItem>]) -> Vec<Candidate> {
    let mut runs: Vec<Vec<Object>> = Vec::with_capacity(lanes.len());
    for lane in lanes.iter() {
        let mut run = Vec::new();
        for item in lane {
            match plain_post(state, item) {
                Some(post) => run.push(post),
                None => break,
            }
        }
        runs.push(run);
    }
    let created: HashSet<String> = runs
        .iter()
        .flatten()
        .filter_map(|post| post.id.clone())
        .collect();
    let mut out = Vec::new();
    for (lane, (items, run)) in lanes.iter_mut().zip(runs).enumerate() {
        let mut taken = Vec::with_capacity(run.len());
        for post in run {
            let answers_one_of_them = post
                .in_reply_to
                .as_ref()
                .and_then(Reference::id)
                .is_some_and(|parent| created.contains(parent));
            if answers_one_of_them {
                break;
            }
            taken.push(post);
        }
        for (item, post) in items.drain(..taken.len()).zip(taken) {
            out.push(Candidate { lane, item, post });
        }
    }
    out
}

/// Applies `candidates` together; returns the lanes handed back to the one-by-one path
/// (their candidates untouched, still queued). Every other candidate is decided: its post
/// stored, or the activity dropped as `store_post` would, and its queue item removed in
/// the same transaction. An error means nothing was written.
pub(super) async fn apply(
    state: &FederationState,
    candidates: &[Candidate],
) -> Result<HashSet<usize>, StoreError> {
    let store = state.store();
    let mut handed_back = HashSet::new();
    // Authors: known actors come from memory; an unknown one needs a fetch, which the
    // one-by-one path does (and retries on failure).
    let mut author_of: HashMap<&str, Id> = HashMap::new();
    for c in candidates {
        if author_of.contains_key(c.item.actor_uri.as_str()) || handed_back.contains(&c.lane) {
            continue;
        }
        match state.known_actor(&c.item.actor_uri).await? {
            Some(id) => {
                author_of.insert(c.item.actor_uri.as_str(), id);
            }
            None => {
                handed_back.insert(c.lane);
            }
        }
    }
    let authors: Vec<Id> = {
        let mut ids: Vec<Id> = author_of.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let author_facts = store.remote_author_facts(&authors).await?;
    let mut uris: Vec<&str> = Vec::with_capacity(candidates.len() * 2);
    for c in candidates {
        uris.extend(c.post.id.as_deref());
        uris.extend(c.post.in_reply_to.as_ref().and_then(Reference::id));
    }
    uris.sort_unstable();
    uris.dedup();
    let known = store.statuses_by_uri(&uris).await?;
    for c in candidates {
        let author_known = author_of
            .get(c.item.actor_uri.as_str())
            .is_some_and(|a| author_facts.contains_key(a));
        let parent_in_community = c
            .post
            .in_reply_to
            .as_ref()
            .and_then(Reference::id)
            .and_then(|p| known.get(p))
            .is_some_and(|p| p.community.is_some());
        if !author_known || parent_in_community {
            handed_back.insert(c.lane);
        }
    }
    // Whether a domain's block keeps its media as links only, asked once per domain.
    let mut rejects_media: HashMap<String, bool> = HashMap::new();
    for c in candidates {
        if handed_back.contains(&c.lane) || c.post.attachment.is_empty() {
            continue;
        }
        if let Some(domain) = domain_of(&c.item.actor_uri)
            && !rejects_media.contains_key(domain.as_str())
        {
            let rejects = store.domain_rejects_media(&domain).await?;
            rejects_media.insert(domain.as_str().to_owned(), rejects);
        }
    }

    let mut posts = Vec::new();
    let mut finished = Vec::new();
    let mut stored: HashSet<&str> = HashSet::new();
    for c in candidates.iter().filter(|c| !handed_back.contains(&c.lane)) {
        finished.push(c.item.id);
        let actor_uri = c.item.actor_uri.as_str();
        let (Some(&author), Some(uri)) = (author_of.get(actor_uri), c.post.id.as_deref()) else {
            continue;
        };
        let Some(facts) = author_facts.get(&author) else {
            continue;
        };
        if facts.suspended {
            tracing::info!(activity = %c.item.activity_uri, reason = "actor is suspended", "inbound activity dropped");
            continue;
        }
        if known.contains_key(uri) || !stored.insert(uri) {
            continue;
        }
        let parent = c
            .post
            .in_reply_to
            .as_ref()
            .and_then(Reference::id)
            .and_then(|p| known.get(p).copied());
        if parent.is_none() && !facts.has_local_follower {
            tracing::debug!(post = uri, "post unrelated to any local account dropped");
            continue;
        }
        posts.push(remote_post(
            state,
            c,
            author,
            facts.followers_uri.as_deref(),
            parent,
            &rejects_media,
        ));
    }
    store.store_remote_posts(&posts, &finished).await?;
    Ok(handed_back)
}

/// The rows of one plain remote post, as `store_post` writes them.
fn remote_post(
    state: &FederationState,
    c: &Candidate,
    author: Id,
    followers: Option<&str>,
    parent: Option<KnownStatus>,
    rejects_media: &HashMap<String, bool>,
) -> RemotePost {
    let post = &c.post;
    let summary = post
        .summary
        .as_deref()
        .map(plain_summary)
        .unwrap_or_default();
    let status = NewStatus {
        id: state.store().next_id(),
        author,
        uri: post.id.clone().unwrap_or_default(),
        url: post.url_string().map(str::to_owned),
        local: false,
        audience: Audience::new(post.visibility(&c.item.actor_uri, followers)),
        text_source: String::new(),
        content_html: post_content(post),
        sensitive: post.sensitive.unwrap_or(false) || !summary.is_empty(),
        spoiler_text: summary,
        language: post.language().map(str::to_owned),
        in_reply_to: parent.map(|p| p.id),
        reblog_of: None,
        addressed: Vec::new(),
        held_reason: None,
        expires_at: None,
    };
    let mut remote = post.remote_media();
    let links_only = domain_of(&c.item.actor_uri)
        .and_then(|d| rejects_media.get(d.as_str()).copied())
        .unwrap_or(false);
    if !remote.is_empty() && links_only {
        remote = media_as_links(remote);
    }
    RemotePost {
        status,
        parent,
        media: PostMedia {
            uploaded: Vec::new(),
            remote,
        },
        tags: post.hashtag_names(),
    }
}
