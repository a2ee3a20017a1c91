//! One client's streaming session, whatever the transport: which streams it follows, and
//! which frames each live event becomes for it.
//!
//! Every status frame comes out of the read gate for this viewer, decided when the event
//! arrives (a block or a deletion made before it holds at once), then the viewer's filters
//! (v2, the context of the stream) and, on home-like streams, its mutes.
//!
//! Rendering: a status is rendered for this viewer through `visible_statuses`, the REST
//! API's path, except in one case where the result is the same and is shared instead: a new
//! post (not a boost) seen by an account that did not write it. Then the rendering for the
//! anonymous viewer is reused once the gate has allowed this viewer. What `visible_statuses`
//! adds for a signed-in viewer is only that viewer's own marks on the post (favourited,
//! reblogged, bookmarked, pinned); on a post that has just been published they are unset,
//! as Mastodon's streams also send them. Boosts (whose original may carry the viewer's
//! marks), edits and the author's own posts are rendered per viewer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cohort_model::Id;
use cohort_policy::Viewer;
use cohort_store::{FilterContext, StatusRouting, StoreError, StreamEventKind};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::filtering::ActiveFilters;
use crate::routes::notifications;
use crate::routes::shared::{accounts_json, visible_statuses};
use crate::state::ApiState;
use crate::streaming::hub::{LiveEvent, StreamHub, ViewerGuard};

