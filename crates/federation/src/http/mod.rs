//! The ActivityPub HTTP surface: discovery (WebFinger, host-meta, NodeInfo), actors, objects
//! and collections, and the inbox routes (see [`crate::inbox`]).
//!
//! **Authorized fetch is on by default**: every GET except the instance actor, WebFinger,
//! host-meta, NodeInfo and the basic public actor document must carry a valid HTTP
//! signature. The signer becomes the read gate's viewer (an instance actor is
//! `Viewer::Instance(domain)`, anyone else `Viewer::Account`), and every object served passes
//! `cohort_policy::can_see`: a GET of a post the viewer may not see (or an unsigned GET of a
//! post that is not public) answers 404, as if it did not exist. Collections show counts only.
//!
//! Mount with [`router`]; build the state with [`FederationState::new`].

pub mod fetch;
pub(crate) mod objects;
pub mod signature;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use cohort_model::{Domain, Id};
use cohort_policy::{DomainStanding, Facts, Party, Viewer};
use cohort_screening::phi::SharedPhiGuard;
use cohort_store::{NewRemoteAccount, NewStatus, PostMedia, RemoteKey, Store, StoreError, now_ms};
use tokio::sync::Notify;
use url::Url;

use crate::batch::Batcher;
use crate::delivery::Signer;
use crate::inbox::activity::{Object, Reference};
use crate::urls::LocalUrls;
use fetch::{FetchError, Fetcher, authority};
pub(crate) use objects::actor_document;
use signature::SignatureError;

/// How the federation endpoints behave.
#[derive(Clone, Debug)]
pub struct FederationConfig {
    /// This instance's domain (with `:port` on a test network).
    pub domain: Domain,
    /// Plain HTTP and `*.localhost` peers, for test networks. Off in production: fetches to
    /// loopback or private addresses are then refused.
    pub allow_loopback_federation: bool,
    /// Require signatures on GETs of objects and collections (default on).
    pub authorized_fetch: bool,
    /// Largest inbox body accepted (413 beyond).
    pub max_inbox_body: usize,
    /// Timeout of one fetch.
    pub fetch_timeout: Duration,
    /// `User-Agent` of fetches.
    pub user_agent: String,
    /// NodeInfo `metadata.nodeName`.
    pub node_name: String,
    /// NodeInfo `openRegistrations`.
    pub open_registrations: bool,
    /// Whose clinician attestations are checked and shown: `None` for every instance this
    /// one federates with, else only these domains.
    pub trusted_verifiers: Option<Vec<Domain>>,
    /// Who may send verified clinicians here direct messages unless they chose otherwise
    /// (`COHORT_CLINICIAN_DIRECT_MESSAGES`; applied to remote senders in the inbox).
    pub clinician_direct_messages: cohort_model::DirectMessagesFrom,
    /// k of the evaluation aggregates (`COHORT_AGGREGATE_MIN_PATIENTS`): a received
    /// contribution or a fetched combined view with a cell under it is refused.
    pub aggregate_min_patients: u64,
}

impl FederationConfig {
    /// Defaults for `domain`: authorized fetch on, 1 MiB inbox bodies, 10 s fetches.
    pub fn new(domain: Domain, allow_loopback_federation: bool) -> Self {
        let urls = LocalUrls::new(&domain, allow_loopback_federation);
        FederationConfig {
            user_agent: format!("Cohort/{} (+{})", env!("CARGO_PKG_VERSION"), urls.base()),
            node_name: domain.to_string(),
            domain,
            allow_loopback_federation,
            authorized_fetch: true,
            max_inbox_body: 1024 * 1024,
            fetch_timeout: Duration::from_secs(10),
            open_registrations: false,
            trusted_verifiers: None,
            clinician_direct_messages: cohort_model::DirectMessagesFrom::Everyone,
            aggregate_min_patients: cohort_health::DEFAULT_MIN_PATIENTS,
        }
    }
}

