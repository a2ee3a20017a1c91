//! Durable, signed, permit-gated delivery: the only code in Cohort that sends to other
//! servers.
//!
//! ```text
//! outbox_activities --planner--> delivery_queue (domain, event) --worker per domain-->
//!   re-plan (cohort_policy::plan_delivery, fresh facts for that domain)
//!   -> render (crate::render) -> send(permit, activity) signed -> record -> delete row
//! ```
//!
//! - **Nothing lost**: events are written with the local change (store), planned into
//!   per-domain queue rows idempotently, and a row is deleted only once its activity was
//!   delivered, refused for good (4xx other than 429) or no longer permitted. Restarts resume
//!   from the queue; partial progress inside a row (several personal inboxes on one domain)
//!   is kept so nothing is sent twice.
//! - **Nothing without a permit**: every POST is made by [`send::Sender::send`], which takes
//!   a `DeliveryPermit` by value and renders `to`/`cc` from it.
//! - **Re-plan at send time**: a block, a domain suspension, a deletion or a change of
//!   audience made after the event was recorded holds for every row not yet sent.
//! - **One worker per domain**: a domain's lease is held by one worker (one process, when
//!   several share a PostgreSQL database); a failing domain backs off
//!   (`1.25^(fails-1)` s, capped at a day) without holding up others, and after three days of
//!   failures is marked unreachable until [`Delivery::probe_unreachable`] or
//!   `Store::clear_unreachable` (on an inbound request) clears it.
//!
//! The server builds a [`Delivery`] with [`DeliveryConfig`], calls [`Delivery::spawn`] and
//! keeps the [`DeliveryHandle`] (wake it after local writes; shut it down on exit). Tests use
//! [`Delivery::run_until_idle`].

mod planner;
pub mod send;
pub mod sign;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cohort_model::Domain;
use cohort_store::{DeliveryCompletion, QueuedDelivery, Store, StoreError, now_ms};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::batch::Batcher;
use crate::urls::LocalUrls;

pub use send::{GuardedResolver, SendOutcome, Sender, is_public};
pub use sign::{SignError, Signer};

/// How the delivery pipeline runs.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// This instance's domain.
    pub local_domain: Domain,
    /// Shapes activity ids (`/activities/EVENT`).
    pub urls: LocalUrls,
    /// Plain HTTP to `*.localhost:PORT` resolved to 127.0.0.1, for test networks. When off,
    /// only HTTPS to public addresses is allowed.
    pub allow_loopback_federation: bool,
    /// How many domains are worked on at once. Each lane mostly waits (for the database's
    /// batched claims, plans and completions, and for the remote server), so a fan-out to
    /// hundreds of instances needs many lanes to keep the CPU busy signing: 128 delivered
    /// about a third more than 32 in the fan-out benchmark.
    pub max_concurrent_domains: usize,
    /// Timeout of one POST.
    pub request_timeout: Duration,
    /// How often the background loop looks for work when nobody wakes it.
    pub poll_interval: Duration,
    /// How long a domain's lease lasts (renewed while working).
    pub lease: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// k of the evaluation aggregates: a contribution sends only this instance's cells that
    /// still meet it.
    pub aggregate_min_patients: u64,
}

