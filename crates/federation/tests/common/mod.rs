//! Fake remote instances on loopback for delivery tests: axum servers on 127.0.0.1:0 that
//! serve any number of `NAME.localhost:PORT` domains (told apart by the Host header), record
//! every request, and verify its draft-cavage signature and Digest independently of the
//! sender (http-signature-normalization to parse, the `rsa` crate to verify).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cohort_federation::keys::{ActorKeys, generate_actor_keys};
use cohort_federation::urls::LocalUrls;
use cohort_federation::{Delivery, DeliveryConfig};
use cohort_model::{AuthorKind, Domain, Id, Role, Username, Visibility};
use cohort_policy::Audience;
use cohort_store::{FollowState, NewLocalAccount, NewRemoteAccount, NewStatus, Store};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One request a fake inbox received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `Host` header (the domain with its port).
    pub host: String,
    /// Request path.
    pub path: String,
    /// The JSON body.
    pub json: Value,
    /// keyId of the signature.
    pub key_id: String,
    /// The `Signature` header as sent.
    pub signature_header: String,
    /// Signature verified against the sender's public key.
    pub signature_ok: bool,
    /// Digest matches the body.
    pub digest_ok: bool,
    /// The status answered.
    pub answered: u16,
}

impl Received {
    pub fn activity_type(&self) -> &str {
        self.json["type"].as_str().unwrap_or("")
    }
    pub fn object_id(&self) -> String {
        match &self.json["object"] {
            Value::String(s) => s.clone(),
            v => v["id"].as_str().unwrap_or("").to_owned(),
        }
    }
    pub fn list(&self, field: &str) -> Vec<String> {
        self.json[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    /// Status per host (default 202).
    status: Mutex<HashMap<String, u16>>,
    /// One-shot statuses per host, used before `status`.
    once: Mutex<HashMap<String, VecDeque<u16>>>,
    /// keyId -> public key PEM.
    keys: Mutex<HashMap<String, String>>,
    requests: AtomicUsize,
}

/// A listener serving fake instances.
#[derive(Clone)]
pub struct FakeInboxes {
    pub port: u16,
    inner: Arc<Inner>,
}

impl FakeInboxes {
    pub async fn start() -> FakeInboxes {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Inner::default());
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeInboxes { port, inner }
    }

    /// `NAME.localhost:PORT`.
    pub fn domain(&self, name: &str) -> Domain {
        Domain::parse(&format!("{name}.localhost:{}", self.port)).unwrap()
    }

    pub fn trust_key(&self, key_id: &str, public_pem: &str) {
        self.inner
            .keys
            .lock()
            .unwrap()
            .insert(key_id.to_owned(), public_pem.to_owned());
    }

    pub fn set_status(&self, domain: &Domain, status: u16) {
        self.inner
            .status
            .lock()
            .unwrap()
            .insert(domain.to_string(), status);
    }

    pub fn answer_once(&self, domain: &Domain, status: u16) {
        self.inner
            .once
            .lock()
            .unwrap()
            .entry(domain.to_string())
            .or_default()
            .push_back(status);
    }

    pub fn all(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Requests to `domain` answered 2xx.
    pub fn accepted_by(&self, domain: &Domain) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.host == domain.as_str() && (200..300).contains(&r.answered))
            .collect()
    }

