//! Rate limits on the client API, with Mastodon's headers.
//!
//! Each signed-in client gets `limit` requests per five-minute window, counted per access
//! token (`COHORT_RATE_LIMIT`, default 1500; Mastodon uses 300). Every answer to a
//! token-bearing API request carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (ISO 8601); past the limit the answer is `429` with the error JSON.
//! Anonymous requests are counted per client address (`COHORT_ANONYMOUS_RATE_LIMIT`, default
//! 1500; Mastodon uses 300). Behind a reverse proxy every connection comes from the proxy, so
//! the client is the last address in `X-Forwarded-For` that is not one of
//! `COHORT_TRUSTED_PROXIES` (default: loopback), and the header is ignored when the
//! connection does not come from a trusted proxy (anyone can write it).
//! Counters live in the process: with several processes on one PostgreSQL each enforces its
//! own share.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The window Mastodon uses.
const WINDOW: Duration = Duration::from_secs(300);

/// Shared counters.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    limit: u32,
    anonymous_limit: u32,
    trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    windows: Arc<Mutex<HashMap<String, (u64, u32)>>>,
}

/// `0` means no limit.
fn effective(limit: u32) -> u32 {
    if limit == 0 { u32::MAX } else { limit }
}

impl RateLimiter {
    /// `limit` requests per five minutes per token, `anonymous_limit` per client address
    /// (as `trusted_proxies` report it); 0 turns a limit off.
    pub fn new(limit: u32, anonymous_limit: u32, trusted_proxies: Vec<ipnet::IpNet>) -> Self {
        RateLimiter {
            limit: effective(limit),
            anonymous_limit: effective(anonymous_limit),
            trusted_proxies: Arc::new(trusted_proxies),
            windows: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The client address of a connection from `peer`: `peer` itself, unless it is a trusted
    /// proxy, in which case the last address of `forwarded_for` that is not a trusted proxy
    /// (the earlier ones were written by the client and prove nothing).
    fn client_address(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in header.split(',').rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !trusted(&ip) {
                break;
            }
        }
        client
    }

    /// Counts one request of `key` at `now` (Unix seconds) against `limit`: the remaining
    /// allowance and the window's end, or `None` remaining when over the limit.
    fn hit(&self, key: &str, limit: u32, now: u64) -> (Option<u32>, u64) {
        let window = WINDOW.as_secs();
        let start = now - now % window;
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > 100_000 {
            windows.retain(|_, (s, _)| *s == start);
        }
        let entry = windows.entry(key.to_owned()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let remaining = limit.checked_sub(entry.1);
        (remaining, start + window)
    }
}

/// The client a request counts against: its token, hashed so that tokens never sit in
/// memory longer than the request needs them. `None` for anonymous requests.
fn client_key(request: &Request) -> Option<String> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    let digest = Sha256::digest(token.trim().as_bytes());
    Some(format!(
        "token:{}",
        digest
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

fn iso8601(unix_secs: u64) -> String {
    let secs = i64::try_from(unix_secs).unwrap_or(i64::MAX);
    crate::entities::datetime(secs.saturating_mul(1000))
}

/// Middleware for `/api/` and `/oauth/` routes.
pub async fn limit_requests(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let (key, limit) = match client_key(&request) {
        Some(key) => (key, limiter.limit),
        None => {
            // Without the peer address (a server not started with connect info) there is
            // nothing to count anonymous requests by.
            let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
            else {
                return next.run(request).await;
            };
            let forwarded_for = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            let address = limiter.client_address(peer.ip(), forwarded_for);
            (format!("ip:{address}"), limiter.anonymous_limit)
        }
    };
    if limit == u32::MAX {
        return next.run(request).await;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (remaining, reset) = limiter.hit(&key, limit, now);
    let mut response = match remaining {
        Some(_) => next.run(request).await,
        None => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({"error": "Too many requests"})),
        )
            .into_response(),
    };
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set(headers, "x-ratelimit-limit", limit.to_string());
    set(
        headers,
        "x-ratelimit-remaining",
        remaining.unwrap_or(0).to_string(),
    );
    set(headers, "x-ratelimit-reset", iso8601(reset));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn counts_per_key_and_resets_with_the_window() {
        let limiter = RateLimiter::new(2, 2, Vec::new());
        assert_eq!(limiter.hit("a", 2, 1_000).0, Some(1));
        assert_eq!(limiter.hit("a", 2, 1_001).0, Some(0));
        assert_eq!(limiter.hit("a", 2, 1_002).0, None, "over the limit");
        assert_eq!(
            limiter.hit("b", 2, 1_002).0,
            Some(1),
            "other clients are unaffected"
        );
        let (remaining, reset) = limiter.hit("a", 2, 1_200);
        assert_eq!((remaining, reset), (Some(1), 1_500), "a new window");
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let limiter = RateLimiter::new(
            10,
            10,
            vec![
                "127.0.0.0/8".parse().unwrap(),
                "10.0.0.0/8".parse().unwrap(),
            ],
        );
        // Straight from the internet: the header is the client's own claim, ignored.
        assert_eq!(
            limiter.client_address(ip("203.0.113.9"), Some("198.51.100.1")),
            ip("203.0.113.9")
        );
        // Through the proxy: the last hop the proxies did not add.
        assert_eq!(
            limiter.client_address(ip("127.0.0.1"), Some("198.51.100.1, 203.0.113.7")),
            ip("203.0.113.7")
        );
        // Through two trusted proxies; a forged first entry is not believed.
        assert_eq!(
            limiter.client_address(ip("127.0.0.1"), Some("1.2.3.4, 203.0.113.7, 10.1.2.3")),
            ip("203.0.113.7")
        );
        // Garbage in the header stops the walk at the last good hop.
        assert_eq!(
            limiter.client_address(ip("127.0.0.1"), Some("not-an-ip")),
            ip("127.0.0.1")
        );
        assert_eq!(
            limiter.client_address(ip("127.0.0.1"), None),
            ip("127.0.0.1")
        );
    }
}
