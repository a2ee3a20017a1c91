//! One domain's worker: walks the domain's queue in event order, re-plans each activity
//! through the audience engine with fresh facts for that domain, renders it, and spends the
//! permits.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cohort_model::{Domain, Id};
use cohort_policy::{
    DeliveryPermit, DomainDecision, FactSet, Party, Recipient, RecordedInbox, Subject,
    plan_delivery,
};
use cohort_store::{
    DeliveryActor, DeliveryCompletion, OutboxEvent, OutboxKind, QueuedDelivery, StatusRecord,
    Store, StoreError, now_ms,
};

use super::send::SendOutcome;
use super::sign::{SignError, Signer};
use super::{Shared, Stats};
use crate::render::{self, ActorRef, Mention, NoteSource, Unaddressed};

/// Rows fetched per round.
pub(crate) const ROWS_PER_ROUND: i64 = 32;

/// What became of one queued row.
enum RowResult {
    /// Nothing more to do: delivered, refused for good, or nothing permitted.
    Finished(Completion),
    /// A transient failure: keep the row, back the domain off.
    Retry(String),
}

/// What to record when a row is completed (in one transaction with its removal).
#[derive(Default)]
struct Completion {
    /// The status concerned, for the decision log and the delivery record.
    status: Option<Id>,
    /// The plan's decisions for this domain.
    decisions: Vec<DomainDecision>,
    /// Inboxes that received the status (not yet recorded).
    delivered: Vec<String>,
    /// The domain answered for the first time in this lane: its failure run ends (recorded
    /// with the completion).
    answered: bool,
}

/// A lane's request for the plan of a post on its domain (see [`plan_posts`]).
pub(crate) struct PlanRequest {
    event: Id,
    post: RenderedPost,
    domain: Domain,
}

/// What the delivery gate decided for one domain.
pub(crate) struct DomainPlan {
    permits: Vec<DeliveryPermit>,
    decisions: Vec<DomainDecision>,
}

/// Plans posts for the domains whose lanes asked together: per activity, the candidates and
/// facts of all those domains are loaded with one set of queries (after every request was
/// made, so a block or domain block made before a lane asked holds), then each domain is
/// planned on its own candidates by `plan_delivery`, exactly as if it had been alone.
pub(crate) async fn plan_posts(
    store: Store,
    requests: Vec<PlanRequest>,
) -> Vec<Result<DomainPlan, String>> {
    let mut by_event: HashMap<Id, Vec<usize>> = HashMap::new();
    for (n, request) in requests.iter().enumerate() {
        by_event.entry(request.event).or_default().push(n);
    }
    let mut out: Vec<Option<Result<DomainPlan, String>>> =
        (0..requests.len()).map(|_| None).collect();
    for indices in by_event.into_values() {
        let Some(first) = indices.first().map(|n| &requests[*n]) else {
            continue;
        };
        let post = &first.post.0.facts;
        let domains: Vec<Domain> = indices
            .iter()
            .map(|n| requests[*n].domain.clone())
            .collect();
        match store.delivery_candidates_on_domains(post, &domains).await {
            Ok((facts, candidates)) => {
                let mut by_domain: HashMap<Domain, Vec<Recipient>> = HashMap::new();
                for candidate in candidates {
                    if let Some(domain) = candidate.party.domain.clone() {
                        by_domain.entry(domain).or_default().push(candidate);
                    }
                }
                for n in indices {
                    let mine = by_domain
                        .get(&requests[n].domain)
                        .map_or(&[][..], Vec::as_slice);
                    let plan = plan_delivery(
                        &facts,
                        &Subject::Post {
                            post,
                            candidates: mine,
                        },
                    );
                    out[n] = Some(Ok(DomainPlan {
                        permits: plan.permits,
                        decisions: plan.decisions,
                    }));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for n in indices {
                    out[n] = Some(Err(why.clone()));
                }
            }
        }
    }
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not planned".into())))
        .collect()
}

fn finished() -> RowResult {
    RowResult::Finished(Completion::default())
}

/// The delivery gate's permits for one activity from `from` to one remote actor (a follow,
/// a like, a vote, a report...): `None`, counted as denied, when the gate refuses.
fn relationship_permits(
    stats: &Stats,
    facts: &FactSet,
    from: &Party,
    to: &Recipient,
) -> Option<Vec<DeliveryPermit>> {
    let plan = plan_delivery(facts, &Subject::Relationship { from, to });
    if plan.permits.is_empty() {
        stats.denied.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    Some(plan.permits)
}

/// Signing keys by account, parsed once.
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<Id, (String, Arc<Signer>)>>,
}

impl KeyCache {
    fn signer(&self, actor: &DeliveryActor) -> Result<Arc<Signer>, SignError> {
        let (Some(key_id), Some(pem)) = (&actor.key_id, &actor.private_key_pem) else {
            return Err(SignError::Key(format!(
                "account {} has no private key",
                actor.id
            )));
        };
        if let Ok(keys) = self.keys.lock()
            && let Some((cached_id, signer)) = keys.get(&actor.id)
            && cached_id == key_id
        {
            return Ok(signer.clone());
        }
        let signer = Arc::new(Signer::from_pem(key_id, pem)?);
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert(actor.id, (key_id.clone(), signer.clone()));
        }
        Ok(signer)
    }
}

/// How long the workers of the many instances one activity goes to share what they looked
/// up and rendered for it (the event, the acting account, the post and its activity), so
/// that a post to 500 instances is loaded and rendered about once, not 500 times. The
/// audience is still re-planned for every row with that domain's current facts; only a
/// change to the post itself (an edit, a deletion) or to its author's standing may take this
/// long to be seen, and a Delete made meanwhile still reaches every inbox that got the post.
const SHARED_FOR: Duration = Duration::from_secs(1);

