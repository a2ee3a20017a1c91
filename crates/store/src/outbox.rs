//! The durable outbox: what happened on this instance that other servers must hear about.
//!
//! A write and its outbox event commit in one transaction, so nothing is lost between them.
//! An event records *what happened* (a status was created, deleted, boosted; an account
//! followed another), not the ActivityStreams JSON: `cohort-federation` renders the activity
//! at send time from the current state, after `cohort-policy` has re-planned its audience.
//! The event's id gives the activity a stable id across retries.

use cohort_model::Id;
use serde_json::{Map, Value};
use sqlx::{Any, Row, Transaction};

use crate::row::{id, id_from};
use crate::{Store, StoreError, now_ms};

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OutboxKind {
    /// A local status was created (`Create`).
    CreateStatus,
    /// A local status was edited (`Update`).
    UpdateStatus,
    /// A local status was deleted or expired (`Delete`).
    DeleteStatus,
    /// A local account boosted a status (`Announce`).
    Announce,
    /// A boost was undone (`Undo(Announce)`).
    UndoAnnounce,
    /// A local account followed a remote one (`Follow`).
    Follow,
    /// A follow was undone (`Undo(Follow)`).
    UndoFollow,
    /// A local account accepted a remote follow (`Accept`).
    AcceptFollow,
    /// A local account rejected a remote follow (`Reject`).
    RejectFollow,
    /// A local account blocked a remote one (`Block`).
    Block,
    /// A block was undone (`Undo(Block)`).
    UndoBlock,
    /// A local account favourited a status (`Like`).
    Like,
    /// A favourite was undone (`Undo(Like)`).
    UndoLike,
    /// A local account's profile changed (`Update` of the actor).
    UpdateActor,
    /// A local account was deleted (`Delete` of the actor).
    DeleteActor,
    /// A local community's Group relays a post of the community (thread or comment) to its
    /// members' instances: `Announce(Create(Note))` (FEP-1b12).
    GroupForward,
    /// A local community's Group relays a moderator's removal of a post:
    /// `Announce(Delete(Note))`, to every inbox that received the post.
    GroupRemove,
    /// A local moderator of a community hosted elsewhere removes a post: `Delete` with the
    /// reason, to the community's Group (the target account), which checks and relays it.
    ModeratorDelete,
    /// A report was forwarded (`Flag` from the instance actor; the report is found by
    /// `reports.flag_event_id`).
    Flag,
    /// A received report was resolved: the outcome goes back to the instance that sent it
    /// (`Resolve` from the instance actor; the report is found by
    /// `reports.resolution_event_id`).
    ResolveReport,
    /// A local community's moderator banned an account (the target): the Group announces
    /// `Block` with `target` the Group (Lemmy's community ban) to its members' instances and
    /// to the banned account's.
    GroupBan,
    /// The ban was lifted: the Group announces `Undo(Block)`.
    GroupUnban,
    /// A member (the target) became a moderator of a local community: the Group announces
    /// `Add` with `target` its moderators collection.
    GroupAddModerator,
    /// A moderator (the target) became a plain member again: `Remove` from the moderators
    /// collection, announced.
    GroupRemoveModerator,
    /// A thread (the status) was featured: the Group announces `Add` with `target` its
    /// `featured` collection.
    GroupFeature,
    /// A thread stopped being featured: `Remove` from the `featured` collection, announced.
    GroupUnfeature,
    /// A local account voted in a poll of another instance (the status): one `Create(Note)`
    /// per choice, with the option's title as `name`, to the poll's author (Mastodon's shape).
    PollVote,
    /// This instance's published evaluation cells of a community hosted elsewhere (the
    /// target: its Group account) go to the community's instance, which combines them:
    /// `cohort:EvaluationContribution` from the instance actor, rendered at send time from
    /// the current snapshots (docs/EVALUATIONS.md "Across instances").
    EvaluationContribution,
}

impl OutboxKind {
    /// Whether this is a Group's announcement of a moderation in its community (a ban, a
    /// moderator added or removed, a thread featured or not): sent to the instances of its
    /// members and of the account concerned.
    pub fn is_group_moderation(self) -> bool {
        matches!(
            self,
            OutboxKind::GroupBan
                | OutboxKind::GroupUnban
                | OutboxKind::GroupAddModerator
                | OutboxKind::GroupRemoveModerator
                | OutboxKind::GroupFeature
                | OutboxKind::GroupUnfeature
        )
    }

