//! `GET /api/v1/streaming`: the WebSocket transport.
//!
//! The token comes from the `Authorization` header, `?access_token=`, or
//! `Sec-WebSocket-Protocol` (browsers cannot set headers on a WebSocket; the protocol is
//! echoed back, as the handshake requires). Streams are chosen by `?stream=` (with `tag` or
//! `list`) and by `{"type":"subscribe"|"unsubscribe","stream":...}` messages. A refused
//! subscription in the URL is an HTTP error before the upgrade; in a message it is an error
//! frame `{"error":"...","status":N}` and the connection stays open.
//!
//! Buffers are small (4 KiB each way: about 5 KB per idle connection instead of ~136 KB
//! with the defaults). A client that does not read is dropped: its sends stall, it falls
//! behind the hub's ring and is closed, or a send waits longer than [`SEND_TIMEOUT`].

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{authenticate_token, bearer_token_from};
use crate::error::{ApiError, ApiResult};
use crate::state::ApiState;
use crate::streaming::session::{StreamName, StreamSession, SubscribeOutcome};

/// How long one frame may wait for the client before the connection is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message a client may send (subscribe messages are tiny).
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// WebSocket pings keep proxies from closing idle connections.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Close code for a client dropped for not reading (RFC 6455 "policy violation").
const CLOSE_SLOW_CONSUMER: u16 = 1008;
/// Close code when the server stops ("going away").
const CLOSE_GOING_AWAY: u16 = 1001;

/// The query parameters of `/api/v1/streaming`.
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// `GET /api/v1/streaming`.
pub async fn websocket(
    State(state): State<ApiState>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let protocol_token = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').next().unwrap_or_default().trim().to_owned())
        .filter(|v| !v.is_empty());
    let header_or_query = bearer_token_from(&headers, &uri);
    let token = header_or_query.clone().or_else(|| protocol_token.clone());
    let auth = match &token {
        Some(raw) => Some(authenticate_token(&state, raw).await?),
        None => None,
    };
    let mut session = StreamSession::new(state, auth);
    if let Some(stream) = query_param(&uri, "stream") {
        let name = StreamName::parse(
            &stream,
            query_param(&uri, "tag").as_deref(),
            query_param(&uri, "list").as_deref(),
        )
        .map_err(ApiError::from)?;
        session.subscribe(name).await?;
    }
    let mut upgrade = upgrade
        .read_buffer_size(4096)
        .write_buffer_size(4096)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_CLIENT_MESSAGE);
    if header_or_query.is_none()
        && let Some(protocol) = protocol_token
    {
        upgrade = upgrade.protocols([protocol]);
    }
    Ok(upgrade
        .on_upgrade(move |socket| run(socket, session))
        .into_response())
}

async fn run(mut socket: WebSocket, mut session: StreamSession) {
    let hub = session.hub().clone();
    let mut events = hub.subscribe();
    let mut closed = hub.closed();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(live) => match session.frames(&live).await {
                    Ok(frames) => {
                        for frame in frames {
                            if !send(&mut socket, Message::Text(frame.to_json().as_ref().into())).await {
                                tracing::info!("streaming client dropped: it did not read in time");
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "a stream event could not be rendered"),
                },
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "streaming client dropped: too slow to read its events");
                    close(&mut socket, CLOSE_SLOW_CONSUMER, "too slow").await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = handle_message(&mut session, text.as_str()).await
                        && !send(&mut socket, Message::Text(reply.to_string().into())).await
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = closed.changed() => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
            _ = ping.tick() => {
                if !send(&mut socket, Message::Ping(Vec::new().into())).await {
                    return;
                }
            }
        }
    }
}

/// Sends within [`SEND_TIMEOUT`]; `false` if the client is gone or too slow.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = send(socket, Message::Close(Some(frame))).await;
}

/// Applies a client message; the reply is an error frame, or nothing.
async fn handle_message(session: &mut StreamSession, text: &str) -> Option<Value> {
    let error = |message: String, status: u16| Some(json!({ "error": message, "status": status }));
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return error("Invalid JSON message".into(), 400);
    };
    let kind = message.get("type").and_then(Value::as_str);
    let stream = message.get("stream").and_then(Value::as_str);
    let (Some(kind), Some(stream)) = (kind, stream) else {
        return error("Messages need a type and a stream".into(), 400);
    };
    let name = match StreamName::parse(
        stream,
        message.get("tag").and_then(Value::as_str),
        message
            .get("list")
            .and_then(|l| {
                l.as_str()
                    .map(str::to_owned)
                    .or_else(|| l.as_i64().map(|n| n.to_string()))
            })
            .as_deref(),
    ) {
        Ok(name) => name,
        Err(e) => return error(e.to_string(), e.status()),
    };
    match kind {
        "subscribe" => match session.subscribe(name).await {
            Ok(()) => None,
            Err(SubscribeOutcome::Refused(e)) => error(e.to_string(), e.status()),
            Err(SubscribeOutcome::Failed(e)) => {
                tracing::warn!(error = %e, "a subscription could not be checked");
                error("Internal server error".into(), 500)
            }
        },
        "unsubscribe" => {
            session.unsubscribe(&name);
            None
        }
        _ => error("Unknown message type".into(), 400),
    }
}
