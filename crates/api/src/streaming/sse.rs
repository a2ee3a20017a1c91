//! `GET /api/v1/streaming/{user,user/notification,public,public/local,public/remote,
//! hashtag,hashtag/local,list,direct}`: the server-sent events transport (Mastodon.py
//! streams only this way), and `GET /api/v1/streaming/health`.
//!
//! Each response has its own bounded queue of [`SSE_QUEUE`] events between the session task
//! and the HTTP body: when the client does not read and the queue is full, the stream ends
//! (a slow consumer). Heartbeats are `:thump` comments, as Mastodon sends them.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::Uri;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::auth::MaybeAuthenticated;
use crate::error::{ApiError, ApiResult};
use crate::state::ApiState;
use crate::streaming::session::{StreamName, StreamSession};

/// Events queued for one SSE client before it counts as not reading.
pub const SSE_QUEUE: usize = 64;
/// How often an idle stream sends a heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(15);

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

async fn serve(
    state: ApiState,
    auth: MaybeAuthenticated,
    uri: &Uri,
    stream: &str,
) -> ApiResult<Response> {
    let name = StreamName::parse(
        stream,
        query_param(uri, "tag").as_deref(),
        query_param(uri, "list").as_deref(),
    )
    .map_err(ApiError::from)?;
    let mut session = StreamSession::new(state, auth.0);
    session.subscribe(name).await?;
    let (queue, mut queued) = mpsc::channel::<Event>(SSE_QUEUE);
    tokio::spawn(feed(session, queue));
    let body = stream::poll_fn(move |cx| queued.poll_recv(cx).map(|e| e.map(Ok::<_, Infallible>)));
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("thump"))
        .into_response())
}

/// Moves the session's frames into the client's queue until the client leaves, falls
/// behind, or the server stops.
async fn feed(mut session: StreamSession, queue: mpsc::Sender<Event>) {
    let hub = session.hub().clone();
    let mut events = hub.subscribe();
    let mut closed = hub.closed();
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(live) => match session.frames(&live).await {
                    Ok(frames) => {
                        for frame in frames {
                            let event = Event::default().event(frame.event).data(&*frame.payload);
                            if let Err(e) = queue.try_send(event) {
                                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                                    tracing::info!("SSE client dropped: it did not read in time");
                                }
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "a stream event could not be rendered"),
                },
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "SSE client dropped: too slow to read its events");
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            () = queue.closed() => return,
            _ = closed.changed() => return,
        }
    }
}

macro_rules! sse_route {
    ($name:ident, $stream:literal) => {
        #[doc = concat!("Server-sent events of the `", $stream, "` stream.")]
        pub async fn $name(
            State(state): State<ApiState>,
            auth: MaybeAuthenticated,
            uri: Uri,
        ) -> ApiResult<Response> {
            serve(state, auth, &uri, $stream).await
        }
    };
}

sse_route!(user, "user");
sse_route!(user_notification, "user:notification");
sse_route!(public, "public");
sse_route!(public_local, "public:local");
sse_route!(public_remote, "public:remote");
sse_route!(hashtag, "hashtag");
sse_route!(hashtag_local, "hashtag:local");
sse_route!(list, "list");
sse_route!(direct, "direct");

/// `GET /api/v1/streaming/health`.
pub async fn health() -> &'static str {
    "OK"
}

#[cfg(test)]
mod tests {
    use cohort_model::{AuthorKind, Domain, Id, Role, Username, Visibility};
    use cohort_store::testing::TestDatabase;
    use cohort_store::{NewLocalAccount, Store};

    use super::*;
    use crate::state::ApiSettings;

    async fn author(store: &Store) -> Id {
        let base = "https://cohort.example/users/ann";
        store
            .create_local_account(&NewLocalAccount {
                username: Username::parse("ann").unwrap(),
                email: "ann@example.org".into(),
                role: Role::Member,
                author_kind: AuthorKind::Patient,
                password_hash: "x".into(),
                approved: true,
                locked: false,
                actor_uri: base.into(),
                inbox_uri: format!("{base}/inbox"),
                shared_inbox_uri: "https://cohort.example/inbox".into(),
                followers_uri: format!("{base}/followers"),
                url: "https://cohort.example/@ann".into(),
                key_id: format!("{base}#main-key"),
                public_key_pem: String::new(),
                private_key_pem: String::new(),
            })
            .await
            .unwrap()
            .id
    }

    async fn public_post(store: &Store, author: Id) {
        let id = store.next_id();
        store
            .create_status(&cohort_store::testing::local_status(
                id,
                author,
                format!("https://cohort.example/statuses/{id}"),
                Visibility::Public,
                "hello",
            ))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_sse_client_that_does_not_read_is_dropped_when_its_queue_is_full() {
        let db = TestDatabase::sqlite().await.unwrap();
        let store = db.store.clone();
        let ann = author(&store).await;
        let domain = Domain::parse("cohort.example").unwrap();
        let state = ApiState::new(
            store.clone(),
            ApiSettings::new(domain, "https://cohort.example".into()),
        );
        let mut session = StreamSession::new(state, None);
        session.subscribe(StreamName::Public).await.unwrap();
        // The client never reads `unread`.
        let (queue, unread) = mpsc::channel::<Event>(SSE_QUEUE);
        let feeding = tokio::spawn(feed(session, queue));
        store.stream_ready().await;
        for _ in 0..SSE_QUEUE {
            public_post(&store, ann).await;
        }
        let patience = Duration::from_secs(20);
        tokio::time::timeout(patience, async {
            while unread.len() < SSE_QUEUE {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the session queued every event");
        assert!(!feeding.is_finished(), "a full queue alone drops nobody");
        public_post(&store, ann).await;
        tokio::time::timeout(patience, feeding)
            .await
            .expect("the session ends at the first event that does not fit")
            .unwrap();
        assert_eq!(unread.len(), SSE_QUEUE, "nothing beyond the queue was kept");
        db.finish().await.unwrap();
    }
}