/// Why the federation state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The instance actor's key could not be made or loaded.
    #[error("instance actor key: {0}")]
    Key(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Shared state of the federation routes and the inbox processor. Cheap to clone.
#[derive(Clone)]
pub struct FederationState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: FederationConfig,
    urls: LocalUrls,
    fetcher: Fetcher,
    instance_public_key_pem: String,
    wake: Notify,
    /// Verified activities waiting for their group commit into the inbox queue.
    enqueue: Batcher<QueuedActivity, Result<bool, StoreError>>,
    /// Remote posts the processor's lanes store, waiting for their group commit.
    posts: Batcher<(NewStatus, PostMedia), Result<(), StoreError>>,
    /// Domains whose standing requests ask for together (one query for all of them).
    standings: Batcher<Domain, Result<DomainStanding, StoreError>>,
    /// Remote keys by keyId, as last read from `remote_keys` (see [`KEY_CACHE_FOR`]).
    keys: Mutex<HashMap<String, (Instant, RemoteKey)>>,
    /// Remote actors' account ids by actor id (an actor's account id never changes).
    actors: Mutex<HashMap<String, Id>>,
    /// Domains recently seen not marked unreachable (see [`REACHABLE_FOR`]).
    reachable: Mutex<HashMap<Domain, Instant>>,
    /// The PHI guard for relayed report comments (the process's one, when the server built
    /// this state).
    phi_guard: SharedPhiGuard,
}

/// How long a remote key read from the store is trusted from memory. A rotated key still
/// verifies nothing (a failed verification refetches at once); a key dropped from the store
/// (an actor's `Delete` processed in another process) stops verifying here within this time.
const KEY_CACHE_FOR: Duration = Duration::from_secs(60);
/// How long a domain found not marked unreachable is not looked at again by the inbox.
const REACHABLE_FOR: Duration = Duration::from_secs(10);
/// Entries the in-memory caches hold at most (they are cleared when full: bounded memory).
const CACHE_ENTRIES: usize = 10_000;
/// Activities one group commit takes at most.
const ENQUEUE_BATCH: usize = 128;

/// An accepted activity on its way into the inbox queue.
struct QueuedActivity {
    activity_uri: String,
    actor_uri: String,
    json: String,
}

/// Queues a batch of accepted activities in one transaction; if that fails, each on its own,
/// so that every caller gets its own answer.
async fn enqueue_batch(store: Store, batch: Vec<QueuedActivity>) -> Vec<Result<bool, StoreError>> {
    let items: Vec<cohort_store::NewInboxActivity<'_>> = batch
        .iter()
        .map(|a| cohort_store::NewInboxActivity {
            activity_uri: &a.activity_uri,
            actor_uri: &a.actor_uri,
            activity_json: &a.json,
        })
        .collect();
    match store.enqueue_inbox_activities(&items).await {
        Ok(fresh) => fresh.into_iter().map(Ok).collect(),
        Err(e) => {
            tracing::warn!(error = %e, items = items.len(), "inbox group commit failed; queueing one by one");
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                out.push(
                    store
                        .enqueue_inbox_activity(
                            item.activity_uri,
                            item.actor_uri,
                            item.activity_json,
                        )
                        .await,
                );
            }
            out
        }
    }
}

/// Creates a batch of remote posts in one transaction; if that fails (one of them stored
/// meanwhile, say), each on its own, so that every lane gets its own answer.
async fn create_posts(
    store: Store,
    posts: Vec<(NewStatus, PostMedia)>,
) -> Vec<Result<(), StoreError>> {
    match store.create_statuses_with_media(&posts).await {
        Ok(()) => posts.iter().map(|_| Ok(())).collect(),
        Err(_) if posts.len() > 1 => {
            let mut out = Vec::with_capacity(posts.len());
            for (new, media) in &posts {
                out.push(
                    store
                        .create_statuses_with_media(std::slice::from_ref(&(
                            new.clone(),
                            media.clone(),
                        )))
                        .await,
                );
            }
            out
        }
        Err(e) => vec![Err(e)],
    }
}

