//! Live events for the streaming API: what just happened, as kinds and ids.
//!
//! The store is where every durable fact is written (by the client API and by the
//! federation inbox alike), so it is also where the live event is published: after the
//! write commits, the writing function publishes a small [`StreamEvent`] (a kind and ids,
//! never rendered JSON; the streaming API re-reads and re-checks everything per viewer).
//!
//! On SQLite (one process) the event goes straight into this process's bus. On PostgreSQL,
//! where several `cohort` processes share the database, the event is only sent as
//! `NOTIFY cohort_stream, '<payload>'`; every process (the writer included) `LISTEN`s on a
//! dedicated connection and feeds what arrives into its own bus. Publishing through one
//! path only is what keeps the writing process from delivering an event twice.
//!
//! Events are best effort: a live event missed (a process restarting, a listener
//! reconnecting) is a gap in a stream, which clients fill from the REST timelines; the fact
//! itself is already committed.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cohort_model::Id;
use cohort_policy::{FactSet, Party, PostFacts};
use sqlx::Row;
use tokio::sync::{broadcast, watch};

use crate::row::{flag, id, id_from};
use crate::{Engine, Store, StoreError};

/// The PostgreSQL channel the events travel on.
pub const STREAM_CHANNEL: &str = "cohort_stream";

/// How many events a process's bus holds for its slowest reader. The bus is one ring shared
/// by every reader, so its memory does not grow with the number of connections.
const BUS_CAPACITY: usize = 1024;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StreamEventKind {
    /// A status became visible for the first time (created, or released from a PHI hold).
    StatusCreated,
    /// A status's hashtags were indexed (after it was created): hashtag streams follow this.
    StatusTagged,
    /// A status was edited.
    StatusEdited,
    /// A status was deleted.
    StatusDeleted,
    /// A notification was recorded for `account`.
    Notification,
    /// `account` changed what it filters or mutes: streams re-read its preferences.
    ViewerChanged,
}

impl StreamEventKind {
    fn code(self) -> &'static str {
        match self {
            StreamEventKind::StatusCreated => "c",
            StreamEventKind::StatusTagged => "t",
            StreamEventKind::StatusEdited => "e",
            StreamEventKind::StatusDeleted => "d",
            StreamEventKind::Notification => "n",
            StreamEventKind::ViewerChanged => "v",
        }
    }

    fn from_code(code: &str) -> Option<StreamEventKind> {
        Some(match code {
            "c" => StreamEventKind::StatusCreated,
            "t" => StreamEventKind::StatusTagged,
            "e" => StreamEventKind::StatusEdited,
            "d" => StreamEventKind::StatusDeleted,
            "n" => StreamEventKind::Notification,
            "v" => StreamEventKind::ViewerChanged,
            _ => return None,
        })
    }
}

/// One live event: a kind and ids.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamEvent {
    /// What happened.
    pub kind: StreamEventKind,
    /// The status, the notification, or (for `ViewerChanged`) the account.
    pub subject: Id,
    /// For a notification: the account notified.
    pub account: Option<Id>,
}

impl StreamEvent {
    /// An event about a status.
    pub fn status(kind: StreamEventKind, status: Id) -> StreamEvent {
        StreamEvent {
            kind,
            subject: status,
            account: None,
        }
    }

    /// A notification `notification` for `account`.
    pub fn notification(notification: Id, account: Id) -> StreamEvent {
        StreamEvent {
            kind: StreamEventKind::Notification,
            subject: notification,
            account: Some(account),
        }
    }

    /// `account` changed its filters or mutes.
    pub fn viewer_changed(account: Id) -> StreamEvent {
        StreamEvent {
            kind: StreamEventKind::ViewerChanged,
            subject: account,
            account: None,
        }
    }

    /// The NOTIFY payload: `KIND:SUBJECT[:ACCOUNT]`, letters, digits and colons only, so it
    /// can be written into a `NOTIFY` statement as a literal.
    pub fn to_payload(&self) -> String {
        match self.account {
            Some(account) => format!("{}:{}:{}", self.kind.code(), self.subject, account),
            None => format!("{}:{}", self.kind.code(), self.subject),
        }
    }

