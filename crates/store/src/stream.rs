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

use cohort_model::{Domain, Id};
use cohort_policy::{FactSet, FederationMode, Party, PostFacts};
use sqlx::Row;
use tokio::sync::{broadcast, watch};

use crate::row::{flag, id, id_from};
use crate::sql::{id_set_value, in_id_set};
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
    /// Accounts whose home timeline shows it (its author, followers not reading the
    /// author in an exclusive list, the accounts it addresses). Remote followers may be
    /// in the set: only local accounts stream, so they never match.
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
        // The reads are independent, two at a time after the status row: every live event
        // waits for its routing, and on PostgreSQL each read is a round trip.
        let status_row = async {
            sqlx::query(
                "SELECT s.account_id, s.local, s.visibility, s.reblog_of_id, s.held_at, \
                 s.in_reply_to_id, s.in_reply_to_account_id, a.silenced_at \
                 FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1",
            )
            .bind(status.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("status"))
        };
        let mentioned = async {
            let rows: Vec<i64> =
                sqlx::query_scalar("SELECT account_id FROM status_mentions WHERE status_id = $1")
                    .bind(status.as_i64())
                    .fetch_all(self.reader())
                    .await?;
            Ok::<_, StoreError>(rows)
        };
        let just_this = [status];
        let (row, mentioned, mut tags) =
            tokio::try_join!(status_row, mentioned, self.tags_of(&just_this))?;
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
            tags: tags.remove(&status).unwrap_or_default(),
            participants: HashSet::new(),
        };
        let mentioned: Vec<Id> = mentioned
            .into_iter()
            .map(|m| id_from(m, "status_mentions.account_id"))
            .collect::<Result<_, _>>()?;
        let home = async {
            // Remote followers are not filtered out: only local accounts stream, so they
            // never match. Joining `accounts` for `domain IS NULL` let PostgreSQL, on tables
            // not yet analysed, walk the partial index of local usernames once per follower
            // (90 ms for 1,000 followers instead of 1).
            let rows: Vec<i64> = sqlx::query_scalar(
                "SELECT f.account_id FROM follows f \
                 WHERE f.target_account_id = $1 AND f.state = 'accepted' \
                 AND NOT EXISTS (SELECT 1 FROM list_accounts la JOIN lists l ON l.id = la.list_id \
                     WHERE l.account_id = f.account_id AND l.exclusive = TRUE AND la.account_id = $1)",
            )
            .bind(author.as_i64())
            .fetch_all(self.reader())
            .await?;
            Ok::<_, StoreError>(rows)
        };
        // The list query's reply rule: top-level posts, self-replies, replies to the list's
        // owner, and replies to accounts the owner follows or the list holds, per policy.
        let lists = async {
            let rows = sqlx::query(
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
            Ok::<_, StoreError>(rows)
        };
        let (home, lists) = tokio::try_join!(home, lists)?;
        for follower in home {
            routing
                .home
                .insert(id_from(follower, "follows.account_id")?);
        }
        routing.home.insert(author);
        routing.home.extend(mentioned.iter().copied());
        routing.participants.insert(author);
        routing.participants.extend(mentioned.iter().copied());
        for list in &lists {
            routing.lists.insert(id(list, "id")?);
        }
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
        let authors: Vec<Id> = authors.into_iter().collect();
        let viewer_ids: Vec<Id> = viewers.iter().map(|v| v.id).collect();
        let communities_list: Vec<Id> = communities.iter().copied().collect();
        self.load_viewer_facts_at_once(&mut facts, &viewer_ids, &authors, &communities_list)
            .await?;
        if !domains.is_empty() {
            self.load_domain_facts(&mut facts, &domains).await?;
        }
        if !communities.is_empty() {
            self.load_communities(&mut facts, &communities).await?;
        }
        Ok(facts)
    }

    /// The facts about many viewers and a few authors in ONE statement: accepted follows
    /// from viewers to authors, blocks either way, the user-level domain blocks of both,
    /// which authors are limited, which viewers moderate, the viewers' memberships of the
    /// posts' communities, and the federation mode. Each id set is bound as one parameter
    /// ([`in_id_set`]), so the statement's text is the same whatever the number of viewers:
    /// it is prepared once per connection and costs one round trip per live event, where
    /// `IN` lists of 500 placeholders cost a dozen (on PostgreSQL each is a round trip
    /// that the 1,000 waiting connections feel).
    async fn load_viewer_facts_at_once(
        &self,
        facts: &mut FactSet,
        viewers: &[Id],
        authors: &[Id],
        communities: &[Id],
    ) -> Result<(), StoreError> {
        let engine = self.engine();
        let v = |column: &str| in_id_set(engine, column, 1);
        let a = |column: &str| in_id_set(engine, column, 2);
        let c = |column: &str| in_id_set(engine, column, 3);
        // Built from fixed column names and parameter numbers only.
        let sql = format!(
            "SELECT 'follow' AS fact, account_id AS a, target_account_id AS b, \
                    CAST(NULL AS TEXT) AS domain FROM follows \
               WHERE state = 'accepted' AND {follower} AND {followed} \
             UNION ALL SELECT 'block', account_id, target_account_id, NULL FROM blocks \
               WHERE ({blocker_v} AND {blocked_a}) OR ({blocker_a} AND {blocked_v}) \
             UNION ALL SELECT 'domain_block', account_id, NULL, domain FROM account_domain_blocks \
               WHERE {blocking_v} OR {blocking_a} \
             UNION ALL SELECT 'limited', id, NULL, NULL FROM accounts \
               WHERE silenced_at IS NOT NULL AND {limited} \
             UNION ALL SELECT 'moderator', id, NULL, NULL FROM accounts \
               WHERE domain IS NULL AND role IN ('moderator', 'admin') AND {moderator} \
             UNION ALL SELECT 'member', community_id, account_id, NULL FROM community_members \
               WHERE state = 'member' AND {community} AND {member} \
             UNION ALL SELECT 'mode', NULL, NULL, value FROM instance_settings \
               WHERE key = 'federation_mode'",
            follower = v("account_id"),
            followed = a("target_account_id"),
            blocker_v = v("account_id"),
            blocked_a = a("target_account_id"),
            blocker_a = a("account_id"),
            blocked_v = v("target_account_id"),
            blocking_v = v("account_id"),
            blocking_a = a("account_id"),
            limited = a("id"),
            moderator = v("id"),
            community = c("community_id"),
            member = v("account_id"),
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_set_value(engine, viewers))
            .bind(id_set_value(engine, authors))
            .bind(id_set_value(engine, communities))
            .fetch_all(self.reader())
            .await?;
        facts.mode = FederationMode::Open;
        for row in rows {
            let fact: String = row.try_get("fact")?;
            let pair = || -> Result<(Id, Id), StoreError> { Ok((id(&row, "a")?, id(&row, "b")?)) };
            match fact.as_str() {
                "follow" => {
                    facts.follows.insert(pair()?);
                }
                "block" => {
                    facts.blocks.insert(pair()?);
                }
                "member" => {
                    facts.memberships.insert(pair()?);
                }
                "domain_block" => {
                    let domain: String = row.try_get("domain")?;
                    if let Ok(domain) = Domain::parse(&domain) {
                        facts.account_domain_blocks.insert((id(&row, "a")?, domain));
                    }
                }
                "limited" => {
                    facts.limited.insert(id(&row, "a")?);
                }
                "moderator" => {
                    facts.moderators.insert(id(&row, "a")?);
                }
                "mode" => {
                    let mode: Option<String> = row.try_get("domain")?;
                    if mode.as_deref() == Some("allowlist") {
                        facts.mode = FederationMode::Allowlist;
                    }
                }
                _ => {}
            }
        }
        Ok(())
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
