//! Issue 7's durability promise, tested on the real binary: "nothing is lost when the process
//! is killed at any point, and nothing is delivered twice to the same inbox in normal
//! operation".
//!
//! `cohort serve` (a child process) delivers followers-only posts to remote followers whose
//! inboxes are a recording listener in this test. The sender is killed with SIGKILL twice in
//! the middle of delivering (at about a quarter and at about 60% of the deliveries),
//! restarted on the same database each time, and left to finish. Then:
//! - every post reached every follower's inbox at least once;
//! - an inbox got a post twice only if it had received it before a kill while the sender's
//!   database did not yet record it as delivered (in flight at the kill), once per such kill,
//!   and never more than one per delivery lane per kill.
//!
//! The duplicates are printed (`--nocapture`). Both engines (PostgreSQL when
//! `COHORT_TEST_POSTGRES_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use cohort_model::{AuthorKind, Domain, Id, Role, Username, Visibility};
use cohort_server::config::Config;
use cohort_store::testing::{POSTGRES_URL_VAR, TestDatabase};
use cohort_store::{FollowState, NewLocalAccount, NewRemoteAccount, Store};

const BIN: &str = env!("CARGO_BIN_EXE_cohort");
const DOMAINS: usize = 8;
const FOLLOWERS_PER_DOMAIN: usize = 3;
const POSTS: usize = 100;
/// `DeliveryConfig`'s default number of instances worked on at once: at most one request
/// per lane is in flight when the process dies.
const LANES: usize = 32;
/// Where the sender is killed: fractions of all deliveries received.
const KILL_AT: [f64; 2] = [0.25, 0.6];
/// The shortest lease the server allows: after a kill, an instance the dead process was
/// working on resumes once its lease has run out.
const LEASE_SECONDS: &str = "15";

/// (inbox URL, post id): one delivery.
type Delivery = (String, String);

/// What the recording inboxes received: for each delivery, the run (0 before the first
/// kill, 1 after it, ...) in which each copy arrived.
#[derive(Default)]
struct Recorder {
    receipts: Mutex<HashMap<Delivery, Vec<usize>>>,
    run: AtomicUsize,
    total: AtomicUsize,
}

impl Recorder {
    fn distinct(&self) -> usize {
        self.receipts.lock().unwrap().len()
    }
}

async fn record(
    State(recorder): State<Arc<Recorder>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let object = json["object"]["id"]
        .as_str()
        .or_else(|| json["object"].as_str())
        .unwrap_or_default()
        .to_owned();
    let inbox = format!("http://{host}{}", uri.path());
    let run = recorder.run.load(Ordering::SeqCst);
    recorder
        .receipts
        .lock()
        .unwrap()
        .entry((inbox, object))
        .or_default()
        .push(run);
    recorder.total.fetch_add(1, Ordering::SeqCst);
    StatusCode::ACCEPTED
}