    /// Reads a payload written by [`StreamEvent::to_payload`]; `None` for anything else.
    pub fn from_payload(payload: &str) -> Option<StreamEvent> {
        let mut parts = payload.split(':');
        let kind = StreamEventKind::from_code(parts.next()?)?;
        let subject = parts.next()?.parse().ok()?;
        let account = match parts.next() {
            Some(raw) => Some(raw.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(StreamEvent {
            kind,
            subject,
            account,
        })
    }
}

/// This process's event bus.
pub(crate) struct StreamBus {
    sender: broadcast::Sender<StreamEvent>,
    /// The database URL, for the PostgreSQL listener's own connection.
    listen_url: Option<String>,
    /// Whether the listener task runs (started on the first subscription).
    listening: Mutex<bool>,
    /// Tells the listener to stop when the store closes.
    closed: watch::Sender<bool>,
    /// Whether the listener's `LISTEN` is in place (always true on SQLite).
    ready: watch::Sender<bool>,
}

impl StreamBus {
    pub(crate) fn new(engine: Engine, url: &str) -> StreamBus {
        let (sender, _) = broadcast::channel(BUS_CAPACITY);
        let (closed, _) = watch::channel(false);
        let (ready, _) = watch::channel(engine == Engine::Sqlite);
        StreamBus {
            sender,
            listen_url: (engine == Engine::Postgres).then(|| url.to_owned()),
            listening: Mutex::new(false),
            closed,
            ready,
        }
    }

    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }
}

/// Where a status appears: which streams may carry it, before the read gate decides per
/// viewer. It mirrors the timeline queries (`timelines.rs`, `lists.rs`, the tag query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRouting {
    /// The status.
    pub status: Id,
    /// Its author.
    pub author: Id,
    /// Written on this instance.
    pub local: bool,
    /// On the public timelines (public or local visibility, not a boost, author not
    /// limited, not held).
    pub public: bool,
    /// A direct message.
    pub direct: bool,
    /// Held by the PHI guard.
    pub held: bool,
    /// Local accounts whose home timeline shows it (its author, followers not reading the
    /// author in an exclusive list, the accounts it addresses).
    pub home: HashSet<Id>,
    /// Lists whose timeline shows it.
    pub lists: HashSet<Id>,
    /// Its hashtags, lowercased.
    pub tags: Vec<String>,
    /// The accounts a direct message concerns: the author and those it addresses.
    pub participants: HashSet<Id>,
}

impl Store {
    /// A receiver of this process's live events. On PostgreSQL the first call starts the
    /// `LISTEN` task that feeds them.
    pub fn subscribe_stream(&self) -> broadcast::Receiver<StreamEvent> {
        let bus = &self.inner_bus();
        let receiver = bus.sender.subscribe();
        if let Some(url) = &bus.listen_url {
            let mut listening = match bus.listening.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if !*listening {
                *listening = true;
                tokio::spawn(listen(
                    url.clone(),
                    bus.sender.clone(),
                    bus.closed.subscribe(),
                    bus.ready.clone(),
                ));
            }
        }
        receiver
    }

    /// Waits until this process receives the events every process publishes (on
    /// PostgreSQL: until the listener's `LISTEN` is in place; at once on SQLite). Call after
    /// [`Store::subscribe_stream`]; events published before are not guaranteed to arrive.
    pub async fn stream_ready(&self) {
        let mut ready = self.inner_bus().ready.subscribe();
        let _ = ready.wait_for(|ready| *ready).await;
    }

    /// Publishes a live event after its write committed. A failure is logged, never
    /// returned: the write it describes has succeeded.
    pub(crate) async fn publish(&self, event: StreamEvent) {
        let bus = self.inner_bus();
        if bus.listen_url.is_none() {
            // No receivers is not an error: nobody is streaming.
            let _ = bus.sender.send(event);
            return;
        }
        // The payload is letters, digits and colons (see `to_payload`), safe as a literal.
        let sql = format!("NOTIFY {STREAM_CHANNEL}, '{}'", event.to_payload());
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(self.writer())
            .await
        {
            tracing::warn!(error = %e, ?event, "could not publish a stream event");
        }
    }

    /// [`Store::publish`] for the events of one batch of writes: on PostgreSQL one round
    /// trip carries every `NOTIFY` (in order), instead of one round trip per event.
    pub(crate) async fn publish_all(&self, events: Vec<StreamEvent>) {
        let bus = self.inner_bus();
        if bus.listen_url.is_none() {
            for event in events {
                let _ = bus.sender.send(event);
            }
            return;
        }
        for chunk in events.chunks(256) {
            // Payloads are letters, digits and colons (see `to_payload`), safe as literals.
            let sql = chunk
                .iter()
                .map(|e| format!("NOTIFY {STREAM_CHANNEL}, '{}'", e.to_payload()))
                .collect::<Vec<_>>()
                .join("; ");
            if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(self.writer())
                .await
            {
                tracing::warn!(error = %e, events = chunk.len(), "could not publish stream events");
            }
        }
    }

