//! Fan-out benchmark (ignored by default; prints figures). One public post by an account with
//! 10,000 followers spread over 500 instances (20 each, every instance with a shared inbox):
//! time until all 500 fake inboxes have it, deliveries per second, and the bare RSA-2048
//! signing rate measured in the same run for comparison, and the resident set size before,
//! during (peak) and after the fan-out.
//!
//! Run (release, both engines when COHORT_TEST_POSTGRES_URL is set; `COHORT_BENCH_PAUSE=1`
//! pauses before the sending phase so that a profiler can attach):
//! `cargo test --release -p cohort-federation --test fanout_bench -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cohort_federation::Delivery;
use cohort_model::{Domain, Visibility};
use cohort_store::testing::on_each_engine;
use common::{FakeInboxes, HostCounts, Local, counting_listener, follows, remote, signing_rate};

const INSTANCES: usize = 500;
const FOLLOWERS_PER_INSTANCE: usize = 20;
const LISTENERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn fan_out_to_10k_followers_on_500_instances() {
    on_each_engine(|store| async move {
        let engine = store.engine();
        let keyholder = FakeInboxes::start().await; // only for the key registry helper
        let local = Local::new(store.clone());
        let pat = local.account("pat", &keyholder).await;

        let counts: HostCounts = Arc::default();
        let mut ports = Vec::new();
        for _ in 0..LISTENERS {
            ports.push(counting_listener(counts.clone()).await);
        }
        let setup = Instant::now();
        let mut domains = Vec::new();
        for i in 0..INSTANCES {
            let d = Domain::parse(&format!("inst{i}.localhost:{}", ports[i % LISTENERS])).unwrap();
            for f in 0..FOLLOWERS_PER_INSTANCE {
                let r = remote(&store, &format!("u{f}"), &d, true).await;
                follows(&store, r, pat).await;
            }
            domains.push(d);
        }
        let setup = setup.elapsed();

        // The planner's statistics as `cohort serve` keeps them (at start and hourly).
        store.refresh_planner_statistics().await.unwrap();
        let sign_rate = signing_rate();
        local.post(pat, Visibility::Public, "to everyone").await;
        // The default number of lanes, as `cohort serve` runs.
        let mut config = local.config(true);
        // `COHORT_BENCH_LANES=N` tries another number of lanes (delivery.max_concurrent_domains).
        if let Some(lanes) = std::env::var("COHORT_BENCH_LANES")
            .ok()
            .and_then(|n| n.parse().ok())
        {
            config.max_concurrent_domains = lanes;
        }
        let lanes = config.max_concurrent_domains;
        let delivery = Delivery::new(store.clone(), config).unwrap();

        // Memory: resident set before, sampled during (the peak) and after the fan-out.
        let rss_before = vm_rss_kib();
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            tokio::spawn(async move {
                let mut peak = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(vm_rss_kib());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                peak
            })
        };

        // For profiling the sending phase alone: `COHORT_BENCH_PAUSE=1` prints the pid and
        // waits two seconds, time to attach `perf record -p PID`.
        if std::env::var_os("COHORT_BENCH_PAUSE").is_some() {
            eprintln!("sending phase starts in 2 s; pid {}", std::process::id());
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let cpu_before = process_cpu_seconds();
        let start = Instant::now();
        delivery.plan_pending().await.unwrap();
        let planned = start.elapsed();
        let stats = delivery.run_until_idle().await.unwrap();
        let total = start.elapsed();
        let cpu = process_cpu_seconds() - cpu_before;
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let rss_peak = sampler.await.unwrap().max(vm_rss_kib());
        let rss_after = vm_rss_kib();

        let counts = counts.lock().unwrap().clone();
        let reached = domains
            .iter()
            .filter(|d| counts.get(d.as_str()) == Some(&1))
            .count();
        assert_eq!(reached, INSTANCES, "every instance exactly once");
        assert_eq!(stats.delivered as usize, INSTANCES);
        let send_phase = total - planned;
        println!(
            "[{engine}] fan-out: 1 public post, {} followers on {INSTANCES} instances \
             (setup {:.1}s, {lanes} lanes)\n  planning (candidate domains, 500 queue rows): {:.0} ms\n  \
             all {INSTANCES} instances reached in {:.2} s total ({:.2} s sending)\n  \
             deliveries/s: {:.0} (sending phase), {:.0} (end to end)\n  \
             bare RSA-2048 signing (aws-lc-rs, 1 thread): {:.0} signatures/s\n  \
             => delivery runs at {:.1}% of one core's signing rate (target: 80%)\n  \
             CPU: {cpu:.2} s of this process's CPU time, {:.2} cores busy on average \
             (the fake inboxes included)\n  \
             RSS (VmRSS): {rss_before} KiB before, {rss_peak} KiB peak during, \
             {rss_after} KiB after the fan-out",
            INSTANCES * FOLLOWERS_PER_INSTANCE,
            setup.as_secs_f64(),
            planned.as_secs_f64() * 1000.0,
            total.as_secs_f64(),
            send_phase.as_secs_f64(),
            INSTANCES as f64 / send_phase.as_secs_f64(),
            INSTANCES as f64 / total.as_secs_f64(),
            sign_rate,
            100.0 * (INSTANCES as f64 / send_phase.as_secs_f64()) / sign_rate,
            cpu / total.as_secs_f64(),
        );
    })
    .await;
}

/// User plus system CPU time this process has used, in seconds (`/proc/self/stat`; 0
/// elsewhere): tells a fan-out that waits (latency-bound) from one that computes.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = fields
        .get(11..13)
        .map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    // Clock ticks are 100 per second on Linux.
    ticks / 100.0
}

/// This process's resident set size in KiB (`VmRSS` of /proc/self/status; 0 elsewhere).
fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
