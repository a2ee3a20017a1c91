//! The process's streaming hub: the store's live events, shared by every connection, with
//! the work that is the same for all of them done once per event.
//!
//! One dispatcher task reads the store's bus and re-broadcasts each event wrapped in a
//! [`LiveEvent`]. Connections read a bounded `tokio::sync::broadcast` receiver: the ring is
//! shared, so memory does not grow with connections, and a connection that falls more than
//! [`HUB_CAPACITY`] events behind is told it lagged and is closed (a slow consumer).
//!
//! What a `LiveEvent` computes lazily, once, for whichever connection asks first:
//! - where the status may stream ([`cohort_store::StatusRouting`]);
//! - the read gate's decision for every account connected at that moment, from one batch
//!   of facts ([`cohort_store::Store::facts_for_local_viewers`]);
//! - the status rendered for the anonymous viewer, which a connection reuses only in the
//!   case [`super::session`] documents, and otherwise renders per viewer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cohort_model::Id;
use cohort_policy::{Party, PostFacts, Viewer, decide_view};
use cohort_store::{StatusRecord, StatusRouting, Store, StreamEvent, StreamEventKind};
use serde_json::Value;
use tokio::sync::{OnceCell, broadcast, watch};

use crate::error::{ApiError, ApiResult};
use crate::routes::shared::visible_statuses;
use crate::state::ApiState;
use crate::streaming::session::{Frame, StreamName};

/// How many events a connection may fall behind before it is dropped as a slow consumer.
pub const HUB_CAPACITY: usize = 512;

/// Shared by every connection of this process (cheap to clone).
#[derive(Clone)]
pub struct StreamHub {
    inner: Arc<HubInner>,
}

struct HubInner {
    store: Store,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    dispatching: Mutex<bool>,
    /// Connected accounts and how many connections each has open.
    viewers: Mutex<HashMap<Id, (Party, usize)>>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub").finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl StreamHub {
    /// A hub over `store`'s events. The dispatcher starts with the first connection.
    pub fn new(store: Store) -> StreamHub {
        let (sender, _) = broadcast::channel(HUB_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        StreamHub {
            inner: Arc::new(HubInner {
                store,
                sender,
                dispatching: Mutex::new(false),
                viewers: Mutex::new(HashMap::new()),
                shutdown,
            }),
        }
    }

    /// A receiver of live events (starting the dispatcher if it is not running).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        let receiver = self.inner.sender.subscribe();
        let mut dispatching = locked(&self.inner.dispatching);
        if !*dispatching {
            *dispatching = true;
            let events = self.inner.store.subscribe_stream();
            tokio::spawn(dispatch(
                events,
                self.inner.sender.clone(),
                self.inner.shutdown.subscribe(),
            ));
        }
        receiver
    }

    /// Ends every stream (server shutdown: graceful shutdown waits for open connections).
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Resolves when the hub shuts down.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Records a connected account until the guard drops.
    pub(crate) fn register(&self, party: &Party) -> ViewerGuard {
        let mut viewers = locked(&self.inner.viewers);
        viewers
            .entry(party.id)
            .and_modify(|(_, count)| *count += 1)
            .or_insert_with(|| (party.clone(), 1));
        ViewerGuard {
            hub: self.clone(),
            account: party.id,
        }
    }

    /// How many connections are open (for tests and metrics).
    pub fn connected_accounts(&self) -> usize {
        locked(&self.inner.viewers).len()
    }

    fn connected(&self) -> Vec<Party> {
        locked(&self.inner.viewers)
            .values()
            .map(|(party, _)| party.clone())
            .collect()
    }
}

/// Keeps an account in the hub's list of connected viewers.
pub(crate) struct ViewerGuard {
    hub: StreamHub,
    account: Id,
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        let mut viewers = locked(&self.hub.inner.viewers);
        if let Some((_, count)) = viewers.get_mut(&self.account) {
            *count -= 1;
            if *count == 0 {
                viewers.remove(&self.account);
            }
        }
    }
}