    /// Where a status may stream (see [`StatusRouting`]). Deleted statuses are routed as
    /// they were, so that a `delete` reaches the streams that showed them.
    pub async fn status_routing(&self, status: Id) -> Result<StatusRouting, StoreError> {
        let row = sqlx::query(
            "SELECT s.account_id, s.local, s.visibility, s.reblog_of_id, s.held_at, \
             s.in_reply_to_id, s.in_reply_to_account_id, a.silenced_at \
             FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1",
        )
        .bind(status.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("status"))?;
        let author = id(&row, "account_id")?;
        let visibility: String = row.try_get("visibility")?;
        let boost = row.try_get::<Option<i64>, _>("reblog_of_id")?.is_some();
        let held = row.try_get::<Option<i64>, _>("held_at")?.is_some();
        let silenced = row.try_get::<Option<i64>, _>("silenced_at")?.is_some();
        let reply = row.try_get::<Option<i64>, _>("in_reply_to_id")?.is_some();
        let reply_to_account: Option<i64> = row.try_get("in_reply_to_account_id")?;
        let mut routing = StatusRouting {
            status,
            author,
            local: flag(&row, "local")?,
            public: matches!(visibility.as_str(), "public" | "local") && !boost && !silenced,
            direct: visibility == "direct",
            held,
            home: HashSet::new(),
            lists: HashSet::new(),
            tags: Vec::new(),
            participants: HashSet::new(),
        };
        let mentioned: Vec<i64> =
            sqlx::query_scalar("SELECT account_id FROM status_mentions WHERE status_id = $1")
                .bind(status.as_i64())
                .fetch_all(self.reader())
                .await?;
        let mentioned: Vec<Id> = mentioned
            .into_iter()
            .map(|m| id_from(m, "status_mentions.account_id"))
            .collect::<Result<_, _>>()?;
        let home: Vec<i64> = sqlx::query_scalar(
            "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND f.state = 'accepted' AND a.domain IS NULL \
             AND NOT EXISTS (SELECT 1 FROM list_accounts la JOIN lists l ON l.id = la.list_id \
                 WHERE l.account_id = f.account_id AND l.exclusive = TRUE AND la.account_id = $1)",
        )
        .bind(author.as_i64())
        .fetch_all(self.reader())
        .await?;
        for follower in home {
            routing
                .home
                .insert(id_from(follower, "follows.account_id")?);
        }
        routing.home.insert(author);
        routing.home.extend(mentioned.iter().copied());
        routing.participants.insert(author);
        routing.participants.extend(mentioned.iter().copied());
        // The list query's reply rule: top-level posts, self-replies, replies to the list's
        // owner, and replies to accounts the owner follows or the list holds, per policy.
        let lists = sqlx::query(
            "SELECT l.id FROM lists l JOIN list_accounts la ON la.list_id = l.id \
             WHERE la.account_id = $1 AND ($2 = FALSE OR $3 = $1 OR $3 = l.account_id \
               OR (l.replies_policy = 'followed' AND $3 IN (SELECT target_account_id FROM follows \
                   WHERE account_id = l.account_id AND state = 'accepted')) \
               OR (l.replies_policy = 'list' AND $3 IN (SELECT account_id FROM list_accounts \
                   WHERE list_id = l.id)))",
        )
        .bind(author.as_i64())
        .bind(reply)
        .bind(reply_to_account.unwrap_or(0))
        .fetch_all(self.reader())
        .await?;
        for list in &lists {
            routing.lists.insert(id(list, "id")?);
        }
        routing.tags = self
            .tags_of(&[status])
            .await?
            .remove(&status)
            .unwrap_or_default();
        Ok(routing)
    }