impl DeliveryConfig {
    /// Defaults for `domain`: 128 domains at once, 10 s per request, 1 s polling, 60 s leases.
    pub fn new(local_domain: Domain, allow_loopback_federation: bool) -> Self {
        let urls = LocalUrls::new(&local_domain, allow_loopback_federation);
        DeliveryConfig {
            user_agent: format!("Cohort/{} (+{})", env!("CARGO_PKG_VERSION"), urls.base()),
            local_domain,
            urls,
            allow_loopback_federation,
            max_concurrent_domains: 128,
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            aggregate_min_patients: cohort_health::DEFAULT_MIN_PATIENTS,
        }
    }
}

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Counters since start.
#[derive(Default, Debug)]
pub(crate) struct Stats {
    pub(crate) delivered: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) denied: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// POSTs answered 2xx.
    pub delivered: u64,
    /// POSTs refused for good (4xx, forbidden address) and dropped.
    pub refused: u64,
    /// Domain failures that led to a backoff.
    pub retried: u64,
    /// Rows for which the policy permitted nothing.
    pub denied: u64,
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) config: DeliveryConfig,
    pub(crate) sender: Sender,
    pub(crate) owner: String,
    pub(crate) keys: worker::KeyCache,
    pub(crate) activities: worker::ActivityCache,
    /// The lanes' claims of due domains, made together (one `UPDATE` for many, and one read
    /// of their first rows).
    pub(crate) claims: Batcher<(), Option<(Domain, Vec<QueuedDelivery>)>>,
    /// The lanes' plans of posts, made together (one set of queries per activity for every
    /// domain whose turn came at the same time).
    pub(crate) plans: Batcher<worker::PlanRequest, Result<worker::DomainPlan, String>>,
    /// The lanes' completed rows, committed together.
    pub(crate) completions: Batcher<DeliveryCompletion, Result<(), String>>,
    /// The lanes' released leases, given up together.
    pub(crate) releases: Batcher<Domain, ()>,
    pub(crate) stats: Stats,
    pub(crate) stopping: AtomicBool,
    wake: Notify,
}

impl Shared {
    pub(crate) fn lease_ms(&self) -> i64 {
        i64::try_from(self.config.lease.as_millis()).unwrap_or(60_000)
    }
}

