//! `cohort serve`: check the data directory, take the port, open the database, serve until a
//! signal, then finish in-flight requests.
//!
//! The order matters for "nothing half-created": the port is bound before the database is
//! opened, so a port already in use leaves no new database file behind.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::ServiceExt;
use std::time::Duration;

use cohort_federation::delivery::expire_due_statuses;
use cohort_federation::{Delivery, DeliveryConfig, FederationConfig, FederationState};
use cohort_screening::phi::SharedPhiGuard;
use cohort_store::{DatabaseSettings, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use crate::RunError;
use crate::app::{AppState, api_state, router};
use crate::config::{Config, Registrations};
use crate::metrics::Metrics;

/// A server that is bound and has its database open, not yet serving.
pub struct Prepared {
    listener: TcpListener,
    state: AppState,
    delivery: Delivery,
}

impl Prepared {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, RunError> {
        self.listener
            .local_addr()
            .map_err(|e| RunError::Other(format!("cannot read the bound address: {e}")))
    }

    /// The store the server uses.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The delivery pipeline (tests drain it with `run_until_idle`).
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The federation state (tests drain its inbox queue).
    pub fn federation(&self) -> &FederationState {
        &self.state.federation
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes in-flight requests,
    /// and stops the background work (inbox processing, delivery, expiry) cleanly.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RunError> {
        let inbox = self
            .state
            .federation
            .inbox_processor()
            .spawn(Duration::from_secs(5));
        let delivery = self.delivery.spawn();
        let expiry = tokio::spawn(expire_periodically(
            self.state.store.clone(),
            self.delivery.clone(),
        ));
        let scheduled = tokio::spawn(publish_scheduled_periodically(
            api_state(&self.state),
            self.delivery.clone(),
        ));
        let blocklists = tokio::spawn(refresh_blocklists_periodically(
            api_state(&self.state),
            self.delivery.clone(),
            Duration::from_secs(self.state.config.blocklist_refresh_seconds),
        ));
        let aggregates = tokio::spawn(refresh_aggregates_periodically(
            self.state.federation.clone(),
            self.delivery.clone(),
        ));
        // Clients send `/api/v1/instance/` as often as `/api/v1/instance`: trim the slash
        // before routing.
        let app = NormalizePathLayer::trim_trailing_slash().layer(router(self.state.clone()));
        let served = axum::serve(
            self.listener,
            // The peer address feeds per-address rate limits of anonymous requests.
            ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                std::net::SocketAddr,
            >(app),
        )
        .with_graceful_shutdown({
            // Open streams never finish on their own: end them when shutdown begins, so
            // that the graceful shutdown can complete.
            let streaming = self.state.streaming.clone();
            async move {
                shutdown.await;
                streaming.shutdown();
            }
        })
        .await
        .map_err(|e| RunError::Other(format!("server error: {e}")));
        expiry.abort();
        scheduled.abort();
        blocklists.abort();
        aggregates.abort();
        inbox.shutdown().await;
        delivery.shutdown().await;
        self.state.store.close().await;
        served
    }
}

/// Every few seconds: publishes the scheduled statuses that are due (through the client
/// API's create path, so the audience rules apply at publication), announces the polls
/// that ended (`poll` notifications to voters and authors) and gives up uploads whose
/// processing a stopped process left unfinished.
async fn publish_scheduled_periodically(api: cohort_api::ApiState, delivery: Delivery) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let now = cohort_store::now_ms();
        match cohort_api::routes::scheduled::publish_due_scheduled(&api, now).await {
            Ok(done) if !done.published.is_empty() => {
                tracing::info!(
                    published = done.published.len(),
                    "scheduled statuses published"
                );
                delivery.wake();
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "publishing scheduled statuses failed; will retry")
            }
        }
        match api.store.end_due_polls(now).await {
            Ok(ended) if !ended.is_empty() => {
                tracing::info!(ended = ended.len(), "ended polls announced");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "announcing ended polls failed; will retry"),
        }
        match api
            .store
            .fail_interrupted_uploads(now - UPLOAD_PROCESSING_LIMIT_MS)
            .await
        {
            Ok(0) => {}
            Ok(failed) => {
                tracing::warn!(failed, "uploads whose processing was interrupted given up")
            }
            Err(e) => tracing::warn!(error = %e, "checking interrupted uploads failed; will retry"),
        }
    }
}

/// How long an upload may stay `processing` before it is taken for one whose process
/// stopped: processing an image within the size and pixel limits takes seconds, so a row
/// older than this belongs to a process that crashed or restarted (with several processes on
/// one database, a live one is never cut short).
const UPLOAD_PROCESSING_LIMIT_MS: i64 = 2 * 60 * 1000;
/// How often the evaluation aggregates of communities whose evaluations or members changed
/// are refreshed in the background (requests then only read published snapshots).
const AGGREGATE_REFRESH: Duration = Duration::from_secs(30);