    /// Every kind.
    pub const ALL: [OutboxKind; 28] = [
        OutboxKind::CreateStatus,
        OutboxKind::UpdateStatus,
        OutboxKind::DeleteStatus,
        OutboxKind::Announce,
        OutboxKind::UndoAnnounce,
        OutboxKind::Follow,
        OutboxKind::UndoFollow,
        OutboxKind::AcceptFollow,
        OutboxKind::RejectFollow,
        OutboxKind::Block,
        OutboxKind::UndoBlock,
        OutboxKind::Like,
        OutboxKind::UndoLike,
        OutboxKind::UpdateActor,
        OutboxKind::DeleteActor,
        OutboxKind::GroupForward,
        OutboxKind::GroupRemove,
        OutboxKind::ModeratorDelete,
        OutboxKind::Flag,
        OutboxKind::ResolveReport,
        OutboxKind::GroupBan,
        OutboxKind::GroupUnban,
        OutboxKind::GroupAddModerator,
        OutboxKind::GroupRemoveModerator,
        OutboxKind::GroupFeature,
        OutboxKind::GroupUnfeature,
        OutboxKind::PollVote,
        OutboxKind::EvaluationContribution,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::CreateStatus => "create_status",
            OutboxKind::UpdateStatus => "update_status",
            OutboxKind::DeleteStatus => "delete_status",
            OutboxKind::Announce => "announce",
            OutboxKind::UndoAnnounce => "undo_announce",
            OutboxKind::Follow => "follow",
            OutboxKind::UndoFollow => "undo_follow",
            OutboxKind::AcceptFollow => "accept_follow",
            OutboxKind::RejectFollow => "reject_follow",
            OutboxKind::Block => "block",
            OutboxKind::UndoBlock => "undo_block",
            OutboxKind::Like => "like",
            OutboxKind::UndoLike => "undo_like",
            OutboxKind::UpdateActor => "update_actor",
            OutboxKind::DeleteActor => "delete_actor",
            OutboxKind::GroupForward => "group_forward",
            OutboxKind::GroupRemove => "group_remove",
            OutboxKind::ModeratorDelete => "moderator_delete",
            OutboxKind::Flag => "flag",
            OutboxKind::ResolveReport => "resolve_report",
            OutboxKind::GroupBan => "group_ban",
            OutboxKind::GroupUnban => "group_unban",
            OutboxKind::GroupAddModerator => "group_add_moderator",
            OutboxKind::GroupRemoveModerator => "group_remove_moderator",
            OutboxKind::GroupFeature => "group_feature",
            OutboxKind::GroupUnfeature => "group_unfeature",
            OutboxKind::PollVote => "poll_vote",
            OutboxKind::EvaluationContribution => "evaluation_contribution",
        }
    }

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<OutboxKind> {
        OutboxKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// An event to record.
#[derive(Clone, Debug)]
pub struct NewOutboxEvent {
    /// What happened.
    pub kind: OutboxKind,
    /// The local account that acted.
    pub actor: Id,
    /// The status concerned, if any.
    pub status: Option<Id>,
    /// The other account concerned (followed, blocked...), if any.
    pub target_account: Option<Id>,
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    /// Time-ordered id; also the activity's stable id suffix.
    pub id: Id,
    /// What happened.
    pub kind: OutboxKind,
    /// The local account that acted (None if it was deleted since).
    pub actor: Option<Id>,
    /// The status concerned.
    pub status: Option<Id>,
    /// The other account concerned.
    pub target_account: Option<Id>,
    /// For an Accept or Reject of a remote follow: the id of the `Follow` it answers, read
    /// when the answer was recorded. A rejected request's follow row (which holds the id) is
    /// deleted before the delivery worker renders the Reject, and peers that look the
    /// Follow up by id (Lemmy and other activitypub_federation servers) need it embedded.
    pub follow_uri: Option<String>,
    /// When, Unix ms.
    pub created_at: i64,
}

/// Records an event inside the caller's transaction.
pub(crate) async fn enqueue_in(
    tx: &mut Transaction<'static, Any>,
    id: Id,
    event: &NewOutboxEvent,
) -> Result<(), StoreError> {
    enqueue_with_params(tx, id, event, None).await
}

/// Records an event with the parameters kept in `activity_json` beside its columns.
async fn enqueue_with_params(
    tx: &mut Transaction<'static, Any>,
    id: Id,
    event: &NewOutboxEvent,
    follow_uri: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox_activities (id, actor_account_id, kind, subject_status_id, activity_json, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_i64())
    .bind(event.actor.as_i64())
    .bind(event.kind.as_str())
    .bind(event.status.map(Id::as_i64))
    .bind(params_json(event.target_account, follow_uri))
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Records an event on its own (for writes that have no other row to commit with it).
    pub async fn enqueue_outbox_event(&self, event: &NewOutboxEvent) -> Result<Id, StoreError> {
        let id = self.next_id();
        let mut tx = self.writer().begin().await?;
        enqueue_in(&mut tx, id, event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records an `Accept` or `Reject` of a remote follow together with the id of the
    /// `Follow` it answers (`follow_uri`, when the Follow had one), so that the answer embeds
    /// the Follow's id even when the follow row is gone by the time it is sent.
    pub async fn enqueue_follow_answer(
        &self,
        event: &NewOutboxEvent,
        follow_uri: Option<&str>,
    ) -> Result<Id, StoreError> {
        let id = self.next_id();
        let mut tx = self.writer().begin().await?;
        enqueue_with_params(&mut tx, id, event, follow_uri).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Events with an id greater than `after`, oldest first.
    pub async fn outbox_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, actor_account_id, kind, subject_status_id, activity_json, created_at \
             FROM outbox_activities WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let actor: Option<i64> = row.try_get("actor_account_id")?;
                let status: Option<i64> = row.try_get("subject_status_id")?;
                let params: String = row.try_get("activity_json")?;
                let params = EventParams::parse(&params);
                Ok(OutboxEvent {
                    id: id(row, "id")?,
                    kind: OutboxKind::from_name(&kind).ok_or(StoreError::Corrupt {
                        column: "outbox_activities.kind",
                        detail: kind.clone(),
                    })?,
                    actor: actor.map(|a| id_from(a, "actor_account_id")).transpose()?,
                    status: status
                        .map(|s| id_from(s, "subject_status_id"))
                        .transpose()?,
                    target_account: params.target_account,
                    follow_uri: params.follow_uri,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// The parameters of an event stored in `activity_json`: `{"target_account": N}` (the
/// form that `previous_outbox_event` matches exactly), plus `"follow_uri"` for follow
/// answers. Absent keys are left out, so an event without parameters stores `{}`.
pub(crate) fn params_json(target_account: Option<Id>, follow_uri: Option<&str>) -> String {
    let mut params = Map::new();
    if let Some(t) = target_account {
        params.insert("target_account".into(), Value::from(t.as_i64()));
    }
    if let Some(uri) = follow_uri {
        params.insert("follow_uri".into(), Value::from(uri));
    }
    Value::Object(params).to_string()
}

/// The parameters read back from `activity_json` (written by [`params_json`]).
#[derive(Debug, Default, PartialEq, Eq)]
struct EventParams {
    target_account: Option<Id>,
    follow_uri: Option<String>,
}

impl EventParams {
    /// Unreadable or missing parameters are none: the event's columns still say what
    /// happened, and the worker falls back to the current rows.
    fn parse(params: &str) -> EventParams {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(params) else {
            return EventParams::default();
        };
        EventParams {
            target_account: map
                .get("target_account")
                .and_then(Value::as_i64)
                .and_then(|t| Id::from_i64(t).ok()),
            follow_uri: map
                .get("follow_uri")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in OutboxKind::ALL {
            assert_eq!(OutboxKind::from_name(k.as_str()), Some(k));
        }
    }

    #[test]
    fn target_accounts_are_read_back() {
        assert_eq!(
            EventParams::parse("{\"target_account\":42}").target_account,
            Id::from_i64(42).ok()
        );
        assert_eq!(EventParams::parse("{}"), EventParams::default());
        assert_eq!(EventParams::parse("not json"), EventParams::default());
    }

    #[test]
    fn a_target_alone_is_stored_in_the_form_undo_lookups_match() {
        let target = Id::from_i64(42).ok();
        assert_eq!(params_json(target, None), "{\"target_account\":42}");
        assert_eq!(params_json(None, None), "{}");
    }

    #[test]
    fn follow_uris_are_read_back() {
        let target = Id::from_i64(42).ok();
        let json = params_json(target, Some("https://l.example/activities/follow/\"1\""));
        assert_eq!(
            EventParams::parse(&json),
            EventParams {
                target_account: target,
                follow_uri: Some("https://l.example/activities/follow/\"1\"".to_owned()),
            }
        );
    }
}

/// How much outgoing work waits: for `/metrics`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Deliveries queued (one per event and receiving domain).
    pub queued_deliveries: i64,
    /// Domains with queued deliveries.
    pub domains: i64,
}

impl Store {
    /// The outbox's depth.
    pub async fn outbox_depth(&self) -> Result<OutboxDepth, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS queued, COUNT(DISTINCT domain) AS domains FROM delivery_queue",
        )
        .fetch_one(self.reader())
        .await?;
        Ok(OutboxDepth {
            queued_deliveries: row.try_get("queued")?,
            domains: row.try_get("domains")?,
        })
    }
}
