//! The HTTP application: routes, shared state and the layers every request passes through.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use cohort_store::Store;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Config, Registrations};
use crate::metrics::{Metrics, track_requests};
use cohort_api::{ApiSettings, ApiState, RegistrationMode};
use cohort_federation::FederationState;
use cohort_policy::PhiRules;
use tower_http::cors::{Any, CorsLayer};

/// The header carrying the request id, set on the request if the client (or a proxy) did
/// not, and echoed on the response so a log line can be matched to a user's report.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Effective configuration.
    pub config: std::sync::Arc<Config>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// ActivityPub: discovery, actors, objects, inbox.
    pub federation: FederationState,
    /// The streaming API's live events (ended at shutdown).
    pub streaming: cohort_api::streaming::StreamHub,
    /// The process's one PHI guard, built on first use; the federation state holds the
    /// same one (relayed report comments), and so does every client API state made here.
    pub phi_guard: cohort_screening::phi::SharedPhiGuard,
}

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let api = cohort_api::router(api_state(&state));
    // Merged at the root, never nested: HTTP signatures cover the full request path.
    let federation = cohort_federation::router(state.federation.clone());
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .with_state(state)
        .merge(api)
        .merge(federation)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            track_requests,
        ))
        .layer(cors())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(&REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    id = %request_id,
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
}

/// The client API's view of the configuration.
pub(crate) fn api_state(state: &AppState) -> ApiState {
    let config = &state.config;
    let mut settings = ApiSettings::new(config.domain.clone(), config.public_url());
    settings.registrations = match config.registrations {
        Registrations::Open => RegistrationMode::Open,
        Registrations::Approval => RegistrationMode::Approval,
        Registrations::Closed => RegistrationMode::Closed,
    };
    settings.password_grant = config.oauth_password_grant;
    settings.max_status_chars = config.max_status_chars;
    settings.rate_limit = config.rate_limit;
    settings.anonymous_rate_limit = config.anonymous_rate_limit;
    settings.trusted_proxies = config.trusted_proxies.clone();
    settings.user_communities = config.user_communities;
    settings.aggregate_min_patients = config.aggregate_min_patients;
    settings.public_mod_log = config.public_mod_log;
    settings.clinician_direct_messages = config.clinician_direct_messages;
    settings.contact_routes = config.contact_routes.clone();
    settings.phi_rules = PhiRules {
        professional: config.phi_professional_action,
        member: config.phi_member_action,
    };
    let media = cohort_api::MediaSettings {
        storage: std::sync::Arc::new(cohort_media::FsStorage::new(config.data_dir.join("media"))),
        limits: cohort_media::MediaLimits {
            max_bytes: config.media_max_bytes,
            max_pixels: config.media_max_pixels,
        },
        async_above_bytes: config.media_async_bytes,
    };
    ApiState::new(state.store.clone(), settings)
        .with_federation(state.federation.clone())
        .with_media(media)
        .with_streaming(state.streaming.clone())
        .with_phi_guard(state.phi_guard.clone())
}

/// Browser clients call the API from other origins: allow any origin (tokens, not cookies,
/// authenticate), answer preflights, and expose the headers clients read.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([
            header::LINK,
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            REQUEST_ID_HEADER,
        ])
}

/// 200 when the database answers, 503 otherwise. Load balancers and the container health
/// check poll it; it answers whatever the `Host` header says.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"ok","database":"ok"}"#,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"unavailable","database":"unreachable"}"#,
            )
        }
    }
}

/// Prometheus text format.
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state
            .metrics
            .render(&state.store, state.store.outbox_depth().await.ok()),
    )
}