/// Refreshes the aggregates of every community whose inputs changed (recording the
/// contributions to communities hosted elsewhere, and posting the summary Notes of local
/// ones), then wakes the delivery.
pub async fn refresh_aggregates_once(
    federation: &FederationState,
) -> Result<usize, cohort_store::StoreError> {
    let config = federation.config();
    cohort_federation::aggregates::refresh_and_publish(
        federation.store(),
        federation.urls(),
        config.domain.as_str(),
        config.aggregate_min_patients,
    )
    .await
}

async fn refresh_aggregates_periodically(federation: FederationState, delivery: Delivery) {
    let mut tick = tokio::time::interval(AGGREGATE_REFRESH);
    loop {
        tick.tick().await;
        match refresh_aggregates_once(&federation).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(communities = n, "evaluation aggregates refreshed");
                delivery.wake();
            }
            Err(e) => {
                tracing::warn!(error = %e, "refreshing evaluation aggregates failed; will retry")
            }
        }
    }
}

/// Checks the data directory, binds the listener and opens (and migrates) the database.
pub async fn prepare(config: Config) -> Result<Prepared, RunError> {
    ensure_writable_dir(&config.data_dir)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| RunError::Listen {
            addr: config.listen,
            reason: if e.kind() == std::io::ErrorKind::AddrInUse {
                "the address is already in use (is another cohort running?)".to_owned()
            } else {
                e.to_string()
            },
        })?;
    prepare_with(config, listener).await
}

/// [`prepare`] on a listener bound already (a test network learns each instance's port,
/// which is part of its domain, by binding it, and keeps it bound so that no other socket
/// takes the port in between). `config.listen` is not used.
pub async fn prepare_on(
    config: Config,
    listener: std::net::TcpListener,
) -> Result<Prepared, RunError> {
    ensure_writable_dir(&config.data_dir)?;
    let addr = listener
        .local_addr()
        .map_err(|e| RunError::Other(format!("the given listener has no address: {e}")))?;
    let listener = listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(listener))
        .map_err(|e| RunError::Listen {
            addr,
            reason: e.to_string(),
        })?;
    prepare_with(config, listener).await
}

async fn prepare_with(config: Config, listener: TcpListener) -> Result<Prepared, RunError> {
    let store = open_store(&config).await?;
    let mut federation_config =
        FederationConfig::new(config.domain.clone(), config.allow_loopback_federation);
    federation_config.open_registrations = config.registrations == Registrations::Open;
    federation_config.trusted_verifiers = config.trusted_verifiers.clone();
    federation_config.clinician_direct_messages = config.clinician_direct_messages;
    federation_config.aggregate_min_patients = config.aggregate_min_patients;
    // One PHI guard for the process: the client API and the inbox share it.
    let phi_guard = SharedPhiGuard::new();
    let federation =
        FederationState::with_phi_guard(store.clone(), federation_config, phi_guard.clone())
            .await
            .map_err(|e| RunError::Other(format!("cannot start federation: {e}")))?;
    let mut delivery_config =
        DeliveryConfig::new(config.domain.clone(), config.allow_loopback_federation);
    delivery_config.lease = Duration::from_secs(config.delivery_lease_seconds);
    delivery_config.aggregate_min_patients = config.aggregate_min_patients;
    let delivery = Delivery::new(store.clone(), delivery_config)
        .map_err(|e| RunError::Other(format!("cannot start delivery: {e}")))?;
    Ok(Prepared {
        listener,
        state: AppState {
            streaming: cohort_api::streaming::StreamHub::new(store.clone()),
            store,
            config: Arc::new(config),
            metrics: Metrics::new(),
            federation,
            phi_guard,
        },
        delivery,
    })
}

/// Opens and migrates the configured database. For SQLite the data directory is created
/// first, since the database file lives in it by default.
pub async fn open_store(config: &Config) -> Result<Store, RunError> {
    if config.database_url.starts_with("sqlite:") {
        ensure_writable_dir(&config.data_dir)?;
    }
    let mut settings = DatabaseSettings::new(&config.database_url);
    settings.max_connections = config.database_max_connections;
    Ok(Store::open(&settings).await?)
}

