//! Streaming (issue 6): Mastodon's WebSocket (`/api/v1/streaming`) and server-sent events
//! (`/api/v1/streaming/*`) transports over one session model.
//!
//! - [`hub`]: the process's live events (from the store, so statuses arriving through the
//!   federation inbox stream like those posted here; on PostgreSQL from every process),
//!   shared by all connections, with the per-event work done once.
//! - [`session`]: one client's streams and what each event becomes for it: every status
//!   passes the read gate for that viewer when the event arrives, then its filters.
//! - [`websocket`] and [`sse`]: the transports, each with a bounded queue per client.

pub mod hub;
pub mod session;
pub mod sse;
pub mod websocket;

use axum::Router;
use axum::routing::get;

pub use hub::StreamHub;

use crate::state::ApiState;

/// The streaming routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/streaming", get(websocket::websocket))
        .route("/api/v1/streaming/health", get(sse::health))
        .route("/api/v1/streaming/user", get(sse::user))
        .route(
            "/api/v1/streaming/user/notification",
            get(sse::user_notification),
        )
        .route("/api/v1/streaming/public", get(sse::public))
        .route("/api/v1/streaming/public/local", get(sse::public_local))
        .route("/api/v1/streaming/public/remote", get(sse::public_remote))
        .route("/api/v1/streaming/hashtag", get(sse::hashtag))
        .route("/api/v1/streaming/hashtag/local", get(sse::hashtag_local))
        .route("/api/v1/streaming/list", get(sse::list))
        .route("/api/v1/streaming/direct", get(sse::direct))
}