async fn dispatch(
    mut events: broadcast::Receiver<StreamEvent>,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => {
                    let _ = sender.send(Arc::new(LiveEvent::new(event)));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the streaming dispatcher missed events");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// A status's facts, as loaded once for an event (`None`: it no longer exists).
type SharedRecord = Option<Arc<StatusRecord>>;

/// One live event and what is computed once for every connection.
pub struct LiveEvent {
    /// What happened.
    pub event: StreamEvent,
    routing: OnceCell<Option<Arc<StatusRouting>>>,
    record: OnceCell<SharedRecord>,
    decisions: OnceCell<Arc<HashMap<Id, bool>>>,
    anonymous_decision: OnceCell<bool>,
    anonymous: OnceCell<Option<Value>>,
    /// Frames identical for every connection that gets them (same stream, event and shared
    /// payload): serialised once.
    shared_frames: Mutex<HashMap<(Vec<String>, &'static str), Frame>>,
}

impl LiveEvent {
    fn new(event: StreamEvent) -> LiveEvent {
        LiveEvent {
            event,
            routing: OnceCell::new(),
            record: OnceCell::new(),
            decisions: OnceCell::new(),
            anonymous_decision: OnceCell::new(),
            anonymous: OnceCell::new(),
            shared_frames: Mutex::new(HashMap::new()),
        }
    }

    /// Where the event's status may stream; `None` if it is gone.
    pub(crate) async fn routing(&self, store: &Store) -> ApiResult<Option<Arc<StatusRouting>>> {
        self.routing
            .get_or_try_init(|| async {
                match store.status_routing(self.event.subject).await {
                    Ok(routing) => Ok(Some(Arc::new(routing))),
                    Err(cohort_store::StoreError::NotFound(_)) => Ok(None),
                    Err(e) => Err(ApiError::from(e)),
                }
            })
            .await
            .cloned()
    }

    /// The status's facts (deleted ones included).
    pub(crate) async fn record(&self, store: &Store) -> ApiResult<SharedRecord> {
        self.record
            .get_or_try_init(|| async {
                match store.status(self.event.subject).await {
                    Ok(record) => Ok(Some(Arc::new(record))),
                    Err(cohort_store::StoreError::NotFound(_)) => Ok(None),
                    Err(e) => Err(ApiError::from(e)),
                }
            })
            .await
            .cloned()
    }

    /// Whether the read gate lets `party` see the status, as it is now, or (for a deleted
    /// status) as it was before the deletion: a `delete` goes exactly to those who could
    /// have seen the post. Decided in one batch for every account connected when first
    /// asked; an account that connected later is decided on its own.
    pub(crate) async fn viewer_may_see(
        &self,
        hub: &StreamHub,
        store: &Store,
        party: &Party,
    ) -> ApiResult<bool> {
        let Some(facts) = self.facts_to_decide(store).await? else {
            return Ok(false);
        };
        let decisions = self
            .decisions
            .get_or_try_init(|| async {
                let viewers: Vec<Party> = hub.connected();
                let all = store
                    .facts_for_local_viewers(&viewers, &[facts.as_ref()])
                    .await?;
                let decided: HashMap<Id, bool> = viewers
                    .into_iter()
                    .map(|viewer| {
                        let id = viewer.id;
                        let allowed = decide_view(&all, &Viewer::Account(viewer), &facts).allows();
                        (id, allowed)
                    })
                    .collect();
                Ok::<_, ApiError>(Arc::new(decided))
            })
            .await?;
        if let Some(allowed) = decisions.get(&party.id) {
            return Ok(*allowed);
        }
        let viewer = Viewer::Account(party.clone());
        let own = store.facts_for_viewer(&viewer, &[facts.as_ref()]).await?;
        Ok(decide_view(&own, &viewer, &facts).allows())
    }

    /// Whether the anonymous viewer may see the status (for a deletion: could have seen
    /// it), decided once.
    pub(crate) async fn anonymous_may_see(&self, store: &Store) -> ApiResult<bool> {
        self.anonymous_decision
            .get_or_try_init(|| async {
                let Some(facts) = self.facts_to_decide(store).await? else {
                    return Ok(false);
                };
                let own = store
                    .facts_for_viewer(&Viewer::Anonymous, &[facts.as_ref()])
                    .await?;
                Ok::<_, ApiError>(decide_view(&own, &Viewer::Anonymous, &facts).allows())
            })
            .await
            .copied()
    }

    /// The facts the gate decides on: the status as it is, or for a deletion as it was.
    async fn facts_to_decide(&self, store: &Store) -> ApiResult<Option<Arc<PostFacts>>> {
        let Some(record) = self.record(store).await? else {
            return Ok(None);
        };
        Ok(Some(Arc::new(
            if self.event.kind == StreamEventKind::StatusDeleted {
                as_it_was(&record.facts)
            } else {
                record.facts.clone()
            },
        )))
    }

    /// The status as the anonymous viewer sees it, rendered once (`None` if hidden from
    /// anonymous readers).
    pub(crate) async fn anonymous_rendering(&self, state: &ApiState) -> ApiResult<Option<Value>> {
        self.anonymous
            .get_or_try_init(|| async {
                Ok::<_, ApiError>(
                    visible_statuses(state, &Viewer::Anonymous, &[self.event.subject])
                        .await?
                        .into_iter()
                        .next(),
                )
            })
            .await
            .cloned()
    }
}

impl LiveEvent {
    /// The frame of `stream` and `event` whose payload is the same for everyone (the
    /// shared rendering, or a deleted id), made once.
    pub(crate) fn shared_frame(
        &self,
        stream: &StreamName,
        event: &'static str,
        payload: impl FnOnce() -> String,
    ) -> Frame {
        let key = (stream.label(), event);
        let mut frames = locked(&self.shared_frames);
        frames
            .entry(key)
            .or_insert_with(|| Frame::shared(stream, event, payload().into()))
            .clone()
    }
}

/// A deleted post's facts as they were before the deletion (for routing a `delete`).
fn as_it_was(facts: &PostFacts) -> PostFacts {
    let mut before = facts.clone();
    before.deleted = false;
    before
}