/// The standing of each of `domains` (in order), read with one query for all of them; if
/// that fails, each is asked on its own so that every caller gets its own answer.
async fn domain_standings(
    store: Store,
    domains: Vec<Domain>,
) -> Vec<Result<DomainStanding, StoreError>> {
    let mut distinct: Vec<Domain> = Vec::with_capacity(domains.len());
    for domain in &domains {
        if !distinct.contains(domain) {
            distinct.push(domain.clone());
        }
    }
    match store.domains_facts_of(&distinct).await {
        Ok(facts) => domains
            .iter()
            .map(|d| Ok(facts.domain_standing(d)))
            .collect(),
        Err(_) => {
            let mut out = Vec::with_capacity(domains.len());
            for domain in &domains {
                out.push(
                    store
                        .domain_facts_of(domain)
                        .await
                        .map(|facts| facts.domain_standing(domain)),
                );
            }
            out
        }
    }
}

fn bounded_insert<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, key: K, value: V) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, value);
    }
}

impl std::fmt::Debug for FederationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationState")
            .field("domain", &self.inner.config.domain)
            .finish_non_exhaustive()
    }
}

/// Who signed a request, after verification.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The key that verified.
    pub key: RemoteKey,
    /// The signer's domain.
    pub domain: Domain,
}

/// A refused request: the status to answer and why (logged, and sent as a short text).
#[derive(Debug)]
pub struct Refusal {
    /// HTTP status.
    pub status: StatusCode,
    /// Reason.
    pub reason: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error in a federation request");
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
    }
}

impl From<SignatureError> for Refusal {
    fn from(e: SignatureError) -> Self {
        Refusal::new(StatusCode::UNAUTHORIZED, e.to_string())
    }
}

impl axum::response::IntoResponse for Refusal {
    fn into_response(self) -> axum::response::Response {
        tracing::debug!(status = %self.status, reason = %self.reason, "federation request refused");
        (self.status, self.reason).into_response()
    }
}

impl FederationState {
    /// Loads (or, the first time, generates and stores) the instance actor's key and builds
    /// the state, with a PHI guard of its own.
    pub async fn new(store: Store, config: FederationConfig) -> Result<Self, FederationError> {
        FederationState::with_phi_guard(store, config, SharedPhiGuard::new()).await
    }

