//! The delivery pipeline end to end over real HTTP on loopback, on SQLite and PostgreSQL:
//! outbox event -> planner -> per-domain worker -> re-plan -> render -> sign -> POST.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use cohort_federation::render::PUBLIC;
use cohort_federation::{Delivery, expire_due_statuses};
use cohort_model::Visibility;
use cohort_store::testing::on_each_engine;
use cohort_store::{DomainPolicy, NewOutboxEvent, OutboxKind, now_ms};
use common::{FakeInboxes, Local, actor_uri, follows, remote};

#[tokio::test]
async fn a_public_post_reaches_each_shared_inbox_once_signed_with_the_policys_addressing() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma) = (net.domain("beta"), net.domain("gamma"));
        for (name, d) in [("bob", &beta), ("carol", &beta), ("dan", &gamma)] {
            let r = remote(&store, name, d, true).await;
            follows(&store, r, pat).await;
        }
        let status = local.post(pat, Visibility::Public, "hello world").await;

        let stats = local.delivery().run_until_idle().await.unwrap();
        assert_eq!(stats.delivered, 2, "{stats:?}");

        let all = net.all();
        assert_eq!(all.len(), 2, "one request per shared inbox: {all:#?}");
        let uri = local.status_uri(status).await;
        let events = store.outbox_events_after(0, 10).await.unwrap();
        let activity_id = local.urls.activity(events[0].id);
        for (d, r) in [
            (&beta, &net.accepted_by(&beta)),
            (&gamma, &net.accepted_by(&gamma)),
        ] {
            assert_eq!(r.len(), 1, "{d}");
            let r = &r[0];
            assert_eq!(r.path, "/inbox");
            assert!(
                r.signature_ok,
                "signature must verify: {}",
                r.signature_header
            );
            assert!(r.digest_ok);
            assert_eq!(
                r.key_id,
                format!("{}/users/pat#main-key", local.urls.base())
            );
            assert!(r.signature_header.contains("algorithm=\"rsa-sha256\""));
            for h in ["(request-target)", "host", "date", "digest"] {
                assert!(r.signature_header.contains(h), "{h} must be signed");
            }
            assert_eq!(r.activity_type(), "Create");
            assert_eq!(r.json["id"], activity_id.as_str());
            assert_eq!(r.object_id(), uri);
            assert_eq!(r.list("to"), vec![PUBLIC.to_owned()]);
            assert_eq!(
                r.list("cc"),
                vec![format!("{}/users/pat/followers", local.urls.base())]
            );
            assert_eq!(r.json["object"]["to"], r.json["to"]);
            let ctx = r.json["@context"].to_string();
            assert!(ctx.contains("https://www.w3.org/ns/activitystreams"));
            assert!(ctx.contains("https://w3id.org/security/v1"));
            assert!(r.json.get("bto").is_none() && r.json.get("bcc").is_none());
        }
        // The delivery record and the decision log.
        let inboxes: BTreeSet<String> = store
            .recorded_inboxes(status)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.inbox)
            .collect();
        assert_eq!(
            inboxes,
            BTreeSet::from([
                format!("http://{beta}/inbox"),
                format!("http://{gamma}/inbox")
            ])
        );
        let decisions = store.audience_decisions_for_status(status).await.unwrap();
        assert_eq!(decisions.len(), 2);
        assert!(decisions.iter().all(|d| d.allowed));
        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_followers_only_post_goes_to_personal_inboxes_addressed_per_instance() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma) = (net.domain("beta"), net.domain("gamma"));
        for (name, d) in [("bob", &beta), ("carol", &beta), ("dan", &gamma)] {
            let r = remote(&store, name, d, true).await;
            follows(&store, r, pat).await;
        }
        // Not a follower: gets nothing.
        remote(&store, "eve", &gamma, true).await;
        local
            .post(pat, Visibility::Followers, "for my followers")
            .await;

        local.delivery().run_until_idle().await.unwrap();

        let beta_got = net.accepted_by(&beta);
        let gamma_got = net.accepted_by(&gamma);
        assert_eq!(beta_got.len(), 2);
        assert_eq!(gamma_got.len(), 1);
        let paths: BTreeSet<&str> = beta_got.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            BTreeSet::from(["/users/bob/inbox", "/users/carol/inbox"])
        );
        assert_eq!(gamma_got[0].path, "/users/dan/inbox");
        for r in &beta_got {
            assert!(r.signature_ok && r.digest_ok);
            let to: BTreeSet<String> = r.list("to").into_iter().collect();
            assert_eq!(
                to,
                BTreeSet::from([actor_uri(&beta, "bob"), actor_uri(&beta, "carol")]),
                "each instance learns only its own recipients"
            );
            assert!(r.list("cc").is_empty());
        }
        assert_eq!(gamma_got[0].list("to"), vec![actor_uri(&gamma, "dan")]);
        let text =
            serde_json::to_string(&net.all().iter().map(|r| &r.json).collect::<Vec<_>>()).unwrap();
        assert!(!text.contains(PUBLIC), "no Public on a followers-only post");
        assert!(
            !text.contains("/followers"),
            "no followers collection to widen"
        );
    })
    .await;
}