    /// The read gate's facts for many local viewers of the same posts at once (one batch
    /// per live event instead of one per connection). The set is the union of what
    /// [`Store::facts_for_viewer`] loads for each viewer: every fact in it is true, and each
    /// viewer's decision only consults the facts about that viewer and the posts' authors,
    /// so a decision taken on the union equals the one taken on that viewer's own set.
    pub async fn facts_for_local_viewers(
        &self,
        viewers: &[Party],
        posts: &[&PostFacts],
    ) -> Result<FactSet, StoreError> {
        let mut authors: BTreeSet<Id> = BTreeSet::new();
        let mut communities: BTreeSet<Id> = BTreeSet::new();
        let mut domains = BTreeSet::new();
        fn walk(
            post: &PostFacts,
            authors: &mut BTreeSet<Id>,
            communities: &mut BTreeSet<Id>,
            domains: &mut BTreeSet<cohort_model::Domain>,
        ) {
            authors.insert(post.author.id);
            if let Some(d) = &post.author.domain {
                domains.insert(d.clone());
            }
            if let Some(c) = post.audience.community {
                communities.insert(c);
            }
            if let Some(parent) = &post.parent {
                walk(parent, authors, communities, domains);
            }
            if let Some(original) = &post.reblog_of {
                walk(original, authors, communities, domains);
            }
        }
        for post in posts {
            walk(post, &mut authors, &mut communities, &mut domains);
        }
        let mut facts = FactSet::default();
        self.load_domain_facts(&mut facts, &domains).await?;
        let authors: Vec<Id> = authors.into_iter().collect();
        let viewer_ids: Vec<Id> = viewers.iter().map(|v| v.id).collect();
        self.load_follows(&mut facts, &viewer_ids, &authors).await?;
        self.load_blocks(&mut facts, &viewer_ids, &authors).await?;
        let mut accounts = authors.clone();
        accounts.extend(viewer_ids.iter().copied());
        self.load_account_domain_blocks(&mut facts, &accounts)
            .await?;
        self.load_memberships(&mut facts, &communities, &viewer_ids)
            .await?;
        self.load_communities(&mut facts, &communities).await?;
        self.load_limits(&mut facts, &authors, &viewer_ids).await?;
        Ok(facts)
    }

    /// The account a notification is for; `NotFound` once dismissed.
    pub async fn notification_owner(&self, notification: Id) -> Result<Id, StoreError> {
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT account_id FROM notifications WHERE id = $1 AND dismissed_at IS NULL",
        )
        .bind(notification.as_i64())
        .fetch_optional(self.reader())
        .await?;
        id_from(
            owner.ok_or(StoreError::NotFound("notification"))?,
            "notifications.account_id",
        )
    }
}

/// Feeds NOTIFY payloads into the bus until the store closes. The listener has its own
/// connection (LISTEN needs a session, which a pool does not keep); when it drops, sqlx
/// reconnects and the events sent meanwhile are lost, as any live event may be.
async fn listen(
    url: String,
    bus: broadcast::Sender<StreamEvent>,
    mut closed: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        if *closed.borrow() {
            return;
        }
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "stream listener cannot connect; retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = closed.changed() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if let Err(e) = listener.listen(STREAM_CHANNEL).await {
            tracing::warn!(error = %e, "stream listener cannot LISTEN; retrying");
            continue;
        }
        ready.send_replace(true);
        delay = Duration::from_millis(200);
        loop {
            tokio::select! {
                received = listener.recv() => match received {
                    Ok(notification) => {
                        match StreamEvent::from_payload(notification.payload()) {
                            Some(event) => {
                                let _ = bus.send(event);
                            }
                            None => tracing::warn!(
                                payload = notification.payload(),
                                "unreadable stream event ignored"
                            ),
                        }
                    }
                    Err(e) => {
                        ready.send_replace(false);
                        tracing::warn!(error = %e, "stream listener lost its connection");
                        break;
                    }
                },
                _ = closed.changed() => return,
            }
        }
    }
}

/// Shared by the store handle.
pub(crate) type SharedBus = Arc<StreamBus>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_reject_anything_else() {
        let a = Id::from_i64(42).unwrap();
        let b = Id::from_i64(7).unwrap();
        for event in [
            StreamEvent::status(StreamEventKind::StatusCreated, a),
            StreamEvent::notification(a, b),
            StreamEvent::viewer_changed(b),
        ] {
            assert_eq!(StreamEvent::from_payload(&event.to_payload()), Some(event));
        }
        for bad in ["", "x:1", "c", "c:abc", "n:1:2:3", "c:1'; DROP"] {
            assert_eq!(StreamEvent::from_payload(bad), None, "{bad}");
        }
    }
}