    /// As [`FederationState::new`], screening with `phi_guard`: the process's one PHI guard,
    /// which the client API shares.
    pub async fn with_phi_guard(
        store: Store,
        config: FederationConfig,
        phi_guard: SharedPhiGuard,
    ) -> Result<Self, FederationError> {
        let (public_pem, private_pem) = match store.instance_actor_keys().await? {
            Some(pair) => pair,
            None => {
                let keys = tokio::task::spawn_blocking(crate::keys::generate_actor_keys)
                    .await
                    .map_err(|e| FederationError::Key(e.to_string()))?
                    .map_err(|e| FederationError::Key(e.to_string()))?;
                store
                    .ensure_instance_actor_keys(&keys.public_key_pem, &keys.private_key_pem)
                    .await?
            }
        };
        let urls = LocalUrls::new(&config.domain, config.allow_loopback_federation);
        let signer = Signer::from_pem(&instance_key_id(&urls), &private_pem)
            .map_err(|e| FederationError::Key(e.to_string()))?;
        let fetcher = Fetcher::new(
            signer,
            config.allow_loopback_federation,
            config.fetch_timeout,
            &config.user_agent,
        )?;
        let enqueue = {
            let store = store.clone();
            Batcher::new(ENQUEUE_BATCH, move |batch| {
                enqueue_batch(store.clone(), batch)
            })
        };
        let posts = {
            let store = store.clone();
            Batcher::new(ENQUEUE_BATCH, move |batch| {
                create_posts(store.clone(), batch)
            })
        };
        let standings = {
            let store = store.clone();
            Batcher::new(ENQUEUE_BATCH, move |domains| {
                domain_standings(store.clone(), domains)
            })
        };
        Ok(FederationState {
            inner: Arc::new(Inner {
                posts,
                standings,
                store,
                urls,
                fetcher,
                instance_public_key_pem: public_pem,
                config,
                wake: Notify::new(),
                enqueue,
                keys: Mutex::default(),
                actors: Mutex::default(),
                reachable: Mutex::default(),
                phi_guard,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &FederationConfig {
        &self.inner.config
    }

    /// Local URL shapes.
    pub fn urls(&self) -> &LocalUrls {
        &self.inner.urls
    }

    /// The signed fetcher (instance actor).
    pub fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    /// The instance actor's public key.
    pub fn instance_public_key_pem(&self) -> &str {
        &self.inner.instance_public_key_pem
    }

    /// The PHI guard, built on first use.
    pub fn phi_guard(&self) -> &SharedPhiGuard {
        &self.inner.phi_guard
    }

    pub(crate) fn wake_processor(&self) {
        self.inner.wake.notify_one();
    }

    pub(crate) async fn wait_for_work(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.inner.wake.notified()).await;
    }

    /// Queues a verified activity durably (deduplicated by id), sharing one transaction with
    /// the activities that arrive meanwhile. Returns whether it was fresh; only returns once
    /// it is committed.
    pub(crate) async fn enqueue_activity(
        &self,
        activity_uri: String,
        actor_uri: String,
        json: String,
    ) -> Result<bool, StoreError> {
        let queued = QueuedActivity {
            activity_uri,
            actor_uri,
            json,
        };
        match self.inner.enqueue.call(queued).await {
            Some(result) => result,
            None => Err(StoreError::NotFound("the inbox queue task")),
        }
    }

    /// Stores a remote post (not in a community hosted here) with its attachments, sharing
    /// one transaction with the posts other lanes of the processor store meanwhile.
    /// `Conflict` if a post with its id is stored already.
    pub(crate) async fn create_remote_post(
        &self,
        new: NewStatus,
        media: PostMedia,
    ) -> Result<(), StoreError> {
        match self.inner.posts.call((new, media)).await {
            Some(result) => result,
            None => Err(StoreError::NotFound("the post writer task")),
        }
    }

    /// Forgets what memory holds of a remote actor (its keys, its account id): after its
    /// `Delete`, nothing it signed verifies from memory.
    pub(crate) fn forget_actor(&self, actor_uri: &str) {
        if let Ok(mut keys) = self.inner.keys.lock() {
            keys.retain(|_, (_, k)| k.actor_uri != actor_uri);
        }
        if let Ok(mut actors) = self.inner.actors.lock() {
            actors.remove(actor_uri);
        }
    }

    /// Clears `domain`'s unreachable mark (a verified request proves it is up), looking at
    /// the store at most every [`REACHABLE_FOR`] per domain.
    pub(crate) async fn note_reachable(&self, domain: &Domain) {
        if let Ok(reachable) = self.inner.reachable.lock()
            && reachable
                .get(domain)
                .is_some_and(|at| at.elapsed() < REACHABLE_FOR)
        {
            return;
        }
        match self.store().clear_unreachable(domain).await {
            Ok(_) => bounded_insert(&self.inner.reachable, domain.clone(), Instant::now()),
            Err(e) => {
                tracing::warn!(error = %e, %domain, "could not clear the unreachable mark");
            }
        }
    }

    /// The inbox processor of this state (see [`crate::inbox::InboxProcessor`]).
    pub fn inbox_processor(&self) -> crate::inbox::InboxProcessor {
        crate::inbox::InboxProcessor::new(self.clone())
    }

    /// The standing of `domain` under this instance's federation policy.
    pub async fn domain_standing(&self, domain: &Domain) -> Result<DomainStanding, StoreError> {
        if domain == &self.inner.config.domain {
            return Ok(DomainStanding::Allowed);
        }
        // Asked by every inbox request: the requests that arrive together share one query.
        match self.inner.standings.call(domain.clone()).await {
            Some(standing) => standing,
            None => Err(StoreError::NotFound("the domain standing task")),
        }
    }

    /// Refuses (403) a keyId whose host is suspended or not on the allowlist; decided from
    /// the header alone, before the body is read or any key is fetched.
    pub async fn check_signer_domain(&self, key_id: &str) -> Result<Domain, Refusal> {
        let domain = domain_of(signature::key_document_url(key_id))
            .ok_or_else(|| Refusal::new(StatusCode::UNAUTHORIZED, "keyId is not a URL"))?;
        match self.domain_standing(&domain).await? {
            DomainStanding::Suspended | DomainStanding::NotAllowlisted => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("{domain} is blocked"),
            )),
            DomainStanding::Allowed | DomainStanding::Silenced => Ok(domain),
        }
    }

    /// Verifies a request's draft-cavage signature: coverage, time window, digest (when
    /// `body` is given), then the signature with the signer's key, fetched and cached on
    /// first use and refetched once if it does not verify (a rotated key).
    pub async fn verify_signature(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<Signed, Refusal> {
        let sig = signature::signature_header(headers)?;
        let domain = self.check_signer_domain(&sig.key_id).await?;
        self.verify_parsed(&sig, domain, method, path_and_query, headers, body)
            .await
    }

    /// [`FederationState::verify_signature`] once the signer's domain has been checked (the
    /// inbox checks it before reading the body, and does not ask the store twice).
    pub(crate) async fn verify_parsed(
        &self,
        sig: &signature::ParsedSignature,
        domain: Domain,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<Signed, Refusal> {
        signature::check_algorithm(sig)?;
        signature::check_coverage_and_time(sig, headers, body.is_some(), SystemTime::now())?;
        if let Some(body) = body {
            signature::digest_matches(headers, body)?;
        }
        let signing_string = signature::signing_string(sig, method, path_and_query, headers)?;
        let key = self.key_for(&sig.key_id, false).await?;
        if signature::verify_rsa_sha256(
            &key.public_key_pem,
            signing_string.as_bytes(),
            &sig.signature,
        )
        .is_ok()
        {
            return Ok(Signed { key, domain });
        }
        let key = self.key_for(&sig.key_id, true).await?;
        signature::verify_rsa_sha256(
            &key.public_key_pem,
            signing_string.as_bytes(),
            &sig.signature,
        )?;
        Ok(Signed { key, domain })
    }

    /// The key named `key_id`: cached, or fetched from the signer's actor document, whose
    /// `publicKey.id` must equal `key_id` exactly.
    pub(crate) async fn key_for(&self, key_id: &str, refresh: bool) -> Result<RemoteKey, Refusal> {
        if !refresh {
            if let Ok(keys) = self.inner.keys.lock()
                && let Some((at, key)) = keys.get(key_id)
                && at.elapsed() < KEY_CACHE_FOR
            {
                return Ok(key.clone());
            }
            if let Some(key) = self.store().remote_key(key_id).await? {
                bounded_insert(
                    &self.inner.keys,
                    key_id.to_owned(),
                    (Instant::now(), key.clone()),
                );
                return Ok(key);
            }
        }
        let unauthorized = |why: String| Refusal::new(StatusCode::UNAUTHORIZED, why);
        // A key that cannot be fetched *now* (the signer's server timed out, was
        // overloaded or restarting) is a transient fault: 503, so that the sender retries,
        // where a 401 would make it drop the activity for good (and make a fetch of ours
        // that it answers with a transient 401 look permanent). A key that does not exist
        // (404, 410, a bad document) is the signer's fault: 401.
        let unfetchable = |e: FetchError, what: &str| {
            if e.is_transient() {
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot fetch the signer's {what} now: {e}"),
                )
            } else {
                unauthorized(format!("cannot fetch the signer's {what}: {e}"))
            }
        };
        let document = self
            .fetcher()
            .fetch(signature::key_document_url(key_id))
            .await
            .map_err(|e| unfetchable(e, "key"))?;
        let mut actor = Object::from_value(document)
            .map_err(|e| unauthorized(format!("signer's key document: {e}")))?;
        if actor.public_key.is_empty()
            && actor.public_key_pem.is_some()
            && let Some(owner) = actor.owner.clone()
        {
            // A key document (GoToSocial's `/main-key`): the owner holds the key.
            let owner_doc = self
                .fetcher()
                .fetch(&owner)
                .await
                .map_err(|e| unfetchable(e, "key's owner"))?;
            actor = Object::from_value(owner_doc)
                .map_err(|e| unauthorized(format!("key owner document: {e}")))?;
        }
        let actor_id = actor
            .id
            .clone()
            .ok_or_else(|| unauthorized("signer's actor has no id".into()))?;
        let key = actor
            .public_key
            .iter()
            .find(|k| k.id.as_deref() == Some(key_id))
            .ok_or_else(|| unauthorized("keyId is not the actor's publicKey.id".into()))?;
        if key.owner.as_deref().is_some_and(|o| o != actor_id) {
            return Err(unauthorized("publicKey.owner is not the actor".into()));
        }
        if domain_of(&actor_id) != domain_of(key_id) {
            return Err(unauthorized("key and actor are on different hosts".into()));
        }
        let pem = key
            .public_key_pem
            .clone()
            .ok_or_else(|| unauthorized("publicKey has no publicKeyPem".into()))?;
        let account_id = self.upsert_actor(&actor).await?;
        let remote = RemoteKey {
            key_id: key_id.to_owned(),
            actor_uri: actor_id.clone(),
            account_id: Some(account_id),
            actor_type: actor.kind().to_owned(),
            is_instance: is_instance_actor(&actor, &actor_id),
            public_key_pem: pem,
            fetched_at: now_ms(),
        };
        self.store().save_remote_key(&remote).await?;
        if let Ok(mut keys) = self.inner.keys.lock() {
            // Other keys of the actor were dropped from the store; drop them here too.
            keys.retain(|_, (_, k)| k.actor_uri != remote.actor_uri);
        }
        bounded_insert(
            &self.inner.keys,
            key_id.to_owned(),
            (Instant::now(), remote.clone()),
        );
        Ok(remote)
    }

    /// Records or refreshes a remote actor from its document; returns its account id.
    pub async fn upsert_actor(&self, actor: &Object) -> Result<Id, Refusal> {
        let bad = |why: &str| Refusal::new(StatusCode::BAD_REQUEST, why.to_owned());
        let actor_id = actor.id.as_deref().ok_or_else(|| bad("actor without id"))?;
        let domain = domain_of(actor_id).ok_or_else(|| bad("actor id is not a URL"))?;
        if domain == self.inner.config.domain {
            return Err(bad("a remote actor cannot have a local id"));
        }
        let username = actor
            .preferred_username
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| {
                Url::parse(actor_id)
                    .ok()
                    .and_then(|u| u.path_segments()?.next_back().map(str::to_owned))
            })
            .ok_or_else(|| bad("actor without a name"))?;
        let new = NewRemoteAccount {
            username,
            domain,
            actor_uri: actor_id.to_owned(),
            inbox_uri: actor.inbox.clone().unwrap_or_default(),
            shared_inbox_uri: actor.shared_inbox_uri().map(str::to_owned),
            followers_uri: actor.followers.clone(),
            display_name: actor.name.clone().unwrap_or_default(),
            is_group: actor.is("Group"),
        };
        let account = self.store().upsert_remote_account(&new).await?;
        self.store()
            .update_remote_profile(account, &remote_profile(actor))
            .await?;
        Ok(account)
    }

    /// The actor ids of a remote community's moderators: its Group's `attributedTo`
    /// collection (FEP-1b12, as Lemmy serves it), fetched signed and fresh, since a
    /// moderator list is what authorises a removal.
    pub async fn remote_moderators(&self, group_uri: &str) -> Result<Vec<String>, ResolveError> {
        let group = Object::from_value(self.fetcher().fetch(group_uri).await?)
            .map_err(|e| ResolveError::Invalid(e.to_string()))?;
        if !group.is("Group") {
            return Err(ResolveError::Invalid("not a Group".into()));
        }
        let Some(collection) = group.attributed_to.first().and_then(Reference::id) else {
            return Ok(Vec::new());
        };
        if domain_of(collection) != domain_of(group_uri) {
            return Err(ResolveError::Invalid(
                "moderators collection on another host".into(),
            ));
        }
        let document = self.fetcher().fetch(collection).await?;
        let items = document
            .get("orderedItems")
            .or_else(|| document.get("items"))
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|item| {
                item.as_str()
                    .or_else(|| item.get("id").and_then(serde_json::Value::as_str))
                    .map(str::to_owned)
            })
            .collect())
    }