async fn start_recorder(recorder: Arc<Recorder>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(record).with_state(recorder);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

fn spawn_server(dir: &Path, vars: &HashMap<String, String>) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).arg("serve");
    for (key, _) in std::env::vars() {
        if key.starts_with("COHORT_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(vars);
    let logs = std::env::var("COHORT_TEST_LOG").is_ok();
    if let Ok(filter) = std::env::var("COHORT_TEST_LOG") {
        cmd.env("COHORT_LOG", filter);
    }
    cmd.stdout(Stdio::null())
        .stderr(if logs {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap()
}

async fn open(vars: &HashMap<String, String>) -> Store {
    let config = Config::load(None, &|key| vars.get(key).cloned()).unwrap();
    cohort_server::serve::open_store(&config).await.unwrap()
}

/// The local author, its remote followers (personal inboxes on the recorder), and the posts.
/// Returns every expected delivery and the posts' ids.
async fn seed(store: &Store, recorder_port: u16) -> (BTreeSet<Delivery>, Vec<(Id, String)>) {
    let name = Username::parse("pat").unwrap();
    let base = "http://sender.localhost/users/pat";
    let keys = cohort_federation::keys::generate_actor_keys().unwrap();
    let pat = store
        .create_local_account(&NewLocalAccount {
            username: name,
            email: "pat@example.org".into(),
            role: Role::Member,
            author_kind: AuthorKind::Patient,
            password_hash: "x".into(),
            approved: true,
            locked: false,
            actor_uri: base.into(),
            inbox_uri: format!("{base}/inbox"),
            shared_inbox_uri: "http://sender.localhost/inbox".into(),
            followers_uri: format!("{base}/followers"),
            url: "http://sender.localhost/@pat".into(),
            key_id: format!("{base}#main-key"),
            public_key_pem: keys.public_key_pem,
            private_key_pem: keys.private_key_pem,
        })
        .await
        .unwrap()
        .id;
    let mut inboxes = Vec::new();
    for d in 0..DOMAINS {
        let domain = Domain::parse(&format!("inst{d}.localhost:{recorder_port}")).unwrap();
        for f in 0..FOLLOWERS_PER_DOMAIN {
            let inbox = format!("http://{domain}/users/u{f}/inbox");
            let follower = store
                .upsert_remote_account(&NewRemoteAccount {
                    username: format!("u{f}"),
                    domain: domain.clone(),
                    actor_uri: format!("http://{domain}/users/u{f}"),
                    inbox_uri: inbox.clone(),
                    shared_inbox_uri: Some(format!("http://{domain}/inbox")),
                    followers_uri: Some(format!("http://{domain}/users/u{f}/followers")),
                    display_name: format!("u{f}"),
                    is_group: false,
                })
                .await
                .unwrap();
            store
                .set_follow(follower, pat, FollowState::Accepted)
                .await
                .unwrap();
            inboxes.push(inbox);
        }
    }
    let mut expected = BTreeSet::new();
    let mut posts = Vec::new();
    for n in 0..POSTS {
        let id = store.next_id();
        let uri = format!("{base}/statuses/{id}");
        store
            .create_status(&cohort_store::testing::local_status(
                id,
                pat,
                uri.clone(),
                Visibility::Followers,
                &format!("post {n}"),
            ))
            .await
            .unwrap();
        for inbox in &inboxes {
            expected.insert((inbox.clone(), uri.clone()));
        }
        posts.push((id, uri));
    }
    (expected, posts)
}

/// The deliveries the (dead) sender's database records as done.
async fn recorded_as_delivered(store: &Store, posts: &[(Id, String)]) -> BTreeSet<Delivery> {
    let mut done = BTreeSet::new();
    for (id, uri) in posts {
        for r in store.recorded_inboxes(*id).await.unwrap() {
            done.insert((r.inbox, uri.clone()));
        }
    }
    done
}

async fn wait_for(what: &str, child: &mut Child, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited while waiting for {what}"
        );
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_and_only_in_flight_deliveries_repeat_when_the_sender_is_killed() {
    let mut engines = vec![false];
    if std::env::var(POSTGRES_URL_VAR).is_ok() {
        engines.push(true);
    }
    for postgres in engines {
        kill_and_restart(postgres).await;
    }
}

async fn kill_and_restart(postgres: bool) {
    let engine = if postgres { "postgres" } else { "sqlite" };
    let dir = tempfile::tempdir().unwrap();
    let database = if postgres {
        TestDatabase::postgres(false).await.unwrap()
    } else {
        None
    };
    let recorder = Arc::new(Recorder::default());
    let port = start_recorder(recorder.clone()).await;
    let mut vars: HashMap<String, String> = [
        ("COHORT_DATA_DIR", dir.path().display().to_string()),
        ("COHORT_LISTEN", "127.0.0.1:0".to_owned()),
        ("COHORT_DOMAIN", "sender.localhost".to_owned()),
        ("COHORT_ALLOW_LOOPBACK_FEDERATION", "true".to_owned()),
        ("COHORT_DELIVERY_LEASE_SECONDS", LEASE_SECONDS.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(db) = &database {
        vars.insert("COHORT_DATABASE_URL".into(), db.url.clone());
    }

    let store = open(&vars).await;
    let (expected, posts) = seed(&store, port).await;
    store.close().await;
    assert_eq!(expected.len(), POSTS * DOMAINS * FOLLOWERS_PER_DOMAIN);

    // Run, kill at each point, look at what the dead process had recorded, restart.
    let mut in_flight_at_kill: Vec<BTreeSet<Delivery>> = Vec::new();
    let mut child = spawn_server(dir.path(), &vars);
    for (kill, fraction) in KILL_AT.iter().enumerate() {
        let target = (expected.len() as f64 * fraction) as usize;
        wait_for("deliveries before the kill", &mut child, || {
            recorder.total.load(Ordering::SeqCst) >= target
        })
        .await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Requests whose bytes left before the kill may still be read by the listener.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let store = open(&vars).await;
        let done = recorded_as_delivered(&store, &posts).await;
        store.close().await;
        let received: BTreeSet<Delivery> =
            recorder.receipts.lock().unwrap().keys().cloned().collect();
        let in_flight: BTreeSet<Delivery> = received.difference(&done).cloned().collect();
        println!(
            "[{engine}] kill {}: {} of {} deliveries received, {} recorded as done, {} in flight",
            kill + 1,
            received.len(),
            expected.len(),
            done.len(),
            in_flight.len()
        );
        assert!(
            done.is_subset(&received),
            "recorded as delivered but never received: {:?}",
            done.difference(&received).next()
        );
        in_flight_at_kill.push(in_flight);
        recorder.run.store(kill + 1, Ordering::SeqCst);
        child = spawn_server(dir.path(), &vars);
    }

    // The last run finishes the queue.
    let started = Instant::now();
    wait_for("every delivery", &mut child, || {
        recorder.distinct() >= expected.len()
    })
    .await;
    let store = open(&vars).await;
    loop {
        let queued = store.outbox_depth().await.unwrap().queued_deliveries;
        if queued == 0 && store.unplanned_outbox_events(1).await.unwrap().is_empty() {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the queue did not empty"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    child.kill().unwrap();
    child.wait().unwrap();

    let receipts = recorder.receipts.lock().unwrap().clone();
    let received: BTreeSet<Delivery> = receipts.keys().cloned().collect();
    assert_eq!(
        received, expected,
        "every post reached every follower's inbox, and nothing else was sent"
    );
    let mut duplicates = 0;
    for (delivery, runs) in &receipts {
        let extra = runs.len() - 1;
        // A copy may repeat once per kill at which it had arrived (in an earlier run) but the
        // sender had not recorded it.
        let explained = in_flight_at_kill
            .iter()
            .enumerate()
            .filter(|(kill, in_flight)| {
                in_flight.contains(delivery) && runs.iter().any(|run| run <= kill)
            })
            .count();
        assert!(
            extra <= explained,
            "{delivery:?} arrived {} times (runs {runs:?}) but was in flight at {explained} kills",
            runs.len()
        );
        duplicates += extra;
    }
    assert!(
        duplicates <= KILL_AT.len() * LANES,
        "{duplicates} duplicates: more than one per lane per kill"
    );
    println!(
        "[{engine}] {} deliveries, all arrived; {duplicates} arrived twice (all in flight at \
         one of the {} kills)",
        expected.len(),
        KILL_AT.len()
    );
    if let Some(db) = database {
        db.finish().await.unwrap();
    }
}