#[tokio::test]
async fn a_block_or_domain_suspension_added_after_enqueueing_stops_the_delivery() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma, delta) = (net.domain("beta"), net.domain("gamma"), net.domain("delta"));
        let bob = remote(&store, "bob", &beta, true).await;
        let dan = remote(&store, "dan", &gamma, true).await;
        let fay = remote(&store, "fay", &delta, true).await;
        for r in [bob, dan, fay] {
            follows(&store, r, pat).await;
        }
        let status = local
            .post(pat, Visibility::Public, "queued before the block")
            .await;
        let delivery = local.delivery();
        assert_eq!(delivery.plan_pending().await.unwrap(), 1);
        assert_eq!(store.delivery_queue_len().await.unwrap(), 3);

        // After enqueueing: pat blocks bob (beta's only follower), gamma is suspended.
        store.block(pat, bob).await.unwrap();
        store
            .set_domain_policy(&gamma, DomainPolicy::Block { suspend: true })
            .await
            .unwrap();
        delivery.run_until_idle().await.unwrap();

        assert!(
            net.attempts_on(&beta).is_empty(),
            "blocked after enqueueing"
        );
        assert!(
            net.attempts_on(&gamma).is_empty(),
            "suspended after enqueueing"
        );
        assert_eq!(net.accepted_by(&delta).len(), 1, "others still get it");
        let decisions = store.audience_decisions_for_status(status).await.unwrap();
        let denied: BTreeSet<String> = decisions
            .iter()
            .filter(|d| !d.allowed)
            .map(|d| d.domain.clone())
            .collect();
        assert!(denied.contains(gamma.as_str()), "{decisions:?}");
        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_delete_reaches_every_inbox_that_received_the_post() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma) = (net.domain("beta"), net.domain("gamma"));
        let bob = remote(&store, "bob", &beta, true).await;
        let carol = remote(&store, "carol", &beta, true).await;
        let dan = remote(&store, "dan", &gamma, false).await;
        for r in [bob, carol, dan] {
            follows(&store, r, pat).await;
        }
        let status = local.post(pat, Visibility::Followers, "soon gone").await;
        let delivery = local.delivery();
        delivery.run_until_idle().await.unwrap();
        assert_eq!(net.all().len(), 3);
        net.clear();

        // Dan unfollows and gamma is even suspended: the retraction still reaches him.
        store.remove_follow(dan, pat).await.unwrap();
        store
            .set_domain_policy(&gamma, DomainPolicy::Block { suspend: true })
            .await
            .unwrap();
        store.mark_status_deleted(status).await.unwrap();
        delivery.run_until_idle().await.unwrap();

        let got = net.all();
        let paths: BTreeSet<String> = got
            .iter()
            .map(|r| format!("{}{}", r.host, r.path))
            .collect();
        assert_eq!(
            paths,
            BTreeSet::from([
                format!("{beta}/users/bob/inbox"),
                format!("{beta}/users/carol/inbox"),
                format!("{gamma}/users/dan/inbox"),
            ])
        );
        let uri = local.status_uri(status).await;
        for r in &got {
            assert!(r.signature_ok && r.digest_ok);
            assert_eq!(r.activity_type(), "Delete");
            assert_eq!(r.json["object"]["type"], "Tombstone");
            assert_eq!(r.object_id(), uri);
        }
    })
    .await;
}