    /// Fetches an actor (signed) and records it; returns its account id. Known actors are
    /// not refetched.
    pub async fn resolve_actor(&self, actor_uri: &str) -> Result<Id, ResolveError> {
        if let Some(id) = self.known_actor(actor_uri).await? {
            return Ok(id);
        }
        let document = self.fetcher().fetch(actor_uri).await?;
        let actor =
            Object::from_value(document).map_err(|e| ResolveError::Invalid(e.to_string()))?;
        if actor.id.as_deref() != Some(actor_uri) {
            return Err(ResolveError::Invalid(
                "actor id differs from its URL".into(),
            ));
        }
        let account = self
            .upsert_actor(&actor)
            .await
            .map_err(|r| ResolveError::Invalid(r.reason))?;
        // A refused attestation only means no badge; the actor is still known.
        let _ = self.check_attestation(account, &actor, false).await;
        Ok(account)
    }

    /// The account id of an actor already known here (from memory, or the store), without
    /// fetching anything: `None` for an actor never seen.
    pub(crate) async fn known_actor(&self, actor_uri: &str) -> Result<Option<Id>, StoreError> {
        if let Ok(actors) = self.inner.actors.lock()
            && let Some(id) = actors.get(actor_uri)
        {
            return Ok(Some(*id));
        }
        let id = self.store().account_id_by_actor_uri(actor_uri).await?;
        if let Some(id) = id {
            bounded_insert(&self.inner.actors, actor_uri.to_owned(), id);
        }
        Ok(id)
    }