/// Deletes expired posts every few seconds (each recording the `Delete` that reaches every
/// inbox the post went to) and wakes delivery when it did; about hourly, probes instances
/// marked unreachable; at start and about hourly, purges local accounts suspended for 30
/// days (`Store::purge_suspended_accounts`) and refreshes the query planner's statistics
/// (`Store::refresh_planner_statistics`).
async fn expire_periodically(store: Store, delivery: Delivery) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        // About hourly: probe instances marked unreachable; any answer resumes their worker.
        if ticks.is_multiple_of(720) {
            match delivery.probe_unreachable().await {
                Ok(back) if !back.is_empty() => {
                    tracing::info!(count = back.len(), "unreachable instances answered again")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "probing unreachable instances failed"),
            }
        }
        // At start, then about hourly: purge local accounts suspended for 30 days, and
        // refresh the query planner's statistics (see `Store::refresh_planner_statistics`).
        if ticks % 720 == 1 {
            if let Err(e) = store.refresh_planner_statistics().await {
                tracing::warn!(error = %e, "refreshing the planner's statistics failed; will retry");
            }
            match store.purge_suspended_accounts(cohort_store::now_ms()).await {
                Ok(purged) if !purged.is_empty() => {
                    tracing::info!(
                        count = purged.len(),
                        "accounts suspended for 30 days purged"
                    );
                    delivery.wake();
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "purging suspended accounts failed; will retry")
                }
            }
        }
        match expire_due_statuses(&store, cohort_store::now_ms()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(expired = n, "expired posts deleted");
                delivery.wake();
            }
            Err(e) => tracing::warn!(error = %e, "expiring posts failed; will retry"),
        }
    }
}

/// At start and then every `every` (`COHORT_BLOCKLIST_REFRESH_SECONDS`): fetches each
/// blocklist subscription's URL into a draft (applied at once for `auto_apply` ones, which
/// may drop deliveries, so delivery is woken).
async fn refresh_blocklists_periodically(
    state: cohort_api::ApiState,
    delivery: Delivery,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match cohort_api::routes::blocklists::refresh_all_subscriptions(&state).await {
            Ok(0) => {}
            Ok(drafts) => {
                tracing::info!(drafts, "blocklist subscriptions refreshed");
                delivery.wake();
            }
            Err(e) => {
                tracing::warn!(error = %e, "refreshing blocklist subscriptions failed; will retry")
            }
        }
    }
}

/// Creates the directory if needed and proves it writable by writing and removing a file.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), RunError> {
    let fail = |e: std::io::Error| RunError::DataDir {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".cohort-write-check");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// `cohort serve`: runs until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), RunError> {
    let public_url = config.public_url();
    let database = cohort_store::mask_password(&config.database_url);
    let prepared = prepare(config).await?;
    let addr = prepared.local_addr()?;
    let accounts = prepared.store().count_local_accounts().await?;
    tracing::info!(%addr, url = %public_url, %database, "cohort is serving");
    println!(
        "Cohort {} is serving {public_url} (listening on {addr}, database {database})",
        env!("CARGO_PKG_VERSION")
    );
    if accounts == 0 {
        println!(
            "No accounts yet. Create the first admin with:\n  cohort admin create-account admin --email you@example.org --role admin"
        );
    }
    prepared.run(shutdown_signal()).await?;
    tracing::info!("cohort stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, container runtimes).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; finishing in-flight requests"),
        () = terminate => tracing::info!("SIGTERM received; finishing in-flight requests"),
    }
}

/// A server running in the background of the current runtime (for tests and the test
/// network).
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The store it uses.
    pub store: Store,
    /// Its delivery pipeline.
    pub delivery: Delivery,
    /// Its federation state.
    pub federation: FederationState,
    /// The client API's state, for tests that drive its background work directly
    /// (`publish_due_scheduled`).
    pub api: cohort_api::ApiState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

impl RunningServer {
    /// Prepares and starts a server.
    pub async fn start(config: Config) -> Result<RunningServer, RunError> {
        RunningServer::started(prepare(config).await?)
    }

    /// Prepares and starts a server on a listener bound already (see [`prepare_on`]).
    pub async fn start_on(
        config: Config,
        listener: std::net::TcpListener,
    ) -> Result<RunningServer, RunError> {
        RunningServer::started(prepare_on(config, listener).await?)
    }

    fn started(prepared: Prepared) -> Result<RunningServer, RunError> {
        let addr = prepared.local_addr()?;
        let store = prepared.store().clone();
        let delivery = prepared.delivery().clone();
        let federation = prepared.federation().clone();
        let api = api_state(&prepared.state);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(prepared.run(async move {
            let _ = stopped.await;
        }));
        Ok(RunningServer {
            addr,
            store,
            delivery,
            federation,
            api,
            stop: Some(stop),
            task,
        })
    }

    /// Runs the background refresh of evaluation aggregates once (tests and `settle()`).
    pub async fn refresh_aggregates(&self) -> Result<usize, RunError> {
        refresh_aggregates_once(&self.federation)
            .await
            .map_err(|e| RunError::Other(format!("refreshing aggregates: {e}")))
    }

    /// Stops accepting, waits for in-flight requests and the server task.
    pub async fn stop(mut self) -> Result<(), RunError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(RunError::Other(format!("server task failed: {e}"))),
        }
    }
}
