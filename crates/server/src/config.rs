//! Configuration: defaults, then an optional TOML file, then `COHORT_*` environment variables.
//!
//! Every error names the setting it is about (`COHORT_LISTEN`, or the file and key) in one
//! line, so an operator can fix it without reading code.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cohort_model::Domain;
use cohort_policy::PhiAction;
use cohort_store::mask_password;
use serde::Deserialize;

/// Who may create an account.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registrations {
    /// Anyone may sign up and use the account at once.
    Open,
    /// Anyone may sign up; an admin approves the account before it can sign in.
    Approval,
    /// Only admins create accounts.
    Closed,
}

impl Registrations {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "open" => Some(Registrations::Open),
            "approval" => Some(Registrations::Approval),
            "closed" => Some(Registrations::Closed),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Registrations::Open => "open",
            Registrations::Approval => "approval",
            Registrations::Closed => "closed",
        }
    }
}

/// How logs are written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal or journald.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "human" | "text" | "pretty" => Some(LogFormat::Human),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        }
    }
}

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The public domain (with port, if not 443/80): the authority of every ActivityPub id.
    pub domain: Domain,
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// Media and the default SQLite file live here.
    pub data_dir: PathBuf,
    /// Who may sign up.
    pub registrations: Registrations,
    /// Plain-HTTP federation with hosts resolved to loopback, for local trials and tests.
    pub allow_loopback_federation: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives (`info`, `cohort_store=debug,info`).
    pub log_filter: String,
    /// Connections in the database pool.
    pub database_max_connections: u32,
    /// Whether the OAuth password grant is offered (Mastodon 4.4 removed it; off by default).
    pub oauth_password_grant: bool,
    /// Longest status, in characters.
    pub max_status_chars: usize,
    /// PHI guard action for clinicians and organisations.
    pub phi_professional_action: PhiAction,
    /// PHI guard action for patients and caregivers.
    pub phi_member_action: PhiAction,
    /// Client API requests per five minutes per access token (0: no limit).
    pub rate_limit: u32,
    /// Anonymous client API requests per five minutes per client address (0: no limit).
    pub anonymous_rate_limit: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (addresses or networks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether every user may create communities (otherwise admins and moderators only).
    pub user_communities: bool,
    /// Whether the mod log is public: `off`, `on` or `anonymous` (moderators not named).
    pub public_mod_log: cohort_api::PublicModLog,
    /// Whose clinician verifications this instance shows: `None` for every instance it
    /// federates with, else only these domains (`COHORT_TRUSTED_VERIFIERS`).
    pub trusted_verifiers: Option<Vec<Domain>>,
    /// Who may send verified clinicians direct messages unless they chose otherwise.
    pub clinician_direct_messages: cohort_model::DirectMessagesFrom,
    /// The institution's contact routes, offered to authors of urgent or sensitive questions
    /// (`COHORT_CONTACT_*`, each optional).
    pub contact_routes: cohort_policy::ContactRoutes,
    /// k of the evaluation aggregates: cells with fewer distinct patients are never shown.
    pub aggregate_min_patients: u64,
    /// Largest media upload, in bytes.
    pub media_max_bytes: usize,
    /// Most pixels of an uploaded image (width × height).
    pub media_max_pixels: u64,
    /// Uploads to `/api/v2/media` above this many bytes are processed in the background.
    pub media_async_bytes: usize,
    /// How long a delivery worker's claim on a remote instance lasts without renewal: after a
    /// crash, the instance's queue resumes once it has run out.
    pub delivery_lease_seconds: u64,
    /// How often each blocklist subscription's URL is fetched again.
    pub blocklist_refresh_seconds: u64,
}

/// The settings file as written; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    domain: Option<String>,
    listen: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    registrations: Option<String>,
    allow_loopback_federation: Option<bool>,
    log_format: Option<String>,
    log: Option<String>,
    database_max_connections: Option<u32>,
    oauth_password_grant: Option<bool>,
    max_status_chars: Option<usize>,
    phi_professional_action: Option<String>,
    phi_member_action: Option<String>,
    rate_limit: Option<u32>,
    anonymous_rate_limit: Option<u32>,
    trusted_proxies: Option<String>,
    user_communities: Option<bool>,
    public_mod_log: Option<String>,
    trusted_verifiers: Option<String>,
    clinician_direct_messages: Option<String>,
    contact_phone: Option<String>,
    contact_secure_messaging_url: Option<String>,
    contact_emergency_number: Option<String>,
    contact_crisis_line: Option<String>,
    aggregate_min_patients: Option<u64>,
    media_max_bytes: Option<u64>,
    media_max_pixels: Option<u64>,
    media_async_bytes: Option<u64>,
    delivery_lease_seconds: Option<u64>,
    blocklist_refresh_seconds: Option<u64>,
}

