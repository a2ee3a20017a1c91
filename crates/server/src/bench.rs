//! `cohort bench ...`: the home-timeline benchmark (issue 5, "Performance"), driven by
//! `scripts/bench-home-timeline`. Not run in CI.
//!
//! - `seed-timeline` fills the configured (empty, migrated) database: 10,000 accounts,
//!   1,000,000 statuses and a viewer following 200 accounts by default, and prints a token
//!   for the viewer.
//! - `query-timeline` times the bare store query behind `GET /api/v1/timelines/home`.
//! - `http` times `GET` requests to a loopback URL (a small, bounded load generator: a fixed
//!   number of requests, a time limit, loopback addresses only).

use std::time::{Duration, Instant};

use clap::Args;
use cohort_federation::urls::LocalUrls;
use cohort_store::{Page, TimelineSeed};

use crate::RunError;
use crate::config::Config;
use crate::serve::open_store;

/// Arguments of `cohort bench seed-timeline`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Local accounts (the viewer is the first, `bench_0`).
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// Statuses, spread over the accounts and the past `--days`.
    #[arg(long, default_value_t = 1_000_000)]
    pub statuses: usize,
    /// Accounts the viewer follows.
    #[arg(long, default_value_t = 200)]
    pub follows: usize,
    /// Days the statuses are spread over.
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// Skip `ANALYZE` at the end (to see the plans a never-analysed database gets).
    #[arg(long)]
    pub no_analyze: bool,
}

/// Arguments of `cohort bench query-timeline`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The viewer.
    #[arg(long, default_value = "bench_0")]
    pub username: String,
    /// Timed queries (after 50 untimed ones).
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
}

/// Arguments of `cohort bench http`.
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// The URL; only loopback hosts (127.0.0.0/8, ::1, localhost) are accepted.
    pub url: String,
    /// Bearer token.
    #[arg(long)]
    pub token: Option<String>,
    /// Timed requests (after 50 untimed ones).
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Stop after this many seconds even if requests remain.
    #[arg(long, default_value_t = 120)]
    pub max_seconds: u64,
}

/// Latency figures over a set of timings.
struct Summary {
    count: usize,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

impl Summary {
    fn of(mut timings: Vec<Duration>) -> Option<Summary> {
        timings.sort_unstable();
        let count = timings.len();
        let at = |q: f64| -> Duration {
            // Nearest rank: the smallest value with at least q of the timings at or below it.
            let rank = ((q * count as f64).ceil() as usize).clamp(1, count);
            timings[rank - 1]
        };
        let max = *timings.last()?;
        Some(Summary {
            count,
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max,
        })
    }

    fn line(&self, what: &str, elapsed: Duration) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "{what}: {} in {:.1} s ({:.0}/s): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.count,
            elapsed.as_secs_f64(),
            self.count as f64 / elapsed.as_secs_f64().max(1e-9),
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
        )
    }
}

/// `cohort bench seed-timeline`.
pub async fn seed_timeline(config: &Config, args: &SeedArgs) -> Result<(), RunError> {
    let store = open_store(config).await?;
    let urls = LocalUrls::new(&config.domain, config.plain_http());
    let began = Instant::now();
    let seeded = store
        .seed_timeline_benchmark(
            urls.base(),
            TimelineSeed {
                accounts: args.accounts,
                statuses: args.statuses,
                follows: args.follows,
                days: args.days,
                analyze: !args.no_analyze,
            },
            &|step| eprintln!("seeded {step} ({:.1} s)", began.elapsed().as_secs_f64()),
        )
        .await?;
    let token = cohort_api::auth::random_secret();
    let app = store
        .create_oauth_app(
            "cohort bench",
            None,
            &["urn:ietf:wg:oauth:2.0:oob".to_owned()],
            "read",
            &cohort_api::auth::random_secret(),
            &cohort_api::auth::hash_secret(&cohort_api::auth::random_secret()),
        )
        .await?;
    store
        .create_access_token(
            app.id,
            Some(seeded.viewer),
            &cohort_api::auth::hash_secret(&token),
            None,
            "read",
            None,
        )
        .await?;
    store.close().await;
    eprintln!("seeded in {:.1} s", began.elapsed().as_secs_f64());
    println!("viewer={}", seeded.viewer_username);
    println!("token={token}");
    Ok(())
}

