#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The receiving side through real HTTP: Cohort's federation router on 127.0.0.1:0 with a
//! test store, and a tiny peer server on loopback that serves actor documents and notes
//! for `peer.localhost:PORT` and `origin.localhost:PORT` (told apart by `Host`). Requests
//! are signed in the test with generated keys, as a peer would sign them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use cohort_federation::delivery::sign::{Signer, sign_post};
use cohort_federation::http::fetch::sign_get;
use cohort_federation::keys::{ActorKeys, generate_actor_keys};
use cohort_federation::urls::LocalUrls;
use cohort_federation::{FederationConfig, FederationState, router};
use cohort_model::{AuthorKind, Domain, Id, Role, Username, Visibility};
use cohort_policy::Audience;
use cohort_store::testing::TestDatabase;
use cohort_store::{
    DomainPolicy, FollowState, NewLocalAccount, NewRemoteAccount, NewStatus, OutboxKind, Page,
    Store,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The peer: serves JSON documents by full URL, counting requests.

#[derive(Clone, Default)]
struct Peer {
    docs: Arc<Mutex<HashMap<String, Value>>>,
    hits: Arc<AtomicUsize>,
    /// Answers 503 to everything (a peer overloaded or restarting).
    unavailable: Arc<AtomicBool>,
}

async fn peer_get(
    State(peer): State<Peer>,
    headers: HeaderMap,
    uri: Uri,
) -> axum::response::Response {
    peer.hits.fetch_add(1, Ordering::SeqCst);
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let url = format!("http://{host}{}", uri.path());
    if peer.unavailable.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match peer.docs.lock().unwrap().get(&url) {
        Some(doc) => (
            [("content-type", "application/activity+json")],
            axum::Json(doc.clone()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn keys(n: usize) -> &'static ActorKeys {
    static KEYS: OnceLock<Vec<ActorKeys>> = OnceLock::new();
    &KEYS.get_or_init(|| (0..4).map(|_| generate_actor_keys().unwrap()).collect())[n]
}

struct RemoteActor {
    id: String,
    key_id: String,
    signer: Signer,
}

struct World {
    store: Store,
    state: FederationState,
    db: Option<TestDatabase>,
    cohort: String,
    cohort_addr: SocketAddr,
    peer: Peer,
    peer_host: String,
    origin_host: String,
    client: reqwest::Client,
    pat: Id,
    lee: Id,
    alice: RemoteActor,
    bob: RemoteActor,
}

impl World {
    async fn start() -> World {
        World::start_on(TestDatabase::sqlite().await.unwrap()).await
    }

    /// On PostgreSQL, when `COHORT_TEST_POSTGRES_URL` is set.
    async fn start_postgres() -> Option<World> {
        let db = TestDatabase::postgres(true).await.unwrap()?;
        Some(World::start_on(db).await)
    }

    async fn start_on(db: TestDatabase) -> World {
        let store = db.store.clone();

        let peer = Peer::default();
        let peer_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer_port = peer_listener.local_addr().unwrap().port();
        let app = axum::Router::new()
            .fallback(peer_get)
            .with_state(peer.clone());
        tokio::spawn(async move { axum::serve(peer_listener, app).await.unwrap() });
        let peer_host = format!("peer.localhost:{peer_port}");
        let origin_host = format!("origin.localhost:{peer_port}");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cohort_addr = listener.local_addr().unwrap();
        let cohort = format!("cohort.localhost:{}", cohort_addr.port());
        let domain = Domain::parse(&cohort).unwrap();
        let state =
            FederationState::new(store.clone(), FederationConfig::new(domain.clone(), true))
                .await
                .unwrap();
        let app = router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let urls = LocalUrls::new(&domain, true);
        let pat = local_account(&store, &urls, "pat", false, 0).await;
        let lee = local_account(&store, &urls, "lee", true, 0).await;

        // alice: keyId with a fragment (Mastodon); bob: a key document without (GoToSocial).
        let alice_id = format!("http://{peer_host}/users/alice");
        let alice_key = format!("{alice_id}#main-key");
        let bob_id = format!("http://{peer_host}/users/bob");
        let bob_key = format!("{bob_id}/main-key");
        {
            let mut docs = peer.docs.lock().unwrap();
            docs.insert(
                alice_id.clone(),
                person(&alice_id, "alice", &alice_key, keys(1)),
            );
            docs.insert(bob_id.clone(), person(&bob_id, "bob", &bob_key, keys(2)));
            docs.insert(
                bob_key.clone(),
                json!({"id": bob_key, "type": "Key", "owner": bob_id,
                       "publicKeyPem": keys(2).public_key_pem}),
            );
            let instance = format!("http://{peer_host}/actor");
            docs.insert(
                instance.clone(),
                json!({"id": instance, "type": "Application", "preferredUsername": peer_host,
                       "inbox": format!("{instance}/inbox"),
                       "publicKey": {"id": format!("{instance}#main-key"), "owner": instance,
                                     "publicKeyPem": keys(3).public_key_pem}}),
            );
        }
        let client = reqwest::Client::builder()
            .resolve("cohort.localhost", cohort_addr)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        World {
            store,
            state,
            db: Some(db),
            cohort,
            cohort_addr,
            peer,
            peer_host,
            origin_host,
            client,
            pat,
            lee,
            alice: RemoteActor {
                signer: Signer::from_pem(&alice_key, &keys(1).private_key_pem).unwrap(),
                id: alice_id,
                key_id: alice_key,
            },
            bob: RemoteActor {
                signer: Signer::from_pem(&bob_key, &keys(2).private_key_pem).unwrap(),
                id: bob_id,
                key_id: bob_key,
            },
        }
    }

    async fn finish(mut self) {
        if let Some(db) = self.db.take() {
            db.finish().await.unwrap();
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.cohort)
    }

    fn local_actor(&self, name: &str) -> String {
        format!("http://{}/users/{name}", self.cohort)
    }

    /// POSTs `body` to `path`, signed by `signer` at `date`.
    async fn post_signed(
        &self,
        path: &str,
        signer: &Signer,
        body: &[u8],
        date: SystemTime,
    ) -> reqwest::Response {
        let signed = sign_post(signer, &self.cohort, path, body, date).unwrap();
        self.client
            .request(
                reqwest::Method::from_bytes(b"POST").unwrap(),
                self.url(path),
            )
            .header("content-type", "application/activity+json")
            .header("date", signed.date)
            .header("digest", signed.digest)
            .header("signature", signed.signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn deliver(&self, actor: &RemoteActor, activity: &Value) -> StatusCode {
        let body = serde_json::to_vec(activity).unwrap();
        self.post_signed("/inbox", &actor.signer, &body, SystemTime::now())
            .await
            .status()
    }

    async fn get_signed(&self, path: &str, signer: Option<&Signer>) -> reqwest::Response {
        let mut request = self
            .client
            .get(self.url(path))
            .header("accept", "application/activity+json, application/ld+json");
        if let Some(signer) = signer {
            let (date, signature) =
                sign_get(signer, &self.cohort, path, SystemTime::now()).unwrap();
            request = request.header("date", date).header("signature", signature);
        }
        request.send().await.unwrap()
    }

    async fn settle(&self) -> usize {
        self.state.inbox_processor().run_until_idle().await.unwrap()
    }

    async fn remote_account(&self, actor: &RemoteActor, name: &str) -> Id {
        self.store
            .upsert_remote_account(&NewRemoteAccount {
                username: name.into(),
                domain: Domain::parse(&self.peer_host).unwrap(),
                actor_uri: actor.id.clone(),
                inbox_uri: format!("{}/inbox", actor.id),
                shared_inbox_uri: None,
                followers_uri: Some(format!("{}/followers", actor.id)),
                display_name: String::new(),
                is_group: false,
            })
            .await
            .unwrap()
    }

    async fn local_post(&self, author: Id, name: &str, visibility: Visibility) -> (Id, String) {
        let id = self.store.next_id();
        let path = format!("/users/{name}/statuses/{id}");
        self.store
            .create_status(&NewStatus {
                id,
                author,
                uri: self.url(&path),
                url: None,
                local: true,
                audience: Audience::new(visibility),
                text_source: "hello".into(),
                content_html: "<p>hello</p>".into(),
                spoiler_text: String::new(),
                sensitive: false,
                language: Some("en".into()),
                in_reply_to: None,
                reblog_of: None,
                addressed: Vec::new(),
                held_reason: None,
                expires_at: None,
            })
            .await
            .unwrap();
        (id, path)
    }

    async fn notification_kinds(&self, account: Id) -> Vec<String> {
        let page = Page {
            max_id: None,
            since_id: None,
            min_id: None,
            limit: 100,
        };
        let mut kinds: Vec<String> = self
            .store
            .notifications(account, page)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.kind)
            .collect();
        kinds.sort();
        kinds
    }

    async fn outbox_kinds(&self) -> Vec<OutboxKind> {
        self.store
            .outbox_events_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

fn person(id: &str, name: &str, key_id: &str, keys: &ActorKeys) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": format!("{id}/inbox"),
        "followers": format!("{id}/followers"),
        "publicKey": {"id": key_id, "owner": id, "publicKeyPem": keys.public_key_pem}
    })
}

async fn local_account(
    store: &Store,
    urls: &LocalUrls,
    name: &str,
    locked: bool,
    key: usize,
) -> Id {
    let username = Username::parse(name).unwrap();
    store
        .create_local_account(&NewLocalAccount {
            email: format!("{name}@example.org"),
            role: Role::Member,
            author_kind: AuthorKind::Caregiver,
            password_hash: String::new(),
            approved: true,
            locked,
            actor_uri: urls.actor(&username),
            inbox_uri: urls.inbox(&username),
            shared_inbox_uri: urls.shared_inbox(),
            followers_uri: urls.followers(&username),
            url: urls.profile_page(&username),
            key_id: urls.key_id(&username),
            public_key_pem: keys(key).public_key_pem.clone(),
            private_key_pem: keys(key).private_key_pem.clone(),
            username,
        })
        .await
        .unwrap()
        .id
}

fn follow(w: &World, from: &RemoteActor, n: u32, target: &str) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#follows/{n}", from.id),
        "type": "Follow",
        "actor": from.id,
        "object": w.local_actor(target),
    })
}

fn create_note(from: &RemoteActor, n: u32, to: Vec<String>, content: &str) -> Value {
    let note = format!("{}/statuses/{n}", from.id);
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note}/activity"),
        "type": "Create",
        "actor": from.id,
        "to": to,
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": from.id,
            "content": content,
            "to": to,
        }
    })
}

