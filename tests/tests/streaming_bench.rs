//! The streaming benchmark (issue 6, "Performance"): many WebSocket clients subscribed to
//! the public and user streams of one instance; one account they all follow posts; the
//! latency from sending the post to each frame's arrival, and the memory the connections
//! add. Not part of the normal suite:
//!
//! ```text
//! cargo test --release -p cohort-tests --test streaming_bench -- --ignored --nocapture
//! ```
//!
//! `COHORT_BENCH_CLIENTS` (default 1000) and `COHORT_BENCH_POSTS` (default 20) change the
//! size. The server runs in this process (the harness), so the memory figure is the whole
//! process's resident set: server and clients together, an upper bound of the server's share.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use cohort_model::Role;
use cohort_store::{FollowState, TimelineSeed};
use cohort_tests::harness::{Instance, engines};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's resident memory, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run with --release -- --ignored --nocapture"]
async fn streaming_to_many_websocket_clients() {
    let clients = setting("COHORT_BENCH_CLIENTS", 1000);
    let posts = setting("COHORT_BENCH_POSTS", 20);
    for engine in engines() {
        let mut instance = Instance::start(engine, &[("COHORT_RATE_LIMIT", "0")]).await;
        instance.create_account("poster", Role::Member, false).await;
        let poster_token = instance.sign_in("poster", "read write").await;
        let store = instance.store().clone();
        let poster = store.local_account_by_username("poster").await.unwrap().id;
        store
            .seed_timeline_benchmark(
                &format!("http://{}", instance.domain),
                TimelineSeed {
                    accounts: clients,
                    statuses: 1,
                    follows: 0,
                    days: 1,
                    analyze: false,
                },
                &|_| {},
            )
            .await
            .unwrap();
        let app = store
            .create_oauth_app("bench", None, &[], "read", "bench-client", "x")
            .await
            .unwrap();
        let mut tokens = Vec::with_capacity(clients);
        for i in 0..clients {
            let account = store
                .local_account_by_username(&format!("bench_{i}"))
                .await
                .unwrap()
                .id;
            store
                .set_follow(account, poster, FollowState::Accepted)
                .await
                .unwrap();
            let token = format!("bench-token-{i}");
            store
                .create_access_token(
                    app.id,
                    Some(account),
                    &cohort_api::auth::hash_secret(&token),
                    None,
                    "read",
                    None,
                )
                .await
                .unwrap();
            tokens.push(token);
        }

        let before = rss_kib();
        // Posts go one at a time and the next waits for every frame of the last, so every
        // `update` a reader sees belongs to the post in flight: readers only timestamp
        // frames (parsing them here would bill the clients' work to the server).
        let (arrivals, mut arrived) = mpsc::unbounded_channel::<Instant>();
        let base = instance.base.replace("http://", "ws://");
        let mut readers = Vec::with_capacity(clients);
        for token in &tokens {
            let url = format!("{base}/api/v1/streaming?stream=user&access_token={token}");
            // Small client buffers too (the defaults reserve 128 KiB per connection), so that
            // the process's memory mostly measures the server.
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(4096);
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(url, Some(config), false)
                    .await
                    .unwrap();
            socket
                .send(Message::Text(
                    r#"{"type":"subscribe","stream":"public"}"#.into(),
                ))
                .await
                .unwrap();
            let arrivals = arrivals.clone();
            readers.push(tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message
                        && text.as_str().contains(r#""event":"update""#)
                        && arrivals.send(Instant::now()).is_err()
                    {
                        return;
                    }
                }
            }));
        }
        let connected = rss_kib();

        // Each post reaches every client twice (user and public streams). The first post is
        // a warm-up: each connection reads its viewer's filters and mutes once.
        let expected = 2 * clients;
        let mut latencies: Vec<Duration> = Vec::with_capacity(expected * posts);
        let mut to_all: Vec<Duration> = Vec::with_capacity(posts);
        let mut post_requests: Vec<Duration> = Vec::with_capacity(posts);
        for round in 0..=posts {
            let sent = Instant::now();
            let (status, body) = instance
                .post(
                    "/api/v1/statuses",
                    Some(&poster_token),
                    &[("status", &format!("bench post {round}"))],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            if round > 0 {
                post_requests.push(sent.elapsed());
            }
            let mut received = 0;
            let mut last = sent;
            while received < expected {
                let at = tokio::time::timeout(Duration::from_secs(60), arrived.recv())
                    .await
                    .expect("frames stopped arriving")
                    .unwrap();
                received += 1;
                last = last.max(at);
                if round > 0 {
                    latencies.push(at.saturating_duration_since(sent));
                }
            }
            if round > 0 {
                to_all.push(last.saturating_duration_since(sent));
            }
        }
        let after = rss_kib();
        latencies.sort_unstable();
        to_all.sort_unstable();
        post_requests.sort_unstable();
        println!(
            "streaming bench ({engine:?}): {clients} WebSocket clients (user + public streams), \
             {posts} posts, {} frames",
            latencies.len()
        );
        println!(
            "  latency post -> frame: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&latencies, 50.0).as_secs_f64() * 1e3,
            percentile(&latencies, 99.0).as_secs_f64() * 1e3,
            percentile(&latencies, 100.0).as_secs_f64() * 1e3,
        );
        println!(
            "  latency post -> last client: p50 {:.1} ms, p99 {:.1} ms",
            percentile(&to_all, 50.0).as_secs_f64() * 1e3,
            percentile(&to_all, 99.0).as_secs_f64() * 1e3,
        );
        println!(
            "  the POST request itself (for comparison): p50 {:.1} ms, p99 {:.1} ms",
            percentile(&post_requests, 50.0).as_secs_f64() * 1e3,
            percentile(&post_requests, 99.0).as_secs_f64() * 1e3,
        );
        println!(
            "  resident memory (server + clients, one process): before {:.1} MiB, \
             connected {:.1} MiB (+{:.1}), after posts {:.1} MiB (+{:.1})",
            before as f64 / 1024.0,
            connected as f64 / 1024.0,
            connected.saturating_sub(before) as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / 1024.0,
        );
        for reader in readers {
            reader.abort();
        }
        instance.stop().await;
    }
}