/// A configuration that cannot be used. The message names the setting.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The OS's reason.
        reason: String,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("configuration file {path}: {reason}")]
    InvalidFile {
        /// The file.
        path: String,
        /// What is wrong, with the key and line.
        reason: String,
    },
    /// A value does not parse.
    #[error("{setting}: {reason}")]
    InvalidValue {
        /// The environment variable or file key.
        setting: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

/// Where a value came from, for error messages: the environment variable or the file key.
#[derive(Copy, Clone)]
struct Setting {
    env: &'static str,
    key: &'static str,
}

impl Setting {
    const fn new(env: &'static str, key: &'static str) -> Self {
        Setting { env, key }
    }
}

const DOMAIN: Setting = Setting::new("COHORT_DOMAIN", "domain");
const LISTEN: Setting = Setting::new("COHORT_LISTEN", "listen");
const DATABASE_URL: Setting = Setting::new("COHORT_DATABASE_URL", "database_url");
const DATA_DIR: Setting = Setting::new("COHORT_DATA_DIR", "data_dir");
const REGISTRATIONS: Setting = Setting::new("COHORT_REGISTRATIONS", "registrations");
const LOOPBACK: Setting = Setting::new(
    "COHORT_ALLOW_LOOPBACK_FEDERATION",
    "allow_loopback_federation",
);
const LOG_FORMAT: Setting = Setting::new("COHORT_LOG_FORMAT", "log_format");
const LOG: Setting = Setting::new("COHORT_LOG", "log");
const DB_CONNECTIONS: Setting = Setting::new(
    "COHORT_DATABASE_MAX_CONNECTIONS",
    "database_max_connections",
);
const PASSWORD_GRANT: Setting = Setting::new("COHORT_OAUTH_PASSWORD_GRANT", "oauth_password_grant");
const MAX_STATUS_CHARS: Setting = Setting::new("COHORT_MAX_STATUS_CHARS", "max_status_chars");
const PHI_PROFESSIONAL: Setting =
    Setting::new("COHORT_PHI_PROFESSIONAL_ACTION", "phi_professional_action");
const PHI_MEMBER: Setting = Setting::new("COHORT_PHI_MEMBER_ACTION", "phi_member_action");
const RATE_LIMIT: Setting = Setting::new("COHORT_RATE_LIMIT", "rate_limit");
const ANONYMOUS_RATE_LIMIT: Setting =
    Setting::new("COHORT_ANONYMOUS_RATE_LIMIT", "anonymous_rate_limit");
const TRUSTED_PROXIES: Setting = Setting::new("COHORT_TRUSTED_PROXIES", "trusted_proxies");
const USER_COMMUNITIES: Setting = Setting::new("COHORT_USER_COMMUNITIES", "user_communities");
const PUBLIC_MOD_LOG: Setting = Setting::new("COHORT_PUBLIC_MOD_LOG", "public_mod_log");
const TRUSTED_VERIFIERS: Setting = Setting::new("COHORT_TRUSTED_VERIFIERS", "trusted_verifiers");
const CLINICIAN_DMS: Setting = Setting::new(
    "COHORT_CLINICIAN_DIRECT_MESSAGES",
    "clinician_direct_messages",
);
const CONTACT_PHONE: Setting = Setting::new("COHORT_CONTACT_PHONE", "contact_phone");
const CONTACT_SECURE_MESSAGING: Setting = Setting::new(
    "COHORT_CONTACT_SECURE_MESSAGING_URL",
    "contact_secure_messaging_url",
);
const CONTACT_EMERGENCY: Setting = Setting::new(
    "COHORT_CONTACT_EMERGENCY_NUMBER",
    "contact_emergency_number",
);
const CONTACT_CRISIS: Setting = Setting::new("COHORT_CONTACT_CRISIS_LINE", "contact_crisis_line");
const AGGREGATE_MIN_PATIENTS: Setting =
    Setting::new("COHORT_AGGREGATE_MIN_PATIENTS", "aggregate_min_patients");
const MEDIA_MAX_BYTES: Setting = Setting::new("COHORT_MEDIA_MAX_BYTES", "media_max_bytes");
const MEDIA_MAX_PIXELS: Setting = Setting::new("COHORT_MEDIA_MAX_PIXELS", "media_max_pixels");
const MEDIA_ASYNC_BYTES: Setting = Setting::new("COHORT_MEDIA_ASYNC_BYTES", "media_async_bytes");
const DELIVERY_LEASE: Setting =
    Setting::new("COHORT_DELIVERY_LEASE_SECONDS", "delivery_lease_seconds");
/// The shortest delivery lease: longer than one request's timeout (10 s), so that a slow
/// send never lets a second worker take the same instance.
const MIN_DELIVERY_LEASE_SECONDS: u64 = 15;
const BLOCKLIST_REFRESH: Setting = Setting::new(
    "COHORT_BLOCKLIST_REFRESH_SECONDS",
    "blocklist_refresh_seconds",
);

/// Every environment variable the server reads, for warnings about misspelt ones.
pub const KNOWN_ENV_VARS: &[&str] = &[
    DOMAIN.env,
    LISTEN.env,
    DATABASE_URL.env,
    DATA_DIR.env,
    REGISTRATIONS.env,
    LOOPBACK.env,
    LOG_FORMAT.env,
    LOG.env,
    DB_CONNECTIONS.env,
    PASSWORD_GRANT.env,
    MAX_STATUS_CHARS.env,
    PHI_PROFESSIONAL.env,
    PHI_MEMBER.env,
    RATE_LIMIT.env,
    ANONYMOUS_RATE_LIMIT.env,
    TRUSTED_PROXIES.env,
    USER_COMMUNITIES.env,
    PUBLIC_MOD_LOG.env,
    TRUSTED_VERIFIERS.env,
    CLINICIAN_DMS.env,
    CONTACT_PHONE.env,
    CONTACT_SECURE_MESSAGING.env,
    CONTACT_EMERGENCY.env,
    CONTACT_CRISIS.env,
    AGGREGATE_MIN_PATIENTS.env,
    MEDIA_MAX_BYTES.env,
    MEDIA_MAX_PIXELS.env,
    MEDIA_ASYNC_BYTES.env,
    DELIVERY_LEASE.env,
    BLOCKLIST_REFRESH.env,
    "COHORT_CONFIG",
    "COHORT_TEST_POSTGRES_URL",
];

/// A comma-separated list of addresses (`10.0.0.5`) and networks (`10.0.0.0/8`); empty
/// for none.
fn parse_networks(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("invalid value {item:?}: expected an IP address or network such as 10.0.0.0/8"))
        })
        .collect()
}