/// Values shared between the rows of one activity for [`SHARED_FOR`], by id. Loaded once:
/// the lanes that start together on one activity (up to `max_concurrent_domains` of them)
/// wait for the first one's load instead of each loading and rendering the same post.
pub(crate) struct Recent<T> {
    entries: Mutex<HashMap<Id, (Instant, Cell<T>)>>,
}

/// One value of a [`Recent`], filled by the first lane that asks.
type Cell<T> = Arc<tokio::sync::OnceCell<T>>;

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

/// Why [`Recent::get_or_load`] has no value.
enum NotLoaded<E> {
    /// The loader found nothing (nothing is remembered: the next row asks again).
    Missing,
    /// The loader failed.
    Failed(E),
}

impl<T: Clone> Recent<T> {
    /// The cell of `id`, fresh if the last one is older than [`SHARED_FOR`].
    fn cell(&self, id: Id) -> Cell<T> {
        let Ok(mut entries) = self.entries.lock() else {
            return Arc::default();
        };
        if let Some((at, cell)) = entries.get(&id)
            && at.elapsed() < SHARED_FOR
        {
            return cell.clone();
        }
        if entries.len() >= 1024 {
            entries.retain(|_, (at, _)| at.elapsed() < SHARED_FOR);
        }
        let cell = Arc::new(tokio::sync::OnceCell::new());
        entries.insert(id, (Instant::now(), cell.clone()));
        cell
    }

    /// The value of `id`: shared if loaded within [`SHARED_FOR`], else loaded by `load`, once
    /// for all the callers that ask meanwhile. `Ok(None)` when `load` finds nothing; a
    /// failure is not remembered either.
    async fn get_or_load<E, F, Fut>(&self, id: Id, load: F) -> Result<Option<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, E>>,
    {
        let cell = self.cell(id);
        let loaded = cell
            .get_or_try_init(|| async {
                match load().await {
                    Ok(Some(value)) => Ok(value),
                    Ok(None) => Err(NotLoaded::Missing),
                    Err(e) => Err(NotLoaded::Failed(e)),
                }
            })
            .await;
        match loaded {
            Ok(value) => Ok(Some(value.clone())),
            Err(NotLoaded::Missing) => Ok(None),
            Err(NotLoaded::Failed(e)) => Err(e),
        }
    }
}

/// A post and the activity rendered from it (`None`: nothing to send, such as a boost of a
/// post that is gone).
type RenderedPost = Arc<(StatusRecord, Option<Unaddressed>)>;

/// What the workers share per activity (see [`SHARED_FOR`]).
#[derive(Default)]
pub(crate) struct ActivityCache {
    events: Recent<OutboxEvent>,
    actors: Recent<DeliveryActor>,
    posts: Recent<RenderedPost>,
}

/// Holds the lease on `domain` (already claimed) and works through its queue.
/// `first`: the domain's first rows, read with the claim (empty: read them here).
pub(crate) async fn run_domain(
    shared: &Shared,
    domain: &Domain,
    first: Vec<QueuedDelivery>,
) -> Result<(), StoreError> {
    let result = work(shared, domain, first).await;
    if let Err(e) = &result {
        tracing::warn!(%domain, error = %e, "delivery worker stopped on a storage error");
        // Back off so that a persistent fault does not spin.
        let _ = shared
            .store
            .record_domain_failure(domain, now_ms(), &e.to_string())
            .await;
    }
    shared.releases.call(domain.clone()).await;
    result
}

/// Works through the domain's rows. A round that finds fewer rows than it could take ends
/// the work: rows queued meanwhile are claimed again once the lease is released.
async fn work(
    shared: &Shared,
    domain: &Domain,
    mut first: Vec<QueuedDelivery>,
) -> Result<(), StoreError> {
    let store = &shared.store;
    let lease_ms = shared.lease_ms();
    let mut lease_until = now_ms() + lease_ms;
    let mut answered = false;
    loop {
        let rows = if first.is_empty() {
            store.queued_deliveries(domain, ROWS_PER_ROUND).await?
        } else {
            std::mem::take(&mut first)
        };
        if rows.is_empty() {
            return Ok(());
        }
        let last_round = (rows.len() as i64) < ROWS_PER_ROUND;
        for row in rows {
            if shared.stopping.load(Ordering::Relaxed) {
                return Ok(());
            }
            let now = now_ms();
            if lease_until - now < lease_ms / 2 {
                lease_until = now + lease_ms;
                if !store
                    .renew_delivery_lease(domain, &shared.owner, lease_until)
                    .await?
                {
                    tracing::warn!(%domain, "lost the delivery lease; stopping");
                    return Ok(());
                }
            }
            match deliver_row(shared, &row, &mut answered).await? {
                RowResult::Finished(done) => {
                    let completion = DeliveryCompletion {
                        domain: domain.clone(),
                        event: row.event_id,
                        status: done.status,
                        decisions: done.decisions,
                        delivered_inboxes: done.delivered,
                        answered: done.answered,
                    };
                    match shared.completions.call(completion).await {
                        Some(Ok(())) => {}
                        Some(Err(why)) => {
                            // The row stays queued; back off as for any storage fault.
                            tracing::warn!(%domain, error = %why, "delivery row not completed");
                            store.record_domain_failure(domain, now_ms(), &why).await?;
                            return Ok(());
                        }
                        None => return Ok(()),
                    }
                }
                RowResult::Retry(why) => {
                    let outcome = store.record_domain_failure(domain, now_ms(), &why).await?;
                    shared.stats.retried.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        %domain,
                        event = %row.event_id,
                        error = %why,
                        fails = outcome.fail_count,
                        next_attempt_at = outcome.next_attempt_at,
                        unreachable = outcome.unreachable,
                        "delivery failed; backing off"
                    );
                    return Ok(());
                }
            }
        }
        if last_round {
            return Ok(());
        }
    }
}