#[tokio::test]
async fn an_instance_answering_503_gets_everything_in_order_after_it_recovers() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma) = (net.domain("beta"), net.domain("gamma"));
        for (name, d) in [("bob", &beta), ("dan", &gamma)] {
            let r = remote(&store, name, d, true).await;
            follows(&store, r, pat).await;
        }
        net.set_status(&beta, 503);
        let mut posts = Vec::new();
        for i in 0..3 {
            posts.push(
                local
                    .post(pat, Visibility::Public, &format!("post {i}"))
                    .await,
            );
        }
        let delivery = local.delivery();
        delivery.run_until_idle().await.unwrap();

        assert_eq!(
            net.accepted_by(&gamma).len(),
            3,
            "a failing domain holds up only itself"
        );
        assert_eq!(
            net.attempts_on(&beta).len(),
            1,
            "the worker stops at the first failure"
        );
        let state = store.domain_delivery_state(&beta).await.unwrap().unwrap();
        assert_eq!(state.fail_count, 1);
        assert_eq!(state.queued, 3);
        assert!(state.next_attempt_at > now_ms() - 5_000);
        assert!(state.unreachable_since.is_none());

        // Still failing on the next attempt: the backoff grows.
        store.retry_domain_now(&beta).await.unwrap();
        delivery.run_until_idle().await.unwrap();
        let state = store.domain_delivery_state(&beta).await.unwrap().unwrap();
        assert_eq!(state.fail_count, 2);

        // Recovered.
        net.set_status(&beta, 202);
        store.retry_domain_now(&beta).await.unwrap();
        delivery.run_until_idle().await.unwrap();
        let got: Vec<String> = net
            .accepted_by(&beta)
            .iter()
            .map(|r| r.object_id())
            .collect();
        let mut expected = Vec::new();
        for p in &posts {
            expected.push(local.status_uri(*p).await);
        }
        assert_eq!(got, expected, "everything, once, in order");
        let state = store.domain_delivery_state(&beta).await.unwrap().unwrap();
        assert_eq!((state.fail_count, state.queued), (0, 0));
        assert_eq!(net.accepted_by(&gamma).len(), 3, "nothing re-sent to gamma");
    })
    .await;
}

#[tokio::test]
async fn a_4xx_drops_only_that_activity() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        follows(&store, bob, pat).await;
        let first = local.post(pat, Visibility::Public, "refused").await;
        let second = local.post(pat, Visibility::Public, "accepted").await;
        net.answer_once(&beta, 400);

        let stats = local.delivery().run_until_idle().await.unwrap();
        assert_eq!((stats.refused, stats.delivered), (1, 1), "{stats:?}");
        let attempts = net.attempts_on(&beta);
        assert_eq!(attempts.len(), 2, "no retry of the refused one");
        assert_eq!(attempts[0].answered, 400);
        assert_eq!(attempts[1].object_id(), local.status_uri(second).await);
        assert!(store.recorded_inboxes(first).await.unwrap().is_empty());
        assert_eq!(store.recorded_inboxes(second).await.unwrap().len(), 1);
        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
        let state = store.domain_delivery_state(&beta).await.unwrap().unwrap();
        assert_eq!(state.fail_count, 0, "a 4xx is not a domain failure");
    })
    .await;
}