/// One raw value and where it came from.
struct Raw {
    value: String,
    origin: String,
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment as `env` reports it.
    /// `env` is a parameter so tests need not touch the process environment.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file_settings = match file {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let file_label = file.map(|p| p.display().to_string()).unwrap_or_default();
        let pick = |setting: Setting, from_file: Option<String>| -> Option<Raw> {
            if let Some(value) = env(setting.env) {
                return Some(Raw {
                    value,
                    origin: setting.env.to_owned(),
                });
            }
            from_file.map(|value| Raw {
                value,
                origin: format!("{} in {}", setting.key, file_label),
            })
        };

        let domain = match pick(DOMAIN, file_settings.domain) {
            Some(raw) => Domain::parse(&raw.value).map_err(|e| invalid(&raw, e.to_string()))?,
            None => Domain::parse("localhost:8080").map_err(|e| ConfigError::InvalidValue {
                setting: DOMAIN.env.to_owned(),
                reason: e.to_string(),
            })?,
        };
        let listen = match pick(LISTEN, file_settings.listen) {
            Some(raw) => raw.value.trim().parse::<SocketAddr>().map_err(|_| {
                invalid(
                    &raw,
                    format!(
                        "invalid address {:?}: expected IP:PORT such as 127.0.0.1:8080 or 0.0.0.0:8080",
                        raw.value
                    ),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = match pick(
            DATA_DIR,
            file_settings.data_dir.map(|p| p.display().to_string()),
        ) {
            Some(raw) if raw.value.trim().is_empty() => {
                return Err(invalid(&raw, "must not be empty".to_owned()));
            }
            Some(raw) => PathBuf::from(raw.value),
            None => PathBuf::from("./data"),
        };
        let database_url = match pick(DATABASE_URL, file_settings.database_url) {
            Some(raw) => {
                cohort_store::Engine::of_url(&raw.value)
                    .map_err(|e| invalid(&raw, e.to_string()))?;
                raw.value
            }
            None => format!("sqlite://{}", data_dir.join("cohort.db").display()),
        };
        let registrations = match pick(REGISTRATIONS, file_settings.registrations) {
            Some(raw) => Registrations::parse(&raw.value).ok_or_else(|| {
                invalid(
                    &raw,
                    format!(
                        "invalid value {:?}: expected open, approval or closed",
                        raw.value
                    ),
                )
            })?,
            None => Registrations::Approval,
        };
        let allow_loopback_federation = match env(LOOPBACK.env) {
            Some(value) => parse_bool(&value).ok_or_else(|| ConfigError::InvalidValue {
                setting: LOOPBACK.env.to_owned(),
                reason: format!("invalid value {value:?}: expected true or false"),
            })?,
            None => file_settings.allow_loopback_federation.unwrap_or(false),
        };
        let log_format = match pick(LOG_FORMAT, file_settings.log_format) {
            Some(raw) => LogFormat::parse(&raw.value).ok_or_else(|| {
                invalid(
                    &raw,
                    format!("invalid value {:?}: expected human or json", raw.value),
                )
            })?,
            None => LogFormat::Human,
        };
        let log_filter = pick(LOG, file_settings.log)
            .map(|raw| raw.value)
            .unwrap_or_else(|| "info,sqlx=warn".to_owned());
        let database_max_connections = match env(DB_CONNECTIONS.env) {
            Some(value) => match value.trim().parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ConfigError::InvalidValue {
                        setting: DB_CONNECTIONS.env.to_owned(),
                        reason: format!(
                            "invalid value {value:?}: expected a number from 1 to 1000"
                        ),
                    });
                }
            },
            None => file_settings.database_max_connections.unwrap_or(8),
        };

        let oauth_password_grant = match env(PASSWORD_GRANT.env) {
            Some(value) => parse_bool(&value).ok_or_else(|| ConfigError::InvalidValue {
                setting: PASSWORD_GRANT.env.to_owned(),
                reason: format!("invalid value {value:?}: expected true or false"),
            })?,
            None => file_settings.oauth_password_grant.unwrap_or(false),
        };
        let user_communities = match env(USER_COMMUNITIES.env) {
            Some(value) => parse_bool(&value).ok_or_else(|| ConfigError::InvalidValue {
                setting: USER_COMMUNITIES.env.to_owned(),
                reason: format!("invalid value {value:?}: expected true or false"),
            })?,
            None => file_settings.user_communities.unwrap_or(false),
        };
        let public_mod_log_raw = env(PUBLIC_MOD_LOG.env)
            .map(|v| (v, PUBLIC_MOD_LOG.env.to_owned()))
            .or_else(|| {
                file_settings
                    .public_mod_log
                    .clone()
                    .map(|v| (v, PUBLIC_MOD_LOG.key.to_owned()))
            });
        let public_mod_log = match public_mod_log_raw {
            None => cohort_api::PublicModLog::Off,
            Some((value, setting)) => match value.trim() {
                "off" => cohort_api::PublicModLog::Off,
                "on" => cohort_api::PublicModLog::On,
                "anonymous" => cohort_api::PublicModLog::Anonymous,
                other => {
                    return Err(ConfigError::InvalidValue {
                        setting,
                        reason: format!("invalid value {other:?}: expected off, on or anonymous"),
                    });
                }
            },
        };
        let max_status_chars = match env(MAX_STATUS_CHARS.env) {
            Some(value) => match value.trim().parse::<usize>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => {
                    return Err(ConfigError::InvalidValue {
                        setting: MAX_STATUS_CHARS.env.to_owned(),
                        reason: format!(
                            "invalid value {value:?}: expected a number from 1 to 100000"
                        ),
                    });
                }
            },
            None => file_settings.max_status_chars.unwrap_or(5000),
        };

