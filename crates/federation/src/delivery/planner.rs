//! The planner: turns new outbox events into queue rows, one per candidate remote domain.
//!
//! The domains are a superset: whether anything is actually sent there is decided by the
//! audience engine when the domain's worker gets to the row (re-planning at send time).

use std::collections::BTreeSet;

use cohort_model::Domain;
use cohort_store::{OutboxEvent, OutboxKind, Store, StoreError};

/// How many events one planner round takes.
const BATCH: i64 = 100;

/// Plans every unplanned event. Returns how many were planned.
pub(crate) async fn plan_pending(store: &Store) -> Result<usize, StoreError> {
    let mut planned = 0;
    loop {
        let events = store.unplanned_outbox_events(BATCH).await?;
        if events.is_empty() {
            break;
        }
        for event in &events {
            let domains = candidate_domains(store, event).await?;
            tracing::debug!(event = %event.id, kind = event.kind.as_str(), domains = domains.len(), "planned outbox event");
            store.enqueue_deliveries(event.id, &domains).await?;
            planned += 1;
        }
    }
    if planned > 0 {
        store.prune_planned_markers().await?;
    }
    Ok(planned)
}

/// The remote domains an event may have to reach.
pub(crate) async fn candidate_domains(
    store: &Store,
    event: &OutboxEvent,
) -> Result<Vec<Domain>, StoreError> {
    let mut domains: BTreeSet<Domain> = BTreeSet::new();
    match event.kind {
        OutboxKind::CreateStatus
        | OutboxKind::UpdateStatus
        | OutboxKind::Announce
        | OutboxKind::GroupForward => {
            let Some(status) = event.status else {
                return Ok(Vec::new());
            };
            let record = match store.status(status).await {
                Ok(r) => r,
                Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            domains.extend(store.candidate_domains(&record.facts).await?);
        }
        OutboxKind::DeleteStatus | OutboxKind::UndoAnnounce | OutboxKind::GroupRemove => {
            let Some(status) = event.status else {
                return Ok(Vec::new());
            };
            if event.kind == OutboxKind::GroupRemove
                && let Some(actor) = event.actor
                && let Some(announcement) = store.reblog_by(actor, status).await?
            {
                // The Group's announcement went to its Mastodon followers too.
                domains.extend(
                    store
                        .recorded_inboxes(announcement)
                        .await?
                        .into_iter()
                        .map(|r| r.domain),
                );
            }
            if event.kind == OutboxKind::GroupRemove
                && let Ok(record) = store.status(status).await
                && let Some(domain) = record.facts.author.domain
            {
                // The author's instance, which the relay skipped, must learn of the removal.
                domains.insert(domain);
            }
            // Rows still queued first: a delivery in flight is recorded before its row is
            // removed, so between the two reads every domain that got (or is getting) the
            // post is seen.
            domains.extend(store.queued_domains_for_status(status).await?);
            domains.extend(
                store
                    .recorded_inboxes(status)
                    .await?
                    .into_iter()
                    .map(|r| r.domain),
            );
        }
        OutboxKind::Follow
        | OutboxKind::UndoFollow
        | OutboxKind::AcceptFollow
        | OutboxKind::RejectFollow
        | OutboxKind::Block
        | OutboxKind::UndoBlock
        | OutboxKind::Like
        | OutboxKind::UndoLike
        | OutboxKind::ModeratorDelete
        | OutboxKind::Flag
        | OutboxKind::ResolveReport
        | OutboxKind::PollVote
        | OutboxKind::EvaluationContribution => {
            if let Some(domain) = relationship_domain(store, event).await? {
                domains.insert(domain);
            }
            // A Flag also goes to the instances the reporter named (`forward_to_domains`).
            if event.kind == OutboxKind::Flag
                && let Some(report) = store.report_by_flag_event(event.id).await?
            {
                domains.extend(report.forward_domains);
            }
        }
        OutboxKind::UpdateActor => {
            // The instances of the actor's followers cache its document (and its clinician
            // attestation): they are the ones to tell.
            if let Some(actor) = event.actor {
                domains.extend(store.remote_follower_domains(actor).await?);
            }
        }
        OutboxKind::GroupBan
        | OutboxKind::GroupUnban
        | OutboxKind::GroupAddModerator
        | OutboxKind::GroupRemoveModerator
        | OutboxKind::GroupFeature
        | OutboxKind::GroupUnfeature => {
            // The members' instances, and the instance of the account concerned (a banned
            // account no longer follows the Group, but its instance must learn of the ban).
            if let Some(group) = event.actor {
                domains.extend(store.remote_follower_domains(group).await?);
            }
            if let Some(domain) = relationship_domain(store, event).await?
                && event.target_account.is_some()
            {
                domains.insert(domain);
            }
        }
        OutboxKind::DeleteActor => {
            // Every instance that follows the actor or received one of its posts.
            if let Some(actor) = event.actor {
                domains.extend(
                    store
                        .actor_deletion_inboxes(actor)
                        .await?
                        .into_iter()
                        .map(|r| r.domain),
                );
            }
        }
    }
    Ok(domains.into_iter().collect())
}

/// The counterpart's domain of a relationship event: the target account's, or for a Like
/// the liked post's author's.
pub(crate) async fn relationship_domain(
    store: &Store,
    event: &OutboxEvent,
) -> Result<Option<Domain>, StoreError> {
    let target = match (event.target_account, event.status) {
        (Some(t), _) => t,
        (None, Some(s)) => match store.status(s).await {
            Ok(r) => r.facts.author.id,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        },
        (None, None) => return Ok(None),
    };
    match store.account_by_id(target).await {
        Ok(a) => Ok(a.domain),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
