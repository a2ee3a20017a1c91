//! Streaming over real connections (WebSocket with tokio-tungstenite, server-sent events with
//! a plain HTTP client), on SQLite and PostgreSQL: the exact frames each viewer receives,
//! the read gate applied per event, filters, and every handled bad input.
//!
//! To know that a frame did *not* arrive without waiting for it, every scenario ends with a
//! marker: a public post by an account nobody blocks, which every connection receives on
//! its public stream. Frames reach a connection in the order their events happened, so what
//! arrived before the marker is everything that will arrive about the earlier posts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A safety net for a broken server, not a timing assertion: scenarios end at their marker.
const PATIENCE: Duration = Duration::from_secs(30);

fn ws_url(instance: &Instance, query: &str) -> String {
    format!(
        "{}/api/v1/streaming?{query}",
        instance.base.replace("http://", "ws://")
    )
}

async fn connect(instance: &Instance, query: &str) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(ws_url(instance, query))
        .await
        .unwrap_or_else(|e| panic!("connect {query}: {e}"));
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next text frame, as JSON.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no frame in time")
            .expect("stream ended")
            .expect("socket error");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Subscribes by message, then waits for the reply to a message without a stream: the
/// server handles a connection's messages in order, so the subscription is in place.
async fn subscribe(socket: &mut Socket, stream: &str) {
    send(socket, json!({"type": "subscribe", "stream": stream})).await;
    send(socket, json!({"type": "barrier"})).await;
    let reply = next_json(socket).await;
    assert_eq!(reply["status"], 400, "{reply}");
}

/// One frame as `"STREAM EVENT WHAT"`: an update or edit names its status id, a delete the
/// deleted id, a notification its type and status id.
fn describe(frame: &Value) -> String {
    let stream = frame["stream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let event = frame["event"].as_str().unwrap();
    let raw = frame["payload"].as_str().unwrap();
    let what = match event {
        "delete" => raw.to_owned(),
        "notification" => {
            let n: Value = serde_json::from_str(raw).unwrap();
            format!(
                "{} {}",
                n["type"].as_str().unwrap(),
                n["status"]["id"].as_str().unwrap_or("-")
            )
        }
        "conversation" => {
            let c: Value = serde_json::from_str(raw).unwrap();
            c["last_status"]["id"].as_str().unwrap().to_owned()
        }
        _ => {
            let s: Value = serde_json::from_str(raw).unwrap();
            s["id"].as_str().unwrap().to_owned()
        }
    };
    format!("{stream} {event} {what}")
}

/// Every frame up to and including the marker's on the public stream.
async fn frames_until(socket: &mut Socket, marker: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let frame = next_json(socket).await;
        let line = describe(&frame);
        let done = line == format!("public update {marker}");
        seen.push(line);
        if done {
            return seen;
        }
    }
}

