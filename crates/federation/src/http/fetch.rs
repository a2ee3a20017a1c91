//! Signed GETs of remote objects (authorized fetch), from the instance actor.
//!
//! Only GETs: the one code that POSTs to other servers is the delivery module. The client
//! refuses IP-literal hosts (ids need names), resolves names through the delivery module's
//! [`GuardedResolver`] (no loopback or private addresses unless loopback federation is on),
//! uses no proxy and follows at most three redirects itself, checking and re-signing each hop
//! (an automatic redirect would resend a signature for the wrong path and skip the check).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use url::Url;

use crate::delivery::{GuardedResolver, Signer};

/// Accept header of our fetches.
pub const ACCEPT_ACTIVITY: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// The largest document fetched.
pub const MAX_FETCH_BYTES: usize = 1024 * 1024;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one we fetch (scheme, IP literal, no host).
    #[error("refusing to fetch {0}")]
    Refused(String),
    /// Network or HTTP client error.
    #[error("fetch failed: {0}")]
    Http(String),
    /// A non-2xx answer.
    #[error("{url} answered {status}")]
    Status {
        /// What was fetched.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer is not a JSON object, is too large, or claims another origin.
    #[error("unusable document from {0}: {1}")]
    Document(String, String),
}

impl FetchError {
    /// Worth trying again later: a network failure or timeout, `429`, or a `5xx`.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Http(_) => true,
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::Refused(_) | FetchError::Document(..) => false,
        }
    }

    /// 404 or 410: the object is gone.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            FetchError::Status {
                status: 404 | 410,
                ..
            }
        )
    }
}

/// A media file fetched from its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedMedia {
    /// Its `Content-Type` (without parameters): an image, video or audio type.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Makes signed GETs.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_loopback: bool,
    signer: Arc<Signer>,
}

impl Fetcher {
    /// A fetcher signing with the instance actor's key.
    pub fn new(
        signer: Signer,
        allow_loopback: bool,
        timeout: Duration,
        user_agent: &str,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(allow_loopback)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(user_agent)
            .build()?;
        Ok(Fetcher {
            client,
            allow_loopback,
            signer: Arc::new(signer),
        })
    }

    /// Checks that `url` is fetchable: https (or http with loopback federation on) and a
    /// host name, not an IP literal.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback => {}
            _ => return Err(FetchError::Refused(url.to_string())),
        }
        match url.host() {
            Some(url::Host::Domain(_)) => Ok(()),
            _ => Err(FetchError::Refused(url.to_string())),
        }
    }

    /// GETs `url` signed by the instance actor and returns its JSON object. The object's
    /// `id` must be on the host it was fetched from (after redirects).
    pub async fn fetch(&self, url: &str) -> Result<Value, FetchError> {
        self.fetch_checked(url, true).await
    }

    /// GETs a WebFinger (JRD) document: like [`Fetcher::fetch`] but without the `id` check
    /// (JRD has a `subject`, not an `id`). Its links are only hints: whatever actor they
    /// name is fetched again with [`Fetcher::fetch`] and checked there.
    pub async fn fetch_jrd(&self, url: &str) -> Result<Value, FetchError> {
        self.fetch_checked(url, false).await
    }

    async fn fetch_checked(
        &self,
        url: &str,
        require_id_on_host: bool,
    ) -> Result<Value, FetchError> {
        let (at, response) = self
            .get_following_redirects(url, ACCEPT_ACTIVITY, Some(&self.signer))
            .await?;
        let body = read_limited(response, MAX_FETCH_BYTES).await?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| FetchError::Document(at.to_string(), e.to_string()))?;
        if !value.is_object() {
            return Err(FetchError::Document(at.to_string(), "not an object".into()));
        }
        let id_host = value
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| Url::parse(id).ok())
            .map(|u| authority(&u));
        if require_id_on_host && id_host.as_deref() != Some(authority(&at).as_str()) {
            return Err(FetchError::Document(
                at.to_string(),
                "id is not on the host it was fetched from".into(),
            ));
        }
        Ok(value)
    }

    /// GETs a public text document (a shared blocklist) through the same guarded client, at
    /// most `max_bytes`. Unsigned: such lists are public, and many are served by plain web
    /// servers.
    pub async fn fetch_text(&self, url: &str, max_bytes: usize) -> Result<String, FetchError> {
        let (at, response) = self
            .get_following_redirects(url, "text/csv, text/plain;q=0.9, */*;q=0.1", None)
            .await?;
        let body = read_limited(response, max_bytes).await?;
        String::from_utf8(body)
            .map_err(|_| FetchError::Document(at.to_string(), "not UTF-8 text".into()))
    }

    /// GETs a remote post's media file, signed by the instance actor or `on_behalf_of` a
    /// local account (an origin serves the media of a followers-only post only to a follower).
    /// Only image, video and audio types are taken, and at most `max_bytes`.
    pub async fn fetch_media(
        &self,
        url: &str,
        max_bytes: usize,
        on_behalf_of: Option<&Signer>,
    ) -> Result<FetchedMedia, FetchError> {
        let signer = on_behalf_of.unwrap_or(&self.signer);
        let (at, response) = self
            .get_following_redirects(url, "*/*", Some(signer))
            .await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !["image/", "video/", "audio/"]
            .iter()
            .any(|prefix| content_type.starts_with(prefix))
        {
            return Err(FetchError::Document(
                at.to_string(),
                format!("not a media type: {content_type:?}"),
            ));
        }
        let bytes = read_limited(response, max_bytes).await?;
        Ok(FetchedMedia {
            content_type,
            bytes,
        })
    }

    /// GETs `url`, following at most three redirects itself: each hop is checked
    /// ([`Fetcher::check_url`], then the resolver's address checks) and, when `signer` is
    /// given, signed again for its own host and path. Returns where it ended and the
    /// successful response; any other status is an error.
    async fn get_following_redirects(
        &self,
        url: &str,
        accept: &str,
        signer: Option<&Signer>,
    ) -> Result<(Url, reqwest::Response), FetchError> {
        let mut current = Url::parse(url).map_err(|_| FetchError::Refused(url.to_owned()))?;
        for _ in 0..4 {
            self.check_url(&current)?;
            let response = match signer {
                Some(signer) => self.signed_get(&current, accept, signer).await?,
                None => self
                    .client
                    .get(current.clone())
                    .header(reqwest::header::ACCEPT, accept)
                    .send()
                    .await
                    .map_err(|e| FetchError::Http(e.to_string()))?,
            };
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Document(current.to_string(), "redirect".into()))?;
                current = current
                    .join(location)
                    .map_err(|_| FetchError::Refused(location.to_owned()))?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: current.to_string(),
                    status: status.as_u16(),
                });
            }
            return Ok((current, response));
        }
        Err(FetchError::Document(
            url.to_owned(),
            "too many redirects".into(),
        ))
    }

    async fn signed_get(
        &self,
        url: &Url,
        accept: &str,
        signer: &Signer,
    ) -> Result<reqwest::Response, FetchError> {
        let host = authority(url);
        let path = match url.query() {
            Some(q) => format!("{}?{}", url.path(), q),
            None => url.path().to_owned(),
        };
        let (date, signature) = sign_get(signer, &host, &path, SystemTime::now())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        self.client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
            .header(reqwest::header::DATE, date)
            .header("signature", signature)
            .send()
            .await
            .map_err(|e| FetchError::Http(e.to_string()))
    }
}