        let phi_action =
            |setting: Setting, from_file: Option<String>, default: PhiAction| match pick(
                setting, from_file,
            ) {
                Some(raw) => PhiAction::parse(&raw.value).ok_or_else(|| {
                    invalid(
                        &raw,
                        format!(
                            "invalid value {:?}: expected hold, warn, narrow or off",
                            raw.value
                        ),
                    )
                }),
                None => Ok(default),
            };
        let phi_professional_action = phi_action(
            PHI_PROFESSIONAL,
            file_settings.phi_professional_action,
            PhiAction::Hold,
        )?;
        let phi_member_action =
            phi_action(PHI_MEMBER, file_settings.phi_member_action, PhiAction::Warn)?;

        let requests_per_window =
            |setting: &Setting, file: Option<u32>, default: u32| {
                match env(
            setting.env,
        ) {
            Some(value) => value
                .trim()
                .parse::<u32>()
                .map_err(|_| ConfigError::InvalidValue {
                    setting: setting.env.to_owned(),
                    reason: format!(
                        "invalid value {value:?}: expected a number of requests (0 for no limit)"
                    ),
                }),
            None => Ok(file.unwrap_or(default)),
        }
            };
        let rate_limit = requests_per_window(&RATE_LIMIT, file_settings.rate_limit, 1500)?;
        let anonymous_rate_limit = requests_per_window(
            &ANONYMOUS_RATE_LIMIT,
            file_settings.anonymous_rate_limit,
            1500,
        )?;
        let (proxies_raw, proxies_setting) = match env(TRUSTED_PROXIES.env) {
            Some(v) => (v, TRUSTED_PROXIES.env),
            None => (
                file_settings
                    .trusted_proxies
                    .clone()
                    .unwrap_or_else(|| "127.0.0.0/8,::1/128".to_owned()),
                TRUSTED_PROXIES.key,
            ),
        };
        let trusted_proxies =
            parse_networks(&proxies_raw).map_err(|reason| ConfigError::InvalidValue {
                setting: proxies_setting.to_owned(),
                reason,
            })?;

