//! Prometheus metrics: requests by route and status, request durations, database pools.
//!
//! Counters are updated by a middleware on every request; gauges that describe state (pool
//! sizes) are read at scrape time, so they cost nothing between scrapes.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use cohort_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one request: the route template (`/api/v1/statuses/{id}`, never the raw path,
/// which would make one series per id), the method and the status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    pool_connections: Family<PoolLabels, Gauge>,
    outbox_queued: Gauge,
    outbox_domains: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with Cohort's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cohort");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        let outbox_queued = Gauge::default();
        let outbox_domains = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request durations by route",
            durations.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by pool and state",
            pool_connections.clone(),
        );
        registry.register(
            "outbox_queued_deliveries",
            "Deliveries waiting in the outbox (one per activity and receiving instance)",
            outbox_queued.clone(),
        );
        registry.register(
            "outbox_domains",
            "Receiving instances with deliveries waiting",
            outbox_domains.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            outbox_queued,
            outbox_domains,
            requests,
            durations,
            pool_connections,
        }
    }

    /// Counts one finished request.
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// The text exposition, with state gauges refreshed from `store` (and `outbox`, read by
    /// the caller because it needs a query).
    pub fn render(&self, store: &Store, outbox: Option<cohort_store::OutboxDepth>) -> String {
        if let Some(depth) = outbox {
            self.outbox_queued.set(depth.queued_deliveries);
            self.outbox_domains.set(depth.domains);
        }
        let stats = store.pool_stats();
        let set = |pool, state, value: i64| {
            self.pool_connections
                .get_or_create(&PoolLabels { pool, state })
                .set(value);
        };
        let idle_r = i64::try_from(stats.reader_idle).unwrap_or(i64::MAX);
        let idle_w = i64::try_from(stats.writer_idle).unwrap_or(i64::MAX);
        set("read", "open", i64::from(stats.reader_size));
        set("read", "idle", idle_r);
        set("write", "open", i64::from(stats.writer_size));
        set("write", "idle", idle_w);

        let mut out = String::new();
        let registry = match self.registry.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Encoding into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

/// Middleware: times and counts every request under its route template.
pub async fn track_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