    /// Resolves `user@host` through WebFinger and records the actor; returns its account id.
    pub async fn resolve_acct(&self, user: &str, host: &str) -> Result<Id, ResolveError> {
        let scheme = if self.config().allow_loopback_federation {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{host}/.well-known/webfinger?resource=acct:{user}@{host}");
        let jrd = self.fetcher().fetch_jrd(&url).await?;
        let href = jrd
            .get("links")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .find(|link| {
                link.get("rel").and_then(serde_json::Value::as_str) == Some("self")
                    && link
                        .get("type")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|t| t.contains("activity+json") || t.contains("ld+json"))
            })
            .and_then(|link| link.get("href").and_then(serde_json::Value::as_str))
            .ok_or_else(|| {
                ResolveError::Invalid(format!("no ActivityPub actor for {user}@{host}"))
            })?
            .to_owned();
        self.resolve_actor(&href).await
    }

    /// The read gate's viewer for a verified signer.
    pub async fn viewer_for(&self, signed: &Signed) -> Result<Viewer, StoreError> {
        if signed.key.is_instance {
            return Ok(Viewer::Instance(signed.domain.clone()));
        }
        match signed.key.account_id {
            Some(account) => {
                let record = self.store().account_by_id(account).await?;
                Ok(Viewer::Account(Party {
                    id: account,
                    domain: record.domain,
                    suspended: record.suspended_at.is_some(),
                }))
            }
            None => Ok(Viewer::Instance(signed.domain.clone())),
        }
    }