// ---------------------------------------------------------------------------------------
// Discovery and actors.

#[tokio::test]
async fn webfinger_actor_nodeinfo_and_host_meta_are_served_unsigned() {
    let w = World::start().await;
    let r = w
        .client
        .get(w.url(&format!(
            "/.well-known/webfinger?resource=acct:pat@{}",
            w.cohort
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jrd: Value = r.json().await.unwrap();
    assert_eq!(jrd["links"][0]["href"], w.local_actor("pat"));
    let r = w
        .client
        .get(w.url(&format!(
            "/.well-known/webfinger?resource=acct:{0}@{0}",
            w.cohort
        )))
        .send()
        .await
        .unwrap();
    let jrd: Value = r.json().await.unwrap();
    assert_eq!(jrd["links"][0]["href"], w.url("/actor"));
    let r = w
        .client
        .get(w.url("/.well-known/webfinger?resource=acct:nobody@elsewhere.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let actor: Value = w.get_signed("/users/pat", None).await.json().await.unwrap();
    let context = actor["@context"].as_array().unwrap();
    assert!(context.contains(&json!("https://www.w3.org/ns/activitystreams")));
    assert!(context.contains(&json!("https://w3id.org/security/v1")));
    assert_eq!(actor["type"], "Person");
    assert_eq!(
        actor["publicKey"]["id"],
        format!("{}#main-key", w.local_actor("pat"))
    );
    assert_eq!(actor["publicKey"]["owner"], w.local_actor("pat"));
    assert_eq!(actor["endpoints"]["sharedInbox"], w.url("/inbox"));
    assert_eq!(actor["discoverable"], false);
    assert_eq!(actor["indexable"], false);
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    let lee: Value = w.get_signed("/users/lee", None).await.json().await.unwrap();
    assert_eq!(lee["manuallyApprovesFollowers"], true);
    // A browser gets a page, not JSON.
    let html = w
        .client
        .get(w.url("/users/pat"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        html.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let instance: Value = w
        .client
        .get(w.url("/actor"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(instance["type"], "Application");
    assert_eq!(instance["preferredUsername"], w.cohort);

    let links: Value = w
        .client
        .get(w.url("/.well-known/nodeinfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(links["links"].as_array().unwrap().len(), 2);
    for v in ["2.0", "2.1"] {
        let info: Value = w
            .client
            .get(w.url(&format!("/nodeinfo/{v}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["software"]["name"], "cohort");
        assert_eq!(info["metadata"]["upstream"]["name"], "mastodon");
        assert_eq!(info["usage"]["users"]["total"], 2);
    }
    let meta = w
        .client
        .get(w.url("/.well-known/host-meta"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(meta.contains("lrdd"), "{meta}");
    // Collections need a signature.
    assert_eq!(
        w.get_signed("/users/pat/followers", None).await.status(),
        401
    );
    let followers = w
        .get_signed("/users/pat/followers", Some(&w.alice.signer))
        .await;
    assert_eq!(followers.status(), 200);
    let followers: Value = followers.json().await.unwrap();
    assert_eq!(followers["totalItems"], 0);
    assert!(followers.get("orderedItems").is_none());
    w.finish().await;
}

// ---------------------------------------------------------------------------------------
// The inbox: what is refused, and with which status.

#[tokio::test]
async fn an_unsigned_post_is_401() {
    let w = World::start().await;
    let body = serde_json::to_vec(&follow(&w, &w.alice, 1, "pat")).unwrap();
    let r = w
        .client
        .request(
            reqwest::Method::from_bytes(b"POST").unwrap(),
            w.url("/inbox"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn a_signature_by_another_key_is_401() {
    let w = World::start().await;
    // alice's keyId, signed with bob's private key.
    let forger = Signer::from_pem(&w.alice.key_id, &keys(2).private_key_pem).unwrap();
    let body = serde_json::to_vec(&follow(&w, &w.alice, 1, "pat")).unwrap();
    let r = w
        .post_signed("/inbox", &forger, &body, SystemTime::now())
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn a_digest_that_does_not_match_the_body_is_401() {
    let w = World::start().await;
    let body = serde_json::to_vec(&follow(&w, &w.alice, 1, "pat")).unwrap();
    let signed = sign_post(
        &w.alice.signer,
        &w.cohort,
        "/inbox",
        &body,
        SystemTime::now(),
    )
    .unwrap();
    let other = serde_json::to_vec(&follow(&w, &w.alice, 2, "lee")).unwrap();
    let r = w
        .client
        .request(
            reqwest::Method::from_bytes(b"POST").unwrap(),
            w.url("/inbox"),
        )
        .header("date", signed.date)
        .header("digest", signed.digest)
        .header("signature", signed.signature)
        .body(other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn a_stale_date_is_401() {
    let w = World::start().await;
    let body = serde_json::to_vec(&follow(&w, &w.alice, 1, "pat")).unwrap();
    let stale = SystemTime::now() - Duration::from_secs(13 * 3600);
    let r = w.post_signed("/inbox", &w.alice.signer, &body, stale).await;
    assert_eq!(r.status(), 401);
    let future = SystemTime::now() + Duration::from_secs(2 * 3600);
    let r = w
        .post_signed("/inbox", &w.alice.signer, &body, future)
        .await;
    assert_eq!(r.status(), 401);
    w.finish().await;
}

#[tokio::test]
async fn a_blocked_domain_is_403_before_the_body_is_read_or_a_key_fetched() {
    let w = World::start().await;
    w.store
        .set_domain_policy(
            &Domain::parse(&w.peer_host).unwrap(),
            DomainPolicy::Block { suspend: true },
        )
        .await
        .unwrap();
    let r = w
        .post_signed(
            "/inbox",
            &w.alice.signer,
            b"this is not json",
            SystemTime::now(),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(w.peer.hits.load(Ordering::SeqCst), 0, "no key fetched");
    w.finish().await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let w = World::start().await;
    let mut big = br#"{"type":"Create","padding":""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 10));
    big.extend(br#""}"#);
    let r = w
        .post_signed("/inbox", &w.alice.signer, &big, SystemTime::now())
        .await;
    assert_eq!(r.status(), 413);
    w.finish().await;
}

#[tokio::test]
async fn a_document_that_is_not_an_activity_is_400() {
    let w = World::start().await;
    for body in [&b"{\"hello\": \"world\"}"[..], b"[1,2,3]", b"not json"] {
        let r = w
            .post_signed("/inbox", &w.alice.signer, body, SystemTime::now())
            .await;
        assert_eq!(r.status(), 400, "{}", String::from_utf8_lossy(body));
    }
    w.finish().await;
}

#[tokio::test]
async fn an_rfc9421_only_signature_is_401() {
    let w = World::start().await;
    let r = w
        .client
        .request(
            reqwest::Method::from_bytes(b"POST").unwrap(),
            w.url("/inbox"),
        )
        .header(
            "signature-input",
            "sig1=(\"@method\");created=1618884473;keyid=\"k\"",
        )
        .header("signature", "sig1=:AAAA:")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    w.finish().await;
}

#[tokio::test]
async fn an_activity_id_on_another_host_is_rejected() {
    let w = World::start().await;
    let mut activity = follow(&w, &w.alice, 1, "pat");
    activity["id"] = json!(format!("http://{}/follows/1", w.origin_host));
    assert_eq!(w.deliver(&w.alice, &activity).await, 400);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn a_create_with_a_forged_attributed_to_is_rejected() {
    let w = World::start().await;
    let mut activity = create_note(&w.alice, 1, vec![w.local_actor("pat")], "<p>hi</p>");
    activity["object"]["attributedTo"] = json!(w.bob.id);
    assert_eq!(w.deliver(&w.alice, &activity).await, 400);
    // Signed by bob but claiming alice as actor: the signer is not the actor.
    let activity = create_note(&w.alice, 2, vec![w.local_actor("pat")], "<p>hi</p>");
    assert_eq!(w.deliver(&w.bob, &activity).await, 401);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn a_signer_whose_key_cannot_be_fetched_now_is_503_and_one_without_a_key_is_401() {
    let w = World::start().await;
    // The signer's server is overloaded: its key cannot be fetched now. A 401 would make
    // the sender drop the activity for good; 503 makes it retry.
    w.peer.unavailable.store(true, Ordering::SeqCst);
    let activity = follow(&w, &w.alice, 1, "pat");
    assert_eq!(w.deliver(&w.alice, &activity).await, 503);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 0);
    // The retry, once the signer's server answers again, is accepted.
    w.peer.unavailable.store(false, Ordering::SeqCst);
    assert_eq!(w.deliver(&w.alice, &activity).await, 202);
    assert_eq!(w.store.inbox_queue_len().await.unwrap(), 1);
    // A signer whose key does not exist (404) is refused for good.
    w.peer.docs.lock().unwrap().remove(&w.bob.key_id);
    let activity = follow(&w, &w.bob, 1, "pat");
    assert_eq!(w.deliver(&w.bob, &activity).await, 401);
    w.finish().await;
}

#[tokio::test]
async fn an_unknown_personal_inbox_is_404() {
    let w = World::start().await;
    let body = serde_json::to_vec(&follow(&w, &w.alice, 1, "pat")).unwrap();
    let r = w
        .post_signed(
            "/users/nobody/inbox",
            &w.alice.signer,
            &body,
            SystemTime::now(),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = w
        .post_signed(
            "/users/pat/inbox",
            &w.alice.signer,
            &body,
            SystemTime::now(),
        )
        .await;
    assert_eq!(r.status(), 202);
    w.finish().await;
}

// ---------------------------------------------------------------------------------------
// The inbox: what is applied.

#[tokio::test]
async fn a_follow_of_an_open_account_is_accepted_once_even_when_replayed() {
    follow_accepted_once(World::start().await).await;
    if let Some(w) = World::start_postgres().await {
        follow_accepted_once(w).await;
    }
}

async fn follow_accepted_once(w: World) {
    let activity = follow(&w, &w.alice, 1, "pat");
    assert_eq!(w.deliver(&w.alice, &activity).await, 202);
    assert_eq!(
        w.deliver(&w.alice, &activity).await,
        202,
        "a replay is acknowledged"
    );
    assert_eq!(w.settle().await, 1, "processed once");
    let alice = w
        .store
        .account_id_by_actor_uri(&w.alice.id)
        .await
        .unwrap()
        .unwrap();
    let rel = w.store.relationship(alice, w.pat).await.unwrap();
    assert!(rel.following);
    assert_eq!(
        w.store.follow_uri(alice, w.pat).await.unwrap().as_deref(),
        activity["id"].as_str()
    );
    let accepts = w
        .outbox_kinds()
        .await
        .into_iter()
        .filter(|k| *k == OutboxKind::AcceptFollow)
        .count();
    assert_eq!(accepts, 1);
    assert_eq!(w.notification_kinds(w.pat).await, vec!["follow"]);
    // A third delivery much later is still a replay.
    assert_eq!(w.deliver(&w.alice, &activity).await, 202);
    assert_eq!(w.settle().await, 0);
    w.finish().await;
}

#[tokio::test]
async fn a_follow_from_a_blocked_account_is_rejected_naming_the_follow_by_id() {
    follow_from_blocked_rejected(World::start().await).await;
    if let Some(w) = World::start_postgres().await {
        follow_from_blocked_rejected(w).await;
    }
}

async fn follow_from_blocked_rejected(w: World) {
    let alice = w.remote_account(&w.alice, "alice").await;
    w.store.block(w.pat, alice).await.unwrap();
    let activity = follow(&w, &w.alice, 1, "pat");
    assert_eq!(w.deliver(&w.alice, &activity).await, 202);
    w.settle().await;
    let rel = w.store.relationship(alice, w.pat).await.unwrap();
    assert!(!rel.following && !rel.requested);
    // No follow row was written: the Reject's event carries the Follow's id itself.
    assert_eq!(w.store.follow_uri(alice, w.pat).await.unwrap(), None);
    let events = w.store.outbox_events_after(0, 1000).await.unwrap();
    let reject = events
        .iter()
        .find(|e| e.kind == OutboxKind::RejectFollow)
        .expect("a Reject is recorded");
    assert_eq!(
        (reject.actor, reject.target_account),
        (Some(w.pat), Some(alice))
    );
    assert_eq!(reject.follow_uri.as_deref(), activity["id"].as_str());
    assert!(w.notification_kinds(w.pat).await.is_empty());
    w.finish().await;
}

#[tokio::test]
async fn a_follow_of_a_locked_account_waits_for_approval() {
    let w = World::start().await;
    // bob signs with a keyId without fragment (GoToSocial's key document).
    assert_eq!(w.deliver(&w.bob, &follow(&w, &w.bob, 1, "lee")).await, 202);
    w.settle().await;
    let bob = w
        .store
        .account_id_by_actor_uri(&w.bob.id)
        .await
        .unwrap()
        .unwrap();
    let rel = w.store.relationship(bob, w.lee).await.unwrap();
    assert!(rel.requested && !rel.following);
    assert!(!w.outbox_kinds().await.contains(&OutboxKind::AcceptFollow));
    assert_eq!(w.notification_kinds(w.lee).await, vec!["follow_request"]);
    // Undo(Follow) removes the request.
    let undo = json!({
        "id": format!("{}#undo/1", w.bob.id), "type": "Undo", "actor": w.bob.id,
        "object": follow(&w, &w.bob, 1, "lee"),
    });
    assert_eq!(w.deliver(&w.bob, &undo).await, 202);
    w.settle().await;
    let rel = w.store.relationship(bob, w.lee).await.unwrap();
    assert!(!rel.requested && !rel.following);
    w.finish().await;
}

#[tokio::test]
async fn a_create_addressed_to_a_local_account_is_stored_sanitised_and_direct() {
    create_stored(World::start().await).await;
    if let Some(w) = World::start_postgres().await {
        create_stored(w).await;
    }
}

async fn create_stored(w: World) {
    let activity = create_note(
        &w.alice,
        7,
        vec![w.local_actor("pat")],
        "<p>hi <script>alert(1)</script><b onclick=\"x\">there</b></p>",
    );
    assert_eq!(w.deliver(&w.alice, &activity).await, 202);
    w.settle().await;
    let id = w
        .store
        .status_id_by_uri(activity["object"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("stored");
    let status = w.store.status(id).await.unwrap();
    assert_eq!(status.facts.audience.visibility, Visibility::Direct);
    assert_eq!(status.facts.addressed, vec![w.pat]);
    assert!(
        !status.content_html.contains("script"),
        "{}",
        status.content_html
    );
    assert!(
        !status.content_html.contains("onclick"),
        "{}",
        status.content_html
    );
    assert!(status.content_html.contains("there"));
    assert_eq!(w.notification_kinds(w.pat).await, vec!["mention"]);

    // A public post from someone nobody here follows, addressing nobody here: dropped.
    let stranger = create_note(
        &w.alice,
        8,
        vec!["https://www.w3.org/ns/activitystreams#Public".into()],
        "<p>spam</p>",
    );
    assert_eq!(w.deliver(&w.alice, &stranger).await, 202);
    w.settle().await;
    assert!(
        w.store
            .status_id_by_uri(stranger["object"]["id"].as_str().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // Once pat follows alice, her followers-only posts are stored as followers-only.
    let alice = w
        .store
        .account_id_by_actor_uri(&w.alice.id)
        .await
        .unwrap()
        .unwrap();
    w.store
        .set_follow(w.pat, alice, FollowState::Accepted)
        .await
        .unwrap();
    let followers_only = create_note(
        &w.alice,
        9,
        vec![format!("{}/followers", w.alice.id)],
        "<p>f</p>",
    );
    assert_eq!(w.deliver(&w.alice, &followers_only).await, 202);
    w.settle().await;
    let id = w
        .store
        .status_id_by_uri(followers_only["object"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        w.store.status(id).await.unwrap().facts.audience.visibility,
        Visibility::Followers
    );

    // Delete by the author tombstones it.
    let delete = json!({
        "id": format!("{}#delete/9", w.alice.id), "type": "Delete", "actor": w.alice.id,
        "object": {"id": followers_only["object"]["id"], "type": "Tombstone"},
    });
    assert_eq!(w.deliver(&w.alice, &delete).await, 202);
    w.settle().await;
    assert!(w.store.status(id).await.unwrap().facts.deleted);
    w.finish().await;
}

#[tokio::test]
async fn media_from_a_domain_blocked_with_reject_media_is_kept_as_links_only() {
    reject_media(World::start().await).await;
    if let Some(w) = World::start_postgres().await {
        reject_media(w).await;
    }
}

/// A post addressed to pat with one image attachment, numbered `n`.
fn create_with_image(w: &World, n: u32) -> (Value, String) {
    let mut activity = create_note(&w.alice, n, vec![w.local_actor("pat")], "<p>look</p>");
    let image = format!("http://{}/media/{n}.png", w.peer_host);
    activity["object"]["attachment"] = json!([{
        "type": "Document", "mediaType": "image/png", "url": image,
        "name": "a rash on the forearm", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        "width": 640, "height": 480,
    }]);
    (activity, image)
}

async fn stored_media(w: &World, activity: &Value) -> Vec<cohort_store::MediaRecord> {
    let id = w
        .store
        .status_id_by_uri(activity["object"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("stored");
    w.store
        .media_of_statuses(&[id])
        .await
        .unwrap()
        .remove(&id)
        .unwrap_or_default()
}

async fn reject_media(w: World) {
    // Before any block: the attachment is an image, kept by URL with what was announced.
    let (before, _) = create_with_image(&w, 21);
    assert_eq!(w.deliver(&w.alice, &before).await, 202);
    w.settle().await;
    let media = stored_media(&w, &before).await;
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].kind, "image");
    assert_eq!(media[0].remote_content_type.as_deref(), Some("image/png"));

    // A noop block with reject_media: posts still arrive, their media only as links.
    let peer = Domain::parse(&w.peer_host).unwrap();
    w.store
        .put_domain_block(
            w.lee,
            &peer,
            &cohort_store::DomainBlockWrite {
                severity: "noop".into(),
                reject_media: true,
                reject_reports: false,
                private_comment: String::new(),
                public_comment: String::new(),
                obfuscate: false,
            },
            "block_domain",
        )
        .await
        .unwrap();
    let hits = w.peer.hits.load(Ordering::SeqCst);
    let (after, image) = create_with_image(&w, 22);
    assert_eq!(w.deliver(&w.alice, &after).await, 202);
    w.settle().await;
    let media = stored_media(&w, &after).await;
    assert_eq!(media.len(), 1, "the post keeps its attachment, as a link");
    let link = &media[0];
    assert_eq!(link.kind, "unknown", "apps show it as a link, not inline");
    assert_eq!(link.remote_url.as_deref(), Some(image.as_str()));
    assert!(link.files.is_none(), "no file stored");
    assert_eq!(link.remote_content_type, None);
    assert_eq!(link.description, "a rash on the forearm");
    assert_eq!(
        w.peer.hits.load(Ordering::SeqCst),
        hits,
        "nothing fetched from the domain"
    );
    w.finish().await;
}

#[tokio::test]
async fn a_remote_posts_hashtags_put_it_on_the_tag_timeline() {
    hashtags_indexed(World::start().await).await;
    if let Some(w) = World::start_postgres().await {
        hashtags_indexed(w).await;
    }
}

/// Found by the Fedify interop run (tests/interop): remote posts' `Hashtag` tags were not
/// indexed, so they never reached tag timelines. Fedify sends a single tag as an object.
async fn hashtags_indexed(w: World) {
    let mut activity = create_note(
        &w.alice,
        11,
        vec![
            "https://www.w3.org/ns/activitystreams#Public".into(),
            w.local_actor("pat"),
        ],
        "<p>Tagged #FedifyInterop</p>",
    );
    activity["object"]["tag"] = json!({
        "type": "Hashtag",
        "href": format!("{}/tags/fedifyinterop", w.alice.id),
        "name": "#FedifyInterop",
    });
    assert_eq!(w.deliver(&w.alice, &activity).await, 202);
    w.settle().await;
    let id = w
        .store
        .status_id_by_uri(activity["object"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        w.store.tags_of(&[id]).await.unwrap().remove(&id),
        Some(vec!["fedifyinterop".to_owned()])
    );
    let page = Page {
        max_id: None,
        since_id: None,
        min_id: None,
        limit: 20,
    };
    assert_eq!(
        w.store
            .tag_timeline_ids("FedifyInterop", false, page)
            .await
            .unwrap(),
        vec![id]
    );

    // An edit that adds a tag puts the post on that tag's timeline too.
    let mut object = activity["object"].clone();
    object["tag"] = json!([
        {"type": "Hashtag", "name": "#FedifyInterop"},
        {"type": "Hashtag", "name": "#Edited"},
    ]);
    let update = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/statuses/11/update", w.alice.id),
        "type": "Update",
        "actor": w.alice.id,
        "object": object,
    });
    assert_eq!(w.deliver(&w.alice, &update).await, 202);
    w.settle().await;
    assert_eq!(
        w.store.tags_of(&[id]).await.unwrap().remove(&id),
        Some(vec!["edited".to_owned(), "fedifyinterop".to_owned()])
    );
    w.finish().await;
}

#[tokio::test]
async fn an_announce_of_a_foreign_object_is_refetched_from_its_origin() {
    let w = World::start().await;
    let olga = format!("http://{}/users/olga", w.origin_host);
    let note_id = format!("http://{}/notes/1", w.origin_host);
    {
        let mut docs = w.peer.docs.lock().unwrap();
        docs.insert(
            olga.clone(),
            person(&olga, "olga", &format!("{olga}#main-key"), keys(3)),
        );
        docs.insert(
            note_id.clone(),
            json!({"id": note_id, "type": "Note", "attributedTo": olga,
                   "content": "<p>the original</p>",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
        );
    }
    let alice = w.remote_account(&w.alice, "alice").await;
    w.store
        .set_follow(w.pat, alice, FollowState::Accepted)
        .await
        .unwrap();
    let announce = json!({
        "id": format!("{}/statuses/50/activity", w.alice.id),
        "type": "Announce",
        "actor": w.alice.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": note_id, "type": "Note", "attributedTo": olga,
                   "content": "<p>forged by the booster</p>", "to": ["as:Public"]},
    });
    let hits_before = w.peer.hits.load(Ordering::SeqCst);
    assert_eq!(w.deliver(&w.alice, &announce).await, 202);
    w.settle().await;
    assert!(
        w.peer.hits.load(Ordering::SeqCst) > hits_before,
        "refetched"
    );
    let original = w
        .store
        .status_id_by_uri(&note_id)
        .await
        .unwrap()
        .expect("original stored");
    let record = w.store.status(original).await.unwrap();
    assert!(
        record.content_html.contains("the original"),
        "{}",
        record.content_html
    );
    let boost = w
        .store
        .status_id_by_uri(announce["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("boost stored");
    assert_eq!(
        w.store.status(boost).await.unwrap().reblog_of_id,
        Some(original)
    );
    // Undo(Announce) removes the boost.
    let undo = json!({
        "id": format!("{}#undo/50", w.alice.id), "type": "Undo", "actor": w.alice.id,
        "object": {"id": announce["id"], "type": "Announce", "actor": w.alice.id, "object": note_id},
    });
    assert_eq!(w.deliver(&w.alice, &undo).await, 202);
    w.settle().await;
    assert!(w.store.status(boost).await.unwrap().facts.deleted);
    w.finish().await;
}

#[tokio::test]
async fn likes_blocks_and_moves_are_recorded() {
    let w = World::start().await;
    let (status, _) = w.local_post(w.pat, "pat", Visibility::Public).await;
    let status_uri = w.store.status(status).await.unwrap().uri;
    let like = json!({"id": format!("{}#likes/1", w.alice.id), "type": "Like",
                      "actor": w.alice.id, "object": status_uri});
    assert_eq!(w.deliver(&w.alice, &like).await, 202);
    w.settle().await;
    assert_eq!(w.store.favourites_count(status).await.unwrap(), 1);
    assert_eq!(w.notification_kinds(w.pat).await, vec!["favourite"]);
    let undo = json!({"id": format!("{}#likes/1/undo", w.alice.id), "type": "Undo",
                      "actor": w.alice.id, "object": like});
    assert_eq!(w.deliver(&w.alice, &undo).await, 202);
    w.settle().await;
    assert_eq!(w.store.favourites_count(status).await.unwrap(), 0);

    let block = json!({"id": format!("{}#blocks/1", w.alice.id), "type": "Block",
                       "actor": w.alice.id, "object": w.local_actor("pat")});
    assert_eq!(w.deliver(&w.alice, &block).await, 202);
    w.settle().await;
    let alice = w
        .store
        .account_id_by_actor_uri(&w.alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(w.store.relationship(alice, w.pat).await.unwrap().blocking);

    // bob moves to a new account that lists him in alsoKnownAs.
    let newbob = format!("http://{}/users/newbob", w.origin_host);
    {
        let mut doc = person(&newbob, "newbob", &format!("{newbob}#main-key"), keys(3));
        doc["alsoKnownAs"] = json!([w.bob.id]);
        w.peer.docs.lock().unwrap().insert(newbob.clone(), doc);
    }
    let moved = json!({"id": format!("{}#moves/1", w.bob.id), "type": "Move",
                       "actor": w.bob.id, "object": w.bob.id, "target": newbob});
    assert_eq!(w.deliver(&w.bob, &moved).await, 202);
    w.settle().await;
    let bob = w
        .store
        .account_id_by_actor_uri(&w.bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        w.store.account_move(bob).await.unwrap(),
        Some((newbob, true))
    );
    w.finish().await;
}

// ---------------------------------------------------------------------------------------
// Signed GETs of objects go through the read gate.

#[tokio::test]
async fn status_gets_pass_the_read_gate_with_the_signer_as_viewer() {
    let w = World::start().await;
    let (_, followers_path) = w.local_post(w.pat, "pat", Visibility::Followers).await;
    let (public_id, public_path) = w.local_post(w.pat, "pat", Visibility::Public).await;

    // Unsigned: a followers-only post does not exist; a public one needs a signature.
    assert_eq!(w.get_signed(&followers_path, None).await.status(), 404);
    assert_eq!(w.get_signed(&public_path, None).await.status(), 401);

    // alice follows pat.
    let alice = w.remote_account(&w.alice, "alice").await;
    w.store
        .set_follow(alice, w.pat, FollowState::Accepted)
        .await
        .unwrap();
    let r = w.get_signed(&followers_path, Some(&w.alice.signer)).await;
    assert_eq!(r.status(), 200);
    let note: Value = r.json().await.unwrap();
    assert_eq!(note["type"], "Note");
    assert_eq!(note["attributedTo"], w.local_actor("pat"));
    assert_eq!(
        note["to"],
        json!([format!("{}/followers", w.local_actor("pat"))])
    );

    // bob does not follow pat: not found. Nor does the instance actor of their server see
    // a followers-only post (an instance is not a follower).
    assert_eq!(
        w.get_signed(&followers_path, Some(&w.bob.signer))
            .await
            .status(),
        404
    );
    let instance = Signer::from_pem(
        &format!("http://{}/actor#main-key", w.peer_host),
        &keys(3).private_key_pem,
    )
    .unwrap();
    assert_eq!(
        w.get_signed(&followers_path, Some(&instance))
            .await
            .status(),
        404
    );
    // The follower's instance fetches the public post.
    let r = w.get_signed(&public_path, Some(&instance)).await;
    assert_eq!(r.status(), 200);
    let note: Value = r.json().await.unwrap();
    assert_eq!(
        note["to"],
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    );

    // A bad signature on a GET is 401, not a silent anonymous view.
    let forger = Signer::from_pem(&w.alice.key_id, &keys(2).private_key_pem).unwrap();
    assert_eq!(
        w.get_signed(&followers_path, Some(&forger)).await.status(),
        401
    );

    // Deleted: 410 with a Tombstone.
    w.store.mark_status_deleted(public_id).await.unwrap();
    let r = w.get_signed(&public_path, Some(&instance)).await;
    assert_eq!(r.status(), 410);
    let tomb: Value = r.json().await.unwrap();
    assert_eq!(tomb["type"], "Tombstone");
    let _ = w.cohort_addr;
    w.finish().await;
}

#[tokio::test]
async fn a_group_announce_of_a_create_is_a_boost_of_the_post_refetched_from_its_origin() {
    let w = World::start().await;
    let olga = format!("http://{}/users/olga", w.origin_host);
    let page_id = format!("http://{}/post/7", w.origin_host);
    {
        let mut docs = w.peer.docs.lock().unwrap();
        docs.insert(
            olga.clone(),
            person(&olga, "olga", &format!("{olga}#main-key"), keys(3)),
        );
        docs.insert(
            page_id.clone(),
            json!({"id": page_id, "type": "Page", "attributedTo": olga, "name": "Respite",
                   "content": "<p>from the origin</p>",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
        );
    }
    let alice = w.remote_account(&w.alice, "alice").await;
    w.store
        .set_follow(w.pat, alice, FollowState::Accepted)
        .await
        .unwrap();
    let announce = json!({
        "id": format!("{}/activities/announce/1", w.alice.id),
        "type": "Announce",
        "actor": w.alice.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": format!("http://{}/activities/create/1", w.origin_host),
            "type": "Create",
            "actor": olga,
            "object": {"id": page_id, "type": "Page", "attributedTo": olga,
                       "content": "<p>forged inline</p>"}
        }
    });
    assert_eq!(w.deliver(&w.alice, &announce).await, 202);
    w.settle().await;
    let page = w
        .store
        .status_id_by_uri(&page_id)
        .await
        .unwrap()
        .expect("page stored");
    assert!(
        w.store
            .status(page)
            .await
            .unwrap()
            .content_html
            .contains("from the origin")
    );
    let boost = w
        .store
        .status_id_by_uri(announce["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("boost stored");
    assert_eq!(
        w.store.status(boost).await.unwrap().reblog_of_id,
        Some(page)
    );
    w.finish().await;
}

/// FEP-1b12: a Group's `Announce(Create)` relays a post of its community. The post is
/// refetched from its origin and attributed to the community, and a relay is no boost. The
/// Group's `Announce(Delete)` removes only posts of its own community.
#[tokio::test]
async fn a_group_relay_stores_the_post_in_its_community_and_removes_only_its_own_posts() {
    let w = World::start().await;
    let forum_id = format!("http://{}/c/forum", w.peer_host);
    let forum_key = format!("{forum_id}#main-key");
    let olga = format!("http://{}/users/olga", w.origin_host);
    let note_id = format!("http://{}/post/8", w.origin_host);
    {
        let mut docs = w.peer.docs.lock().unwrap();
        let mut group = person(&forum_id, "forum", &forum_key, keys(3));
        group["type"] = json!("Group");
        docs.insert(forum_id.clone(), group);
        docs.insert(
            olga.clone(),
            person(&olga, "olga", &format!("{olga}#main-key"), keys(3)),
        );
        docs.insert(
            note_id.clone(),
            json!({"id": note_id, "type": "Note", "attributedTo": olga, "audience": forum_id,
                   "content": "<p>from the origin</p>",
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
        );
    }
    let forum = RemoteActor {
        signer: Signer::from_pem(&forum_key, &keys(3).private_key_pem).unwrap(),
        id: forum_id.clone(),
        key_id: forum_key,
    };
    let forum_account = w
        .store
        .upsert_remote_account(&NewRemoteAccount {
            username: "forum".into(),
            domain: Domain::parse(&w.peer_host).unwrap(),
            actor_uri: forum_id.clone(),
            inbox_uri: format!("{forum_id}/inbox"),
            shared_inbox_uri: None,
            followers_uri: Some(format!("{forum_id}/followers")),
            display_name: String::new(),
            is_group: true,
        })
        .await
        .unwrap();
    let community = w
        .store
        .community_of_group(forum_account)
        .await
        .unwrap()
        .expect("a remote Group gets a community row");
    // Following the Group is membership of its community, here too.
    w.store
        .set_follow(w.pat, forum_account, FollowState::Accepted)
        .await
        .unwrap();
    assert!(
        w.store
            .membership(community.id, w.pat)
            .await
            .unwrap()
            .unwrap()
            .is_member()
    );

    let relay = json!({
        "id": format!("{forum_id}/activities/announce/1"),
        "type": "Announce",
        "actor": forum_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": format!("{note_id}#create"),
            "type": "Create",
            "actor": olga,
            "object": {"id": note_id, "type": "Note", "attributedTo": olga,
                       "content": "<p>forged inline</p>"}
        }
    });
    assert_eq!(w.deliver(&forum, &relay).await, 202);
    w.settle().await;
    let note = w
        .store
        .status_id_by_uri(&note_id)
        .await
        .unwrap()
        .expect("relayed post stored");
    let record = w.store.status(note).await.unwrap();
    assert!(record.content_html.contains("from the origin"));
    assert_eq!(record.facts.audience.community, Some(community.id));
    assert_eq!(
        w.store
            .status_id_by_uri(relay["id"].as_str().unwrap())
            .await
            .unwrap(),
        None,
        "a relay is no boost"
    );

    // The Group cannot remove what is not in its community...
    let (outside, outside_path) = w.local_post(w.pat, "pat", Visibility::Public).await;
    let forged = json!({
        "id": format!("{forum_id}/activities/announce/2"),
        "type": "Announce",
        "actor": forum_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": format!("{forum_id}/activities/delete/2"), "type": "Delete",
                   "actor": forum_id, "object": w.url(&outside_path)}
    });
    assert_eq!(w.deliver(&forum, &forged).await, 202);
    w.settle().await;
    assert!(!w.store.status(outside).await.unwrap().facts.deleted);
    // ...but removes what is.
    let removal = json!({
        "id": format!("{forum_id}/activities/announce/3"),
        "type": "Announce",
        "actor": forum_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": format!("{forum_id}/activities/delete/3"), "type": "Delete",
                   "actor": forum_id, "object": note_id, "summary": "off topic"}
    });
    assert_eq!(w.deliver(&forum, &removal).await, 202);
    w.settle().await;
    assert!(w.store.status(note).await.unwrap().facts.deleted);
    assert_eq!(
        w.store.removal_of(note).await.unwrap().map(|(_, why)| why),
        Some("off topic".to_owned())
    );
    w.finish().await;
}

/// A local community through the inbox: following its Group is joining (refused for a
/// `local` community), a member's post becomes a thread that the Group announces and
/// relays, and what the host must refuse is refused with nothing stored: a non-member's
/// post, a post into a `local` community, and a removal by someone who does not moderate.
#[tokio::test]
async fn a_local_community_admits_members_posts_and_refuses_the_rest() {
    let w = World::start().await;
    let urls = LocalUrls::new(&Domain::parse(&w.cohort).unwrap(), true);
    let community = |name: &str, visibility| {
        let username = Username::parse(name).unwrap();
        cohort_store::NewLocalCommunity {
            actor_uri: urls.actor(&username),
            inbox_uri: urls.inbox(&username),
            shared_inbox_uri: urls.shared_inbox(),
            followers_uri: urls.followers(&username),
            url: urls.profile_page(&username),
            key_id: urls.key_id(&username),
            name: username,
            title: name.into(),
            description: String::new(),
            membership: cohort_model::Membership::Open,
            visibility,
            rules: Vec::new(),
            tags: Vec::new(),
            language: None,
            owner: w.pat,
            public_key_pem: keys(0).public_key_pem.clone(),
            private_key_pem: keys(0).private_key_pem.clone(),
        }
    };
    let forum = w
        .store
        .create_local_community(&community(
            "forum",
            cohort_model::CommunityVisibility::Public,
        ))
        .await
        .unwrap();
    let ward = w
        .store
        .create_local_community(&community("ward", cohort_model::CommunityVisibility::Local))
        .await
        .unwrap();
    let alice = w.remote_account(&w.alice, "alice").await;
    let bob = w.remote_account(&w.bob, "bob").await;
    let follow = |n: u32, group: &str| {
        json!({"id": format!("{}/follows/{n}", w.alice.id), "type": "Follow",
               "actor": w.alice.id, "object": w.local_actor(group)})
    };
    // Alice joins the forum; the ward (local only) refuses her.
    assert_eq!(w.deliver(&w.alice, &follow(1, "forum")).await, 202);
    assert_eq!(w.deliver(&w.alice, &follow(2, "ward")).await, 202);
    w.settle().await;
    assert!(
        w.store
            .membership(forum.id, alice)
            .await
            .unwrap()
            .is_some_and(|m| m.is_member())
    );
    assert_eq!(w.store.membership(ward.id, alice).await.unwrap(), None);
    let kinds = w.outbox_kinds().await;
    assert!(kinds.contains(&OutboxKind::AcceptFollow), "{kinds:?}");
    assert!(kinds.contains(&OutboxKind::RejectFollow), "{kinds:?}");

    let post = |actor: &RemoteActor, n: u32, group: &str| {
        let id = format!("{}/statuses/{n}", actor.id);
        json!({"id": format!("{id}/activity"), "type": "Create", "actor": actor.id,
               "to": ["https://www.w3.org/ns/activitystreams#Public", w.local_actor(group)],
               "object": {"id": id, "type": "Note", "attributedTo": actor.id,
                          "content": format!("<p>post {n}</p>"),
                          "to": ["https://www.w3.org/ns/activitystreams#Public",
                                 w.local_actor(group)]}})
    };
    // A member's post is a thread: stored in the community, announced and relayed.
    assert_eq!(w.deliver(&w.alice, &post(&w.alice, 1, "forum")).await, 202);
    // A non-member's post and a post into the local-only ward: refused, nothing stored.
    assert_eq!(w.deliver(&w.bob, &post(&w.bob, 2, "forum")).await, 202);
    assert_eq!(w.deliver(&w.alice, &post(&w.alice, 3, "ward")).await, 202);
    w.settle().await;
    let thread = w
        .store
        .status_id_by_uri(&format!("{}/statuses/1", w.alice.id))
        .await
        .unwrap()
        .expect("the member's thread is stored");
    assert_eq!(
        w.store
            .status(thread)
            .await
            .unwrap()
            .facts
            .audience
            .community,
        Some(forum.id)
    );
    assert!(
        w.store
            .community_announcement_of(forum.account.id, thread)
            .await
            .unwrap()
            .is_some(),
        "the Group announces the thread"
    );
    assert!(w.outbox_kinds().await.contains(&OutboxKind::GroupForward));
    for refused in [
        format!("{}/statuses/2", w.bob.id),
        format!("{}/statuses/3", w.alice.id),
    ] {
        assert_eq!(
            w.store.status_id_by_uri(&refused).await.unwrap(),
            None,
            "{refused}"
        );
    }

    // Bob (no moderator) cannot remove Alice's thread, even addressed to the Group.
    let removal = json!({"id": format!("{}/deletes/1", w.bob.id), "type": "Delete",
                         "actor": w.bob.id, "to": [w.local_actor("forum")],
                         "object": format!("{}/statuses/1", w.alice.id)});
    assert_eq!(w.deliver(&w.bob, &removal).await, 202);
    w.settle().await;
    assert!(!w.store.status(thread).await.unwrap().facts.deleted);
    // Once Bob is a member made moderator, the same removal applies and is relayed.
    w.store.join_community(&forum, bob, None).await.unwrap();
    assert!(
        w.store
            .set_community_moderator(forum.id, bob, true)
            .await
            .unwrap()
    );
    let removal = json!({"id": format!("{}/deletes/2", w.bob.id), "type": "Delete",
                         "actor": w.bob.id, "to": [w.local_actor("forum")],
                         "summary": "spam",
                         "object": format!("{}/statuses/1", w.alice.id)});
    assert_eq!(w.deliver(&w.bob, &removal).await, 202);
    w.settle().await;
    assert!(w.store.status(thread).await.unwrap().facts.deleted);
    assert!(w.outbox_kinds().await.contains(&OutboxKind::GroupRemove));
    w.finish().await;
}

// ---------------------------------------------------------------------------------------
// Flags (reports from other instances).

impl World {
    /// The peer's instance actor (an `Application`, as Mastodon and GoToSocial report from).
    fn peer_instance(&self) -> RemoteActor {
        let id = format!("http://{}/actor", self.peer_host);
        let key_id = format!("{id}#main-key");
        RemoteActor {
            signer: Signer::from_pem(&key_id, &keys(3).private_key_pem).unwrap(),
            id,
            key_id,
        }
    }

    async fn reports(&self) -> Vec<cohort_store::ReportRecord> {
        self.store
            .reports(&cohort_store::ReportFilter {
                limit: 100,
                ..cohort_store::ReportFilter::default()
            })
            .await
            .unwrap()
    }
}

fn flag(w: &World, from: &RemoteActor, n: u32, object: Value, extra: Value) -> Value {
    let mut activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("http://{}/flags/{n}", w.peer_host),
        "type": "Flag",
        "actor": from.id,
        "object": object,
    });
    if let (Some(a), Some(e)) = (activity.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            a.insert(k.clone(), v.clone());
        }
    }
    activity
}

#[tokio::test]
async fn flags_in_the_shapes_of_four_servers_become_reports_from_their_domain() {
    let w = World::start().await;
    let instance = w.peer_instance();
    let (first, first_path) = w.local_post(w.pat, "pat", Visibility::Public).await;
    let (second, second_path) = w.local_post(w.pat, "pat", Visibility::Public).await;
    let (lees, lees_path) = w.local_post(w.lee, "lee", Visibility::Public).await;
    let pat = w.local_actor("pat");
    // Mastodon: the account, then statuses; the comment in `content`.
    let mastodon = flag(
        &w,
        &instance,
        1,
        json!([pat, w.url(&first_path), w.url(&second_path)]),
        json!({"content": "Unsolicited advertising for supplements."}),
    );
    // GoToSocial: the same with an empty comment.
    let gotosocial = flag(
        &w,
        &instance,
        2,
        json!([pat, w.url(&first_path)]),
        json!({"content": ""}),
    );
    // Misskey: one account as a bare IRI.
    let misskey = flag(
        &w,
        &instance,
        3,
        json!(pat),
        json!({"content": "Note: somewhere\n-----\nSame advert everywhere."}),
    );
    // Lemmy: a person reports a post; the reason in `summary`.
    let lemmy = flag(
        &w,
        &w.alice,
        4,
        json!(w.url(&lees_path)),
        json!({"summary": "Selling unproven treatments", "to": [w.local_actor("lee")]}),
    );
    for (from, activity) in [
        (&instance, &mastodon),
        (&instance, &gotosocial),
        (&instance, &misskey),
        (&w.alice, &lemmy),
    ] {
        assert_eq!(w.deliver(from, activity).await, StatusCode::ACCEPTED);
    }
    w.settle().await;
    // Different senders' activities are applied concurrently (each sender's in order), so
    // the reports are put in the order of their Flags' ids, not of their creation.
    let mut reports = w.reports().await;
    reports.sort_by(|a, b| a.uri.cmp(&b.uri));
    assert_eq!(reports.len(), 4);
    let peer = Domain::parse(&w.peer_host).unwrap();
    for r in &reports {
        assert_eq!(r.origin_domain.as_ref(), Some(&peer));
        assert_eq!(r.reporter, None, "the sender's reporter stays anonymous");
        assert!(!r.forwarded);
    }
    assert_eq!(reports[0].target, w.pat);
    assert_eq!(reports[0].status_ids, vec![first, second]);
    assert_eq!(
        reports[0].comment,
        "Unsolicited advertising for supplements."
    );
    assert_eq!(
        reports[0].uri.as_deref(),
        Some(format!("http://{}/flags/1", w.peer_host).as_str())
    );
    assert_eq!(
        (reports[1].target, reports[1].comment.as_str()),
        (w.pat, "")
    );
    assert_eq!(reports[2].status_ids, Vec::<Id>::new());
    assert!(reports[2].comment.ends_with("Same advert everywhere."));
    assert_eq!(reports[3].target, w.lee, "the post's author is reported");
    assert_eq!(reports[3].status_ids, vec![lees]);
    assert_eq!(reports[3].comment, "Selling unproven treatments");
    w.finish().await;
}

#[tokio::test]
async fn a_flag_naming_no_local_account_is_422_and_stores_nothing() {
    let w = World::start().await;
    let instance = w.peer_instance();
    let nobody = flag(
        &w,
        &instance,
        1,
        json!([w.local_actor("nobody"), "https://elsewhere.example/users/x"]),
        json!({"content": "?"}),
    );
    assert_eq!(
        w.deliver(&instance, &nobody).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A remote account is not ours to judge either.
    let remote = flag(&w, &instance, 2, json!(w.bob.id), json!({}));
    w.remote_account(&w.bob, "bob").await;
    assert_eq!(
        w.deliver(&instance, &remote).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    w.settle().await;
    assert!(w.reports().await.is_empty());
    w.finish().await;
}

#[tokio::test]
async fn flags_from_a_domain_that_rejects_reports_are_403() {
    let w = World::start().await;
    let instance = w.peer_instance();
    let peer = Domain::parse(&w.peer_host).unwrap();
    w.store
        .put_domain_block(
            w.lee,
            &peer,
            &cohort_store::DomainBlockWrite {
                severity: "noop".into(),
                reject_media: false,
                reject_reports: true,
                private_comment: String::new(),
                public_comment: String::new(),
                obfuscate: false,
            },
            "block_domain",
        )
        .await
        .unwrap();
    let activity = flag(&w, &instance, 1, json!(w.local_actor("pat")), json!({}));
    assert_eq!(w.deliver(&instance, &activity).await, StatusCode::FORBIDDEN);
    w.settle().await;
    assert!(w.reports().await.is_empty());
    // A noop block still lets the domain's other activities in.
    let f = follow(&w, &w.alice, 1, "pat");
    assert_eq!(w.deliver(&w.alice, &f).await, StatusCode::ACCEPTED);
    w.finish().await;
}

#[tokio::test]
async fn report_spam_from_one_domain_is_rate_limited() {
    let w = World::start().await;
    let instance = w.peer_instance();
    let pat = w.local_actor("pat");
    let limit = u32::try_from(cohort_moderation::FLAGS_PER_DOMAIN_PER_WINDOW).unwrap();
    // A burst accepted before any of it is stored still stops at the limit...
    for n in 0..limit + 5 {
        let activity = flag(&w, &instance, n, json!(pat), json!({"content": "spam"}));
        assert_eq!(w.deliver(&instance, &activity).await, StatusCode::ACCEPTED);
    }
    w.settle().await;
    assert_eq!(w.reports().await.len(), limit as usize);
    // ...and once the limit is reached, further Flags are refused at the door.
    let activity = flag(&w, &instance, 1000, json!(pat), json!({}));
    assert_eq!(
        w.deliver(&instance, &activity).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    w.finish().await;
}

#[tokio::test]
async fn a_resolve_is_accepted_only_from_the_instance_the_report_went_to() {
    let w = World::start().await;
    let bob = w.remote_account(&w.bob, "bob").await;
    // Pat's report about bob, forwarded to bob's instance.
    let report = w
        .store
        .create_report(&cohort_store::NewReport {
            reporter: Some(w.pat),
            target: bob,
            status_ids: Vec::new(),
            comment: "spam".into(),
            category: "spam".into(),
            priority: 0,
            rule_ids: Vec::new(),
            forward: true,
            forward_comment: Some("spam".into()),
            forward_domains: Vec::new(),
            comment_phi_reason: None,
            origin_domain: None,
            uri: None,
            origin_actor: None,
        })
        .await
        .unwrap();
    let event = w.store.report(report).await.unwrap().flag_event.unwrap();
    let flag_id = w.url(&format!("/activities/{event}"));
    let resolve = |host: &str, from: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("http://{host}/resolutions/1"),
            "type": "Resolve",
            "actor": from,
            "object": {"id": flag_id, "type": "Flag"},
            "content": "Resolved; action taken: suspend.",
        })
    };
    // Another instance cannot resolve it: accepted at the door, dropped as forged.
    let origin_actor = format!("http://{}/actor", w.origin_host);
    let origin_key = format!("{origin_actor}#main-key");
    w.peer.docs.lock().unwrap().insert(
        origin_actor.clone(),
        json!({"id": origin_actor, "type": "Application", "preferredUsername": w.origin_host,
               "inbox": format!("{origin_actor}/inbox"),
               "publicKey": {"id": origin_key, "owner": origin_actor,
                             "publicKeyPem": keys(3).public_key_pem}}),
    );
    let forger = RemoteActor {
        signer: Signer::from_pem(&origin_key, &keys(3).private_key_pem).unwrap(),
        id: origin_actor.clone(),
        key_id: origin_key,
    };
    let forged = resolve(&w.origin_host, &origin_actor);
    assert_eq!(w.deliver(&forger, &forged).await, StatusCode::ACCEPTED);
    w.settle().await;
    let stored = w.store.report(report).await.unwrap();
    assert_eq!(
        stored.remote_resolved_at, None,
        "a forged resolution is dropped"
    );
    assert!(w.notification_kinds(w.pat).await.is_empty());

    // Bob's instance can.
    let instance = w.peer_instance();
    let genuine = resolve(&w.peer_host, &instance.id);
    assert_eq!(w.deliver(&instance, &genuine).await, StatusCode::ACCEPTED);
    w.settle().await;
    let stored = w.store.report(report).await.unwrap();
    assert!(stored.remote_resolved_at.is_some());
    assert_eq!(
        stored.remote_resolution.as_deref(),
        Some("Resolved; action taken: suspend.")
    );
    assert_eq!(w.notification_kinds(w.pat).await, ["moderation_warning"]);
    w.finish().await;
}