        let trusted_verifiers = match pick(TRUSTED_VERIFIERS, file_settings.trusted_verifiers) {
            None => None,
            Some(raw) if raw.value.trim() == "*" => None,
            Some(raw) => Some(
                raw.value
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(Domain::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        invalid(
                            &raw,
                            format!("expected * or a comma-separated list of domains: {e}"),
                        )
                    })?,
            ),
        };

        let clinician_direct_messages =
            match pick(CLINICIAN_DMS, file_settings.clinician_direct_messages) {
                None => cohort_model::DirectMessagesFrom::Everyone,
                Some(raw) => raw.value.parse().map_err(|_| {
                    invalid(
                        &raw,
                        format!(
                            "invalid value {:?}: expected everyone, colleagues or route",
                            raw.value
                        ),
                    )
                })?,
            };

        // Contact routes: optional; a value that is not a phone number (or, for the secure
        // messaging and crisis line, an http(s) link) is refused at start.
        let contact = |setting: Setting,
                       from_file: Option<String>,
                       phone: bool,
                       link: bool|
         -> Result<Option<String>, ConfigError> {
            let Some(raw) = pick(setting, from_file) else {
                return Ok(None);
            };
            let value = raw.value.trim();
            if value.is_empty() {
                return Ok(None);
            }
            if (phone && phone_shape(value)) || (link && link_shape(value)) {
                return Ok(Some(value.to_owned()));
            }
            let expected = match (phone, link) {
                (true, true) => "a phone number (such as +1 555 0100 or 988) or an https:// link",
                (true, false) => "a phone number such as +1 555 0100 or 911",
                _ => "an https:// (or http://) link",
            };
            Err(invalid(
                &raw,
                format!("invalid value {value:?}: expected {expected}"),
            ))
        };
        let contact_routes = cohort_policy::ContactRoutes {
            phone: contact(CONTACT_PHONE, file_settings.contact_phone, true, false)?,
            secure_messaging_url: contact(
                CONTACT_SECURE_MESSAGING,
                file_settings.contact_secure_messaging_url,
                false,
                true,
            )?,
            emergency_number: contact(
                CONTACT_EMERGENCY,
                file_settings.contact_emergency_number,
                true,
                false,
            )?,
            crisis_line: contact(
                CONTACT_CRISIS,
                file_settings.contact_crisis_line,
                true,
                true,
            )?,
        };

        let lowest = cohort_health::LOWEST_MIN_PATIENTS;
        let aggregate_min_patients = match env(AGGREGATE_MIN_PATIENTS.env) {
            Some(value) => value.trim().parse::<u64>().ok(),
            None => Some(
                file_settings
                    .aggregate_min_patients
                    .unwrap_or(cohort_health::DEFAULT_MIN_PATIENTS),
            ),
        }
        .filter(|k| *k >= lowest)
        .ok_or_else(|| ConfigError::InvalidValue {
            setting: AGGREGATE_MIN_PATIENTS.env.to_owned(),
            reason: format!(
                "expected a number of patients, at least {lowest} (the default is {})",
                cohort_health::DEFAULT_MIN_PATIENTS
            ),
        })?;

        // A whole number within `range`, from the environment, else the file, else `default`.
        let number = |setting: Setting,
                      from_file: Option<u64>,
                      default: u64,
                      range: std::ops::RangeInclusive<u64>|
         -> Result<u64, ConfigError> {
            let raw = pick(setting, from_file.map(|n| n.to_string()));
            let Some(raw) = raw else {
                return Ok(default);
            };
            match raw.value.trim().parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(invalid(
                    &raw,
                    format!(
                        "invalid value {:?}: expected a number from {} to {}",
                        raw.value,
                        range.start(),
                        range.end()
                    ),
                )),
            }
        };
        let media_defaults = cohort_media::MediaLimits::default();
        let media_max_bytes = usize::try_from(number(
            MEDIA_MAX_BYTES,
            file_settings.media_max_bytes,
            media_defaults.max_bytes as u64,
            1024..=1024 * 1024 * 1024,
        )?)
        .unwrap_or(media_defaults.max_bytes);
        let media_max_pixels = number(
            MEDIA_MAX_PIXELS,
            file_settings.media_max_pixels,
            media_defaults.max_pixels,
            1..=1_000_000_000,
        )?;
        let media_async_bytes = usize::try_from(number(
            MEDIA_ASYNC_BYTES,
            file_settings.media_async_bytes,
            2 * 1024 * 1024,
            0..=1024 * 1024 * 1024,
        )?)
        .unwrap_or(usize::MAX);

        let delivery_lease_seconds = match env(DELIVERY_LEASE.env) {
            Some(value) => value.trim().parse::<u64>().ok(),
            None => Some(file_settings.delivery_lease_seconds.unwrap_or(60)),
        }
        .filter(|n| (MIN_DELIVERY_LEASE_SECONDS..=3600).contains(n))
        .ok_or_else(|| ConfigError::InvalidValue {
            setting: DELIVERY_LEASE.env.to_owned(),
            reason: format!(
                "expected a number of seconds from {MIN_DELIVERY_LEASE_SECONDS} to 3600"
            ),
        })?;

        let blocklist_refresh_seconds = match env(BLOCKLIST_REFRESH.env) {
            Some(value) => value.trim().parse::<u64>().ok(),
            None => Some(file_settings.blocklist_refresh_seconds.unwrap_or(86_400)),
        }
        .filter(|n| (60..=30 * 86_400).contains(n))
        .ok_or_else(|| ConfigError::InvalidValue {
            setting: BLOCKLIST_REFRESH.env.to_owned(),
            reason: "expected a number of seconds from 60 to 2592000 (30 days)".to_owned(),
        })?;

        let config = Config {
            domain,
            listen,
            database_url,
            data_dir,
            registrations,
            allow_loopback_federation,
            log_format,
            log_filter,
            database_max_connections,
            oauth_password_grant,
            max_status_chars,
            phi_professional_action,
            phi_member_action,
            rate_limit,
            anonymous_rate_limit,
            trusted_proxies,
            user_communities,
            public_mod_log,
            trusted_verifiers,
            clinician_direct_messages,
            contact_routes,
            aggregate_min_patients,
            media_max_bytes,
            media_max_pixels,
            media_async_bytes,
            delivery_lease_seconds,
            blocklist_refresh_seconds,
        };
        config.check_consistency()?;
        Ok(config)
    }

    /// Rules that involve more than one setting.
    fn check_consistency(&self) -> Result<(), ConfigError> {
        if self.allow_loopback_federation && !self.listen.ip().is_loopback() {
            return Err(ConfigError::InvalidValue {
                setting: LOOPBACK.env.to_owned(),
                reason: format!(
                    "loopback federation (plain HTTP, for local trials and tests) is only allowed \
                     when COHORT_LISTEN is a loopback address; it is {}",
                    self.listen
                ),
            });
        }
        Ok(())
    }

    /// The base URL clients and peers use.
    pub fn public_url(&self) -> String {
        let scheme = if self.allow_loopback_federation || self.domain.host() == "localhost" {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", self.domain)
    }

    /// Whether local URLs use plain HTTP (loopback federation, or a bare `localhost` trial).
    pub fn plain_http(&self) -> bool {
        self.public_url().starts_with("http://")
    }
}