async fn deliver_row(
    shared: &Shared,
    row: &QueuedDelivery,
    answered: &mut bool,
) -> Result<RowResult, StoreError> {
    let store = &shared.store;
    let cache = &shared.activities;
    let Some(event) = cache
        .events
        .get_or_load(row.event_id, || store.outbox_event(row.event_id))
        .await?
    else {
        return Ok(finished());
    };
    if matches!(event.kind, OutboxKind::Flag | OutboxKind::ResolveReport) {
        return instance_row(shared, row, &event, answered).await;
    }
    if event.kind == OutboxKind::EvaluationContribution {
        return contribution_row(shared, row, &event, answered).await;
    }
    let Some(actor_id) = event.actor else {
        return Ok(finished());
    };
    let loaded = cache
        .actors
        .get_or_load(actor_id, || async {
            match store.delivery_actor(actor_id).await {
                Ok(actor) => Ok(Some(actor)),
                Err(StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?;
    let Some(actor) = loaded else {
        return Ok(finished());
    };
    if actor.domain.is_some() {
        tracing::warn!(event = %event.id, "outbox event by a remote account; not delivered");
        return Ok(finished());
    }
    let signer = match shared.keys.signer(&actor) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(event = %event.id, account = %actor.id, error = %e, "cannot sign; dropping the delivery");
            return Ok(finished());
        }
    };
    let ctx = RowContext {
        shared,
        row,
        event: &event,
        actor: ActorRef {
            id: actor.actor_uri.clone(),
            followers: actor.followers_uri.clone(),
        },
        party: Party {
            id: actor.id,
            domain: None,
            suspended: actor.suspended,
        },
        activity_id: shared.config.urls.activity(event.id),
        signer,
    };
    match event.kind {
        OutboxKind::CreateStatus
        | OutboxKind::UpdateStatus
        | OutboxKind::Announce
        | OutboxKind::GroupForward => ctx.post(answered).await,
        OutboxKind::DeleteStatus | OutboxKind::UndoAnnounce => ctx.retraction(answered).await,
        OutboxKind::GroupRemove => ctx.group_removal(answered).await,
        OutboxKind::GroupBan
        | OutboxKind::GroupUnban
        | OutboxKind::GroupAddModerator
        | OutboxKind::GroupRemoveModerator
        | OutboxKind::GroupFeature
        | OutboxKind::GroupUnfeature => ctx.group_moderation(answered).await,
        OutboxKind::Follow
        | OutboxKind::UndoFollow
        | OutboxKind::AcceptFollow
        | OutboxKind::RejectFollow
        | OutboxKind::Block
        | OutboxKind::UndoBlock
        | OutboxKind::Like
        | OutboxKind::UndoLike
        | OutboxKind::ModeratorDelete
        | OutboxKind::PollVote => ctx.relationship(answered).await,
        OutboxKind::UpdateActor => ctx.actor_update(&actor.username, answered).await,
        OutboxKind::DeleteActor => ctx.actor_deletion(answered).await,
        OutboxKind::Flag | OutboxKind::ResolveReport | OutboxKind::EvaluationContribution => {
            Ok(finished())
        }
    }
}

/// Moderation between instances, sent and signed by the instance actor so that no person
/// here is named: a forwarded report (`Flag`) and the outcome of a received one (`Resolve`).
async fn instance_row(
    shared: &Shared,
    row: &QueuedDelivery,
    event: &OutboxEvent,
    answered: &mut bool,
) -> Result<RowResult, StoreError> {
    let report = match event.kind {
        OutboxKind::Flag => shared.store.report_by_flag_event(event.id).await?,
        _ => shared.store.report_by_resolution_event(event.id).await?,
    };
    let Some(report) = report else {
        return Ok(finished());
    };
    let (instance_actor, signer) = match instance_signer(shared, event).await? {
        Ok(signing) => signing,
        Err(outcome) => return Ok(outcome),
    };
    let ctx = RowContext {
        shared,
        row,
        event,
        actor: ActorRef {
            id: instance_actor,
            followers: None,
        },
        // The instance acting for the report: never suspended; domain policy still applies.
        party: Party {
            id: report.id,
            domain: None,
            suspended: false,
        },
        activity_id: shared.config.urls.activity(event.id),
        signer,
    };
    ctx.moderation(&report, answered).await
}

/// The instance actor's id and signer; without them, what becomes of the row (it waits for
/// a key, or is dropped if the key cannot sign).
async fn instance_signer(
    shared: &Shared,
    event: &OutboxEvent,
) -> Result<Result<(String, Arc<Signer>), RowResult>, StoreError> {
    let Some((_, private_pem)) = shared.store.instance_actor_keys().await? else {
        tracing::error!(event = %event.id, "no instance actor key; the activity waits");
        return Ok(Err(RowResult::Retry("no instance actor key".into())));
    };
    let instance_actor = shared.config.urls.instance_actor();
    match Signer::from_pem(&format!("{instance_actor}#main-key"), &private_pem) {
        Ok(signer) => Ok(Ok((instance_actor, Arc::new(signer)))),
        Err(e) => {
            tracing::error!(event = %event.id, error = %e, "cannot sign as the instance actor; dropping it");
            Ok(Err(finished()))
        }
    }
}

/// This instance's evaluation cells of a community hosted on the row's domain, sent by the
/// instance actor to the community's Group (and to no one else: the only candidate is the
/// Group, and it must be on the row's domain). The cells are this instance's snapshots as
/// they are now, under the current k.
async fn contribution_row(
    shared: &Shared,
    row: &QueuedDelivery,
    event: &OutboxEvent,
    answered: &mut bool,
) -> Result<RowResult, StoreError> {
    let store = &shared.store;
    let Some(group) = event.target_account else {
        return Ok(finished());
    };
    let Some(community) = store.community_of_group(group).await? else {
        return Ok(finished());
    };
    if community.is_local() || community.account.domain.as_ref() != Some(&row.domain) {
        return Ok(finished());
    }
    let Some(recipient) = store.remote_recipients(&[group]).await?.into_iter().next() else {
        return Ok(finished());
    };
    if recipient.party.domain.as_ref() != Some(&row.domain) {
        return Ok(finished());
    }
    let (instance_actor, signer) = match instance_signer(shared, event).await? {
        Ok(signing) => signing,
        Err(outcome) => return Ok(outcome),
    };
    let k = shared.config.aggregate_min_patients;
    let (cells, _) = store.local_aggregates(community.id, k).await?;
    let cells = match serde_json::to_value(&cells) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(event = %event.id, error = %e, "cannot render the cells; dropping it");
            return Ok(finished());
        }
    };
    let ctx = RowContext {
        shared,
        row,
        event,
        actor: ActorRef {
            id: instance_actor,
            followers: None,
        },
        // The instance, for the community: names no person; domain policy still applies.
        party: Party {
            id: event.id,
            domain: None,
            suspended: false,
        },
        activity_id: shared.config.urls.activity(event.id),
        signer,
    };
    let Some(permits) = ctx.permits_to(&recipient).await? else {
        return Ok(finished());
    };
    let activity = render::evaluation_contribution(
        &ctx.activity_id,
        &ctx.actor,
        &recipient.actor_uri,
        cells,
        k,
        event.created_at,
    );
    ctx.spend(permits, &activity, false, Completion::default(), answered)
        .await
}