#[tokio::test]
async fn a_restarted_worker_resends_nothing_delivered_and_loses_nothing() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let (beta, gamma) = (net.domain("beta"), net.domain("gamma"));
        for (name, d) in [("bob", &beta), ("dan", &gamma)] {
            let r = remote(&store, name, d, true).await;
            follows(&store, r, pat).await;
        }
        // A followers-only post to two personal inboxes on one domain, one of which fails:
        // the retry must not re-send to the other.
        let carol = remote(&store, "carol", &beta, true).await;
        follows(&store, carol, pat).await;
        net.set_status(&gamma, 503);
        let p1 = local.post(pat, Visibility::Public, "one").await;
        let p2 = local.post(pat, Visibility::Public, "two").await;
        let first = local.delivery();
        first.run_until_idle().await.unwrap();
        assert_eq!(net.accepted_by(&beta).len(), 2);
        drop(first);

        // A worker that claimed gamma and crashed: its lease must run out, not block forever.
        store
            .claim_delivery_domains("crashed-worker", now_ms(), 800, 10)
            .await
            .unwrap();
        store.retry_domain_now(&gamma).await.unwrap();
        let p3 = local.post(pat, Visibility::Public, "three").await;
        net.set_status(&gamma, 202);
        let second = Delivery::new(store.clone(), local.config(true)).unwrap();
        second.run_until_idle().await.unwrap();

        let mut expected = Vec::new();
        for p in [p1, p2, p3] {
            expected.push(local.status_uri(p).await);
        }
        let beta_ids: Vec<String> = net
            .accepted_by(&beta)
            .iter()
            .map(|r| r.object_id())
            .collect();
        assert_eq!(beta_ids, expected, "nothing re-sent, nothing lost");
        let gamma_ids: Vec<String> = net
            .accepted_by(&gamma)
            .iter()
            .map(|r| r.object_id())
            .collect();
        assert_eq!(gamma_ids, expected, "in order after the restart");
        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_partially_delivered_restricted_post_is_not_sent_twice() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        let carol = remote(&store, "carol", &beta, true).await;
        follows(&store, bob, pat).await;
        follows(&store, carol, pat).await;
        local.post(pat, Visibility::Followers, "two inboxes").await;
        // Bob's inbox (first in order) accepts, carol's fails once.
        net.answer_once(&beta, 202);
        net.answer_once(&beta, 503);
        let delivery = local.delivery();
        delivery.run_until_idle().await.unwrap();
        store.retry_domain_now(&beta).await.unwrap();
        delivery.run_until_idle().await.unwrap();
        let accepted: Vec<String> = net
            .accepted_by(&beta)
            .iter()
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(accepted.len(), 2, "{accepted:?}");
        let unique: BTreeSet<&String> = accepted.iter().collect();
        assert_eq!(unique.len(), 2, "each inbox once: {accepted:?}");
        assert_eq!(net.attempts_on(&beta).len(), 3);
    })
    .await;
}

#[tokio::test]
async fn nothing_is_ever_sent_for_a_local_post() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        follows(&store, bob, pat).await;
        let status = local.post(pat, Visibility::Local, "only here").await;
        local.delivery().run_until_idle().await.unwrap();
        assert!(net.all().is_empty());
        let decisions = store.audience_decisions_for_status(status).await.unwrap();
        assert!(decisions.iter().all(|d| !d.allowed), "{decisions:?}");
        // And its deletion has nothing to retract.
        store.mark_status_deleted(status).await.unwrap();
        local.delivery().run_until_idle().await.unwrap();
        assert!(net.all().is_empty());
        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn without_loopback_federation_nothing_is_sent_to_a_private_address() {
    on_each_engine(|store| async move {
        // Raw TCP listener: counts connections, whatever protocol arrives.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((_s, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let targets = [
            ("beta.localhost", "https://beta.localhost:{port}/inbox"),
            ("loop.example", "https://127.0.0.1:{port}/inbox"),
            ("plain.localhost", "http://plain.localhost:{port}/inbox"),
        ];
        for (host, inbox) in targets {
            let domain = cohort_model::Domain::parse(&format!("{host}:{port}")).unwrap();
            let inbox = inbox.replace("{port}", &port.to_string());
            let id = store
                .upsert_remote_account(&cohort_store::NewRemoteAccount {
                    username: "x".into(),
                    domain,
                    actor_uri: format!("https://{host}:{port}/users/x"),
                    inbox_uri: inbox.clone(),
                    shared_inbox_uri: Some(inbox),
                    followers_uri: None,
                    display_name: "x".into(),
                    is_group: false,
                })
                .await
                .unwrap();
            follows(&store, id, pat).await;
        }
        local.post(pat, Visibility::Public, "hello").await;
        let strict = Delivery::new(store.clone(), local.config(false)).unwrap();
        let stats = strict.run_until_idle().await.unwrap();
        assert_eq!(stats.delivered, 0);
        assert_eq!(stats.refused, 3, "{stats:?}");
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(
            store.delivery_queue_len().await.unwrap(),
            0,
            "refused, not retried"
        );
    })
    .await;
}

#[tokio::test]
async fn an_expired_post_is_deleted_and_the_delete_federates() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        follows(&store, bob, pat).await;
        let expires = now_ms() + 60_000;
        let status = local
            .post_with(
                pat,
                cohort_policy::Audience::new(Visibility::Public),
                "brief",
                vec![],
                Some(expires),
            )
            .await;
        let delivery = local.delivery();
        delivery.run_until_idle().await.unwrap();
        assert_eq!(
            expire_due_statuses(&store, now_ms()).await.unwrap(),
            0,
            "not yet"
        );
        assert_eq!(expire_due_statuses(&store, expires).await.unwrap(), 1);
        assert_eq!(
            expire_due_statuses(&store, expires).await.unwrap(),
            0,
            "once"
        );
        delivery.run_until_idle().await.unwrap();
        let got = net.accepted_by(&beta);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].activity_type(), "Delete");
        assert_eq!(got[1].object_id(), local.status_uri(status).await);
    })
    .await;
}

