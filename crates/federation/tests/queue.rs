//! The delivery queue's store side on both engines: claims and leases, backoff, the
//! unreachable mark and its clearing by a probe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use cohort_model::{Domain, Visibility};
use cohort_policy::{DomainDecision, Rule};
use cohort_store::testing::on_each_engine;
use cohort_store::{DeliveryCompletion, UNREACHABLE_AFTER_MS, backoff_ms, now_ms};
use common::{FakeInboxes, Local, follows, remote};

#[tokio::test]
async fn a_domain_is_leased_to_one_worker_at_a_time_until_its_lease_ends() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let mut domains = Vec::new();
        for i in 0..6 {
            let d = net.domain(&format!("i{i}"));
            let r = remote(&store, "bob", &d, true).await;
            follows(&store, r, pat).await;
            domains.push(d);
        }
        local.post(pat, Visibility::Public, "x").await;
        local.delivery().plan_pending().await.unwrap();
        let now = now_ms();

        // Two workers claiming at once split the domains between them.
        let (a, b) = tokio::join!(
            store.claim_delivery_domains("a", now, 10_000, 4),
            store.claim_delivery_domains("b", now, 10_000, 4)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 6, "{a:?} {b:?}");
        assert!(
            a.iter().all(|d| !b.contains(d)),
            "never the same domain twice"
        );
        assert!(
            store
                .claim_delivery_domains("c", now, 10_000, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // A lease renews only for its holder; a released or expired lease is claimable.
        let d: &Domain = &a[0];
        assert!(
            store
                .renew_delivery_lease(d, "a", now + 20_000)
                .await
                .unwrap()
        );
        assert!(
            !store
                .renew_delivery_lease(d, "c", now + 20_000)
                .await
                .unwrap()
        );
        store.release_delivery_lease(d, "a").await.unwrap();
        assert_eq!(
            store
                .claim_delivery_domains("c", now, 60_000, 10)
                .await
                .unwrap(),
            vec![d.clone()]
        );
        let later = store
            .claim_delivery_domains("d", now + 10_001, 10_000, 10)
            .await
            .unwrap();
        assert_eq!(later.len(), 5, "the other leases ran out: {later:?}");
    })
    .await;
}

#[tokio::test]
async fn failures_back_off_and_after_three_days_mark_the_domain_unreachable_until_a_probe_answers()
{
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        follows(&store, bob, pat).await;
        local.post(pat, Visibility::Public, "x").await;
        net.set_status(&beta, 500);
        let delivery = local.delivery();
        delivery.run_until_idle().await.unwrap();

        let t0 = now_ms();
        let first = store.domain_delivery_state(&beta).await.unwrap().unwrap();
        assert_eq!(first.fail_count, 1);
        let started = first.failing_since.unwrap();
        let second = store
            .record_domain_failure(&beta, t0, "HTTP 500")
            .await
            .unwrap();
        assert_eq!(second.fail_count, 2);
        assert_eq!(second.next_attempt_at, t0 + backoff_ms(2));
        assert!(!second.unreachable);
        let dead = store
            .record_domain_failure(&beta, started + UNREACHABLE_AFTER_MS, "HTTP 500")
            .await
            .unwrap();
        assert!(dead.unreachable);

        // Unreachable: skipped even when due.
        store.retry_domain_now(&beta).await.unwrap();
        net.clear();
        delivery.run_until_idle().await.unwrap();
        assert!(net.all().is_empty());
        assert_eq!(
            store.unreachable_domains_with_queue().await.unwrap(),
            vec![beta.clone()]
        );

        // It comes back: a probe (GET) clears the mark; everything queued goes out.
        net.set_status(&beta, 202);
        assert_eq!(
            delivery.probe_unreachable().await.unwrap(),
            vec![beta.clone()]
        );
        delivery.run_until_idle().await.unwrap();
        assert_eq!(net.accepted_by(&beta).len(), 1);
        let state = store.domain_delivery_state(&beta).await.unwrap().unwrap();
        assert_eq!(
            (state.fail_count, state.queued, state.unreachable_since),
            (0, 0, None)
        );
    })
    .await;
}

