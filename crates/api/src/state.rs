//! What every handler can reach.

use std::sync::Arc;

use cohort_federation::urls::LocalUrls;
use cohort_model::Domain;
use cohort_policy::PhiRules;
use cohort_screening::phi::{PhiGuard, SharedPhiGuard};
use cohort_store::Store;

/// Who may sign up (mirrors the server's configuration).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegistrationMode {
    /// Sign-up gives a working account at once.
    Open,
    /// Accounts wait for an admin.
    Approval,
    /// No sign-up.
    Closed,
}

/// Whether the mod log is public (`COHORT_PUBLIC_MOD_LOG`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PublicModLog {
    /// Only moderators read it (the admin API).
    Off,
    /// Anyone reads it, with the moderators' names.
    On,
    /// Anyone reads it; moderators are not named.
    Anonymous,
}

/// Instance settings the API needs.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// The public domain.
    pub domain: Domain,
    /// `https://DOMAIN` (or `http://` for local trials and test networks).
    pub base_url: String,
    /// Sign-up mode.
    pub registrations: RegistrationMode,
    /// Whether the OAuth password grant is offered (off unless configured; Mastodon 4.4
    /// removed it).
    pub password_grant: bool,
    /// Longest status text, in characters.
    pub max_status_chars: usize,
    /// Most mentions in one status.
    pub max_mentions: usize,
    /// Instance title.
    pub title: String,
    /// What the PHI guard does with posts that identify a patient, by kind of author.
    pub phi_rules: PhiRules,
    /// Requests per five minutes per access token (0: no limit).
    pub rate_limit: u32,
    /// Anonymous requests per five minutes per client address (0: no limit).
    pub anonymous_rate_limit: u32,
    /// Reverse proxies trusted to name the client in `X-Forwarded-For`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether every user may create communities (otherwise admins and moderators only).
    pub user_communities: bool,
    /// Whether the mod log is public.
    pub public_mod_log: PublicModLog,
    /// Who may send a verified clinician direct messages unless they chose otherwise.
    pub clinician_direct_messages: cohort_model::DirectMessagesFrom,
    /// The institution's contact routes (`COHORT_CONTACT_*`), offered to authors of urgent
    /// or sensitive questions and to those a clinician's boundary routes.
    pub contact_routes: cohort_policy::ContactRoutes,
    /// k of the evaluation aggregates (`COHORT_AGGREGATE_MIN_PATIENTS`).
    pub aggregate_min_patients: u64,
}

impl ApiSettings {
    /// Defaults for a domain.
    pub fn new(domain: Domain, base_url: String) -> Self {
        ApiSettings {
            domain,
            base_url,
            registrations: RegistrationMode::Approval,
            password_grant: false,
            max_status_chars: 5000,
            max_mentions: 50,
            title: "Cohort".to_owned(),
            phi_rules: PhiRules::default(),
            rate_limit: 1500,
            anonymous_rate_limit: 1500,
            trusted_proxies: vec![
                ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1])),
                ipnet::IpNet::from(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            user_communities: false,
            public_mod_log: PublicModLog::Off,
            clinician_direct_messages: cohort_model::DirectMessagesFrom::Everyone,
            contact_routes: cohort_policy::ContactRoutes::default(),
            aggregate_min_patients: cohort_health::DEFAULT_MIN_PATIENTS,
        }
    }
}

/// Where uploads go and what they may be.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// The files.
    pub storage: Arc<dyn cohort_media::MediaStorage>,
    /// Bytes and pixels an upload may have.
    pub limits: cohort_media::MediaLimits,
    /// Uploads to `POST /api/v2/media` larger than this are processed in the background
    /// (`202`, then `GET /api/v1/media/:id`); smaller ones at once (`200`).
    pub async_above_bytes: usize,
}

impl MediaSettings {
    /// Files under `root`, with Mastodon's limits.
    pub fn on_disk(root: impl Into<std::path::PathBuf>) -> Self {
        MediaSettings {
            storage: Arc::new(cohort_media::FsStorage::new(root)),
            limits: cohort_media::MediaLimits::default(),
            async_above_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Shared state of the API routes.
#[derive(Clone)]
pub struct ApiState {
    /// Storage.
    pub store: Store,
    /// Settings.
    pub settings: Arc<ApiSettings>,
    /// Local URL shapes.
    pub urls: Arc<LocalUrls>,
    /// The PHI guard, built on first use (see [`ApiState::phi_guard`]); the server's own,
    /// shared with its federation state ([`ApiState::with_phi_guard`]).
    phi_guard: SharedPhiGuard,
    /// Federation, for resolving remote accounts (`user@host`); absent in tests that run
    /// the API alone.
    pub federation: Option<cohort_federation::FederationState>,
    /// Media storage and limits.
    pub media: Arc<MediaSettings>,
    /// Live events for the streaming API (one hub per process: the server passes its own,
    /// so that shutdown can end open streams).
    pub streaming: crate::streaming::StreamHub,
}

impl ApiState {
    /// State for `store` with `settings`.
    pub fn new(store: Store, settings: ApiSettings) -> Self {
        let plain_http = settings.base_url.starts_with("http://");
        let urls = LocalUrls::new(&settings.domain, plain_http);
        ApiState {
            streaming: crate::streaming::StreamHub::new(store.clone()),
            store,
            settings: Arc::new(settings),
            urls: Arc::new(urls),
            // A state built alone (in a test) has its own; the server passes the process's.
            phi_guard: SharedPhiGuard::new(),
            federation: None,
            // The server always replaces this with the configured data dir
            // (`with_media`); the default only serves states built for unit tests.
            media: Arc::new(MediaSettings::on_disk(
                std::env::temp_dir().join("cohort-media"),
            )),
        }
    }

    /// The same state, keeping uploads as `media` says.
    pub fn with_media(mut self, media: MediaSettings) -> Self {
        self.media = Arc::new(media);
        self
    }

    /// The same state, able to resolve remote accounts through `federation`.
    pub fn with_federation(mut self, federation: cohort_federation::FederationState) -> Self {
        self.federation = Some(federation);
        self
    }

    /// The same state, screening posts with `guard` (the process's one PHI guard).
    pub fn with_phi_guard(mut self, guard: SharedPhiGuard) -> Self {
        self.phi_guard = guard;
        self
    }

    /// The same state, streaming through `hub`.
    pub fn with_streaming(mut self, hub: crate::streaming::StreamHub) -> Self {
        self.streaming = hub;
        self
    }

    /// A remote account by `user@host`: known already, or resolved through WebFinger.
    pub async fn resolve_remote(
        &self,
        user: &str,
        host: &str,
    ) -> Result<cohort_model::Id, crate::error::ApiError> {
        if let Some(id) = self.store.remote_account_by_acct(user, host).await? {
            return Ok(id);
        }
        let federation = self
            .federation
            .as_ref()
            .ok_or(crate::error::ApiError::NotFound)?;
        federation.resolve_acct(user, host).await.map_err(|e| {
            tracing::info!(error = %e, "could not resolve {user}@{host}");
            crate::error::ApiError::NotFound
        })
    }

    /// The PHI guard, built on first use off the async workers (see [`SharedPhiGuard`]).
    pub async fn phi_guard(&self) -> Result<&PhiGuard, String> {
        self.phi_guard.get().await
    }
}