impl fmt::Display for Config {
    /// The effective configuration as TOML, with secrets masked: what `cohort config check`
    /// prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "domain = {:?}", self.domain.as_str())?;
        writeln!(f, "listen = {:?}", self.listen.to_string())?;
        writeln!(f, "database_url = {:?}", mask_password(&self.database_url))?;
        writeln!(
            f,
            "database_max_connections = {}",
            self.database_max_connections
        )?;
        writeln!(f, "data_dir = {:?}", self.data_dir.display().to_string())?;
        writeln!(f, "registrations = {:?}", self.registrations.as_str())?;
        writeln!(
            f,
            "allow_loopback_federation = {}",
            self.allow_loopback_federation
        )?;
        writeln!(f, "oauth_password_grant = {}", self.oauth_password_grant)?;
        writeln!(f, "user_communities = {}", self.user_communities)?;
        writeln!(f, "media_max_bytes = {}", self.media_max_bytes)?;
        writeln!(f, "media_max_pixels = {}", self.media_max_pixels)?;
        writeln!(f, "media_async_bytes = {}", self.media_async_bytes)?;
        writeln!(
            f,
            "aggregate_min_patients = {}",
            self.aggregate_min_patients
        )?;
        writeln!(
            f,
            "delivery_lease_seconds = {}",
            self.delivery_lease_seconds
        )?;
        writeln!(
            f,
            "blocklist_refresh_seconds = {}",
            self.blocklist_refresh_seconds
        )?;
        writeln!(
            f,
            "public_mod_log = {}",
            match self.public_mod_log {
                cohort_api::PublicModLog::Off => "off",
                cohort_api::PublicModLog::On => "on",
                cohort_api::PublicModLog::Anonymous => "anonymous",
            }
        )?;
        writeln!(
            f,
            "trusted_verifiers = {:?}",
            match &self.trusted_verifiers {
                None => "*".to_owned(),
                Some(list) => list
                    .iter()
                    .map(Domain::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            }
        )?;
        writeln!(
            f,
            "clinician_direct_messages = {:?}",
            self.clinician_direct_messages.as_str()
        )?;
        for (key, value) in [
            ("contact_phone", &self.contact_routes.phone),
            (
                "contact_secure_messaging_url",
                &self.contact_routes.secure_messaging_url,
            ),
            (
                "contact_emergency_number",
                &self.contact_routes.emergency_number,
            ),
            ("contact_crisis_line", &self.contact_routes.crisis_line),
        ] {
            if let Some(value) = value {
                writeln!(f, "{key} = {value:?}")?;
            }
        }
        writeln!(f, "max_status_chars = {}", self.max_status_chars)?;
        writeln!(
            f,
            "phi_professional_action = {:?}",
            self.phi_professional_action.as_str()
        )?;
        writeln!(
            f,
            "phi_member_action = {:?}",
            self.phi_member_action.as_str()
        )?;
        writeln!(f, "log_format = {:?}", self.log_format.as_str())?;
        write!(f, "log = {:?}", self.log_filter)
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::InvalidFile {
        path: path.display().to_string(),
        reason: one_line_toml_error(&e, &text),
    })
}

