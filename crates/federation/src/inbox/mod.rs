//! The inbox: `POST /inbox` (shared) and `POST /users/{name}/inbox`.
//!
//! Checks, in this order, each with its status:
//! 1. body size: over the limit (1 MiB) → **413** (from `Content-Length` before reading,
//!    and while reading);
//! 2. domain policy, from the signature's keyId host alone, before the body is parsed and
//!    before any key is fetched: suspended or not on the allowlist → **403**;
//! 3. signature: draft-cavage, covering `(request-target)`, `host`, `date`, `digest`;
//!    `Digest: SHA-256` must match the body; `Date` at most 12 hours old (1 hour ahead);
//!    the key fetched (signed, by the instance actor) from the signer's actor document and
//!    cached → **401** for missing, bad, expired or unverifiable (RFC 9421 included), but
//!    **503** when the key cannot be fetched now (a timeout, `429` or `5xx`: the sender
//!    retries);
//! 4. parse → **400** if not an activity (no type, id or actor);
//! 5. origin: the signer is the activity's actor (**401** otherwise); the activity's id is
//!    on the actor's host, an embedded Create/Update object is attributed to the actor and
//!    on its host, a Delete deletes something on the actor's host (or is addressed to an
//!    actor here: a community moderator's removal, sent to the community's Group, which the
//!    processor accepts from the community's moderators only) → **400** otherwise;
//!    a `Flag` from a domain that rejects reports → **403**, over the per-domain report
//!    limit → **429**, naming no local account → **422** (`flag`);
//! 6. dedup by activity id (`received_activities`): a replay is answered 202 and dropped;
//! 7. queued durably (`inbox_queue`, same transaction as the dedup row) → **202**. Requests
//!    that arrive together share that transaction (a group commit: one commit of SQLite's
//!    single writer for many requests); each is answered only after the commit.
//!
//! [`InboxProcessor`] applies queued activities to the store ([`process`]): an Announce's
//! object from another origin is always refetched from its origin, never trusted inline.
//! It claims a batch; the plain Creates that lead each actor's activities are applied
//! together ([`plain`]: bulk reads, one transaction that stores the posts and removes their
//! items); the rest are applied per actor, different actors concurrently (each actor's in
//! arrival order), and removed with one statement.