async fn post(instance: &Instance, token: &str, form: &[(&str, &str)]) -> String {
    let (status, body) = instance.post("/api/v1/statuses", Some(token), form).await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// alice writes; bob follows her; carol does not; dave is blocked by her; erin writes the
/// markers.
struct Cast {
    alice: String,
    bob: String,
    carol: String,
    dave: String,
    erin: String,
}

async fn cast(instance: &mut Instance) -> Cast {
    let mut ids = Vec::new();
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        ids.push(instance.create_account(name, Role::Member, false).await);
    }
    let scopes = "read write follow";
    let alice = instance.sign_in("alice", scopes).await;
    let bob = instance.sign_in("bob", scopes).await;
    let carol = instance.sign_in("carol", scopes).await;
    let dave = instance.sign_in("dave", scopes).await;
    let erin = instance.sign_in("erin", scopes).await;
    let (status, body) = instance
        .post(
            &format!("/api/v1/accounts/{}/follow", ids[0]),
            Some(&bob),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = instance
        .post(
            &format!("/api/v1/accounts/{}/block", ids[3]),
            Some(&alice),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    Cast {
        alice,
        bob,
        carol,
        dave,
        erin,
    }
}

#[tokio::test]
async fn each_viewer_receives_exactly_what_the_read_gate_allows() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let cast = cast(&mut instance).await;
        let mut sockets = Vec::new();
        for token in [&cast.bob, &cast.carol, &cast.dave] {
            // The token by query and the first stream by query; the second by message.
            let mut socket = connect(&instance, &format!("stream=user&access_token={token}")).await;
            subscribe(&mut socket, "public").await;
            sockets.push(socket);
        }
        let public = post(
            &instance,
            &cast.alice,
            &[("status", "public"), ("visibility", "public")],
        )
        .await;
        let unlisted = post(
            &instance,
            &cast.alice,
            &[("status", "unlisted"), ("visibility", "unlisted")],
        )
        .await;
        let private = post(
            &instance,
            &cast.alice,
            &[("status", "followers"), ("visibility", "private")],
        )
        .await;
        let direct = post(
            &instance,
            &cast.alice,
            &[("status", "@bob direct"), ("visibility", "direct")],
        )
        .await;
        let marker = post(&instance, &cast.erin, &[("status", "marker")]).await;

        let bob = frames_until(&mut sockets[0], &marker).await;
        assert_eq!(
            bob,
            vec![
                format!("user update {public}"),
                format!("public update {public}"),
                format!("user update {unlisted}"),
                format!("user update {private}"),
                format!("user update {direct}"),
                format!("user notification mention {direct}"),
                format!("public update {marker}"),
            ],
            "{engine:?}: the follower"
        );
        let carol = frames_until(&mut sockets[1], &marker).await;
        assert_eq!(
            carol,
            vec![
                format!("public update {public}"),
                format!("public update {marker}")
            ],
            "{engine:?}: a non-follower sees only the public post, on the public stream"
        );
        let dave = frames_until(&mut sockets[2], &marker).await;
        assert_eq!(
            dave,
            vec![format!("public update {marker}")],
            "{engine:?}: the blocked account sees nothing of the author"
        );

        // A deletion reaches those who could see the post, and nobody else.
        let (status, _) = instance
            .delete(&format!("/api/v1/statuses/{public}"), Some(&cast.alice))
            .await;
        assert_eq!(status, 200);
        let marker = post(&instance, &cast.erin, &[("status", "marker two")]).await;
        assert_eq!(
            frames_until(&mut sockets[0], &marker).await,
            vec![
                format!("user delete {public}"),
                format!("public delete {public}"),
                format!("public update {marker}"),
            ],
            "{engine:?}"
        );
        assert_eq!(
            frames_until(&mut sockets[1], &marker).await,
            vec![
                format!("public delete {public}"),
                format!("public update {marker}")
            ],
            "{engine:?}"
        );
        assert_eq!(
            frames_until(&mut sockets[2], &marker).await,
            vec![format!("public update {marker}")],
            "{engine:?}"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_block_and_an_edit_take_effect_on_an_open_stream() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let cast = cast(&mut instance).await;
        let mut carol = connect(
            &instance,
            &format!("stream=public&access_token={}", cast.carol),
        )
        .await;
        let first = post(&instance, &cast.alice, &[("status", "before the block")]).await;
        let (status, _) = instance
            .http
            .put(instance.url(&format!("/api/v1/statuses/{first}")))
            .bearer_auth(&cast.alice)
            .form(&[("status", "edited")])
            .send()
            .await
            .map(|r| (r.status().as_u16(), ()))
            .unwrap();
        assert_eq!(status, 200);
        let carol_id = instance
            .get("/api/v1/accounts/verify_credentials", Some(&cast.carol))
            .await
            .1["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, _) = instance
            .post(
                &format!("/api/v1/accounts/{carol_id}/block"),
                Some(&cast.alice),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let hidden = post(&instance, &cast.alice, &[("status", "after the block")]).await;
        let marker = post(&instance, &cast.erin, &[("status", "marker")]).await;
        let frames = frames_until(&mut carol, &marker).await;
        assert_eq!(
            frames,
            vec![
                format!("public update {first}"),
                format!("public status.update {first}"),
                format!("public update {marker}"),
            ],
            "{engine:?}: {hidden} was posted after the block"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn filters_apply_to_streams() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let cast = cast(&mut instance).await;
        let (status, body) = instance
            .post(
                "/api/v1/filters",
                Some(&cast.bob),
                &[
                    ("phrase", "spoilers"),
                    ("context[]", "home"),
                    ("context[]", "public"),
                    ("irreversible", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = instance
            .post(
                "/api/v1/filters",
                Some(&cast.bob),
                &[("phrase", "weather"), ("context[]", "public")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut bob = connect(
            &instance,
            &format!("stream=public&access_token={}", cast.bob),
        )
        .await;
        let hidden = post(&instance, &cast.alice, &[("status", "spoilers ahead")]).await;
        let warned = post(&instance, &cast.alice, &[("status", "the weather today")]).await;
        let marker = post(&instance, &cast.erin, &[("status", "marker")]).await;
        let mut frames = Vec::new();
        loop {
            let frame = next_json(&mut bob).await;
            let line = describe(&frame);
            let status: Value = serde_json::from_str(frame["payload"].as_str().unwrap()).unwrap();
            frames.push((
                line.clone(),
                status["filtered"].as_array().map_or(0, Vec::len),
            ));
            if line == format!("public update {marker}") {
                break;
            }
        }
        assert_eq!(
            frames,
            vec![
                (format!("public update {warned}"), 1),
                (format!("public update {marker}"), 0)
            ],
            "{engine:?}: {hidden} is hidden, {warned} is marked filtered"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn the_token_can_travel_in_sec_websocket_protocol_and_is_echoed() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let cast = cast(&mut instance).await;
        let mut request = ws_url(&instance, "stream=user")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", cast.bob.parse().unwrap());
        let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .unwrap()
                .to_str()
                .unwrap(),
            cast.bob
        );
        subscribe(&mut socket, "public").await;
        let mine = post(
            &instance,
            &cast.alice,
            &[("status", "to my followers"), ("visibility", "private")],
        )
        .await;
        let marker = post(&instance, &cast.erin, &[("status", "marker")]).await;
        assert_eq!(
            frames_until(&mut socket, &marker).await,
            vec![
                format!("user update {mine}"),
                format!("public update {marker}")
            ],
            "{engine:?}"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn bad_stream_input_is_refused() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let cast = cast(&mut instance).await;
        let before = instance
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM notifications")
            .await
            .unwrap();
        // Refused before the upgrade: plain HTTP answers with Mastodon's error JSON.
        for (query, code, error) in [
            ("stream=nonsense", 400, "Unknown stream type"),
            ("stream=user", 401, "Missing access token"),
            ("stream=hashtag", 400, "Missing tag parameter"),
            (
                "stream=public&access_token=not-a-token",
                401,
                "The access token is invalid",
            ),
        ] {
            let err = tokio_tungstenite::connect_async(ws_url(&instance, query))
                .await
                .expect_err(query);
            let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
                panic!("{query}: {err}");
            };
            assert_eq!(response.status().as_u16(), code, "{query}");
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body, json!({"error": error}), "{query}");
        }
        for (path, token, code, error) in [
            ("/api/v1/streaming/user", None, 401, "Missing access token"),
            (
                "/api/v1/streaming/hashtag",
                None,
                400,
                "Missing tag parameter",
            ),
            (
                "/api/v1/streaming/list?list=123",
                Some(cast.bob.as_str()),
                404,
                "Record not found",
            ),
        ] {
            let (status, body) = instance.get(path, token).await;
            assert_eq!(status, code, "{path}");
            assert_eq!(body, json!({"error": error}), "{path}");
        }
        // Refused in a message: an error frame, and the connection stays usable.
        let mut socket = connect(&instance, "").await;
        socket
            .send(Message::Text("{not json".into()))
            .await
            .unwrap();
        assert_eq!(
            next_json(&mut socket).await,
            json!({"error": "Invalid JSON message", "status": 400})
        );
        send(
            &mut socket,
            json!({"type": "subscribe", "stream": "nonsense"}),
        )
        .await;
        assert_eq!(
            next_json(&mut socket).await,
            json!({"error": "Unknown stream type", "status": 400})
        );
        send(&mut socket, json!({"type": "subscribe", "stream": "user"})).await;
        assert_eq!(
            next_json(&mut socket).await,
            json!({"error": "Missing access token", "status": 401})
        );
        send(&mut socket, json!({"type": "dance", "stream": "public"})).await;
        assert_eq!(
            next_json(&mut socket).await,
            json!({"error": "Unknown message type", "status": 400})
        );
        subscribe(&mut socket, "public").await;
        let marker = post(&instance, &cast.erin, &[("status", "marker")]).await;
        assert_eq!(
            frames_until(&mut socket, &marker).await,
            vec![format!("public update {marker}")]
        );
        let after = instance
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM notifications")
            .await
            .unwrap();
        assert_eq!(
            before, after,
            "{engine:?}: refused subscriptions store nothing"
        );
        let (status, _) = instance.get("/api/v1/streaming/health", None).await;
        assert_eq!(status, 200);
        instance.stop().await;
    }
}

#[tokio::test]
async fn server_sent_events_carry_event_and_data_lines() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let cast = cast(&mut instance).await;
        let mut response = instance
            .http
            .get(instance.url("/api/v1/streaming/user"))
            .bearer_auth(&cast.bob)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mine = post(&instance, &cast.alice, &[("status", "hello @bob")]).await;
        let mut text = String::new();
        while !text.contains("event: notification") || !text.ends_with("\n\n") {
            let chunk = tokio::time::timeout(PATIENCE, response.chunk())
                .await
                .expect("no event in time")
                .unwrap()
                .expect("stream ended");
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        let events: Vec<(String, Value)> = text
            .split("\n\n")
            .filter(|block| block.starts_with("event:"))
            .map(|block| {
                let mut lines = block.lines();
                let event = lines
                    .next()
                    .unwrap()
                    .trim_start_matches("event: ")
                    .to_owned();
                let data = lines.next().unwrap().trim_start_matches("data: ");
                (event, serde_json::from_str(data).unwrap())
            })
            .collect();
        assert_eq!(events.len(), 2, "{text}");
        assert_eq!(events[0].0, "update");
        assert_eq!(events[0].1["id"], mine.as_str());
        assert_eq!(events[1].0, "notification");
        assert_eq!(events[1].1["type"], "mention");
        assert_eq!(events[1].1["status"]["id"], mine.as_str());
        drop(response);
        instance.stop().await;
    }
}

/// A client that stops reading is dropped: its frames are not queued without bound (the
/// hub's ring is shared and bounded; past the kernel's socket buffer, a send that cannot
/// complete in time or a connection that falls a ring behind ends the connection), while a
/// client that reads gets everything. The stalled client receives with a tiny kernel
/// buffer, and its frames are large (escaped HTML, on two streams), so that more than the
/// largest kernel send buffer (4 MiB by default on Linux) backs up.
#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_and_others_are_not() {
    const POSTS: usize = 1000;
    for engine in engines() {
        let mut instance = Instance::start(engine, &[("COHORT_RATE_LIMIT", "0")]).await;
        instance.create_account("poster", Role::Member, false).await;
        instance
            .create_account("sleeper", Role::Member, false)
            .await;
        let poster = instance.sign_in("poster", "read write").await;
        let sleeper = instance.sign_in("sleeper", "read write follow").await;
        let poster_id = instance
            .store()
            .local_account_by_username("poster")
            .await
            .unwrap()
            .id;
        let (status, _) = instance
            .post(
                &format!("/api/v1/accounts/{poster_id}/follow"),
                Some(&sleeper),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let hub = instance.server.api.streaming.clone();

        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(1024).unwrap();
        let stream = tcp.connect(instance.server.addr).await.unwrap();
        let request = ws_url(&instance, &format!("stream=user&access_token={sleeper}"))
            .into_client_request()
            .unwrap();
        let (mut stalled, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
                .await
                .unwrap();
        subscribe(&mut stalled, "public").await;
        // An anonymous reader on the public stream, reading everything in the background.
        let mut reader = connect(&instance, "stream=public").await;
        let reading = tokio::spawn(async move {
            let mut updates = 0;
            while updates < POSTS {
                if next_json(&mut reader).await["event"] == "update" {
                    updates += 1;
                }
            }
            updates
        });
        assert_eq!(
            hub.connected_accounts(),
            1,
            "the stalled client is connected"
        );

        // 480 characters that HTML-escaping quadruples.
        let filler = "<".repeat(470);
        for n in 0..POSTS {
            post(
                &instance,
                &poster,
                &[("status", &format!("{n:04} {filler}"))],
            )
            .await;
        }
        assert_eq!(reading.await.unwrap(), POSTS, "the reader got every post");

        // The stalled connection is gone from the server's side.
        let dropped = tokio::time::timeout(PATIENCE, async {
            while hub.connected_accounts() > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(dropped.is_ok(), "the stalled client was never dropped");
    }
}
