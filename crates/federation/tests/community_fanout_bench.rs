//! Community fan-out benchmark (ignored by default; prints figures). A community with 20,000
//! members on 1,000 instances (20 each, every instance with a shared inbox); a member posts
//! a public thread. The thread leaves as three activities per instance: the author's
//! `Create`, the Group's plain `Announce` (for Mastodon) and the Group's relay
//! `Announce(Create)` (FEP-1b12). Reported: time until all 1,000 instances have all three,
//! deliveries per second against the bare RSA-2048 signing rate measured in the same run, and
//! the cost of the membership checks (gathering and planning the 20,000 members) per delivery.
//!
//! Run (release, both engines when COHORT_TEST_POSTGRES_URL is set):
//! `cargo test --release -p cohort-federation --test community_fanout_bench -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use cohort_federation::Delivery;
use cohort_model::{CommunityVisibility, Domain, Membership, Username, Visibility};
use cohort_policy::{Audience, Subject, plan_delivery};
use cohort_store::testing::on_each_engine;
use cohort_store::{NewLocalCommunity, NewStatus};
use common::{FakeInboxes, HostCounts, Local, counting_listener, remote, signing_rate, test_keys};

const INSTANCES: usize = 1_000;
const MEMBERS_PER_INSTANCE: usize = 20;
const LISTENERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn a_thread_in_a_community_of_20k_members_on_1000_instances() {
    on_each_engine(|store| async move {
        let engine = store.engine();
        let keyholder = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &keyholder).await;
        let name = Username::parse("diabetes").unwrap();
        let keys = test_keys();
        let community = store
            .create_local_community(&NewLocalCommunity {
                actor_uri: local.urls.actor(&name),
                inbox_uri: local.urls.inbox(&name),
                shared_inbox_uri: local.urls.shared_inbox(),
                followers_uri: local.urls.followers(&name),
                url: local.urls.profile_page(&name),
                key_id: local.urls.key_id(&name),
                name: name.clone(),
                title: "Diabetes".into(),
                description: String::new(),
                membership: Membership::Open,
                visibility: CommunityVisibility::Public,
                rules: Vec::new(),
                tags: Vec::new(),
                language: None,
                owner: pat,
                public_key_pem: keys.public_key_pem.clone(),
                private_key_pem: keys.private_key_pem.clone(),
            })
            .await
            .unwrap();

        let counts: HostCounts = Arc::default();
        let mut ports = Vec::new();
        for _ in 0..LISTENERS {
            ports.push(counting_listener(counts.clone()).await);
        }
        let setup = Instant::now();
        let mut domains = Vec::new();
        for i in 0..INSTANCES {
            let d = Domain::parse(&format!("inst{i}.localhost:{}", ports[i % LISTENERS])).unwrap();
            for m in 0..MEMBERS_PER_INSTANCE {
                let r = remote(&store, &format!("u{m}"), &d, true).await;
                store.join_community(&community, r, None).await.unwrap();
            }
            domains.push(d);
        }
        let setup = setup.elapsed();
        let community = store.community(community.id).await.unwrap();
        assert_eq!(
            community.members_count as usize,
            INSTANCES * MEMBERS_PER_INSTANCE + 1
        );

        let sign_rate = signing_rate();
        let thread_id = store.next_id();
        let audience = Audience {
            community: Some(community.id),
            ..Audience::new(Visibility::Public)
        };
        let status = |id, author, reblog_of: Option<cohort_model::Id>| NewStatus {
            id,
            author,
            uri: local.urls.status("pat", id),
            url: None,
            local: true,
            audience,
            text_source: if reblog_of.is_none() {
                "night lows?".into()
            } else {
                String::new()
            },
            content_html: "<p>night lows?</p>".into(),
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            in_reply_to: None,
            reblog_of,
            addressed: Vec::new(),
            held_reason: None,
            expires_at: None,
        };
        let thread = status(thread_id, pat, None);
        let announcement = status(store.next_id(), community.account.id, Some(thread_id));
        let record = store
            .create_community_post(&thread, Some(&announcement), Some(community.account.id))
            .await
            .unwrap();

        // The membership checks: gathering the candidates (20,000 members and their facts)
        // and the delivery gate's decision over them.
        let gather = Instant::now();
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let gathered = gather.elapsed();
        let decide = Instant::now();
        let plan = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        let decided = decide.elapsed();
        assert_eq!(plan.permits.len(), INSTANCES, "one shared inbox each");
        let per_domain = Instant::now();
        for d in domains.iter().take(50) {
            store
                .delivery_candidates_on_domain(&record.facts, d)
                .await
                .unwrap();
        }
        let per_domain = per_domain.elapsed() / 50;

        let mut config = local.config(true);
        config.max_concurrent_domains = 32;
        // Leases are not what this measures: a long one keeps a loaded machine from handing a
        // busy domain to a second worker (which would deliver some rows twice).
        config.lease = std::time::Duration::from_secs(120);
        let delivery = Delivery::new(store.clone(), config).unwrap();
        let start = Instant::now();
        delivery.plan_pending().await.unwrap();
        let planned = start.elapsed();
        let mut stats = delivery.run_until_idle().await.unwrap();
        let reached = || {
            let counts = counts.lock().unwrap();
            domains
                .iter()
                .filter(|d| counts.get(d.as_str()).is_some_and(|n| *n >= 3))
                .count()
        };
        // On a loaded machine some sends time out and wait for their backoff (about a
        // second): keep running the workers until every instance has everything.
        let mut retry_rounds = 0;
        while reached() < INSTANCES && retry_rounds < 60 {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            stats.delivered += delivery.run_until_idle().await.unwrap().delivered;
            retry_rounds += 1;
        }
        let total = start.elapsed();
        assert_eq!(
            reached(),
            INSTANCES,
            "every instance got all three activities"
        );
        let deliveries = stats.delivered as usize;
        let duplicates = counts
            .lock()
            .unwrap()
            .values()
            .map(|n| n.saturating_sub(3))
            .sum::<usize>();
        assert_eq!(duplicates, 0, "no instance got anything twice");
        let send_phase = total - planned;
        let rate = deliveries as f64 / send_phase.as_secs_f64();
        println!(
            "[{engine}] community fan-out: 1 public thread, {} members on {INSTANCES} instances \
             (setup {:.1}s)\n  membership checks: gathering {} candidates {:.0} ms, deciding \
             {:.1} ms ({:.2} us per member); re-planning one instance at send time {:.2} ms\n  \
             planning {deliveries} queue rows: {:.0} ms\n  all {INSTANCES} instances had all 3 \
             activities in {:.2} s total ({:.2} s sending)\n  deliveries/s: {:.0} (sending \
             phase)\n  bare RSA-2048 signing (aws-lc-rs, 1 thread): {:.0} signatures/s\n  => \
             {:.1}% of one core's signing rate ({retry_rounds} retry rounds)",
            INSTANCES * MEMBERS_PER_INSTANCE,
            setup.as_secs_f64(),
            candidates.len(),
            gathered.as_secs_f64() * 1000.0,
            decided.as_secs_f64() * 1000.0,
            (gathered + decided).as_secs_f64() * 1e6 / candidates.len() as f64,
            per_domain.as_secs_f64() * 1000.0,
            planned.as_secs_f64() * 1000.0,
            total.as_secs_f64(),
            send_phase.as_secs_f64(),
            rate,
            sign_rate,
            100.0 * rate / sign_rate,
        );
    })
    .await;
}