/// A stream a client can follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamName {
    /// The home timeline and notifications.
    User,
    /// Notifications only.
    UserNotification,
    /// The federated timeline.
    Public,
    /// This instance's public posts.
    PublicLocal,
    /// Other instances' public posts.
    PublicRemote,
    /// Public posts with a hashtag (lowercased, without `#`).
    Hashtag(String),
    /// This instance's public posts with a hashtag.
    HashtagLocal(String),
    /// One of the viewer's lists.
    List(Id),
    /// Direct messages, as conversations.
    Direct,
}

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscribeError {
    /// Not a stream Cohort knows.
    #[error("Unknown stream type")]
    UnknownStream,
    /// `hashtag` without a `tag`, or `list` without a `list`.
    #[error("Missing {0} parameter")]
    MissingParameter(&'static str),
    /// A stream of the viewer's own (user, list, direct) without a token.
    #[error("Missing access token")]
    MissingToken,
    /// The token does not cover reading this stream.
    #[error("Access token does not have the required scopes")]
    Scope,
    /// A list id that is not one of the viewer's lists.
    #[error("No such list")]
    NoSuchList,
}

impl SubscribeError {
    /// The HTTP status Mastodon answers (in the error frame, or the SSE response).
    pub fn status(&self) -> u16 {
        match self {
            SubscribeError::UnknownStream | SubscribeError::MissingParameter(_) => 400,
            SubscribeError::MissingToken => 401,
            SubscribeError::Scope => 403,
            SubscribeError::NoSuchList => 404,
        }
    }
}

impl From<SubscribeError> for ApiError {
    fn from(err: SubscribeError) -> ApiError {
        match err {
            SubscribeError::MissingToken => ApiError::Unauthorized("Missing access token"),
            SubscribeError::NoSuchList => ApiError::NotFound,
            SubscribeError::Scope => ApiError::Forbidden(err.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl StreamName {
    /// Parses Mastodon's stream names with their `tag` or `list` parameter.
    pub fn parse(
        name: &str,
        tag: Option<&str>,
        list: Option<&str>,
    ) -> Result<StreamName, SubscribeError> {
        let tag = || {
            tag.map(|t| t.trim().trim_start_matches('#').to_lowercase())
                .filter(|t| !t.is_empty())
                .ok_or(SubscribeError::MissingParameter("tag"))
        };
        Ok(match name {
            "user" => StreamName::User,
            "user:notification" => StreamName::UserNotification,
            "public" => StreamName::Public,
            "public:local" => StreamName::PublicLocal,
            "public:remote" => StreamName::PublicRemote,
            "hashtag" => StreamName::Hashtag(tag()?),
            "hashtag:local" => StreamName::HashtagLocal(tag()?),
            "list" => StreamName::List(
                list.filter(|l| !l.is_empty())
                    .ok_or(SubscribeError::MissingParameter("list"))?
                    .parse()
                    .map_err(|_| SubscribeError::NoSuchList)?,
            ),
            "direct" => StreamName::Direct,
            _ => return Err(SubscribeError::UnknownStream),
        })
    }

    /// The `stream` array of a frame: `["hashtag", "tag"]`, `["list", "id"]`, `["user"]`.
    pub fn label(&self) -> Vec<String> {
        match self {
            StreamName::User => vec!["user".into()],
            StreamName::UserNotification => vec!["user:notification".into()],
            StreamName::Public => vec!["public".into()],
            StreamName::PublicLocal => vec!["public:local".into()],
            StreamName::PublicRemote => vec!["public:remote".into()],
            StreamName::Hashtag(tag) => vec!["hashtag".into(), tag.clone()],
            StreamName::HashtagLocal(tag) => vec!["hashtag:local".into(), tag.clone()],
            StreamName::List(id) => vec!["list".into(), id.to_string()],
            StreamName::Direct => vec!["direct".into()],
        }
    }

    fn is_own(&self) -> bool {
        matches!(
            self,
            StreamName::User
                | StreamName::UserNotification
                | StreamName::List(_)
                | StreamName::Direct
        )
    }

    fn scope(&self) -> &'static str {
        match self {
            StreamName::UserNotification => "read:notifications",
            StreamName::List(_) => "read:lists",
            _ => "read:statuses",
        }
    }

    /// Whether a status event of `kind`, routed as `routing`, belongs on this stream for
    /// `me`. Hashtag streams follow the tagging event (tags are indexed after the post is
    /// written); the others follow creation.
    fn carries(&self, routing: &StatusRouting, kind: StreamEventKind, me: Option<Id>) -> bool {
        if routing.held {
            return false;
        }
        let new_post = match kind {
            StreamEventKind::StatusCreated => {
                !matches!(self, StreamName::Hashtag(_) | StreamName::HashtagLocal(_))
            }
            StreamEventKind::StatusTagged => {
                matches!(self, StreamName::Hashtag(_) | StreamName::HashtagLocal(_))
            }
            StreamEventKind::StatusEdited | StreamEventKind::StatusDeleted => true,
            StreamEventKind::Notification | StreamEventKind::ViewerChanged => false,
        };
        if !new_post {
            return false;
        }
        let mine = |set: &HashSet<Id>| me.is_some_and(|me| set.contains(&me));
        match self {
            StreamName::User => mine(&routing.home),
            StreamName::UserNotification => false,
            StreamName::Public => routing.public,
            StreamName::PublicLocal => routing.public && routing.local,
            StreamName::PublicRemote => routing.public && !routing.local,
            StreamName::Hashtag(tag) => routing.public && routing.tags.contains(tag),
            StreamName::HashtagLocal(tag) => {
                routing.public && routing.local && routing.tags.contains(tag)
            }
            StreamName::List(list) => routing.lists.contains(list),
            StreamName::Direct => routing.direct && mine(&routing.participants),
        }
    }

    fn filter_context(&self) -> Option<FilterContext> {
        match self {
            StreamName::User | StreamName::List(_) => Some(FilterContext::Home),
            StreamName::UserNotification => Some(FilterContext::Notifications),
            StreamName::Public
            | StreamName::PublicLocal
            | StreamName::PublicRemote
            | StreamName::Hashtag(_)
            | StreamName::HashtagLocal(_) => Some(FilterContext::Public),
            StreamName::Direct => None,
        }
    }
}

/// One message to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The stream it belongs to.
    pub stream: Vec<String>,
    /// `update`, `notification`, `delete`, `status.update`, `conversation`.
    pub event: &'static str,
    /// The entity as a JSON string (a status id for `delete`).
    pub payload: Arc<str>,
    /// The WebSocket text, when it was made once for many connections.
    shared_json: Option<Arc<str>>,
}

impl Frame {
    /// A frame for one connection.
    pub fn new(stream: &StreamName, event: &'static str, payload: impl Into<Arc<str>>) -> Frame {
        Frame {
            stream: stream.label(),
            event,
            payload: payload.into(),
            shared_json: None,
        }
    }

    /// A frame whose WebSocket text is computed once and shared.
    pub(crate) fn shared(stream: &StreamName, event: &'static str, payload: Arc<str>) -> Frame {
        let mut frame = Frame::new(stream, event, payload);
        frame.shared_json = Some(frame.to_json());
        frame
    }

    /// The WebSocket form: `{"stream":[...],"event":"...","payload":"..."}`.
    pub fn to_json(&self) -> Arc<str> {
        match &self.shared_json {
            Some(json) => Arc::clone(json),
            None => {
                json!({ "stream": self.stream, "event": self.event, "payload": &*self.payload })
                    .to_string()
                    .into()
            }
        }
    }
}

/// What the viewer prefers not to see, read once per session and again when it changes.
struct ViewerPrefs {
    muted: HashSet<Id>,
    silenced: HashSet<Id>,
    filters: HashMap<FilterContext, ActiveFilters>,
}

/// One client's subscriptions and preferences.
pub struct StreamSession {
    state: ApiState,
    auth: Option<Authenticated>,
    streams: Vec<StreamName>,
    prefs: Option<ViewerPrefs>,
    _registered: Option<ViewerGuard>,
}

impl StreamSession {
    /// A session for a signed-in account, or anonymous.
    pub fn new(state: ApiState, auth: Option<Authenticated>) -> StreamSession {
        let registered = auth.as_ref().map(|a| state.streaming.register(&a.party()));
        StreamSession {
            state,
            auth,
            streams: Vec::new(),
            prefs: None,
            _registered: registered,
        }
    }

    /// The hub this session reads.
    pub fn hub(&self) -> &StreamHub {
        &self.state.streaming
    }

    /// Whether anything is subscribed.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Adds a stream, checking the token and (for a list) that the list is the viewer's.
    pub async fn subscribe(&mut self, name: StreamName) -> Result<(), SubscribeOutcome> {
        match &self.auth {
            None if name.is_own() => return Err(SubscribeError::MissingToken.into()),
            None => {}
            Some(auth) => {
                if auth.require(name.scope()).is_err() {
                    return Err(SubscribeError::Scope.into());
                }
                if let StreamName::List(list) = &name {
                    match self.state.store.list(auth.account.id, *list).await {
                        Ok(_) => {}
                        Err(StoreError::NotFound(_)) => {
                            return Err(SubscribeError::NoSuchList.into());
                        }
                        Err(e) => return Err(SubscribeOutcome::Failed(e.into())),
                    }
                }
            }
        }
        if !self.streams.contains(&name) {
            self.streams.push(name);
        }
        Ok(())
    }

    /// Removes a stream (nothing happens if it was not subscribed).
    pub fn unsubscribe(&mut self, name: &StreamName) {
        self.streams.retain(|s| s != name);
    }

    fn me(&self) -> Option<Id> {
        self.auth.as_ref().map(|a| a.account.id)
    }

    fn viewer(&self) -> Viewer {
        self.auth
            .as_ref()
            .map_or(Viewer::Anonymous, Authenticated::viewer)
    }

    /// The frames one live event becomes for this session (often none).
    pub async fn frames(&mut self, live: &LiveEvent) -> ApiResult<Vec<Frame>> {
        if self.streams.is_empty() {
            return Ok(Vec::new());
        }
        match live.event.kind {
            StreamEventKind::ViewerChanged => {
                if Some(live.event.subject) == self.me() {
                    self.prefs = None;
                }
                Ok(Vec::new())
            }
            StreamEventKind::Notification => self.notification_frames(live).await,
            kind => self.status_frames(live, kind).await,
        }
    }

    async fn prefs(&mut self) -> ApiResult<&ViewerPrefs> {
        if self.prefs.is_none() {
            let viewer = self.viewer();
            let (muted, silenced) = match self.me() {
                Some(me) => self.state.store.muted_accounts(me).await?,
                None => (HashSet::new(), HashSet::new()),
            };
            let mut filters = HashMap::new();
            for context in [
                FilterContext::Home,
                FilterContext::Public,
                FilterContext::Notifications,
            ] {
                filters.insert(
                    context,
                    ActiveFilters::load(&self.state, &viewer, context).await?,
                );
            }
            self.prefs = Some(ViewerPrefs {
                muted,
                silenced,
                filters,
            });
        }
        self.prefs
            .as_ref()
            .ok_or_else(|| ApiError::internal("viewer preferences not loaded"))
    }

    async fn notification_frames(&mut self, live: &LiveEvent) -> ApiResult<Vec<Frame>> {
        let (Some(auth), Some(me)) = (self.auth.clone(), self.me()) else {
            return Ok(Vec::new());
        };
        if live.event.account != Some(me) || auth.require("read:notifications").is_err() {
            return Ok(Vec::new());
        }
        let targets: Vec<StreamName> = self
            .streams
            .iter()
            .filter(|s| matches!(s, StreamName::User | StreamName::UserNotification))
            .cloned()
            .collect();
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let record = match self.state.store.notification(me, live.event.subject).await {
            Ok(record) => record,
            Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let state = self.state.clone();
        let prefs = self.prefs().await?;
        if prefs.silenced.contains(&record.from_account) {
            return Ok(Vec::new());
        }
        let Some(rendered) = notifications::render(&state, &auth, &record).await? else {
            return Ok(Vec::new());
        };
        let kept = match prefs.filters.get(&FilterContext::Notifications) {
            Some(filters) => filters.apply_to_notifications(vec![rendered]),
            None => vec![rendered],
        };
        let Some(notification) = kept.into_iter().next() else {
            return Ok(Vec::new());
        };
        let payload: Arc<str> = notification.to_string().into();
        Ok(targets
            .iter()
            .map(|stream| Frame::new(stream, "notification", Arc::clone(&payload)))
            .collect())
    }

    async fn status_frames(
        &mut self,
        live: &LiveEvent,
        kind: StreamEventKind,
    ) -> ApiResult<Vec<Frame>> {
        let store = self.state.store.clone();
        // Where the status streams and its facts are independent reads, each made once per
        // event for every connection: made together, as they are on every event's path.
        let (routing, record) = tokio::join!(live.routing(&store), live.record(&store));
        record?;
        let Some(routing) = routing? else {
            return Ok(Vec::new());
        };
        let me = self.me();
        let matching: Vec<StreamName> = self
            .streams
            .iter()
            .filter(|s| s.carries(&routing, kind, me))
            .cloned()
            .collect();
        if matching.is_empty() {
            return Ok(Vec::new());
        }
        if kind == StreamEventKind::StatusDeleted {
            if !self.may_see(live).await? {
                return Ok(Vec::new());
            }
            return Ok(matching
                .iter()
                .map(|stream| {
                    live.shared_frame(stream, "delete", || live.event.subject.to_string())
                })
                .collect());
        }
        let Some((status, shared)) = self.render_status(live, kind, &routing).await? else {
            return Ok(Vec::new());
        };
        let event = if kind == StreamEventKind::StatusEdited {
            "status.update"
        } else {
            "update"
        };
        let conversation = if matching.contains(&StreamName::Direct) {
            Some(self.conversation(&routing, &status).await?)
        } else {
            None
        };
        let prefs = self.prefs().await?;
        let mut frames = Vec::new();
        for stream in &matching {
            if *stream == StreamName::Direct {
                if let Some(conversation) = &conversation {
                    frames.push(if kind == StreamEventKind::StatusEdited {
                        Frame::new(stream, "status.update", status.to_string())
                    } else {
                        Frame::new(stream, "conversation", conversation.to_string())
                    });
                }
                continue;
            }
            let home_like = matches!(stream, StreamName::User | StreamName::List(_));
            if home_like && is_muted(&prefs.muted, &status) {
                continue;
            }
            let filters = stream
                .filter_context()
                .and_then(|c| prefs.filters.get(&c))
                .filter(|f| !f.is_empty());
            match filters {
                // Nothing of this viewer's changes the shared rendering: share its text too.
                None if shared => {
                    frames.push(live.shared_frame(stream, event, || status.to_string()));
                }
                None => frames.push(Frame::new(stream, event, status.to_string())),
                Some(filters) => {
                    if let Some(shown) = filters.apply(vec![status.clone()]).into_iter().next() {
                        frames.push(Frame::new(stream, event, shown.to_string()));
                    }
                }
            }
        }
        Ok(frames)
    }

    /// Whether this viewer may see the event's status (for a deletion: could have seen it).
    async fn may_see(&self, live: &LiveEvent) -> ApiResult<bool> {
        let store = &self.state.store;
        match &self.auth {
            Some(auth) => live.viewer_may_see(self.hub(), store, &auth.party()).await,
            None => live.anonymous_may_see(store).await,
        }
    }

    /// The status as this viewer may see it, through the read gate (see the module doc for
    /// the one shared case).
    async fn render_status(
        &self,
        live: &LiveEvent,
        kind: StreamEventKind,
        routing: &StatusRouting,
    ) -> ApiResult<Option<(Value, bool)>> {
        let Some(auth) = &self.auth else {
            return Ok(live
                .anonymous_rendering(&self.state)
                .await?
                .map(|status| (status, true)));
        };
        let store = &self.state.store;
        let is_new = matches!(
            kind,
            StreamEventKind::StatusCreated | StreamEventKind::StatusTagged
        );
        let is_boost = live
            .record(store)
            .await?
            .is_some_and(|r| r.reblog_of_id.is_some());
        if is_new && !is_boost && routing.author != auth.account.id {
            // The gate's decision and the shared rendering do not depend on each other, so
            // they are made together; the rendering is used only once the gate allowed it.
            let party = auth.party();
            let (allowed, shared) = tokio::join!(
                live.viewer_may_see(self.hub(), store, &party),
                live.anonymous_rendering(&self.state),
            );
            if !allowed? {
                return Ok(None);
            }
            if let Some(shared) = shared? {
                return Ok(Some((shared, true)));
            }
        }
        Ok(
            visible_statuses(&self.state, &auth.viewer(), &[live.event.subject])
                .await?
                .into_iter()
                .next()
                .map(|status| (status, false)),
        )
    }

    /// Mastodon's Conversation for a direct message: the thread, the other participants,
    /// the message.
    async fn conversation(&self, routing: &StatusRouting, status: &Value) -> ApiResult<Value> {
        let root = self.state.store.thread_root(routing.status).await?;
        let others: Vec<Id> = routing
            .participants
            .iter()
            .copied()
            .filter(|p| Some(*p) != self.me())
            .collect();
        let accounts = accounts_json(&self.state, &others).await?;
        Ok(json!({
            "id": root.to_string(),
            "unread": routing.author != self.me().unwrap_or(routing.author),
            "accounts": accounts,
            "last_status": status,
        }))
    }
}

/// Whether the status (or the post it boosts) is by a muted account.
fn is_muted(muted: &HashSet<Id>, status: &Value) -> bool {
    if muted.is_empty() {
        return false;
    }
    [&status["account"]["id"], &status["reblog"]["account"]["id"]]
        .into_iter()
        .filter_map(Value::as_str)
        .any(|id| id.parse::<Id>().is_ok_and(|id| muted.contains(&id)))
}

/// A refused subscription, or a failure while checking it.
#[derive(Debug)]
pub enum SubscribeOutcome {
    /// Refused, with the reason the client is told.
    Refused(SubscribeError),
    /// The store failed.
    Failed(ApiError),
}

impl From<SubscribeError> for SubscribeOutcome {
    fn from(err: SubscribeError) -> SubscribeOutcome {
        SubscribeOutcome::Refused(err)
    }
}

impl From<SubscribeOutcome> for ApiError {
    fn from(outcome: SubscribeOutcome) -> ApiError {
        match outcome {
            SubscribeOutcome::Refused(err) => err.into(),
            SubscribeOutcome::Failed(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_parse_like_mastodon() {
        assert_eq!(StreamName::parse("user", None, None), Ok(StreamName::User));
        assert_eq!(
            StreamName::parse("hashtag", Some("#Flu"), None),
            Ok(StreamName::Hashtag("flu".into()))
        );
        assert_eq!(
            StreamName::parse("hashtag", None, None),
            Err(SubscribeError::MissingParameter("tag"))
        );
        assert_eq!(
            StreamName::parse("list", Some("x"), Some("abc")),
            Err(SubscribeError::NoSuchList)
        );
        assert_eq!(
            StreamName::parse("public:media:everything", None, None),
            Err(SubscribeError::UnknownStream)
        );
        assert_eq!(
            StreamName::Hashtag("flu".into()).label(),
            vec!["hashtag".to_owned(), "flu".to_owned()]
        );
    }
}