/// `cohort bench query-timeline`.
pub async fn query_timeline(config: &Config, args: &QueryArgs) -> Result<(), RunError> {
    let store = open_store(config).await?;
    let viewer = store.local_account_by_username(&args.username).await?.id;
    let page = Page {
        limit: 20,
        ..Page::default()
    };
    for _ in 0..50 {
        store.home_timeline_ids(viewer, page).await?;
    }
    let mut timings = Vec::with_capacity(args.requests);
    let began = Instant::now();
    let mut returned = 0;
    for _ in 0..args.requests {
        let t = Instant::now();
        returned = store.home_timeline_ids(viewer, page).await?.len();
        timings.push(t.elapsed());
    }
    let elapsed = began.elapsed();
    store.close().await;
    if let Some(summary) = Summary::of(timings) {
        println!(
            "{} ({returned} ids a query)",
            summary.line("store home_timeline_ids", elapsed)
        );
    }
    Ok(())
}

fn loopback_only(url: &str) -> Result<url::Url, RunError> {
    let parsed = url::Url::parse(url).map_err(|e| RunError::Argument {
        argument: "URL",
        reason: e.to_string(),
    })?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback {
        return Err(RunError::Argument {
            argument: "URL",
            reason: "the load generator only targets loopback addresses".into(),
        });
    }
    Ok(parsed)
}

/// `cohort bench http`.
pub async fn http(args: &HttpArgs) -> Result<(), RunError> {
    let url = loopback_only(&args.url)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| RunError::Other(e.to_string()))?;
    let request = |client: &reqwest::Client| {
        let mut r = client.get(url.clone());
        if let Some(token) = &args.token {
            r = r.bearer_auth(token);
        }
        r
    };
    for _ in 0..50 {
        let response = request(&client)
            .send()
            .await
            .map_err(|e| RunError::Other(e.to_string()))?;
        if !response.status().is_success() {
            return Err(RunError::Other(format!(
                "{} answered {}",
                args.url,
                response.status()
            )));
        }
        response
            .bytes()
            .await
            .map_err(|e| RunError::Other(e.to_string()))?;
    }
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let concurrency = args.concurrency.max(1);
    let per_worker = args.requests.div_ceil(concurrency);
    let began = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let builder = request(&client);
        workers.spawn(async move {
            let mut timings = Vec::with_capacity(per_worker);
            let mut failures = 0usize;
            for _ in 0..per_worker {
                if Instant::now() > deadline {
                    break;
                }
                let Some(r) = builder.try_clone() else { break };
                let t = Instant::now();
                match r.send().await {
                    Ok(resp) if resp.status().is_success() => {
                        if resp.bytes().await.is_ok() {
                            timings.push(t.elapsed());
                        } else {
                            failures += 1;
                        }
                    }
                    _ => failures += 1,
                }
            }
            (timings, failures)
        });
    }
    let mut timings = Vec::with_capacity(args.requests);
    let mut failures = 0;
    while let Some(done) = workers.join_next().await {
        let (t, f) = done.map_err(|e| RunError::Other(e.to_string()))?;
        timings.extend(t);
        failures += f;
    }
    let elapsed = began.elapsed();
    if let Some(summary) = Summary::of(timings) {
        println!(
            "{} (concurrency {concurrency}, {failures} failed)",
            summary.line(&format!("GET {}", url.path()), elapsed)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_generator_refuses_non_loopback_targets() {
        assert!(loopback_only("http://127.0.0.1:8080/api/v1/timelines/home").is_ok());
        assert!(loopback_only("http://localhost:8080/").is_ok());
        assert!(loopback_only("http://[::1]:8080/").is_ok());
        assert!(loopback_only("http://10.0.0.1/").is_err());
        assert!(loopback_only("https://example.org/").is_err());
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let timings: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(timings).unwrap();
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
    }
}