struct RowContext<'a> {
    shared: &'a Shared,
    row: &'a QueuedDelivery,
    event: &'a OutboxEvent,
    actor: ActorRef,
    party: Party,
    activity_id: String,
    signer: Arc<Signer>,
}

impl RowContext<'_> {
    fn store(&self) -> &Store {
        &self.shared.store
    }

    fn domain(&self) -> &Domain {
        &self.row.domain
    }

    /// The row's domain's current facts (its standing, blocks, allowlist mode).
    async fn domain_facts(&self) -> Result<FactSet, StoreError> {
        self.store()
            .domain_facts(std::slice::from_ref(self.domain()))
            .await
    }

    /// [`relationship_permits`] from this row's actor to `to`, with the domain's current
    /// facts.
    async fn permits_to(&self, to: &Recipient) -> Result<Option<Vec<DeliveryPermit>>, StoreError> {
        let facts = self.domain_facts().await?;
        Ok(relationship_permits(
            &self.shared.stats,
            &facts,
            &self.party,
            to,
        ))
    }

    async fn status(&self) -> Result<Option<StatusRecord>, StoreError> {
        let Some(id) = self.event.status else {
            return Ok(None);
        };
        match self.store().status(id).await {
            Ok(r) => Ok(Some(r)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create, Update, Announce: re-planned over the domain's current candidates.
    async fn post(&self, answered: &mut bool) -> Result<RowResult, StoreError> {
        let loaded = self
            .shared
            .activities
            .posts
            .get_or_load(self.event.id, || async {
                let Some(record) = self.status().await? else {
                    return Ok(None);
                };
                let activity = self.render_post(&record).await?;
                Ok::<_, StoreError>(Some(Arc::new((record, activity))))
            })
            .await?;
        let Some(rendered) = loaded else {
            return Ok(finished());
        };
        let request = PlanRequest {
            event: self.event.id,
            post: rendered.clone(),
            domain: self.domain().clone(),
        };
        let plan = match self.shared.plans.call(request).await {
            Some(Ok(plan)) => plan,
            Some(Err(why)) => return Ok(RowResult::Retry(why)),
            None => return Ok(RowResult::Retry("the planner is gone".into())),
        };
        let (record, activity) = &*rendered;
        let completion = Completion {
            status: Some(record.facts.id),
            decisions: plan.decisions,
            ..Completion::default()
        };
        if plan.permits.is_empty() {
            self.shared.stats.denied.fetch_add(1, Ordering::Relaxed);
            return Ok(RowResult::Finished(completion));
        }
        let Some(activity) = activity else {
            return Ok(finished());
        };
        self.spend(plan.permits, activity, true, completion, answered)
            .await
    }

    /// The activity a post's event sends (`None` for a boost whose original is gone).
    async fn render_post(&self, record: &StatusRecord) -> Result<Option<Unaddressed>, StoreError> {
        Ok(Some(match self.event.kind {
            OutboxKind::Announce => {
                let Some(original) = record.reblog_of_id else {
                    return Ok(None);
                };
                let original = match self.store().status(original).await {
                    Ok(o) => o,
                    Err(StoreError::NotFound(_)) => return Ok(None),
                    Err(e) => return Err(e),
                };
                render::announce(
                    &self.activity_id,
                    &self.actor,
                    &original.uri,
                    record.created_at,
                )
            }
            OutboxKind::UpdateStatus => render::update(
                &self.activity_id,
                &self.actor,
                &self.note_source(record).await?,
            ),
            OutboxKind::GroupForward => {
                // The post as its author's Create, wrapped in the Group's Announce. Receivers
                // refetch the post from its origin rather than trust the wrapping.
                let source = self.note_source(record).await?;
                let author = ActorRef {
                    id: source.attributed_to.clone(),
                    followers: None,
                };
                render::group_announce(
                    &self.activity_id,
                    &self.actor,
                    render::create(&format!("{}#create", record.uri), &author, &source),
                )
            }
            _ => render::create(
                &self.activity_id,
                &self.actor,
                &self.note_source(record).await?,
            ),
        }))
    }

    /// Delete (or, for a boost, Undo(Announce)): to every inbox of this domain that received
    /// the post.
    async fn retraction(&self, answered: &mut bool) -> Result<RowResult, StoreError> {
        let Some(record) = self.status().await? else {
            return Ok(finished());
        };
        let recorded: Vec<_> = self
            .store()
            .recorded_inboxes(record.facts.id)
            .await?
            .into_iter()
            .filter(|r| &r.domain == self.domain())
            .collect();
        let plan = plan_delivery(
            &FactSet::default(),
            &Subject::Retraction {
                post: record.facts.id,
                recorded: &recorded,
            },
        );
        let completion = Completion {
            status: Some(record.facts.id),
            decisions: plan.decisions,
            ..Completion::default()
        };
        if plan.permits.is_empty() {
            return Ok(RowResult::Finished(completion));
        }
        let activity =
            if self.event.kind == OutboxKind::UndoAnnounce || record.reblog_of_id.is_some() {
                let original_uri = match record.reblog_of_id {
                    Some(o) => self
                        .store()
                        .status(o)
                        .await
                        .map(|s| s.uri)
                        .unwrap_or_default(),
                    None => String::new(),
                };
                let announce_id = self
                    .undone_id(OutboxKind::Announce, Some(record.facts.id), None)
                    .await?;
                render::undo(
                    &self.activity_id,
                    &self.actor,
                    render::announce(&announce_id, &self.actor, &original_uri, record.created_at),
                )
            } else {
                render::delete(&self.activity_id, &self.actor, &record.uri)
            };
        self.spend(plan.permits, &activity, false, completion, answered)
            .await
    }

    /// A moderator's removal of a community post, relayed by the Group as
    /// `Announce(Delete)`: to every inbox of this domain that received the post or the
    /// Group's announcement of it.
    async fn group_removal(&self, answered: &mut bool) -> Result<RowResult, StoreError> {
        let Some(record) = self.status().await? else {
            return Ok(finished());
        };
        let mut recorded = self.store().recorded_inboxes(record.facts.id).await?;
        if let Some(announcement) = self
            .store()
            .reblog_by(self.party.id, record.facts.id)
            .await?
        {
            recorded.extend(self.store().recorded_inboxes(announcement).await?);
        }
        // The author's instance has the post (it is its origin) and must learn of the removal.
        if let Some(author) = self
            .store()
            .remote_recipients(&[record.facts.author.id])
            .await?
            .into_iter()
            .next()
            && let Some(domain) = author.party.domain.clone()
        {
            recorded.push(RecordedInbox {
                inbox: author.shared_inbox.unwrap_or(author.inbox),
                domain,
            });
        }
        recorded.retain(|r| &r.domain == self.domain());
        recorded.sort_by(|a, b| a.inbox.cmp(&b.inbox));
        recorded.dedup_by(|a, b| a.inbox == b.inbox);
        let plan = plan_delivery(
            &FactSet::default(),
            &Subject::Retraction {
                post: record.facts.id,
                recorded: &recorded,
            },
        );
        let completion = Completion {
            status: Some(record.facts.id),
            decisions: plan.decisions,
            ..Completion::default()
        };
        if plan.permits.is_empty() {
            return Ok(RowResult::Finished(completion));
        }
        let (moderator, reason) = match self.store().removal_of(record.facts.id).await? {
            Some((moderator, reason)) => (
                self.store()
                    .account_by_id(moderator)
                    .await
                    .map(|a| a.actor_uri)
                    .unwrap_or_else(|_| self.actor.id.clone()),
                reason,
            ),
            // The author deleted it: the relayed Delete is the author's.
            None => (
                self.store()
                    .account_by_id(record.facts.author.id)
                    .await
                    .map(|a| a.actor_uri)
                    .unwrap_or_else(|_| self.actor.id.clone()),
                String::new(),
            ),
        };
        let remover = ActorRef {
            id: moderator,
            followers: None,
        };
        let mut removal = render::delete(
            &format!("{}#removal", self.activity_id),
            &remover,
            &record.uri,
        );
        removal.set_summary(&reason);
        let activity = render::group_announce(&self.activity_id, &self.actor, removal);
        self.spend(plan.permits, &activity, false, completion, answered)
            .await
    }

    /// A Group's announcement of a moderation in its community (FEP-1b12, Lemmy's shapes):
    /// `Announce(Block)` / `Announce(Undo(Block))` with `target` the Group for a ban and its
    /// lifting, `Announce(Add)` / `Announce(Remove)` with `target` the moderators collection
    /// or the `featured` collection. One copy per instance, to the account concerned when it
    /// is there (a banned account has left the Group's followers), else to a member's inbox,
    /// each permitted like any activity from the Group to that account. The inner activity
    /// is the Group's own (it is authoritative for its collections); ban reasons stay with
    /// the moderators.
    async fn group_moderation(&self, answered: &mut bool) -> Result<RowResult, StoreError> {
        let store = self.store();
        let recipient_id = match self.event.target_account {
            Some(target)
                if store
                    .account_by_id(target)
                    .await
                    .is_ok_and(|a| a.domain.as_ref() == Some(self.domain())) =>
            {
                Some(target)
            }
            _ => store
                .remote_followers_on_domain(self.party.id, self.domain())
                .await?
                .into_iter()
                .next(),
        };
        let Some(recipient_id) = recipient_id else {
            return Ok(finished());
        };
        let Some(recipient) = store
            .remote_recipients(&[recipient_id])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(finished());
        };
        let Some(permits) = self.permits_to(&recipient).await? else {
            return Ok(finished());
        };
        let group = &self.actor;
        let inner_id = format!("{}#{}", self.activity_id, self.event.kind.as_str());
        let account_uri = match self.event.target_account {
            Some(target) => match store.account_by_id(target).await {
                Ok(a) => a.actor_uri,
                Err(StoreError::NotFound(_)) => return Ok(finished()),
                Err(e) => return Err(e),
            },
            None => String::new(),
        };
        let moderators = format!("{}/moderators", group.id);
        let featured = format!("{}/collections/featured", group.id);
        let inner = match self.event.kind {
            OutboxKind::GroupBan => render::community_ban(&inner_id, group, &account_uri),
            OutboxKind::GroupUnban => {
                let ban = self
                    .undone_id(OutboxKind::GroupBan, None, self.event.target_account)
                    .await?;
                render::undo(
                    &inner_id,
                    group,
                    render::community_ban(&format!("{ban}#group_ban"), group, &account_uri),
                )
            }
            OutboxKind::GroupAddModerator => {
                render::collection_add(&inner_id, group, &account_uri, &moderators)
            }
            OutboxKind::GroupRemoveModerator => {
                render::collection_remove(&inner_id, group, &account_uri, &moderators)
            }
            OutboxKind::GroupFeature | OutboxKind::GroupUnfeature => {
                let Some(status) = self.status().await? else {
                    return Ok(finished());
                };
                if self.event.kind == OutboxKind::GroupFeature {
                    render::collection_add(&inner_id, group, &status.uri, &featured)
                } else {
                    render::collection_remove(&inner_id, group, &status.uri, &featured)
                }
            }
            _ => return Ok(finished()),
        };
        let activity = render::group_announce(&self.activity_id, group, inner);
        self.spend(permits, &activity, false, Completion::default(), answered)
            .await
    }

    /// Follow, Accept, Reject, Block, Like and their Undos: to the one counterpart.
    async fn relationship(&self, answered: &mut bool) -> Result<RowResult, StoreError> {
        let status = self.status().await?;
        let target = match (self.event.target_account, &status) {
            (Some(t), _) => t,
            (None, Some(s)) => s.facts.author.id,
            (None, None) => return Ok(finished()),
        };
        let Some(recipient) = self
            .store()
            .remote_recipients(&[target])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(finished());
        };
        if recipient.party.domain.as_ref() != Some(self.domain()) {
            return Ok(finished());
        }
        let facts = self.domain_facts().await?;
        if self.event.kind == OutboxKind::PollVote {
            return self.poll_votes(&facts, &recipient, answered).await;
        }
        let Some(permits) =
            relationship_permits(&self.shared.stats, &facts, &self.party, &recipient)
        else {
            return Ok(finished());
        };
        let them = recipient.actor_uri.as_str();
        let id = self.activity_id.as_str();
        let me = &self.actor;
        let status_uri = status.as_ref().map(|s| s.uri.as_str()).unwrap_or_default();
        let activity = match self.event.kind {
            OutboxKind::Follow => render::follow(id, me, them),
            OutboxKind::UndoFollow => {
                let inner = self
                    .undone_id(OutboxKind::Follow, None, Some(target))
                    .await?;
                render::undo(id, me, render::follow(&inner, me, them))
            }
            OutboxKind::AcceptFollow | OutboxKind::RejectFollow => {
                // The Follow's id as recorded with the answer (a rejected request's row is
                // gone by now); else, for events recorded without it, the follow row's.
                let follow_id = match &self.event.follow_uri {
                    Some(uri) => Some(uri.clone()),
                    None => self.store().follow_uri(target, self.party.id).await?,
                };
                let follow = render::incoming_follow(follow_id.as_deref(), them, &me.id);
                if self.event.kind == OutboxKind::AcceptFollow {
                    render::accept(id, me, follow)
                } else {
                    render::reject(id, me, follow)
                }
            }
            OutboxKind::Block => render::block(id, me, them),
            OutboxKind::UndoBlock => {
                let inner = self
                    .undone_id(OutboxKind::Block, None, Some(target))
                    .await?;
                render::undo(id, me, render::block(&inner, me, them))
            }
            OutboxKind::Like => render::like(id, me, status_uri),
            OutboxKind::UndoLike => {
                let inner = self
                    .undone_id(
                        OutboxKind::Like,
                        self.event.status,
                        self.event.target_account,
                    )
                    .await?;
                render::undo(id, me, render::like(&inner, me, status_uri))
            }
            OutboxKind::ModeratorDelete => {
                let mut removal = render::delete(id, me, status_uri);
                if let Some(s) = &status
                    && let Some((_, reason)) = self.store().removal_of(s.facts.id).await?
                {
                    removal.set_summary(&reason);
                }
                removal
            }
            _ => return Ok(finished()),
        };
        self.spend(permits, &activity, false, Completion::default(), answered)
            .await
    }

    /// A vote in a remote poll: one `Create(Note)` per choice, read from the voter's rows
    /// now (a vote cannot change once cast). Each choice has its own activity id, so a
    /// retry after a partial send repeats ids the origin has already counted.
    async fn poll_votes(
        &self,
        facts: &FactSet,
        recipient: &Recipient,
        answered: &mut bool,
    ) -> Result<RowResult, StoreError> {
        let Some(status) = self.status().await? else {
            return Ok(finished());
        };
        let Some(poll) = self
            .store()
            .polls_of(&[status.facts.id])
            .await?
            .remove(&status.facts.id)
        else {
            return Ok(finished());
        };
        let choices = self
            .store()
            .own_votes(self.party.id, &[poll.id])
            .await?
            .remove(&poll.id)
            .unwrap_or_default();
        for choice in choices {
            let Some(option) = usize::try_from(choice)
                .ok()
                .and_then(|c| poll.options.get(c))
            else {
                continue;
            };
            let id = format!("{}/choices/{choice}", self.activity_id);
            let vote = render::poll_vote(&id, &self.actor, &status.uri, option);
            // A permit is spent by one send: each choice is planned on its own.
            let Some(permits) =
                relationship_permits(&self.shared.stats, facts, &self.party, recipient)
            else {
                return Ok(finished());
            };
            match self
                .spend(permits, &vote, false, Completion::default(), answered)
                .await?
            {
                RowResult::Finished(_) => {}
                retry => return Ok(retry),
            }
        }
        Ok(finished())
    }

    /// An actor `Update` with the current actor document, to one follower of the domain
    /// (the receiving instance refreshes the actor for all its accounts), under a
    /// relationship permit from the policy like any other activity to a remote actor.
    async fn actor_update(
        &self,
        username: &str,
        answered: &mut bool,
    ) -> Result<RowResult, StoreError> {
        let Some(profile) = self.store().local_actor_profile(username).await? else {
            return Ok(finished());
        };
        if profile.suspended || profile.is_group {
            return Ok(finished());
        }
        let followers = self
            .store()
            .remote_followers_on_domain(self.party.id, self.domain())
            .await?;
        let Some(recipient) = self
            .store()
            .remote_recipients(&followers)
            .await?
            .into_iter()
            .find(|r| r.party.domain.as_ref() == Some(self.domain()))
        else {
            return Ok(finished());
        };
        let Some(permits) = self.permits_to(&recipient).await? else {
            return Ok(finished());
        };
        let document = crate::http::actor_document(
            self.store(),
            &self.shared.config.urls,
            &self.shared.config.local_domain,
            &profile,
            None,
        )
        .await?;
        let activity = render::update_actor(&self.activity_id, &self.actor, document);
        self.spend(permits, &activity, false, Completion::default(), answered)
            .await
    }

    /// The `Delete` of a purged actor (Mastodon's shape: `object` the actor id, to Public),
    /// to every inbox of this domain that received its posts or holds a follower.
    async fn actor_deletion(&self, answered: &mut bool) -> Result<RowResult, StoreError> {
        let recorded: Vec<_> = self
            .store()
            .actor_deletion_inboxes(self.party.id)
            .await?
            .into_iter()
            .filter(|r| &r.domain == self.domain())
            .collect();
        let facts = self.domain_facts().await?;
        if cohort_policy::Facts::domain_standing(&facts, self.domain())
            == cohort_policy::DomainStanding::Suspended
        {
            self.shared.stats.denied.fetch_add(1, Ordering::Relaxed);
            return Ok(finished());
        }
        let plan = plan_delivery(
            &facts,
            &Subject::ActorDeletion {
                actor: self.party.id,
                recorded: &recorded,
            },
        );
        if plan.permits.is_empty() {
            return Ok(finished());
        }
        let activity = render::delete_actor(&self.activity_id, &self.actor);
        self.spend(
            plan.permits,
            &activity,
            false,
            Completion::default(),
            answered,
        )
        .await
    }

    /// A report's `Flag` or the outcome of a received one (see [`instance_row`]). A `Flag` is
    /// never sent back to the instance the report came from; one relayed to the remote
    /// moderators of a community hosted here (the report's `relay_event`) goes to them only,
    /// not to the reported account's instance, which only a forwarded report reaches.
    async fn moderation(
        &self,
        report: &cohort_store::ReportRecord,
        answered: &mut bool,
    ) -> Result<RowResult, StoreError> {
        let Some(counterpart) = self.event.target_account else {
            return Ok(finished());
        };
        let is_flag = self.event.kind == OutboxKind::Flag;
        if is_flag && report.origin_domain.as_ref() == Some(self.domain()) {
            return Ok(finished());
        }
        let relayed = is_flag && report.relay_event == Some(self.event.id);
        // The Group of the reported posts' community, when it is hosted here: a relay names
        // it as the Flag's `audience` (as Lemmy does), and its remote moderators receive it.
        let hosted_community = match report.community {
            Some(community) => match self.store().community(community).await {
                Ok(c) if c.is_local() => Some(c),
                Ok(_) | Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        // The reported account (a Flag's first object), or the actor a `Resolve` answers;
        // `None` when local (a report relayed to the community's moderators may be about a
        // local account).
        let counterpart_there = self
            .store()
            .remote_recipients(&[counterpart])
            .await?
            .into_iter()
            .next();
        let counterpart_uri = match &counterpart_there {
            Some(r) => r.actor_uri.clone(),
            None => match self.store().account_by_id(counterpart).await {
                Ok(a) => a.actor_uri,
                Err(StoreError::NotFound(_)) => return Ok(finished()),
                Err(e) => return Err(e),
            },
        };
        let recipient = match counterpart_there {
            Some(r) if !relayed && r.party.domain.as_ref() == Some(self.domain()) => r,
            _ => {
                // A Flag forwarded to a further instance (`forward_to_domains`): addressed
                // to the account there that the reported posts answer or mention, or to a
                // remote moderator of the community.
                if !is_flag || !report.forward_domains.contains(self.domain()) {
                    return Ok(finished());
                }
                // A moderator's later forwarding of a relayed report: the relay reached the
                // moderators already.
                if report.relay_event.is_some() && !relayed {
                    return Ok(finished());
                }
                // The community's Group first (Lemmy's shape: the Flag goes to the
                // community), then the accounts the reported posts answer or mention, then
                // the community's moderators there. A relay goes to the moderators only.
                let mut involved = Vec::new();
                if !relayed {
                    if let Some(community) = report.community {
                        match self.store().community(community).await {
                            Ok(c) => involved.push(c.account.id),
                            Err(StoreError::NotFound(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    involved.extend(
                        self.store()
                            .accounts_involved_in(&report.status_ids)
                            .await?,
                    );
                }
                if let Some(community) = &hosted_community {
                    involved.extend(
                        self.store()
                            .remote_moderators_on(community.id, self.domain())
                            .await?,
                    );
                }
                let Some(there) = self
                    .store()
                    .remote_recipients(&involved)
                    .await?
                    .into_iter()
                    .find(|r| r.party.domain.as_ref() == Some(self.domain()))
                else {
                    return Ok(finished());
                };
                there
            }
        };
        let Some(permits) = self.permits_to(&recipient).await? else {
            return Ok(finished());
        };
        let to_group = recipient.party.id != counterpart
            && self
                .store()
                .account_by_id(recipient.party.id)
                .await?
                .is_group;
        let activity = if self.event.kind == OutboxKind::Flag {
            let mut objects = vec![counterpart_uri];
            for status in self.store().statuses(&report.status_ids).await? {
                objects.push(status.uri);
            }
            let content = report.forward_comment.clone().unwrap_or_default();
            if to_group && objects.len() > 1 {
                render::flag_to_community(
                    &self.activity_id,
                    &self.actor,
                    &objects[1],
                    &recipient.actor_uri,
                    &content,
                )
            } else {
                let audience = hosted_community
                    .as_ref()
                    .map(|c| c.account.actor_uri.as_str());
                render::flag(&self.activity_id, &self.actor, &objects, &content, audience)
            }
        } else {
            let Some(flag_id) = &report.uri else {
                return Ok(finished());
            };
            let outcome = report.resolution_note.clone().unwrap_or_default();
            render::resolve(
                &self.activity_id,
                &self.actor,
                flag_id,
                &recipient.actor_uri,
                &outcome,
            )
        };
        self.spend(permits, &activity, false, Completion::default(), answered)
            .await
    }

    /// The id of the activity an Undo undoes: the earlier event's, or a derived one.
    async fn undone_id(
        &self,
        kind: OutboxKind,
        status: Option<Id>,
        target: Option<Id>,
    ) -> Result<String, StoreError> {
        let previous = self
            .store()
            .previous_outbox_event(kind, self.party.id, status, target, self.event.id)
            .await?;
        Ok(match previous {
            Some(p) => self.shared.config.urls.activity(p),
            None => format!("{}#undone", self.activity_id),
        })
    }

    async fn note_source(&self, record: &StatusRecord) -> Result<NoteSource, StoreError> {
        let in_reply_to = match record.in_reply_to_id {
            Some(parent) => match self.store().status(parent).await {
                Ok(p) => Some(p.uri),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let mut mentions = Vec::with_capacity(record.facts.addressed.len());
        for account in &record.facts.addressed {
            let Ok(a) = self.store().account_by_id(*account).await else {
                continue;
            };
            let host = a.domain.as_ref().map_or_else(
                || self.shared.config.local_domain.to_string(),
                ToString::to_string,
            );
            mentions.push(Mention {
                href: a.actor_uri.clone(),
                name: format!("@{}@{}", a.username, host),
            });
        }
        let attributed_to = if record.facts.author.id == self.party.id {
            self.actor.id.clone()
        } else {
            self.store()
                .account_by_id(record.facts.author.id)
                .await?
                .actor_uri
        };
        let audience = match record.facts.audience.community {
            Some(community) => Some(self.store().community(community).await?.account.actor_uri),
            None => None,
        };
        Ok(NoteSource {
            id: record.uri.clone(),
            url: record.url.clone(),
            attributed_to,
            audience,
            content_html: record.content_html.clone(),
            summary: record.spoiler_text.clone(),
            sensitive: record.sensitive,
            language: record.language.clone(),
            in_reply_to,
            published_ms: record.created_at,
            updated_ms: record.edited_at,
            poll: self
                .store()
                .polls_of(&[record.facts.id])
                .await?
                .get(&record.facts.id)
                .map(|p| crate::render::QuestionSource::of(p, cohort_store::now_ms())),
            mentions,
            attachments: crate::render::attachments(
                &self.shared.config.urls,
                &self
                    .store()
                    .media_of_statuses(&[record.facts.id])
                    .await?
                    .remove(&record.facts.id)
                    .unwrap_or_default(),
            ),
        })
    }

    /// Spends the permits for this domain, skipping inboxes already served for this row.
    /// `records_delivery`: the inboxes reached are added to the status's delivery record.
    async fn spend(
        &self,
        permits: Vec<DeliveryPermit>,
        activity: &Unaddressed,
        records_delivery: bool,
        mut completion: Completion,
        answered: &mut bool,
    ) -> Result<RowResult, StoreError> {
        let several = permits.len() > 1;
        let stats: &Stats = &self.shared.stats;
        for permit in permits {
            if permit.domain() != self.domain() {
                tracing::warn!(domain = %self.domain(), other = %permit.domain(), "permit for another domain ignored");
                continue;
            }
            let inbox = permit.inbox().to_owned();
            if self.row.done_inboxes.iter().any(|d| d == &inbox) {
                continue;
            }
            let delivered = match self
                .shared
                .sender
                .send(permit, activity, &self.signer)
                .await
            {
                SendOutcome::Delivered(code) => {
                    stats.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%inbox, code, activity = activity.id(), "delivered");
                    if !*answered {
                        *answered = true;
                        if several {
                            // A later inbox of this row may still fail: record the success
                            // now, before any failure.
                            self.store()
                                .record_domain_success(self.domain(), now_ms())
                                .await?;
                        } else {
                            // Recorded with the row's completion, in its transaction.
                            completion.answered = true;
                        }
                    }
                    true
                }
                SendOutcome::Refused(why) => {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%inbox, activity = activity.id(), reason = %why, "delivery refused; dropping it");
                    false
                }
                SendOutcome::Retry(why) => return Ok(RowResult::Retry(why)),
            };
            let status = completion.status.filter(|_| delivered && records_delivery);
            if several {
                // Progress inside the row survives a retry or a crash.
                self.store()
                    .record_inbox_progress(self.domain(), self.row.event_id, status, &inbox)
                    .await?;
            } else if status.is_some() {
                completion.delivered.push(inbox);
            }
        }
        Ok(RowResult::Finished(completion))
    }
}