pub mod activity;
mod community;
mod flag;
mod plain;
mod process;
mod resolve;
pub mod sanitize;
mod urgent;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use cohort_model::Id;
use cohort_store::{InboxItem, StoreError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::http::{FederationState, Refusal, domain_of, signature};
use activity::{Object, Reference};

pub use process::ProcessError;
pub use resolve::{MAX_FETCHED_ANCESTORS, Resolved};

/// `POST /inbox`.
pub(crate) async fn shared_inbox(
    State(state): State<FederationState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(&state, &method, &uri, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /users/{name}/inbox`.
pub(crate) async fn personal_inbox(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match state.store().local_actor_profile(&name).await {
        Ok(Some(p)) if !p.suspended => {}
        Ok(_) => return Refusal::new(StatusCode::NOT_FOUND, "no such inbox").into_response(),
        Err(e) => return Refusal::from(e).into_response(),
    }
    receive(&state, &method, &uri, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn receive(
    state: &FederationState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let limit = state.config().max_inbox_body;
    let too_large = || Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    // 1. Size, as announced.
    if headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
    {
        return Err(too_large());
    }
    // 2. Domain policy from the keyId alone (asked once: the verification below reuses it).
    let sig = signature::signature_header(headers)?;
    let domain = state.check_signer_domain(&sig.key_id).await?;
    // 1 (again). Size, as read.
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    // 3. Signature, digest, date.
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let signed = state
        .verify_parsed(&sig, domain, method, path, headers, Some(&body))
        .await?;
    // A verified request proves the sender is up: resume delivering to it if its worker had
    // given up on it as unreachable.
    state.note_reachable(&signed.domain).await;
    // 4. Parse.
    let activity = Object::parse_activity(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("not an activity: {e}")))?;
    // 5. Origin.
    check_origin(
        &activity,
        &signed.key.actor_uri,
        state.config().domain.as_str(),
    )?;
    // 5b. Reports: refused domains, report spam and Flags about nobody here.
    if activity.is("Flag") {
        flag::admit(state, &activity, &signed.domain).await?;
    }
    // 5c. Evaluation contributions: from an instance actor, for a community here with
    // members on the sender's instance, every cell k-anonymous.
    if activity.is(crate::aggregates::CONTRIBUTION) {
        crate::aggregates::admit(
            state,
            &activity,
            &body,
            signed.key.is_instance,
            &signed.domain,
        )
        .await?;
    }
    let Some(activity_id) = activity.id.clone() else {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "no id"));
    };
    // 6 + 7. Dedup and queue.
    let text = String::from_utf8_lossy(&body).into_owned();
    let fresh = state
        .enqueue_activity(activity_id.clone(), signed.key.actor_uri.clone(), text)
        .await?;
    if fresh {
        state.wake_processor();
    } else {
        tracing::debug!(activity = %activity_id, "replayed activity ignored");
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The origin checks that need nothing but the activity and its verified signer.
pub fn check_origin(activity: &Object, signer: &str, local_host: &str) -> Result<(), Refusal> {
    let bad = |why: &str| Refusal::new(StatusCode::BAD_REQUEST, why.to_owned());
    let actor = activity
        .actor_id()
        .ok_or_else(|| bad("activity without actor"))?;
    if actor != signer {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "the signer is not the activity's actor",
        ));
    }
    let actor_domain = domain_of(actor).ok_or_else(|| bad("actor is not a URL"))?;
    let same_origin = |iri: &str| domain_of(iri).as_ref() == Some(&actor_domain);
    let id = activity
        .id
        .as_deref()
        .ok_or_else(|| bad("activity without id"))?;
    if !same_origin(id) {
        return Err(bad("activity id is not on the actor's host"));
    }
    let kind = activity.kind();
    match kind {
        "Create" | "Update" => {
            for object in &activity.object {
                if let Reference::Object(o) = object {
                    let object_id = o.id.as_deref().ok_or_else(|| bad("object without id"))?;
                    if !same_origin(object_id) {
                        return Err(bad("object is not on the actor's host"));
                    }
                    let is_actor_update = object_id == actor;
                    if !is_actor_update && o.attributed_to_id() != Some(actor) {
                        return Err(bad("object is not attributed to the actor"));
                    }
                }
            }
        }
        "Delete" => {
            let addressed_here = activity
                .to_ids()
                .into_iter()
                .chain(activity.cc_ids())
                .chain(activity.audience.iter().filter_map(Reference::id))
                .any(|iri| domain_of(iri).is_some_and(|d| d.as_str() == local_host));
            for object in &activity.object {
                let object_id = object.id().ok_or_else(|| bad("Delete without object id"))?;
                if !same_origin(object_id) && !addressed_here {
                    return Err(bad("Delete of an object on another host"));
                }
            }
        }
        "Undo" => {
            for object in &activity.object {
                if let Reference::Object(o) = object
                    && o.actor_id().is_some_and(|a| a != actor)
                {
                    return Err(bad("Undo of another actor's activity"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Applies queued inbound activities. The server spawns it ([`InboxProcessor::spawn`]);
/// tests call [`InboxProcessor::run_until_idle`].
#[derive(Clone, Debug)]
pub struct InboxProcessor {
    state: FederationState,
}

/// A running processor.
#[derive(Debug)]
pub struct InboxProcessorHandle {
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    state: FederationState,
}

impl InboxProcessorHandle {
    /// Wakes the processor (it also wakes on every accepted activity).
    pub fn wake(&self) {
        self.state.wake_processor();
    }

    /// Stops after the item in progress.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.state.wake_processor();
        let _ = self.task.await;
    }
}

/// How long a claimed item stays leased.
const LEASE_MS: i64 = 120_000;
/// How many items are claimed at once.
const BATCH: i64 = 64;
/// How many actors' activities are applied at once (each actor's one at a time, in order).
const ACTORS_AT_ONCE: usize = 16;

/// What became of one item.
enum Applied {
    /// Applied or dropped for good: remove it.
    Done(Id),
    /// Failed transiently: retry later.
    Retry(InboxItem, String),
}

/// Applies one actor's items in order.
async fn apply_in_order(state: FederationState, items: Vec<InboxItem>) -> Vec<Applied> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match process::apply(&state, &item).await {
            Ok(()) => out.push(Applied::Done(item.id)),
            Err(ProcessError::Permanent(why)) => {
                tracing::info!(activity = %item.activity_uri, reason = %why, "inbound activity dropped");
                out.push(Applied::Done(item.id));
            }
            Err(ProcessError::Transient(why)) => out.push(Applied::Retry(item, why)),
        }
    }
    out
}

impl InboxProcessor {
    pub(crate) fn new(state: FederationState) -> Self {
        InboxProcessor { state }
    }

    /// Applies every due item (including those that arrive meanwhile) and returns how many
    /// were handled. Items that fail transiently are rescheduled, not retried here.
    ///
    /// Each round claims a batch and splits it by actor: different actors' activities are
    /// applied concurrently, one actor's in the order they arrived (a Create before the
    /// Update or Delete of the same post). Each actor's leading plain Creates go first, all
    /// actors' together, and leave the queue in the transaction that stores their posts.
    /// Other applied items are removed together at the end of the round; a crash before
    /// that re-applies them, which every handler tolerates (posts, follows and favourites
    /// are looked up by id before they are written).
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        let store = self.state.store();
        let mut handled = 0;
        loop {
            let items = store.claim_inbox_items(BATCH, LEASE_MS).await?;
            if items.is_empty() {
                return Ok(handled);
            }
            handled += items.len();
            let mut lanes: Vec<Vec<InboxItem>> = Vec::new();
            let mut lane_of: HashMap<String, usize> = HashMap::new();
            for item in items {
                let lane = *lane_of.entry(item.actor_uri.clone()).or_insert_with(|| {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                });
                lanes[lane].push(item);
            }
            self.apply_plain_creates(&mut lanes).await;
            let permits = Arc::new(Semaphore::new(ACTORS_AT_ONCE));
            let mut running = JoinSet::new();
            for lane in lanes.into_iter().filter(|lane| !lane.is_empty()) {
                let state = self.state.clone();
                let permits = permits.clone();
                running.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    apply_in_order(state, lane).await
                });
            }
            let mut done = Vec::new();
            let mut retries = Vec::new();
            while let Some(lane) = running.join_next().await {
                match lane {
                    Ok(outcomes) => {
                        for outcome in outcomes {
                            match outcome {
                                Applied::Done(id) => done.push(id),
                                Applied::Retry(item, why) => retries.push((item, why)),
                            }
                        }
                    }
                    // Its items stay leased and are applied again when the lease ends.
                    Err(e) => tracing::error!(error = %e, "inbox lane panicked"),
                }
            }
            store.finish_inbox_items(&done).await?;
            for (item, why) in retries {
                let backoff = 5_000_i64.saturating_mul(1 << item.attempts.clamp(0, 12));
                let kept = store.retry_inbox_item(item.id, &why, backoff).await?;
                tracing::warn!(activity = %item.activity_uri, reason = %why, retried = kept, "inbound activity failed");
            }
        }
    }

    /// Applies the leading plain Creates of every lane together ([`plain`]): their posts
    /// are stored and their items removed from the queue in one transaction. Lanes the bulk
    /// path hands back (and all of them if its transaction fails) get their items back in
    /// front, in order, for the one-by-one path.
    async fn apply_plain_creates(&self, lanes: &mut [Vec<InboxItem>]) {
        let candidates = plain::candidates(&self.state, lanes);
        if candidates.is_empty() {
            return;
        }
        let handed_back = match plain::apply(&self.state, &candidates).await {
            Ok(lanes) => lanes,
            Err(e) => {
                tracing::warn!(error = %e, items = candidates.len(), "bulk inbox apply failed; applying one by one");
                candidates.iter().map(|c| c.lane).collect()
            }
        };
        let mut back: Vec<Vec<InboxItem>> = vec![Vec::new(); lanes.len()];
        for c in candidates {
            if handed_back.contains(&c.lane) {
                back[c.lane].push(c.item);
            }
        }
        for (lane, mut items) in lanes.iter_mut().zip(back) {
            if !items.is_empty() {
                items.append(lane);
                *lane = items;
            }
        }
    }

    /// Runs in the background until shut down: applies due items, then waits to be woken
    /// (by the inbox) or for `poll`.
    pub fn spawn(self, poll: Duration) -> InboxProcessorHandle {
        let (shutdown, mut stop) = tokio::sync::watch::channel(false);
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                if let Err(e) = self.run_until_idle().await {
                    tracing::error!(error = %e, "inbox processor: store error");
                }
                tokio::select! {
                    _ = self.state.wait_for_work(poll) => {}
                    _ = stop.changed() => return,
                }
            }
        });
        InboxProcessorHandle {
            shutdown,
            task,
            state,
        }
    }
}