/// `host` or `host:port` (the port only when not the scheme's default): the `Host` header,
/// and the form of a [`cohort_model::Domain`].
pub fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}:{p}", h.to_ascii_lowercase()),
        (Some(h), None) => h.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Signs a GET of `path` on `host` (draft-cavage, `(request-target) host date`): returns
/// the `Date` and `Signature` header values.
pub fn sign_get(
    signer: &Signer,
    host: &str,
    path: &str,
    now: SystemTime,
) -> Result<(String, String), crate::delivery::SignError> {
    let date = httpdate::fmt_http_date(now);
    let signing_string = format!("(request-target): get {path}\nhost: {host}\ndate: {date}");
    let signature = BASE64.encode(signer.sign(signing_string.as_bytes())?);
    let header = format!(
        "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date\",signature=\"{signature}\"",
        signer.key_id()
    );
    Ok((date, header))
}

async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::Document(
            response.url().to_string(),
            "too large".into(),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(FetchError::Document(
                response.url().to_string(),
                "too large".into(),
            ));
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fetcher(allow_loopback: bool) -> Fetcher {
        let keys = crate::keys::generate_actor_keys().unwrap();
        let signer = Signer::from_pem(
            "https://cohort.example/actor#main-key",
            &keys.private_key_pem,
        )
        .unwrap();
        Fetcher::new(signer, allow_loopback, Duration::from_secs(2), "test").unwrap()
    }

    #[tokio::test]
    async fn without_loopback_federation_private_and_loopback_targets_are_refused() {
        let f = fetcher(false);
        for url in [
            "http://127.0.0.1/users/a",
            "https://127.0.0.1/users/a",
            "https://[::1]/users/a",
            "https://10.0.0.1/users/a",
            "http://example.com/users/a",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(f.fetch(url).await, Err(FetchError::Refused(_))),
                "{url}"
            );
        }
        // A name resolving to loopback is refused by the resolver at connection time.
        assert!(f.fetch("https://localhost/users/a").await.is_err());
        assert!(f.fetch("https://peer.localhost:9/users/a").await.is_err());
    }

    #[test]
    fn signed_gets_cover_request_target_host_and_date() {
        let keys = crate::keys::generate_actor_keys().unwrap();
        let signer =
            Signer::from_pem("https://c.example/actor#main-key", &keys.private_key_pem).unwrap();
        let (date, header) = sign_get(&signer, "p.example", "/users/a", SystemTime::now()).unwrap();
        let sig = crate::http::signature::parse_signature_header(&header).unwrap();
        assert_eq!(sig.headers, vec!["(request-target)", "host", "date"]);
        let base = format!("(request-target): get /users/a\nhost: p.example\ndate: {date}");
        crate::http::signature::verify_rsa_sha256(
            &keys.public_key_pem,
            base.as_bytes(),
            &sig.signature,
        )
        .unwrap();
    }
}
