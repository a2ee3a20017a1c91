//! Inbox throughput benchmark (ignored by default; prints figures). Remote actors followed by
//! a local account send signed public `Create(Note)` activities to the shared inbox over real
//! HTTP, 32 at a time, while the inbox processor runs in the background as in `cohort serve`.
//! Reported: activities per second accepted (`202`) and fully processed (the notes stored,
//! the queue empty), against the bare RSA-2048 verification rate (the inbox's own
//! `verify_rsa_sha256`, one thread) measured in the same run, and against the rate of bare
//! HTTP round trips in the same process (the same client, requests and concurrency against a
//! handler that only reads the body): the ceiling of any inbox on this machine. The requests
//! are signed before the clock starts: the sender's signing is not what this measures.
//!
//! Run (release, both engines when COHORT_TEST_POSTGRES_URL is set; `COHORT_BENCH_PAUSE=1`
//! pauses before the timed phase so that a profiler can attach):
//! `cargo test --release -p cohort-federation --test inbox_bench -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use cohort_federation::delivery::sign::{Signer, sign_post};
use cohort_federation::http::signature::verify_rsa_sha256;
use cohort_federation::keys::{ActorKeys, generate_actor_keys};
use cohort_federation::urls::LocalUrls;
use cohort_federation::{FederationConfig, FederationState, router};
use cohort_model::{AuthorKind, Domain, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{FollowState, NewLocalAccount, NewRemoteAccount};
use serde_json::{Value, json};

const ACTORS: usize = 8;
const ACTIVITIES: usize = 4_000;
const IN_FLIGHT: usize = 32;

type Docs = Arc<Mutex<HashMap<String, Value>>>;

/// The senders' server: their actor documents, for the inbox's first key fetch.
async fn peer_get(
    State(docs): State<Docs>,
    headers: HeaderMap,
    uri: Uri,
) -> axum::response::Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let url = format!("http://{host}{}", uri.path());
    match docs.lock().unwrap().get(&url) {
        Some(doc) => (
            [("content-type", "application/activity+json")],
            axum::Json(doc.clone()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

struct Sender {
    id: String,
    signer: Signer,
}

/// One request, signed before the clock starts.
struct Prepared {
    body: Vec<u8>,
    date: String,
    digest: String,
    signature: String,
}

/// The bare verification rate of one thread: the inbox's `verify_rsa_sha256` (PEM key
/// decoding and the aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 check) over a signing string.
fn verification_rate(keys: &ActorKeys) -> f64 {
    let signer = Signer::from_pem(
        "http://peer.example/users/a#main-key",
        &keys.private_key_pem,
    )
    .unwrap();
    let message = b"(request-target): post /inbox\nhost: cohort.localhost:40000\ndate: Sat, 28 Nov 2026 01:00:00 GMT\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let signature = signer.sign(message).unwrap();
    for _ in 0..200 {
        verify_rsa_sha256(&keys.public_key_pem, message, &signature).unwrap();
    }
    let n = 20_000;
    let start = Instant::now();
    for _ in 0..n {
        verify_rsa_sha256(&keys.public_key_pem, message, &signature).unwrap();
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

/// The rate of bare HTTP round trips in this process: the same client settings, requests
/// and concurrency as the measured run, against a server whose handler only reads the body
/// and answers `202`. The inbox cannot be faster than this on the same machine: it is the
/// ceiling the verification-rate target is compared with.
async fn bare_http_rate(prepared: &[Prepared]) -> f64 {
    async fn accept(body: axum::body::Bytes) -> StatusCode {
        std::hint::black_box(body.len());
        StatusCode::ACCEPTED
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(accept);
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let url = format!("http://{addr}/inbox");
    let start = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut requests = tokio::task::JoinSet::new();
    for p in prepared {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let request = client
            .post(&url)
            .header("content-type", "application/activity+json")
            .header("date", &p.date)
            .header("digest", &p.digest)
            .header("signature", &p.signature)
            .body(p.body.clone())
            .send();
        requests.spawn(async move {
            let status = request.await.map(|r| r.status().as_u16()).unwrap_or(0);
            drop(permit);
            status
        });
    }
    let statuses = requests.join_all().await;
    let rate = prepared.len() as f64 / start.elapsed().as_secs_f64();
    server.abort();
    assert!(
        statuses.iter().all(|s| *s == 202),
        "the no-op server answered"
    );
    rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn signed_creates_accepted_and_processed_per_second() {
    let keys: Arc<Vec<ActorKeys>> = Arc::new(
        (0..ACTORS)
            .map(|_| generate_actor_keys().unwrap())
            .collect(),
    );
    let local_keys = Arc::new(generate_actor_keys().unwrap());
    on_each_engine(|store| {
        let keys = keys.clone();
        let local_keys = local_keys.clone();
        async move {
            let engine = store.engine();
            // The senders' server.
            let docs: Docs = Arc::default();
            let peer_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let peer_host = format!("peer.localhost:{}", peer_listener.local_addr().unwrap().port());
            let app = axum::Router::new().fallback(peer_get).with_state(docs.clone());
            tokio::spawn(async move { axum::serve(peer_listener, app).await.unwrap() });

            // Cohort's federation router, with its inbox processor running.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let cohort = format!("cohort.localhost:{}", addr.port());
            let domain = Domain::parse(&cohort).unwrap();
            let state =
                FederationState::new(store.clone(), FederationConfig::new(domain.clone(), true))
                    .await
                    .unwrap();
            let app = router(state.clone());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            let processor = state.inbox_processor().spawn(Duration::from_millis(200));

            // A local reader following every sender, so their posts are kept.
            let urls = LocalUrls::new(&domain, true);
            let name = Username::parse("pat").unwrap();
            let pat = store
                .create_local_account(&NewLocalAccount {
                    username: name.clone(),
                    email: "pat@example.org".into(),
                    role: Role::Member,
                    author_kind: AuthorKind::Patient,
                    password_hash: "x".into(),
                    approved: true,
                    locked: false,
                    actor_uri: urls.actor(&name),
                    inbox_uri: urls.inbox(&name),
                    shared_inbox_uri: urls.shared_inbox(),
                    followers_uri: urls.followers(&name),
                    url: urls.profile_page(&name),
                    key_id: urls.key_id(&name),
                    public_key_pem: local_keys.public_key_pem.clone(),
                    private_key_pem: local_keys.private_key_pem.clone(),
                })
                .await
                .unwrap()
                .id;
            let mut senders = Vec::new();
            for (n, key) in keys.iter().enumerate() {
                let id = format!("http://{peer_host}/users/s{n}");
                let key_id = format!("{id}#main-key");
                docs.lock().unwrap().insert(
                    id.clone(),
                    json!({
                        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                        "id": id, "type": "Person", "preferredUsername": format!("s{n}"),
                        "inbox": format!("{id}/inbox"), "followers": format!("{id}/followers"),
                        "publicKey": {"id": key_id, "owner": id, "publicKeyPem": key.public_key_pem}
                    }),
                );
                let remote = store
                    .upsert_remote_account(&NewRemoteAccount {
                        username: format!("s{n}"),
                        domain: Domain::parse(&peer_host).unwrap(),
                        actor_uri: id.clone(),
                        inbox_uri: format!("{id}/inbox"),
                        shared_inbox_uri: None,
                        followers_uri: Some(format!("{id}/followers")),
                        display_name: String::new(),
                        is_group: false,
                    })
                    .await
                    .unwrap();
                store
                    .set_follow(pat, remote, FollowState::Accepted)
                    .await
                    .unwrap();
                senders.push(Sender {
                    signer: Signer::from_pem(&key_id, &key.private_key_pem).unwrap(),
                    id,
                });
            }

            let client = reqwest::Client::builder()
                .resolve("cohort.localhost", addr)
                .pool_max_idle_per_host(IN_FLIGHT)
                .build()
                .unwrap();
            let prepare = |n: usize| {
                let sender = &senders[n % ACTORS];
                let note = format!("{}/notes/{n}", sender.id);
                let activity = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{note}/activity"),
                    "type": "Create",
                    "actor": sender.id,
                    "published": "2026-11-28T06:00:00Z",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "cc": [format!("{}/followers", sender.id)],
                    "object": {
                        "id": note, "type": "Note", "attributedTo": sender.id,
                        "content": format!("<p>Night lows again, number {n}. Anyone else?</p>"),
                        "published": "2026-11-28T06:00:00Z",
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                        "cc": [format!("{}/followers", sender.id)]
                    }
                });
                let body = serde_json::to_vec(&activity).unwrap();
                let signed =
                    sign_post(&sender.signer, &cohort, "/inbox", &body, SystemTime::now()).unwrap();
                Prepared {
                    body,
                    date: signed.date,
                    digest: signed.digest,
                    signature: signed.signature,
                }
            };
            let send = |p: Prepared| {
                let request = client
                    .post(format!("http://{cohort}/inbox"))
                    .header("content-type", "application/activity+json")
                    .header("date", p.date)
                    .header("digest", p.digest)
                    .header("signature", p.signature)
                    .body(p.body);
                async move {
                    request
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                }
            };

            // Warm-up, outside the clock: each sender's key fetched and cached once.
            for n in 0..ACTORS {
                assert_eq!(send(prepare(ACTIVITIES + n)).await, 202);
            }
            while store.inbox_queue_len().await.unwrap() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }

            let verify_rate = verification_rate(&keys[0]);
            let prepared: Vec<Prepared> = (0..ACTIVITIES).map(prepare).collect();
            let http_rate = bare_http_rate(&prepared).await;

            // For profiling the timed phase alone: `COHORT_BENCH_PAUSE=1` prints the pid
            // and waits two seconds, time to attach `perf record -p PID`.
            if std::env::var_os("COHORT_BENCH_PAUSE").is_some() {
                eprintln!("timed phase starts in 2 s; pid {}", std::process::id());
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let start = Instant::now();
            let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
            let mut requests = tokio::task::JoinSet::new();
            for p in prepared {
                let permit = permits.clone().acquire_owned().await.unwrap();
                let request = send(p);
                requests.spawn(async move {
                    let status = request.await;
                    drop(permit);
                    status
                });
            }
            let statuses: Vec<u16> = requests.join_all().await;
            let accepted_in = start.elapsed();
            assert!(statuses.iter().all(|s| *s == 202), "every POST answered 202");
            while store.inbox_queue_len().await.unwrap() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let processed_in = start.elapsed();
            processor.shutdown().await;

            for n in (0..ACTIVITIES).step_by(97) {
                let note = format!("{}/notes/{n}", senders[n % ACTORS].id);
                assert!(
                    store.status_id_by_uri(&note).await.unwrap().is_some(),
                    "{note} stored"
                );
            }
            let accept_rate = ACTIVITIES as f64 / accepted_in.as_secs_f64();
            let process_rate = ACTIVITIES as f64 / processed_in.as_secs_f64();
            println!(
                "[{engine}] inbox: {ACTIVITIES} signed Create(Note) from {ACTORS} actors, \
                 {IN_FLIGHT} in flight\n  accepted (202): {:.2} s, {accept_rate:.0}/s\n  \
                 fully processed (stored, queue empty): {:.2} s, {process_rate:.0}/s\n  \
                 bare RSA-2048 verification (verify_rsa_sha256, 1 thread): {verify_rate:.0}/s\n  \
                 => processed at {:.1}% of the verification-only rate (target: 50% on SQLite)\n  \
                 bare HTTP round trips (the same client and bodies, a handler that only reads \
                 the body and answers 202): {http_rate:.0}/s = {:.1}% of the verification rate",
                accepted_in.as_secs_f64(),
                processed_in.as_secs_f64(),
                100.0 * process_rate / verify_rate,
                100.0 * http_rate / verify_rate,
            );
        }
    })
    .await;
}