/// The delivery pipeline of one process. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("owner", &self.shared.owner)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    /// A pipeline over `store`. Nothing runs until [`Delivery::spawn`] or
    /// [`Delivery::run_until_idle`].
    pub fn new(store: Store, config: DeliveryConfig) -> Result<Self, DeliveryError> {
        let sender = Sender::new(
            config.allow_loopback_federation,
            config.request_timeout,
            &config.user_agent,
        )?;
        let owner = format!(
            "{}-{}-{}",
            config.local_domain,
            std::process::id(),
            store.next_id()
        );
        let batch = config.max_concurrent_domains.max(1);
        let claims = {
            let (store, owner) = (store.clone(), owner.clone());
            let lease_ms = i64::try_from(config.lease.as_millis()).unwrap_or(60_000);
            Batcher::new(batch, move |wanted: Vec<()>| {
                claim_domains(store.clone(), owner.clone(), lease_ms, wanted.len())
            })
        };
        let plans = {
            let store = store.clone();
            Batcher::new(batch, move |requests| {
                worker::plan_posts(store.clone(), requests)
            })
        };
        let completions = {
            let store = store.clone();
            Batcher::new(batch, move |rows| complete_rows(store.clone(), rows))
        };
        let releases = {
            let (store, owner) = (store.clone(), owner.clone());
            Batcher::new(batch, move |domains| {
                release_domains(store.clone(), owner.clone(), domains)
            })
        };
        Ok(Delivery {
            shared: Arc::new(Shared {
                store,
                config,
                sender,
                owner,
                keys: worker::KeyCache::default(),
                activities: worker::ActivityCache::default(),
                claims,
                plans,
                completions,
                releases,
                stats: Stats::default(),
                stopping: AtomicBool::new(false),
                wake: Notify::new(),
            }),
        })
    }

    /// Plans every outbox event not planned yet into queue rows. Returns how many.
    pub async fn plan_pending(&self) -> Result<usize, StoreError> {
        planner::plan_pending(&self.shared.store).await
    }

    /// Plans and delivers until no queued row is due: returns when the queue is empty or
    /// holds only rows of backed-off or unreachable domains. For tests and `settle()`.
    pub async fn run_until_idle(&self) -> Result<DeliveryStats, StoreError> {
        let before = self.stats();
        let (_tx, rx) = watch::channel(false);
        self.drive(true, rx).await?;
        let after = self.stats();
        Ok(DeliveryStats {
            delivered: after.delivered - before.delivered,
            refused: after.refused - before.refused,
            retried: after.retried - before.retried,
            denied: after.denied - before.denied,
        })
    }

    /// Starts the planner and workers as tokio tasks.
    pub fn spawn(&self) -> DeliveryHandle {
        let (stop, rx) = watch::channel(false);
        let this = self.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = this.drive(false, rx).await {
                tracing::error!(error = %e, "delivery loop ended");
            }
        });
        DeliveryHandle {
            delivery: self.clone(),
            stop,
            task,
        }
    }

    /// Wakes the background loop (after a local write recorded an outbox event).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Counters since this pipeline was built.
    pub fn stats(&self) -> DeliveryStats {
        let s = &self.shared.stats;
        DeliveryStats {
            delivered: s.delivered.load(Ordering::Relaxed),
            refused: s.refused.load(Ordering::Relaxed),
            retried: s.retried.load(Ordering::Relaxed),
            denied: s.denied.load(Ordering::Relaxed),
        }
    }

    /// Probes each unreachable domain that has queued rows (a GET of its NodeInfo
    /// discovery document); any answer below 500 clears the mark so its worker resumes.
    /// Returns the domains cleared. Call it now and then (say hourly).
    pub async fn probe_unreachable(&self) -> Result<Vec<Domain>, StoreError> {
        let mut cleared = Vec::new();
        for domain in self.shared.store.unreachable_domains_with_queue().await? {
            if self.shared.sender.probe(&domain).await {
                self.shared.store.clear_unreachable(&domain).await?;
                tracing::info!(%domain, "unreachable domain answered a probe; resuming delivery");
                cleared.push(domain);
            }
        }
        if !cleared.is_empty() {
            self.wake();
        }
        Ok(cleared)
    }

    /// The scheduler: plans new events, then keeps up to `max_concurrent_domains` lanes
    /// busy. Each lane claims one due domain at a time (claims are atomic, so lanes, and
    /// processes sharing a database, never take the same domain), works through its queue,
    /// releases it and claims the next, until none is due. `until_idle` returns once nothing
    /// is due; otherwise it runs until `stop` turns true, then lets each lane finish the row
    /// it is on.
    async fn drive(
        &self,
        until_idle: bool,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        let shared = &self.shared;
        let store = &shared.store;
        let max = shared.config.max_concurrent_domains.max(1);
        let mut lanes: JoinSet<Result<(), StoreError>> = JoinSet::new();
        let mut last_prune = now_ms();
        loop {
            if *stop.borrow() {
                break;
            }
            match planner::plan_pending(store).await {
                Ok(_) => {}
                Err(e) if until_idle => {
                    drain(&mut lanes).await;
                    return Err(e);
                }
                Err(e) => tracing::warn!(error = %e, "delivery planner failed"),
            }
            while lanes.len() < max {
                let s = self.shared.clone();
                lanes.spawn(async move { lane(&s).await });
            }
            if until_idle {
                drain(&mut lanes).await;
                if store.due_delivery_rows(now_ms()).await? == 0
                    && store.unplanned_outbox_events(1).await?.is_empty()
                {
                    break;
                }
                // Due rows leased by another worker (or a crashed one, until its lease
                // ends): look again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            if now_ms() - last_prune > 60_000 {
                last_prune = now_ms();
                let _ = store.prune_planned_markers().await;
            }
            // Lanes end when nothing is due; a wake-up (new events) or the poll interval
            // starts the next round, and finished lanes are reaped meanwhile.
            tokio::select! {
                _ = stop.changed() => {}
                _ = shared.wake.notified() => {}
                _ = tokio::time::sleep(shared.config.poll_interval) => {}
            }
            while let Some(done) = lanes.try_join_next() {
                report(done);
            }
        }
        drain(&mut lanes).await;
        Ok(())
    }
}

/// One lane: claims due domains one at a time and works each until none is left. The
/// lanes' claims, plans, completions and releases are made together through the batchers of
/// [`Shared`], so that a fan-out to many domains costs few queries and commits.
async fn lane(shared: &Shared) -> Result<(), StoreError> {
    loop {
        if shared.stopping.load(Ordering::Relaxed) {
            return Ok(());
        }
        let Some(Some((domain, rows))) = shared.claims.call(()).await else {
            return Ok(());
        };
        if let Err(e) = worker::run_domain(shared, &domain, rows).await {
            tracing::warn!(%domain, error = %e, "delivery worker failed");
        }
    }
}

