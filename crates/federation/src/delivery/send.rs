//! The one function in Cohort that sends to another server: [`Sender::send`].
//!
//! It takes a [`DeliveryPermit`] by value (only `cohort-policy` can make one, and it cannot be
//! copied), POSTs to the permit's inbox, and renders `to`/`cc` from the permit's addressing
//! and nothing else. The HTTP client refuses, at connection time, addresses that are not
//! public (loopback, private, link-local...) unless loopback federation is on for a test
//! network; it follows no redirects and uses no proxy, so the address checked is the address
//! reached.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cohort_policy::DeliveryPermit;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::sign::{Signer, sign_post};
use crate::render::Unaddressed;

/// What became of one POST.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// 2xx: delivered.
    Delivered(u16),
    /// Refused for good (4xx other than 429, or an address we must not reach): drop it.
    Refused(String),
    /// Worth retrying later (429, 5xx, network errors).
    Retry(String),
}

/// The refusal the resolver reports for a non-public address.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to non-public addresses; refusing to deliver there")]
pub struct NonPublicAddress(pub String);

/// Resolves names, keeping only public addresses unless loopback federation is on; with it
/// on, `localhost` and `*.localhost` resolve to 127.0.0.1 (no /etc/hosts edits needed).
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    allow_loopback: bool,
}

impl GuardedResolver {
    /// A resolver for the given setting.
    pub fn new(allow_loopback: bool) -> Self {
        GuardedResolver { allow_loopback }
    }

    /// Resolves `host` the way deliveries do.
    pub async fn lookup(
        &self,
        host: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            // RFC 6761: always loopback, whatever DNS says.
            if self.allow_loopback {
                return Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)]);
            }
            return Err(Box::new(NonPublicAddress(host)));
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
        let kept: Vec<SocketAddr> = if self.allow_loopback {
            found
        } else {
            found.into_iter().filter(|a| is_public(a.ip())).collect()
        };
        if kept.is_empty() {
            return Err(Box::new(NonPublicAddress(host)));
        }
        Ok(kept)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = this.lookup(&host).await?;
            let iter: Addrs = Box::new(addrs.into_iter());
            Ok(iter)
        })
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// carrier-grade NAT, documentation, multicast, unspecified or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// The HTTP side of delivery.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    allow_loopback: bool,
}

impl Sender {
    /// A client with the SSRF guard, no redirects, no proxy and the given timeout.
    pub fn new(
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
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .user_agent(user_agent)
            .build()?;
        Ok(Sender {
            client,
            allow_loopback,
        })
    }

    /// Sends `activity` to the permit's inbox, addressed with the permit's `to`/`cc`, signed
    /// by `signer`. The permit is spent whatever the outcome.
    pub async fn send(
        &self,
        permit: DeliveryPermit,
        activity: &Unaddressed,
        signer: &Signer,
    ) -> SendOutcome {
        let url = match url::Url::parse(permit.inbox()) {
            Ok(u) => u,
            Err(e) => return SendOutcome::Refused(format!("bad inbox URL: {e}")),
        };
        if let Err(why) = self.check_target(&url) {
            return SendOutcome::Refused(why);
        }
        let Some(host) = url.host_str() else {
            return SendOutcome::Refused("inbox URL has no host".into());
        };
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let json = activity.addressed(permit.addressing());
        drop(permit);
        let body = match serde_json::to_vec(&json) {
            Ok(b) => b,
            Err(e) => return SendOutcome::Refused(format!("cannot serialise: {e}")),
        };
        let signed = match sign_post(signer, &host_header, &path, &body, SystemTime::now()) {
            Ok(s) => s,
            Err(e) => return SendOutcome::Refused(format!("cannot sign: {e}")),
        };
        let response = self
            .client
            .post(url)
            .header("Content-Type", "application/activity+json")
            .header("Accept", "application/activity+json")
            .header("Date", signed.date)
            .header("Digest", signed.digest)
            .header("Signature", signed.signature)
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) => classify(r.status().as_u16()),
            Err(e) => {
                if error_chain_has::<NonPublicAddress>(&e) {
                    SendOutcome::Refused(format!("{e}: non-public address"))
                } else {
                    SendOutcome::Retry(describe(&e))
                }
            }
        }
    }

    /// Whether `domain` answers at all (a GET of `/.well-known/nodeinfo`; any status below
    /// 500 counts), through the same guarded client.
    pub async fn probe(&self, domain: &cohort_model::Domain) -> bool {
        let scheme = if self.allow_loopback { "http" } else { "https" };
        let Ok(url) = url::Url::parse(&format!("{scheme}://{domain}/.well-known/nodeinfo")) else {
            return false;
        };
        if self.check_target(&url).is_err() {
            return false;
        }
        match self.client.get(url).send().await {
            Ok(r) => r.status().as_u16() < 500,
            Err(_) => false,
        }
    }

    /// Scheme and literal-address checks (names are checked by the resolver when
    /// connecting; IP literals never reach it).
    fn check_target(&self, url: &url::Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback => {}
            other => return Err(format!("refusing scheme {other}")),
        }
        if !self.allow_loopback {
            let ip = match url.host() {
                Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
                Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
                _ => None,
            };
            if let Some(ip) = ip
                && !is_public(ip)
            {
                return Err(format!("refusing non-public address {ip}"));
            }
        }
        Ok(())
    }
}

/// 2xx delivered; 429 and 5xx retried; other statuses refused for good.
pub fn classify(status: u16) -> SendOutcome {
    match status {
        200..=299 => SendOutcome::Delivered(status),
        429 | 500..=599 => SendOutcome::Retry(format!("HTTP {status}")),
        _ => SendOutcome::Refused(format!("HTTP {status}")),
    }
}

fn error_chain_has<E: std::error::Error + 'static>(
    err: &(dyn std::error::Error + 'static),
) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<E>() {
            return true;
        }
        current = e.source();
    }
    false
}

fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(202), SendOutcome::Delivered(202));
        assert!(matches!(classify(429), SendOutcome::Retry(_)));
        assert!(matches!(classify(503), SendOutcome::Retry(_)));
        assert!(matches!(classify(410), SendOutcome::Refused(_)));
        assert!(matches!(classify(401), SendOutcome::Refused(_)));
    }

    #[test]
    fn private_and_loopback_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_loopback_names_unless_loopback_federation_is_on() {
        let strict = GuardedResolver::new(false);
        assert!(strict.lookup("beta.localhost").await.is_err());
        assert!(strict.lookup("localhost").await.is_err());
        let loose = GuardedResolver::new(true);
        let addrs = loose.lookup("beta.localhost").await.unwrap();
        assert_eq!(addrs[0].ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
}