/// The delivery lanes complete their rows together (`complete_deliveries`, a few multi-row
/// statements per batch): every row leaves the queue, each domain's decision and inbox are
/// recorded once (the last decision for a domain stands), and a failing domain that answered
/// ends its failure run while the others keep theirs.
#[tokio::test]
async fn rows_completed_together_leave_the_queue_with_their_decisions_and_inboxes_recorded() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let mut domains = Vec::new();
        for i in 0..3 {
            let d = net.domain(&format!("c{i}"));
            let r = remote(&store, "bob", &d, true).await;
            follows(&store, r, pat).await;
            domains.push(d);
        }
        let status = local.post(pat, Visibility::Public, "x").await;
        local.delivery().plan_pending().await.unwrap();
        let now = now_ms();
        // c0 and c1 were failing; only c0 answers now.
        for d in &domains[..2] {
            store
                .record_domain_failure(d, now, "HTTP 503")
                .await
                .unwrap();
        }
        let queued = store
            .queued_deliveries_of_domains(&domains, 10)
            .await
            .unwrap();
        let completion = |d: &Domain, rule: Rule, answered: bool| DeliveryCompletion {
            domain: d.clone(),
            event: queued[d][0].event_id,
            status: Some(status),
            decisions: vec![DomainDecision {
                domain: d.clone(),
                allowed: true,
                rule,
            }],
            delivered_inboxes: vec![format!("http://{d}/inbox")],
            answered,
        };
        store
            .complete_deliveries(&[
                completion(&domains[0], Rule::AuthorSeesOwn, true),
                completion(&domains[1], Rule::OpenAudience, false),
                completion(&domains[2], Rule::OpenAudience, true),
                // The same row again, decided by another rule: one decision stands, the last.
                completion(&domains[0], Rule::OpenAudience, true),
            ])
            .await
            .unwrap();

        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
        let decisions = store.audience_decisions_for_status(status).await.unwrap();
        let decided: Vec<(&str, &str)> = decisions
            .iter()
            .map(|d| (d.domain.as_str(), d.rule.as_str()))
            .collect();
        let open = Rule::OpenAudience.as_str();
        assert_eq!(
            decided,
            vec![
                (domains[0].as_str(), open),
                (domains[1].as_str(), open),
                (domains[2].as_str(), open)
            ]
        );
        let inboxes: Vec<String> = store
            .recorded_inboxes(status)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.inbox)
            .collect();
        assert_eq!(
            inboxes,
            domains
                .iter()
                .map(|d| format!("http://{d}/inbox"))
                .collect::<Vec<_>>()
        );
        let c0 = store
            .domain_delivery_state(&domains[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!((c0.fail_count, c0.failing_since), (0, None), "c0 answered");
        let c1 = store
            .domain_delivery_state(&domains[1])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c1.fail_count, 1, "c1 did not answer: still failing");
        assert!(c1.failing_since.is_some());
    })
    .await;
}

#[tokio::test]
async fn an_inbound_request_clears_the_unreachable_mark() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        follows(&store, bob, pat).await;
        local.post(pat, Visibility::Public, "x").await;
        net.set_status(&beta, 503);
        let delivery = local.delivery();
        delivery.run_until_idle().await.unwrap();
        let since = store
            .domain_delivery_state(&beta)
            .await
            .unwrap()
            .unwrap()
            .failing_since
            .unwrap();
        store
            .record_domain_failure(&beta, since + UNREACHABLE_AFTER_MS, "HTTP 503")
            .await
            .unwrap();
        net.set_status(&beta, 202);
        // What the inbox calls when beta sends us something.
        assert!(store.clear_unreachable(&beta).await.unwrap());
        delivery.run_until_idle().await.unwrap();
        assert_eq!(net.accepted_by(&beta).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn per_domain_candidates_partition_the_stores_delivery_candidates() {
    on_each_engine(|store| async move {
        use std::collections::BTreeSet;
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma, delta) = (net.domain("beta"), net.domain("gamma"), net.domain("delta"));
        for (name, d) in [("bob", &beta), ("carol", &beta), ("dan", &gamma)] {
            let r = remote(&store, name, d, true).await;
            follows(&store, r, pat).await;
        }
        // Mentioned, not following; and a remote account that follows nobody.
        let fay = remote(&store, "fay", &delta, true).await;
        remote(&store, "gus", &delta, true).await;
        let status = local
            .post_with(
                pat,
                cohort_policy::Audience::new(Visibility::Public),
                "hi @fay",
                vec![fay],
                None,
            )
            .await;
        let record = store.status(status).await.unwrap();
        let (_, all) = store.delivery_candidates(&record.facts).await.unwrap();
        let everyone: BTreeSet<_> = all.iter().map(|r| r.party.id).collect();
        let mut union = BTreeSet::new();
        for d in [&beta, &gamma, &delta] {
            let (_, on) = store
                .delivery_candidates_on_domain(&record.facts, d)
                .await
                .unwrap();
            assert!(on.iter().all(|r| r.party.domain.as_ref() == Some(d)));
            union.extend(on.iter().map(|r| r.party.id));
        }
        assert_eq!(union, everyone);
        assert_eq!(union.len(), 4);
    })
    .await;
}