    /// The local account a local actor URL names (`BASE/users/NAME`), if it is one.
    pub fn local_username_of(&self, uri: &str) -> Option<String> {
        let rest = uri
            .strip_prefix(self.urls().base())?
            .strip_prefix("/users/")?;
        if rest.is_empty() || rest.contains('/') || rest.contains('#') || rest.contains('?') {
            return None;
        }
        Some(rest.to_owned())
    }
}

/// Why an actor could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The store failed (transient).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The fetch failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document is not a usable actor.
    #[error("invalid actor: {0}")]
    Invalid(String),
}

/// The instance actor's key id.
pub fn instance_key_id(urls: &LocalUrls) -> String {
    format!("{}#main-key", urls.instance_actor())
}

/// The domain (`host[:port]`) of a URL.
pub fn domain_of(url: &str) -> Option<Domain> {
    let parsed = Url::parse(url).ok()?;
    Domain::parse(&authority(&parsed)).ok()
}

/// Whether an actor signs for its whole server: an `Application` (Mastodon, Misskey,
/// Lemmy, PeerTube), or an actor named after its host (GoToSocial's `/users/DOMAIN`).
fn is_instance_actor(actor: &Object, actor_id: &str) -> bool {
    if actor.is("Application") {
        return true;
    }
    let host = Url::parse(actor_id)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    match (host, actor.preferred_username.as_deref()) {
        (Some(h), Some(name)) => h.eq_ignore_ascii_case(name),
        _ => false,
    }
}