#[tokio::test]
async fn follow_and_undo_go_to_the_followed_actor_and_name_the_same_follow() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        for kind in [OutboxKind::Follow, OutboxKind::UndoFollow] {
            store
                .enqueue_outbox_event(&NewOutboxEvent {
                    kind,
                    actor: pat,
                    status: None,
                    target_account: Some(bob),
                })
                .await
                .unwrap();
        }
        local.delivery().run_until_idle().await.unwrap();
        let got = net.accepted_by(&beta);
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .all(|r| r.path == "/users/bob/inbox" && r.signature_ok)
        );
        assert_eq!(got[0].activity_type(), "Follow");
        assert_eq!(got[0].json["object"], actor_uri(&beta, "bob").as_str());
        assert_eq!(got[0].list("to"), vec![actor_uri(&beta, "bob")]);
        assert_eq!(got[1].activity_type(), "Undo");
        assert_eq!(got[1].json["object"]["id"], got[0].json["id"]);
    })
    .await;
}

/// A rejected follow request's row (which held the Follow's id) is deleted before the worker
/// renders the Reject: the id recorded with the answer is embedded all the same. An answer
/// recorded without one (older events) takes the id from the follow row.
#[tokio::test]
async fn a_reject_sent_after_the_request_is_gone_still_embeds_the_follow_with_its_id() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let lee = local.account("lee", &net).await;
        let lee_uri = store.account_by_id(lee).await.unwrap().actor_uri;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        let ann = remote(&store, "ann", &beta, true).await;
        let bob_follow = format!("{}/activities/follow/1", actor_uri(&beta, "bob"));
        let ann_follow = format!("{}/activities/follow/2", actor_uri(&beta, "ann"));
        assert_eq!(store.follow_uri(bob, lee).await.unwrap(), None, "no row");
        store
            .enqueue_follow_answer(
                &NewOutboxEvent {
                    kind: OutboxKind::RejectFollow,
                    actor: lee,
                    status: None,
                    target_account: Some(bob),
                },
                Some(&bob_follow),
            )
            .await
            .unwrap();
        follows(&store, ann, lee).await;
        store.set_follow_uri(ann, lee, &ann_follow).await.unwrap();
        store
            .enqueue_outbox_event(&NewOutboxEvent {
                kind: OutboxKind::AcceptFollow,
                actor: lee,
                status: None,
                target_account: Some(ann),
            })
            .await
            .unwrap();
        local.delivery().run_until_idle().await.unwrap();
        let got = net.accepted_by(&beta);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|r| r.signature_ok));
        let reject = &got[0];
        assert_eq!(
            (reject.activity_type(), reject.path.as_str()),
            ("Reject", "/users/bob/inbox")
        );
        assert_eq!(reject.json["object"]["type"], "Follow");
        assert_eq!(reject.json["object"]["id"], bob_follow.as_str());
        assert_eq!(
            reject.json["object"]["actor"],
            actor_uri(&beta, "bob").as_str()
        );
        assert_eq!(reject.json["object"]["object"], lee_uri.as_str());
        let accept = &got[1];
        assert_eq!(accept.activity_type(), "Accept");
        assert_eq!(accept.json["object"]["id"], ann_follow.as_str());
    })
    .await;
}

#[tokio::test]
async fn the_background_loop_delivers_when_woken_and_shuts_down_cleanly() {
    on_each_engine(|store| async move {
        let net = FakeInboxes::start().await;
        let local = Local::new(store.clone());
        let pat = local.account("pat", &net).await;
        let beta = net.domain("beta");
        let bob = remote(&store, "bob", &beta, true).await;
        follows(&store, bob, pat).await;
        let handle = local.delivery().spawn();
        local.post(pat, Visibility::Public, "live").await;
        handle.wake();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while net.accepted_by(&beta).is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(net.accepted_by(&beta).len(), 1);
        handle.shutdown().await;
        assert_eq!(store.delivery_queue_len().await.unwrap(), 0);
    })
    .await;
}
