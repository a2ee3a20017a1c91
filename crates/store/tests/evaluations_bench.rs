//! Aggregation benchmark: 100,000 evaluations by 50,000 patients over 40 treatments in one
//! community, on SQLite and (when `COHORT_TEST_POSTGRES_URL` is set) PostgreSQL. Ignored by
//! default; run in release mode:
//!
//! ```text
//! COHORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo test --release -p cohort-store --test evaluations_bench -- --ignored --nocapture
//! ```
//!
//! It times the first publication (every cell's first snapshot) and then the request path
//! (`community_aggregates`: re-aggregate, compare with every past snapshot, read), which is
//! what each `GET /api/v1/communities/:id/aggregates` costs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use cohort_model::{AuthorKind, CommunityVisibility, Membership, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{EvaluationSeed, NewLocalAccount, NewLocalCommunity};

const BASE: &str = "https://bench.example";

#[tokio::test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn aggregating_100000_evaluations_of_one_community() {
    on_each_engine(|store| async move {
        let owner = store
            .create_local_account(&NewLocalAccount {
                username: Username::parse("owner").unwrap(),
                email: "owner@example.org".into(),
                role: Role::Admin,
                author_kind: AuthorKind::Patient,
                password_hash: "x".into(),
                approved: true,
                locked: false,
                actor_uri: format!("{BASE}/users/owner"),
                inbox_uri: format!("{BASE}/users/owner/inbox"),
                shared_inbox_uri: format!("{BASE}/inbox"),
                followers_uri: format!("{BASE}/users/owner/followers"),
                url: format!("{BASE}/@owner"),
                key_id: format!("{BASE}/users/owner#main-key"),
                public_key_pem: "P".into(),
                private_key_pem: "K".into(),
            })
            .await
            .unwrap()
            .id;
        let community = store
            .create_local_community(&NewLocalCommunity {
                name: Username::parse("diabetes").unwrap(),
                title: "Diabetes".into(),
                description: String::new(),
                membership: Membership::Open,
                visibility: CommunityVisibility::Public,
                rules: Vec::new(),
                tags: Vec::new(),
                language: None,
                owner,
                actor_uri: format!("{BASE}/users/diabetes"),
                inbox_uri: format!("{BASE}/users/diabetes/inbox"),
                shared_inbox_uri: format!("{BASE}/inbox"),
                followers_uri: format!("{BASE}/users/diabetes/followers"),
                url: format!("{BASE}/@diabetes"),
                key_id: format!("{BASE}/users/diabetes#main-key"),
                public_key_pem: "P".into(),
                private_key_pem: "K".into(),
            })
            .await
            .unwrap();
        let seed = EvaluationSeed {
            patients: 50_000,
            evaluations: 100_000,
            treatments: 40,
        };
        let started = Instant::now();
        store
            .seed_evaluation_benchmark(community.id, BASE, seed)
            .await
            .unwrap();
        let engine = store.engine();
        println!("{engine}: seeded {seed:?} in {:?}", started.elapsed());

        let started = Instant::now();
        let written = store.refresh_aggregates(community.id, 10).await.unwrap();
        println!(
            "{engine}: first publication ({written} snapshots) in {:?}",
            started.elapsed()
        );
        assert_eq!(written, 40);

        for (phase, took) in store.aggregation_phases(community.id, 10).await.unwrap() {
            println!("{engine}: phase {phase}: {took:?}");
        }

        // The request path when nothing changed: one version read, then the snapshots.
        let mut unchanged = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            let aggregates = store
                .community_aggregates(community.id, "bench.example", 10)
                .await
                .unwrap();
            unchanged.push(started.elapsed());
            assert_eq!(aggregates.cells.len(), 40);
        }
        unchanged.sort();
        println!(
            "{engine}: community_aggregates with nothing changed (signature, read): median {:?}, min {:?}",
            unchanged[unchanged.len() / 2],
            unchanged[0]
        );

        let mut runs = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            store.refresh_aggregates(community.id, 10).await.unwrap();
            let aggregates = store
                .community_aggregates(community.id, "bench.example", 10)
                .await
                .unwrap();
            runs.push(started.elapsed());
            assert_eq!(aggregates.cells.len(), 40);
            assert_eq!(
                aggregates.cells.iter().map(|c| c.patients).sum::<u64>(),
                100_000
            );
        }
        runs.sort();
        println!(
            "{engine}: full refresh + read (re-aggregate 100,000 evaluations, compare, read): \
             median {:?}, min {:?}, max {:?} over {} runs",
            runs[runs.len() / 2],
            runs[0],
            runs[runs.len() - 1],
            runs.len()
        );
    })
    .await;
}