/// Whether `Accept` asks for ActivityStreams JSON: `application/activity+json` or
/// `application/ld+json` anywhere in the list, with any parameters.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|range| {
            range
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .any(|t| t == "application/activity+json" || t == "application/ld+json")
}

/// The router: discovery, actors, objects, collections and inboxes. Merge it into the
/// application at the root (do not `nest` it: signatures cover the full path).
pub fn router(state: FederationState) -> Router {
    Router::new()
        .route("/.well-known/webfinger", get(objects::webfinger))
        .route("/.well-known/host-meta", get(objects::host_meta))
        .route("/.well-known/nodeinfo", get(objects::nodeinfo_links))
        .route("/nodeinfo/2.0", get(objects::nodeinfo_20))
        .route("/nodeinfo/2.1", get(objects::nodeinfo_21))
        .route("/actor", get(objects::instance_actor))
        .route("/actor/inbox", post(crate::inbox::shared_inbox))
        .route("/users/{name}", get(objects::actor))
        .route("/users/{name}/attestation", get(crate::attestation::serve))
        .route("/users/{name}/statuses/{id}", get(objects::status))
        .route("/users/{name}/outbox", get(objects::outbox))
        .route("/users/{name}/followers", get(objects::followers))
        .route("/users/{name}/following", get(objects::following))
        .route("/users/{name}/collections/featured", get(objects::featured))
        .route("/users/{name}/moderators", get(objects::moderators))
        .route("/users/{name}/aggregates", get(crate::aggregates::serve))
        .route("/inbox", post(crate::inbox::shared_inbox))
        .route("/users/{name}/inbox", post(crate::inbox::personal_inbox))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// What a remote actor document says of its profile: its bio and fields sanitized (they are
/// shown as HTML in apps), its flags as sent. Mastodon's defaults apply to what is missing:
/// not locked, not discoverable, not indexable.
fn remote_profile(actor: &Object) -> cohort_store::RemoteProfile {
    let fields = actor
        .attachment
        .iter()
        .filter_map(|item| match item {
            crate::inbox::activity::Reference::Object(o) if o.is("PropertyValue") => Some(o),
            _ => None,
        })
        .filter_map(|o| {
            let name = o.name.as_deref()?.trim();
            let value = o.value.as_deref().unwrap_or("");
            // The name is plain text in Mastodon's JSON (apps escape it); the value HTML.
            (!name.is_empty()).then(|| cohort_store::ProfileField {
                name: name.chars().take(255).collect(),
                value: crate::inbox::sanitize::sanitize_html(value),
                verified_at: None,
            })
        })
        .take(cohort_store::MAX_PROFILE_FIELDS * 4)
        .collect();
    cohort_store::RemoteProfile {
        note_html: actor
            .summary
            .as_deref()
            .map(crate::inbox::sanitize::sanitize_html)
            .unwrap_or_default(),
        fields,
        locked: actor.manually_approves_followers.unwrap_or(false),
        bot: actor.is("Service") || actor.is("Application"),
        discoverable: actor.discoverable.unwrap_or(false),
        indexable: actor.indexable.unwrap_or(false),
        url: actor.url.first().and_then(|u| u.id()).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accept_is_parsed_not_compared() {
        let mut h = HeaderMap::new();
        h.insert(
            "accept",
            "application/activity+json, application/ld+json"
                .parse()
                .unwrap(),
        );
        assert!(wants_activity_json(&h));
        h.insert(
            "accept",
            "text/html, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
                .parse()
                .unwrap(),
        );
        assert!(wants_activity_json(&h));
        h.insert("accept", "text/html,*/*;q=0.8".parse().unwrap());
        assert!(!wants_activity_json(&h));
    }
}
