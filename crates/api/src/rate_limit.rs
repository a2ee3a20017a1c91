//! Rate limits on the client API, with Mastodon's headers.
//!
//! Each signed-in client gets `limit` requests per five-minute window, counted per access
//! token (`COHORT_RATE_LIMIT`, default 1500; Mastodon uses 300). Every answer to a
//! token-bearing API request carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (ISO 8601); past the limit the answer is `429` with the error JSON.
//! Anonymous requests are not limited here: behind a reverse proxy every request comes from
//! the proxy's address, so per-IP limits need a trusted-proxy setting first (left for later).
//! Counters live in the process: with several processes on one PostgreSQL each enforces its
//! own share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
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
    windows: Arc<Mutex<HashMap<String, (u64, u32)>>>,
}

impl RateLimiter {
    /// `limit` requests per five minutes per client; 0 turns limiting off.
    pub fn new(limit: u32) -> Self {
        RateLimiter {
            limit: if limit == 0 { u32::MAX } else { limit },
            windows: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one request of `key` at `now` (Unix seconds): the remaining allowance and the
    /// window's end, or `None` remaining when over the limit.
    fn hit(&self, key: &str, now: u64) -> (Option<u32>, u64) {
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
        let remaining = self.limit.checked_sub(entry.1);
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
    if !path.starts_with("/api/") || limiter.limit == u32::MAX {
        return next.run(request).await;
    }
    let Some(key) = client_key(&request) else {
        return next.run(request).await;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (remaining, reset) = limiter.hit(&key, now);
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
    set(headers, "x-ratelimit-limit", limiter.limit.to_string());
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

    #[test]
    fn counts_per_key_and_resets_with_the_window() {
        let limiter = RateLimiter::new(2);
        assert_eq!(limiter.hit("a", 1_000).0, Some(1));
        assert_eq!(limiter.hit("a", 1_001).0, Some(0));
        assert_eq!(limiter.hit("a", 1_002).0, None, "over the limit");
        assert_eq!(
            limiter.hit("b", 1_002).0,
            Some(1),
            "other clients are unaffected"
        );
        let (remaining, reset) = limiter.hit("a", 1_200);
        assert_eq!((remaining, reset), (Some(1), 1_500), "a new window");
    }
}