    /// Every request to `domain`, whatever was answered.
    pub fn attempts_on(&self, domain: &Domain) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.host == domain.as_str())
            .collect()
    }

    pub fn clear(&self) {
        self.inner.received.lock().unwrap().clear();
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    inner.requests.fetch_add(1, Ordering::Relaxed);
    if method != Method::POST {
        return StatusCode::OK;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let keys = inner.keys.lock().unwrap().clone();
    let (signature_ok, key_id) = verify_signature(&headers, &path, &keys);
    let expected_digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(&body)));
    let digest_ok = headers
        .get("digest")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|d| d == expected_digest);
    let answered = {
        let once = inner
            .once
            .lock()
            .unwrap()
            .get_mut(&host)
            .and_then(VecDeque::pop_front);
        once.unwrap_or_else(|| {
            inner
                .status
                .lock()
                .unwrap()
                .get(&host)
                .copied()
                .unwrap_or(202)
        })
    };
    inner.received.lock().unwrap().push(Received {
        host,
        path,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        key_id,
        signature_header: headers
            .get("signature")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        signature_ok,
        digest_ok,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// Verifies a draft-cavage signature as a receiving server would.
pub fn verify_signature(
    headers: &HeaderMap,
    path: &str,
    keys: &HashMap<String, String>,
) -> (bool, String) {
    let map: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let config = http_signature_normalization::Config::new()
        .mastodon_compat()
        .require_digest()
        .set_expiration(Duration::from_secs(300));
    let Ok(unverified) = config.begin_verify("POST", path, map) else {
        return (false, String::new());
    };
    let key_id = unverified.key_id().to_owned();
    let Some(pem) = keys.get(&key_id) else {
        return (false, key_id);
    };
    let Ok(public) = rsa::RsaPublicKey::from_public_key_pem(pem) else {
        return (false, key_id);
    };
    let verifying = VerifyingKey::<Sha256>::new(public);
    let ok = unverified.verify(|signature, signing_string| {
        let Ok(bytes) = BASE64.decode(signature) else {
            return false;
        };
        let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        verifying.verify(signing_string.as_bytes(), &sig).is_ok()
    });
    (ok, key_id)
}

/// One RSA key pair for every local test account (generation is slow in debug builds).
pub fn test_keys() -> &'static ActorKeys {
    static KEYS: OnceLock<ActorKeys> = OnceLock::new();
    KEYS.get_or_init(|| generate_actor_keys().unwrap())
}

/// The local (sending) instance of a test.
pub struct Local {
    pub store: Store,
    pub domain: Domain,
    pub urls: LocalUrls,
}

impl Local {
    pub fn new(store: Store) -> Local {
        let domain = Domain::parse("alpha.localhost:1").unwrap();
        Local {
            urls: LocalUrls::new(&domain, true),
            store,
            domain,
        }
    }

    pub fn config(&self, loopback: bool) -> DeliveryConfig {
        let mut config = DeliveryConfig::new(self.domain.clone(), loopback);
        config.request_timeout = Duration::from_secs(5);
        config.lease = Duration::from_millis(1500);
        config.poll_interval = Duration::from_millis(50);
        config
    }

    pub fn delivery(&self) -> Delivery {
        Delivery::new(self.store.clone(), self.config(true)).unwrap()
    }

    /// A local account with the shared test key; the fake inboxes learn its public key.
    pub async fn account(&self, name: &str, inboxes: &FakeInboxes) -> Id {
        let username = Username::parse(name).unwrap();
        let keys = test_keys();
        let key_id = self.urls.key_id(&username);
        inboxes.trust_key(&key_id, &keys.public_key_pem);
        self.store
            .create_local_account(&NewLocalAccount {
                username: username.clone(),
                email: format!("{name}@example.org"),
                role: Role::Member,
                author_kind: AuthorKind::Patient,
                password_hash: "x".into(),
                approved: true,
                locked: false,
                actor_uri: self.urls.actor(&username),
                inbox_uri: self.urls.inbox(&username),
                shared_inbox_uri: self.urls.shared_inbox(),
                followers_uri: self.urls.followers(&username),
                url: self.urls.profile_page(&username),
                key_id,
                public_key_pem: keys.public_key_pem.clone(),
                private_key_pem: keys.private_key_pem.clone(),
            })
            .await
            .unwrap()
            .id
    }

    pub async fn post(&self, author: Id, visibility: Visibility, text: &str) -> Id {
        self.post_with(author, Audience::new(visibility), text, vec![], None)
            .await
    }

    pub async fn post_with(
        &self,
        author: Id,
        audience: Audience,
        text: &str,
        addressed: Vec<Id>,
        expires_at: Option<i64>,
    ) -> Id {
        let id = self.store.next_id();
        let account = self.store.account_by_id(author).await.unwrap();
        self.store
            .create_status(&NewStatus {
                id,
                author,
                uri: self.urls.status(&account.username, id),
                url: Some(self.urls.status_page(&account.username, id)),
                local: true,
                audience,
                text_source: text.into(),
                content_html: format!("<p>{text}</p>"),
                spoiler_text: String::new(),
                sensitive: false,
                language: Some("en".into()),
                in_reply_to: None,
                reblog_of: None,
                addressed,
                held_reason: None,
                expires_at,
            })
            .await
            .unwrap()
            .facts
            .id
    }

    pub async fn status_uri(&self, status: Id) -> String {
        self.store.status(status).await.unwrap().uri
    }
}

/// A remote account on `domain`; `shared` gives its instance a shared inbox.
pub async fn remote(store: &Store, name: &str, domain: &Domain, shared: bool) -> Id {
    store
        .upsert_remote_account(&NewRemoteAccount {
            username: name.into(),
            domain: domain.clone(),
            actor_uri: format!("http://{domain}/users/{name}"),
            inbox_uri: format!("http://{domain}/users/{name}/inbox"),
            shared_inbox_uri: shared.then(|| format!("http://{domain}/inbox")),
            followers_uri: Some(format!("http://{domain}/users/{name}/followers")),
            display_name: name.into(),
            is_group: false,
        })
        .await
        .unwrap()
}

pub async fn follows(store: &Store, follower: Id, followed: Id) {
    store
        .set_follow(follower, followed, FollowState::Accepted)
        .await
        .unwrap();
}

pub fn actor_uri(domain: &Domain, name: &str) -> String {
    format!("http://{domain}/users/{name}")
}

pub fn unused(_: SocketAddr) {}

/// Request counts per `Host`, for benchmarks that only need to know who got how much.
pub type HostCounts = Arc<Mutex<HashMap<String, usize>>>;

/// A listener on 127.0.0.1:0 that answers `202` to everything and counts requests by `Host`
/// (cheap enough not to be what a fan-out benchmark measures). Returns its port.
pub async fn counting_listener(counts: HostCounts) -> u16 {
    async fn count(State(counts): State<HostCounts>, headers: HeaderMap) -> StatusCode {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_owned();
        *counts.lock().unwrap().entry(host).or_default() += 1;
        StatusCode::ACCEPTED
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(count).with_state(counts);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

/// The bare RSA-2048 signing rate of one thread (signatures per second): the bound a
/// fan-out benchmark compares itself with, measured in the same run.
pub fn signing_rate() -> f64 {
    let signer = cohort_federation::delivery::Signer::from_pem(
        "https://a.example/users/pat#main-key",
        &test_keys().private_key_pem,
    )
    .unwrap();
    let message = b"(request-target): post /inbox\nhost: inst1.localhost:40000\ndate: Sat, 28 Nov 2026 01:00:00 GMT\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    for _ in 0..50 {
        signer.sign(message).unwrap();
    }
    let n = 2000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        signer.sign(message).unwrap();
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}