/// toml's messages span several lines with a source excerpt; keep the message and the line.
fn one_line_toml_error(err: &toml::de::Error, text: &str) -> String {
    let message = err.message().trim().replace('\n', " ");
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

/// A phone number as people write it: digits with spaces, dashes, dots or parentheses, and
/// an optional leading `+`; from 2 digits (short emergency numbers: 112, 911) to 20.
fn phone_shape(raw: &str) -> bool {
    let body = raw.strip_prefix('+').unwrap_or(raw);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    (2..=20).contains(&digits)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
}

/// An absolute http(s) link with a host.
fn link_shape(raw: &str) -> bool {
    url::Url::parse(raw)
        .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
}

fn invalid(raw: &Raw, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        setting: raw.origin.clone(),
        reason,
    }
}

/// Booleans as people and clients write them.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)], file: Option<&str>) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cohort.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
        }
        Config::load(file.map(|_| path.as_path()), &|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.domain.as_str(), "localhost:8080");
        assert_eq!(c.database_url, "sqlite://./data/cohort.db");
        assert_eq!(c.registrations, Registrations::Approval);
        assert!(!c.allow_loopback_federation);
        assert_eq!(c.public_url(), "http://localhost:8080");
        assert_eq!(c.delivery_lease_seconds, 60);
        assert_eq!(c.blocklist_refresh_seconds, 86_400);
    }

    #[test]
    fn contact_routes_are_optional_and_checked() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.contact_routes, cohort_policy::ContactRoutes::default());
        let c = load(
            &[
                ("COHORT_CONTACT_PHONE", "+1 (555) 010-0100"),
                ("COHORT_CONTACT_EMERGENCY_NUMBER", "911"),
                ("COHORT_CONTACT_CRISIS_LINE", "988"),
            ],
            Some("contact_secure_messaging_url = \"https://portal.example.org/messages\"\n"),
        )
        .unwrap();
        assert_eq!(c.contact_routes.phone.as_deref(), Some("+1 (555) 010-0100"));
        assert_eq!(
            c.contact_routes.secure_messaging_url.as_deref(),
            Some("https://portal.example.org/messages")
        );
        assert_eq!(c.contact_routes.emergency_number.as_deref(), Some("911"));
        assert_eq!(c.contact_routes.crisis_line.as_deref(), Some("988"));
        assert!(c.to_string().contains("contact_crisis_line = \"988\""));
        let link = load(
            &[("COHORT_CONTACT_CRISIS_LINE", "https://crisis.example/chat")],
            None,
        )
        .unwrap();
        assert!(link.contact_routes.crisis_line.is_some());
        let err = load(&[], Some("contact_phone = \"ask at the desk\"\n")).unwrap_err();
        assert!(err.to_string().starts_with("contact_phone in "), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = load(
            &[("COHORT_DOMAIN", "env.example")],
            Some("domain = \"file.example\"\nregistrations = \"open\"\n"),
        )
        .unwrap();
        assert_eq!(c.domain.as_str(), "env.example");
        assert_eq!(c.registrations, Registrations::Open);
        assert_eq!(c.public_url(), "https://env.example");
    }

    #[test]
    fn the_sqlite_default_follows_the_data_dir() {
        let c = load(&[("COHORT_DATA_DIR", "/var/lib/cohort")], None).unwrap();
        assert_eq!(c.database_url, "sqlite:///var/lib/cohort/cohort.db");
    }

    #[test]
    fn unknown_file_keys_are_refused_with_the_key_and_line() {
        let err = load(&[], Some("domain = \"a.example\"\nlisten_port = 80\n")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("listen_port") && text.contains("line 2"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn malformed_values_name_their_setting() {
        let cases = [
            ("COHORT_LISTEN", "localhost"),
            ("COHORT_DOMAIN", "not a domain"),
            ("COHORT_REGISTRATIONS", "sometimes"),
            ("COHORT_DATABASE_URL", "mysql://x@y/z"),
            ("COHORT_ALLOW_LOOPBACK_FEDERATION", "maybe"),
            ("COHORT_LOG_FORMAT", "xml"),
            ("COHORT_DATABASE_MAX_CONNECTIONS", "0"),
            ("COHORT_DATA_DIR", ""),
            ("COHORT_OAUTH_PASSWORD_GRANT", "sometimes"),
            ("COHORT_MAX_STATUS_CHARS", "0"),
            ("COHORT_PHI_PROFESSIONAL_ACTION", "delete"),
            ("COHORT_PHI_MEMBER_ACTION", ""),
            ("COHORT_RATE_LIMIT", "lots"),
            ("COHORT_ANONYMOUS_RATE_LIMIT", "-1"),
            ("COHORT_TRUSTED_PROXIES", "10.0.0.0/8, the proxy"),
            ("COHORT_USER_COMMUNITIES", "often"),
            ("COHORT_PUBLIC_MOD_LOG", "sometimes"),
            ("COHORT_TRUSTED_VERIFIERS", "not a domain, x"),
            ("COHORT_CLINICIAN_DIRECT_MESSAGES", "nobody"),
            ("COHORT_CONTACT_PHONE", "call us"),
            ("COHORT_CONTACT_PHONE", "https://example.org"),
            ("COHORT_CONTACT_SECURE_MESSAGING_URL", "portal.example.org"),
            (
                "COHORT_CONTACT_SECURE_MESSAGING_URL",
                "ftp://portal.example.org",
            ),
            ("COHORT_CONTACT_EMERGENCY_NUMBER", "9"),
            ("COHORT_CONTACT_CRISIS_LINE", "text HOME"),
            ("COHORT_AGGREGATE_MIN_PATIENTS", "1"),
            ("COHORT_AGGREGATE_MIN_PATIENTS", "ten"),
            ("COHORT_DELIVERY_LEASE_SECONDS", "5"),
            ("COHORT_BLOCKLIST_REFRESH_SECONDS", "10"),
            ("COHORT_DELIVERY_LEASE_SECONDS", "a minute"),
        ];
        for (var, value) in cases {
            let err = load(&[(var, value)], None).unwrap_err();
            assert!(err.to_string().starts_with(var), "{var}: {err}");
        }
    }

    #[test]
    fn wrong_types_in_the_file_are_refused() {
        let err = load(&[], Some("allow_loopback_federation = \"yes please\"\n")).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidFile { .. }), "{err}");
    }

    #[test]
    fn file_values_that_do_not_parse_name_the_key_and_file() {
        let err = load(&[], Some("listen = \"nowhere\"\n")).unwrap_err();
        assert!(err.to_string().starts_with("listen in "), "{err}");
    }

    #[test]
    fn loopback_federation_requires_a_loopback_listener() {
        let err = load(
            &[
                ("COHORT_ALLOW_LOOPBACK_FEDERATION", "true"),
                ("COHORT_LISTEN", "0.0.0.0:8080"),
            ],
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("COHORT_ALLOW_LOOPBACK_FEDERATION")
        );
        let ok = load(
            &[
                ("COHORT_ALLOW_LOOPBACK_FEDERATION", "1"),
                ("COHORT_LISTEN", "127.0.0.1:18081"),
                ("COHORT_DOMAIN", "alpha.localhost:18081"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(ok.public_url(), "http://alpha.localhost:18081");
    }

    #[test]
    fn printed_configuration_masks_the_database_password() {
        let c = load(
            &[("COHORT_DATABASE_URL", "postgres://cohort:hunter2@db/cohort")],
            None,
        )
        .unwrap();
        let printed = c.to_string();
        assert!(!printed.contains("hunter2"));
        assert!(printed.contains("postgres://cohort:***@db/cohort"));
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = Config::load(Some(Path::new("/nonexistent/cohort.toml")), &|_| None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/cohort.toml"));
    }
}