/// Claims up to `wanted` due domains in one statement, with their first rows in one read,
/// one domain per waiting lane (`None` for the lanes beyond what is due).
async fn claim_domains(
    store: Store,
    owner: String,
    lease_ms: i64,
    wanted: usize,
) -> Vec<Option<(Domain, Vec<QueuedDelivery>)>> {
    let limit = i64::try_from(wanted).unwrap_or(i64::MAX);
    let domains = match store
        .claim_delivery_domains(&owner, now_ms(), lease_ms, limit)
        .await
    {
        Ok(domains) => domains,
        Err(e) => {
            tracing::warn!(error = %e, "claiming delivery domains failed");
            Vec::new()
        }
    };
    let mut rows = if domains.is_empty() {
        Default::default()
    } else {
        match store
            .queued_deliveries_of_domains(&domains, worker::ROWS_PER_ROUND)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                // The lanes read their rows themselves.
                tracing::warn!(error = %e, "reading the claimed domains' rows failed");
                Default::default()
            }
        }
    };
    let mut claimed: Vec<Option<(Domain, Vec<QueuedDelivery>)>> = domains
        .into_iter()
        .map(|d| {
            let first = rows.remove(&d).unwrap_or_default();
            Some((d, first))
        })
        .collect();
    claimed.resize_with(wanted, || None);
    claimed
}

/// Commits completed rows together; if that fails, each on its own, so that every lane
/// learns whether its own row is done.
async fn complete_rows(store: Store, rows: Vec<DeliveryCompletion>) -> Vec<Result<(), String>> {
    match store.complete_deliveries(&rows).await {
        Ok(()) => rows.iter().map(|_| Ok(())).collect(),
        Err(e) => {
            tracing::warn!(error = %e, rows = rows.len(), "completing delivery rows together failed; one by one");
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(
                    store
                        .complete_deliveries(std::slice::from_ref(&row))
                        .await
                        .map_err(|e| e.to_string()),
                );
            }
            out
        }
    }
}

/// Releases leases together (a failure only delays the domains until their lease ends).
async fn release_domains(store: Store, owner: String, domains: Vec<Domain>) -> Vec<()> {
    if let Err(e) = store.release_delivery_leases(&domains, &owner).await {
        tracing::warn!(error = %e, domains = domains.len(), "releasing delivery leases failed");
    }
    vec![(); domains.len()]
}

async fn drain(lanes: &mut JoinSet<Result<(), StoreError>>) {
    while let Some(done) = lanes.join_next().await {
        report(done);
    }
}

fn report(done: Result<Result<(), StoreError>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "delivery lane failed"),
        Err(e) => tracing::error!(error = %e, "delivery lane panicked"),
    }
}

/// The running pipeline, as `cohort serve` holds it.
#[derive(Debug)]
pub struct DeliveryHandle {
    delivery: Delivery,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl DeliveryHandle {
    /// The pipeline (to wake it, read its stats, or probe).
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// Wakes the loop after a local write.
    pub fn wake(&self) {
        self.delivery.wake();
    }

    /// Stops claiming work, lets each running worker finish the row it is on (bounded by
    /// the request timeout), releases the leases and returns.
    pub async fn shutdown(self) {
        self.delivery.shared.stopping.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "delivery loop panicked");
        }
    }
}

/// Deletes every status whose expiry has passed (recording its `Delete` event in the same
/// transaction, so the retraction reaches every inbox that received it). Returns how many.
/// The server calls it periodically.
pub async fn expire_due_statuses(store: &Store, now: i64) -> Result<usize, StoreError> {
    let mut expired = 0;
    loop {
        let due = store.statuses_due_to_expire(now, 200).await?;
        if due.is_empty() {
            return Ok(expired);
        }
        for status in due.iter().copied() {
            match store.mark_status_deleted(status).await {
                Ok(()) => expired += 1,
                // Deleted meanwhile by its author: nothing to do.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if due.len() < 200 {
            return Ok(expired);
        }
    }
}
